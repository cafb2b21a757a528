package quick

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/warren-vpn/warren/internal/safedir"
)

// dnsStateDir keeps the original /etc/resolv.conf while tunnels have
// replaced it (the fallback used when neither resolvconf nor
// systemd-resolved is there). It is persistent, unlike /run: a crash or a
// reboot with a tunnel up must not lose the original.
const dnsStateDir = "/var/lib/warren/dns"

// resolvMarker begins every resolv.conf warren writes. Down restores the
// original only while the file still begins with it: a file somebody else
// (DHCP, NetworkManager, the administrator) wrote since is theirs.
const resolvMarker = "# Written by warren"

// resolvFile shares one resolv.conf between every tunnel of a network
// namespace whose DNS goes through the file: one persistent backup of the
// original, taken by the first tunnel and restored by the last, and a
// reference-counted list of the tunnels (holders) whose servers the file
// lists meanwhile, newest first. Each step is durable before the next
// (backup, then the list, then the file) so that a process killed at any
// point leaves a state the next up or down completes correctly.
type resolvFile struct {
	path string // the resolv.conf, /etc/resolv.conf
	dir  string // where the backup and the holder list live
	key  string // which namespace's resolv.conf: file names in dir
	// crash, when set (tests only), is called at each step's boundary
	// with the step's name.
	crash func(step string)
}

// resolvHolder is one tunnel's contribution to the file.
type resolvHolder struct {
	Iface  string   `json:"iface"`
	DNS    []string `json:"dns,omitempty"`
	Search []string `json:"search,omitempty"`
}

// resolvState is the record kept beside the backup.
type resolvState struct {
	// Holders are the tunnels whose DNS the file holds, oldest first.
	Holders []resolvHolder `json:"holders"`
	// Absent: there was no resolv.conf before the first tunnel.
	Absent bool `json:"absent,omitempty"`
	// Link is the target of the original, when it was a symlink (the
	// backup then holds nothing: the link is restored).
	Link string `json:"link,omitempty"`
	// Mode is the original file's permission bits.
	Mode uint32 `json:"mode,omitempty"`
}

// newResolvFile is the resolv.conf of the calling process's network
// namespace: `ip netns exec` gives each namespace its own file, so each
// keeps its own backup, named after the namespace's inode.
func newResolvFile() (*resolvFile, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &st); err != nil {
		return nil, fmt.Errorf("identify network namespace: %w", err)
	}
	return &resolvFile{path: resolvConf, dir: dnsStateDir, key: fmt.Sprintf("net-%d", st.Ino)}, nil
}

func (r *resolvFile) statePath() string  { return filepath.Join(r.dir, r.key+".json") }
func (r *resolvFile) backupPath() string { return filepath.Join(r.dir, r.key+".orig") }

func (r *resolvFile) step(name string) {
	if r.crash != nil {
		r.crash(name)
	}
}

