package quick

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// checkHookSource refuses to run a configuration's PreUp/PostUp/PreDown/
// PostDown commands — they run as root — unless the file and the
// directory holding it are the caller's (root's) own and nobody else may
// write them: otherwise whoever can edit the file, or swap it, gets a root
// shell at the next up or down. A sticky directory (as /tmp) is accepted:
// others may add files there but not replace this one. path is the
// configuration's real path (symlinks resolved). The error says which
// object is at fault and how to fix it.
func checkHookSource(path string, hooks int) error {
	if hooks == 0 {
		return nil
	}
	euid := os.Geteuid()
	bad := func(what string) error {
		return fmt.Errorf("`%s': %w: the configuration has PreUp/PostUp/PreDown/PostDown commands, which run as root, and %s; "+
			"make the file and its directory root's own and not writable by group or others (chown root; chmod go-w), or remove the commands",
			path, ErrHookSource, what)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return bad("it is not a regular file")
	}
	if uid := ownerUID(fi); uid != euid {
		return bad(fmt.Sprintf("the file belongs to uid %d", uid))
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return bad(fmt.Sprintf("the file can be written by group or others (mode %v)", fi.Mode().Perm()))
	}
	dir := filepath.Dir(path)
	di, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("check %s: %w", dir, err)
	}
	if uid := ownerUID(di); uid != euid && uid != 0 {
		return bad(fmt.Sprintf("its directory %s belongs to uid %d", dir, uid))
	}
	if di.Mode().Perm()&0o022 != 0 && di.Mode()&fs.ModeSticky == 0 {
		return bad(fmt.Sprintf("its directory %s can be written by group or others (mode %v), so the file can be replaced", dir, di.Mode().Perm()))
	}
	return nil
}

func ownerUID(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// hookCount is how many hook commands f's [Interface] has.
func (c *config) hookCount() int {
	in := &c.File.Interface
	return len(in.PreUp) + len(in.PostUp) + len(in.PreDown) + len(in.PostDown)
}
