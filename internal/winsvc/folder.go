package winsvc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// The files of the program folder.
const (
	programExe = "warren.exe"
	wintunDLL  = "wintun.dll"
)

// ErrProgramInUse: the program folder holds another warren.exe (or
// wintun.dll) that cannot be replaced, most likely because a tunnel
// service runs it.
var ErrProgramInUse = errors.New("the installed copy differs and cannot be replaced")

// programFiles puts the running warren.exe, and the wintun.dll beside it,
// into the program folder, so that a tunnel service runs, as SYSTEM, a
// program only administrators can change — not the copy in Downloads
// that `warren service install` was run from. The file operations that
// differ by system are injected.
type programFiles struct {
	// Dir is the program folder (%ProgramFiles%\warren).
	Dir string
	// Prepare creates Dir if needed and gives it its DACL.
	Prepare func(dir string) error
	// Secure gives a file staged in Dir its owner (Administrators).
	Secure func(path string) error
	// Replace moves a staged file over the installed one (os.Rename,
	// which on Windows fails while the installed one is in use).
	Replace func(from, to string) error
}

// placement is what place did.
type placement struct {
	// Exe is the program the service is to run, DLL the wintun.dll
	// beside it ("" if there is none).
	Exe, DLL string
	// Copied lists the files copied into Dir (new or replaced).
	Copied []string
	// Notes are things the administrator should know.
	Notes []string
}

// place copies exe (the running program) into Dir as warren.exe, with
// wintun.dll when it sits beside exe, and returns what the service is to
// run. A program already running from Dir (installed by the MSI) is used
// where it is. Files that are already the same are left alone; files that
// differ are staged in Dir and then moved over the installed ones, and if
// one cannot be, the others are put back: all or nothing.
func (pf programFiles) place(exe string) (placement, error) {
	dll := filepath.Join(pf.Dir, wintunDLL)
	exeDir := filepath.Dir(exe)
	if sameDir(exeDir, pf.Dir) {
		r := placement{Exe: exe}
		if fileExists(filepath.Join(exeDir, wintunDLL)) {
			r.DLL = filepath.Join(exeDir, wintunDLL)
		} else {
			r.Notes = append(r.Notes, noDLLNote(exeDir))
		}
		return r, nil
	}
	if err := pf.Prepare(pf.Dir); err != nil {
		return placement{}, fmt.Errorf("program folder %s: %w", pf.Dir, err)
	}
	r := placement{Exe: filepath.Join(pf.Dir, programExe)}
	files := []*stagedFile{{src: exe, dst: r.Exe}}
	switch src := filepath.Join(exeDir, wintunDLL); {
	case fileExists(src):
		files = append(files, &stagedFile{src: src, dst: dll})
		r.DLL = dll
	case fileExists(dll):
		r.DLL = dll
		r.Notes = append(r.Notes, fmt.Sprintf("no wintun.dll beside %s; the tunnels use the one already in %s", exe, pf.Dir))
	default:
		r.Notes = append(r.Notes, noDLLNote(pf.Dir))
	}
	copied, err := pf.replaceAll(files)
	if err != nil {
		return placement{}, err
	}
	r.Copied = copied
	return r, nil
}

func noDLLNote(dir string) string {
	return fmt.Sprintf("no wintun.dll beside warren.exe: the tunnels need the official one in %s (download Wintun from https://www.wintun.net/ and take bin\\ARCH\\wintun.dll from its zip)", dir)
}

// stagedFile is one file on its way into the program folder.
type stagedFile struct {
	src, dst string
	// tmp is the new content staged in Dir; backup a copy of what dst
	// held ("" if dst did not exist); done: dst now holds the new file.
	tmp, backup string
	done        bool
}

// replaceAll installs files: those whose dst already holds src's bytes are
// skipped; the others are staged, then moved into place one by one. It
// returns the files it changed.
func (pf programFiles) replaceAll(files []*stagedFile) (changed []string, err error) {
	var todo []*stagedFile
	defer func() {
		for _, f := range todo {
			if f.tmp != "" {
				os.Remove(f.tmp)
			}
			if f.backup != "" {
				os.Remove(f.backup)
			}
		}
	}()
	for _, f := range files {
		same, err := sameContent(f.src, f.dst)
		if err != nil {
			return nil, err
		}
		if same {
			continue
		}
		todo = append(todo, f)
		if f.tmp, err = pf.stage(f.src); err != nil {
			return nil, err
		}
		if fileExists(f.dst) {
			if f.backup, err = pf.stage(f.dst); err != nil {
				return nil, err
			}
		}
	}
	for _, f := range todo {
		if err := pf.Replace(f.tmp, f.dst); err != nil {
			pf.rollback(todo)
			return nil, fmt.Errorf("%w: %s: %w", ErrProgramInUse, f.dst, err)
		}
		f.tmp, f.done = "", true
		changed = append(changed, f.dst)
	}
	return changed, nil
}

// rollback puts back what the files that were moved into place replaced.
func (pf programFiles) rollback(files []*stagedFile) {
	for _, f := range files {
		switch {
		case !f.done:
		case f.backup != "":
			if pf.Replace(f.backup, f.dst) == nil {
				f.backup = ""
			}
		default:
			os.Remove(f.dst)
		}
	}
}

// stage copies src into a new hidden file in Dir and secures it.
func (pf programFiles) stage(src string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(pf.Dir, ".warren-*.tmp")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = pf.Secure(out.Name())
	}
	if err != nil {
		os.Remove(out.Name())
		return "", fmt.Errorf("copy %s into %s: %w", src, pf.Dir, err)
	}
	return out.Name(), nil
}

// sameDir reports whether a and b are the same folder (by identity, so
// short names and case do not matter).
func sameDir(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// sameContent reports whether b exists and holds the bytes of a.
func sameContent(a, b string) (bool, error) {
	fb, err := os.Open(b)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer fb.Close()
	fa, err := os.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	sa, err := fa.Stat()
	if err != nil {
		return false, err
	}
	sb, err := fb.Stat()
	if err != nil {
		return false, err
	}
	if sa.Size() != sb.Size() {
		return false, nil
	}
	bufA, bufB := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		na, errA := io.ReadFull(fa, bufA)
		nb, errB := io.ReadFull(fb, bufB)
		if !bytes.Equal(bufA[:na], bufB[:nb]) {
			return false, nil
		}
		if errA == io.EOF || errA == io.ErrUnexpectedEOF {
			return errB == io.EOF || errB == io.ErrUnexpectedEOF, nil
		}
		if errA != nil {
			return false, errA
		}
		if errB != nil {
			return false, errB
		}
	}
}