// lock serialises every change to this namespace's file across processes
// (two tunnels may come up at once).
func (r *resolvFile) lock() (unlock func(), err error) {
	if err := safedir.Ensure(r.dir, 0o700); err != nil {
		return nil, fmt.Errorf("DNS backup directory: %w", err)
	}
	f, err := safedir.OpenFile(filepath.Join(r.dir, r.key+".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

func (r *resolvFile) load() (*resolvState, error) {
	data, err := safedir.ReadFile(r.statePath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	st := &resolvState{}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("read %s: %w", r.statePath(), err)
	}
	return st, nil
}

func (r *resolvFile) save(st *resolvState) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeFileAtomic(r.statePath(), data, 0o600)
}

// add puts iface's servers and search domains into the file, backing up
// the original first if iface is the first tunnel to do so.
func (r *resolvFile) add(iface string, dns, search []string) error {
	unlock, err := r.lock()
	if err != nil {
		return err
	}
	defer unlock()
	st, err := r.load()
	if err != nil {
		return err
	}
	if st == nil || len(st.Holders) == 0 {
		if st, err = r.backup(); err != nil {
			return err
		}
		r.step("backed up")
	}
	st.Holders = slices.DeleteFunc(st.Holders, func(h resolvHolder) bool { return h.Iface == iface })
	st.Holders = append(st.Holders, resolvHolder{Iface: iface, DNS: dns, Search: search})
	if err := r.save(st); err != nil {
		return err
	}
	r.step("recorded")
	return r.write(st)
}

// remove takes iface's servers out of the file; the last tunnel to go
// puts the original back, byte for byte — if the file still carries the
// marker — and drops the backup.
func (r *resolvFile) remove(iface string) error {
	unlock, err := r.lock()
	if err != nil {
		return err
	}
	defer unlock()
	st, err := r.load()
	if err != nil || st == nil {
		return err
	}
	n := len(st.Holders)
	st.Holders = slices.DeleteFunc(st.Holders, func(h resolvHolder) bool { return h.Iface == iface })
	if len(st.Holders) == n && n > 0 {
		return nil // not ours
	}
	ours, err := r.carriesMarker()
	if err != nil {
		return err
	}
	if len(st.Holders) > 0 {
		if ours {
			if err := r.write(st); err != nil {
				return err
			}
		}
		r.step("rewritten")
		return r.save(st)
	}
	if ours {
		if err := r.restore(st); err != nil {
			return err
		}
	}
	r.step("restored")
	if err := os.Remove(r.statePath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	r.step("forgotten")
	if err := os.Remove(r.backupPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(r.dir)
}

// backup keeps the current file (or the fact that there is none, or the
// symlink it is) before the first tunnel changes it.
func (r *resolvFile) backup() (*resolvState, error) {
	st := &resolvState{}
	fi, err := os.Lstat(r.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		st.Absent = true
	case err != nil:
		return nil, fmt.Errorf("back up %s: %w", r.path, err)
	case fi.Mode()&fs.ModeSymlink != 0:
		if st.Link, err = os.Readlink(r.path); err != nil {
			return nil, fmt.Errorf("back up %s: %w", r.path, err)
		}
	default:
		data, err := os.ReadFile(r.path)
		if err != nil {
			return nil, fmt.Errorf("back up %s: %w", r.path, err)
		}
		if bytes.HasPrefix(data, []byte(resolvMarker)) {
			// Ours, left by a tunnel whose record is lost: backing it up
			// would make it the "original" forever.
			return nil, fmt.Errorf("back up %s: it holds a tunnel's servers from before (%q) but no record of the original is left in %s; "+
				"restore it by hand", r.path, resolvMarker, r.dir)
		}
		st.Mode = uint32(fi.Mode().Perm())
		if err := writeFileAtomic(r.backupPath(), data, 0o600); err != nil {
			return nil, fmt.Errorf("back up %s: %w", r.path, err)
		}
	}
	return st, nil
}

// carriesMarker reports whether the file is still the one warren wrote.
func (r *resolvFile) carriesMarker() (bool, error) {
	data, err := os.ReadFile(r.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return bytes.HasPrefix(data, []byte(resolvMarker)), nil
}

// text is the file for the holders: the newest tunnel's servers first.
func (st *resolvState) text() []byte {
	var b strings.Builder
	var names, servers, search []string
	for i := len(st.Holders) - 1; i >= 0; i-- {
		h := st.Holders[i]
		names = append(names, h.Iface)
		for _, s := range h.DNS {
			if !slices.Contains(servers, s) {
				servers = append(servers, s)
			}
		}
		for _, s := range h.Search {
			if !slices.Contains(search, s) {
				search = append(search, s)
			}
		}
	}
	fmt.Fprintf(&b, "%s for tunnel %s; the original comes back when the last goes down.\n", resolvMarker, strings.Join(names, ", "))
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	return []byte(b.String())
}

// write replaces the file with the holders' text.
func (r *resolvFile) write(st *resolvState) error {
	mode := os.FileMode(0o644)
	if st.Mode != 0 {
		mode = os.FileMode(st.Mode)
	}
	return replaceResolv(r.path, st.text(), mode)
}

// restore puts back what backup kept.
func (r *resolvFile) restore(st *resolvState) error {
	switch {
	case st.Absent:
		if err := os.Remove(r.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("restore %s: %w", r.path, err)
		}
		return nil
	case st.Link != "":
		tmp := r.path + ".warren-link"
		os.Remove(tmp)
		if err := os.Symlink(st.Link, tmp); err != nil {
			return fmt.Errorf("restore %s: %w", r.path, err)
		}
		if err := os.Rename(tmp, r.path); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("restore %s: %w", r.path, err)
		}
		return syncDir(filepath.Dir(r.path))
	}
	data, err := safedir.ReadFile(r.backupPath())
	if err != nil {
		return fmt.Errorf("restore %s: %w", r.path, err)
	}
	if err := replaceResolv(r.path, data, os.FileMode(st.Mode)); err != nil {
		return fmt.Errorf("restore %s: %w", r.path, err)
	}
	return nil
}

// replaceResolv writes data as path atomically when it can (a temporary
// file renamed over it). A resolv.conf that is a mount point — `ip netns
// exec` bind-mounts the namespace's own over /etc/resolv.conf — cannot be
// renamed over (EBUSY); it is rewritten in place and synced instead.
func replaceResolv(path string, data []byte, mode os.FileMode) error {
	err := writeFileAtomic(path, data, mode)
	if err == nil || !errors.Is(err, syscall.EBUSY) {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
