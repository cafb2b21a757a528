package quick

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/safedir"
)

const (
	resolvConf = "/etc/resolv.conf"
	// resolvedDir exists while systemd-resolved runs.
	resolvedDir = "/run/systemd/resolve"
)

// absentSuffix marks a backup of a resolv.conf that did not exist (older
// warren kept one backup per interface under /run; down still restores
// those).
const absentSuffix = ".absent"

func resolvBackupPath(iface string) string { return filepath.Join(stateDir, iface+".resolv.conf") }

// resolvconfIfacePrefix is wg-quick's resolvconf_iface_prefix: Debian's
// resolvconf orders records by name, so the record is named after the
// first "prefix*" pattern of /etc/resolvconf/interface-order.
func resolvconfIfacePrefix() string {
	f, err := os.Open("/etc/resolvconf/interface-order")
	if err != nil {
		return ""
	}
	defer f.Close()
	re := regexp.MustCompile(`^([A-Za-z0-9-]+)\*$`)
	s := bufio.NewScanner(f)
	for s.Scan() {
		if m := re.FindStringSubmatch(strings.TrimSpace(s.Text())); m != nil {
			return m[1] + "."
		}
	}
	return ""
}

// setDNS points the system's resolver at the plan's servers: through
// resolvconf when installed (as wg-quick), else systemd-resolved when it
// runs, else by rewriting /etc/resolv.conf after keeping a backup.
func (e *env) setDNS(p *Plan, st *state) error {
	if len(p.DNS) == 0 {
		return nil
	}
	iface := p.Interface
	if _, err := exec.LookPath("resolvconf"); err == nil {
		name := resolvconfIfacePrefix() + iface
		e.logf("resolvconf -a %s -m 0 -x", name)
		if err := e.command(strings.NewReader(p.ResolvConf()), "resolvconf", "-a", name, "-m", "0", "-x"); err != nil {
			return fmt.Errorf("set DNS of %s: %w", iface, err)
		}
		st.DNS, st.ResolvconfName = "resolvconf", name
		return nil
	}
	if _, err := exec.LookPath("resolvectl"); err == nil {
		if _, err := os.Stat(resolvedDir); err == nil {
			st.DNS = "resolved"
			args := []string{"dns", iface}
			for _, a := range p.DNS {
				args = append(args, a.String())
			}
			e.logf("resolvectl %s", strings.Join(args, " "))
			if err := e.command(nil, "resolvectl", args...); err != nil {
				return fmt.Errorf("set DNS of %s: %w", iface, err)
			}
			// "~." makes the link the one for every name, as resolvconf -x.
			args = append([]string{"domain", iface}, p.DNSSearch...)
			args = append(args, "~.")
			e.logf("resolvectl %s", strings.Join(args, " "))
			if err := e.command(nil, "resolvectl", args...); err != nil {
				return fmt.Errorf("set DNS of %s: %w", iface, err)
			}
			return nil
		}
	}
	// Neither: the file itself, shared with the namespace's other tunnels.
	r, err := newResolvFile()
	if err != nil {
		return fmt.Errorf("set DNS of %s: %w", iface, err)
	}
	var servers []string
	for _, a := range p.DNS {
		servers = append(servers, conf.FormatAddr(a))
	}
	st.DNS = "file"
	e.logf("write %s (original kept in %s)", resolvConf, r.dir)
	if err := r.add(iface, servers, p.DNSSearch); err != nil {
		return fmt.Errorf("set DNS of %s: %w", iface, err)
	}
	return nil
}

// unsetDNS undoes setDNS as recorded in st.
func (e *env) unsetDNS(iface string, st *state) error {
	switch st.DNS {
	case "resolvconf":
		e.logf("resolvconf -d %s -f", st.ResolvconfName)
		if err := e.command(nil, "resolvconf", "-d", st.ResolvconfName, "-f"); err != nil {
			return fmt.Errorf("unset DNS of %s: %w", iface, err)
		}
	case "resolved":
		// Deleting the link forgets its DNS; revert in case it lives on.
		if _, err := os.Stat(filepath.Join("/sys/class/net", iface)); err == nil {
			e.logf("resolvectl revert %s", iface)
			if err := e.command(nil, "resolvectl", "revert", iface); err != nil {
				return fmt.Errorf("unset DNS of %s: %w", iface, err)
			}
		}
	case "file":
		if done, err := e.unsetLegacyDNS(iface); done || err != nil {
			return err
		}
		r, err := newResolvFile()
		if err != nil {
			return fmt.Errorf("unset DNS of %s: %w", iface, err)
		}
		e.logf("restore %s", resolvConf)
		if err := r.remove(iface); err != nil {
			return fmt.Errorf("unset DNS of %s: %w", iface, err)
		}
	}
	st.DNS = ""
	return nil
}

// unsetLegacyDNS restores the per-interface backup an older warren kept
// under /run (done reports whether there was one).
func (e *env) unsetLegacyDNS(iface string) (done bool, err error) {
	backup := resolvBackupPath(iface)
	if _, err := os.Lstat(backup + absentSuffix); err == nil {
		e.logf("rm %s", resolvConf)
		if err := os.Remove(resolvConf); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return true, fmt.Errorf("unset DNS of %s: %w", iface, err)
		}
		return true, os.Remove(backup + absentSuffix)
	}
	old, err := safedir.ReadFile(backup)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return true, fmt.Errorf("unset DNS of %s: %w", iface, err)
	}
	e.logf("restore %s", resolvConf)
	if err := writeInPlace(resolvConf, old); err != nil {
		return true, fmt.Errorf("unset DNS of %s: restore %s: %w", iface, resolvConf, err)
	}
	return true, os.Remove(backup)
}

// writeInPlace replaces a file's content without replacing the file.
func writeInPlace(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// command runs an external program with stdin, its output going to ours;
// a failure carries what it printed on stderr.
func (e *env) command(stdin *strings.Reader, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var errb bytes.Buffer
	cmd.Stdout = e.stdout
	cmd.Stderr = &errb
	err := cmd.Run()
	if err != nil {
		if msg := strings.TrimSpace(errb.String()); msg != "" {
			return fmt.Errorf("%s: %w: %s", name, err, msg)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
