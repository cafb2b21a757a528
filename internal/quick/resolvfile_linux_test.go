package quick

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// The original resolv.conf the tests start from: odd bytes (no final
// newline, a comment, options) so that "byte for byte" means something.
const origResolv = "# managed by the admin\nnameserver 192.0.2.53\noptions edns0 rotate\nsearch corp.example"

// resolvCase is one starting point: a regular file, none, or a symlink.
type resolvCase struct {
	name  string
	setup func(t *testing.T, path string)
	check func(t *testing.T, path, when string)
}

var resolvCases = []resolvCase{
	{"file", func(t *testing.T, path string) {
		if err := os.WriteFile(path, []byte(origResolv), 0o640); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, 0o640)
	}, func(t *testing.T, path, when string) {
		fi, err := os.Lstat(path)
		data, _ := os.ReadFile(path)
		if err != nil || !fi.Mode().IsRegular() || string(data) != origResolv || fi.Mode().Perm() != 0o640 {
			t.Fatalf("%s: resolv.conf = %q (%v, %v), want the original byte for byte, mode 0640", when, data, fi, err)
		}
	}},
	{"absent", func(t *testing.T, path string) {}, func(t *testing.T, path, when string) {
		if _, err := os.Lstat(path); !os.IsNotExist(err) {
			data, _ := os.ReadFile(path)
			t.Fatalf("%s: resolv.conf exists (%q), want none as at the start", when, data)
		}
	}},
	{"symlink", func(t *testing.T, path string) {
		if err := os.Symlink("../run/resolvconf/resolv.conf", path); err != nil {
			t.Fatal(err)
		}
	}, func(t *testing.T, path, when string) {
		if target, err := os.Readlink(path); err != nil || target != "../run/resolvconf/resolv.conf" {
			t.Fatalf("%s: resolv.conf is %q, %v; want the original symlink", when, target, err)
		}
	}},
}

func newTestResolv(t *testing.T) *resolvFile {
	dir := t.TempDir()
	etc := filepath.Join(dir, "etc")
	os.Mkdir(etc, 0o755)
	return &resolvFile{path: filepath.Join(etc, "resolv.conf"), dir: filepath.Join(dir, "lib", "dns"), key: "net-1"}
}

func server(iface string) string { return "10.53.0." + strings.TrimPrefix(iface, "wt") }

// event is "+wtN" (up) or "-wtN" (down).
type event string

// orders lists every sequence of ups and downs of n tunnels in which each
// comes up before it goes down.
func orders(n int) [][]event {
	var out [][]event
	var rec func(seq []event, up, down []bool)
	rec = func(seq []event, up, down []bool) {
		if len(seq) == 2*n {
			out = append(out, slices.Clone(seq))
			return
		}
		for i := range n {
			name := fmt.Sprintf("wt%d", i+1)
			switch {
			case !up[i]:
				up[i] = true
				rec(append(seq, event("+"+name)), up, down)
				up[i] = false
			case !down[i]:
				down[i] = true
				rec(append(seq, event("-"+name)), up, down)
				down[i] = false
			}
		}
	}
	rec(nil, make([]bool, n), make([]bool, n))
	return out
}

func (r *resolvFile) apply(t *testing.T, e event) {
	t.Helper()
	iface := string(e[1:])
	var err error
	if e[0] == '+' {
		err = r.add(iface, []string{server(iface)}, []string{iface + ".example"})
	} else {
		err = r.remove(iface)
	}
	if err != nil {
		t.Fatalf("%s: %v", e, err)
	}
}

// checkHolders: while tunnels are up the file is warren's and lists the
// servers of exactly those tunnels (none of a tunnel that went down: its
// DNS must not stay, nor another's be lost).
func checkHolders(t *testing.T, r *resolvFile, up []string, when string) {
	t.Helper()
	data, err := os.ReadFile(r.path)
	if err != nil || !bytes.HasPrefix(data, []byte(resolvMarker)) {
		t.Fatalf("%s: resolv.conf = %q, %v; want warren's", when, data, err)
	}
	for i := 1; i <= 3; i++ {
		iface := fmt.Sprintf("wt%d", i)
		has := strings.Contains(string(data), "nameserver "+server(iface)+"\n")
		if has != slices.Contains(up, iface) {
			t.Fatalf("%s: resolv.conf lists %s's server: %v, want %v (up: %v)\n%s", when, iface, has, !has, up, data)
		}
	}
	if strings.Contains(string(data), "192.0.2.53") {
		t.Fatalf("%s: the original server is still listed:\n%s", when, data)
	}
}

// TestResolvFileEveryOrder brings two and three tunnels up and down in
// every order, from a regular file, no file and a symlink: the file always
// lists exactly the tunnels that are up, and ends as it began.
func TestResolvFileEveryOrder(t *testing.T) {
	for _, n := range []int{2, 3} {
		for _, c := range resolvCases {
			for _, seq := range orders(n) {
				t.Run(fmt.Sprintf("%s/%v", c.name, seq), func(t *testing.T) {
					r := newTestResolv(t)
					c.setup(t, r.path)
					var up []string
					for i, e := range seq {
						r.apply(t, e)
						if e[0] == '+' {
							up = append(up, string(e[1:]))
						} else {
							up = slices.DeleteFunc(up, func(s string) bool { return s == string(e[1:]) })
						}
						when := fmt.Sprintf("after %v", seq[:i+1])
						if len(up) > 0 {
							checkHolders(t, r, up, when)
						} else {
							c.check(t, r.path, when)
						}
					}
					if ents, _ := os.ReadDir(r.dir); len(ents) > 1 { // the lock file stays
						t.Errorf("left in %s: %v", r.dir, ents)
					}
				})
			}
		}
	}
}

// TestResolvFileForeignRewrite: when somebody else rewrote the file while
// tunnels were up, down leaves their file alone (and forgets the backup).
func TestResolvFileForeignRewrite(t *testing.T) {
	r := newTestResolv(t)
	resolvCases[0].setup(t, r.path)
	r.apply(t, "+wt1")
	r.apply(t, "+wt2")
	const dhcp = "nameserver 203.0.113.1\n"
	os.WriteFile(r.path, []byte(dhcp), 0o644)
	r.apply(t, "-wt1")
	r.apply(t, "-wt2")
	if data, _ := os.ReadFile(r.path); string(data) != dhcp {
		t.Errorf("resolv.conf = %q, want the foreign %q kept", data, dhcp)
	}
	if _, err := os.Stat(r.backupPath()); !os.IsNotExist(err) {
		t.Errorf("backup left behind: %v", err)
	}
}

// crashEnv carries a crash scenario into the helper process.
const crashEnv = "WARREN_TEST_RESOLV_CRASH"

// TestResolvCrashHelper is not a test: run by TestResolvFileKilled in a
// child process, it applies one event and SIGKILLs itself at one step.
func TestResolvCrashHelper(t *testing.T) {
	spec := os.Getenv(crashEnv)
	if spec == "" {
		t.Skip("helper process for TestResolvFileKilled")
	}
	// path|dir|event|step
	f := strings.Split(spec, "|")
	r := &resolvFile{path: f[0], dir: f[1], key: "net-1", crash: func(step string) {
		if step == f[3] {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}}
	r.apply(t, event(f[2]))
}

// TestResolvFileKilled: a process killed with SIGKILL at any step of any
// up or down leaves what the next downs need to end with the original.
func TestResolvFileKilled(t *testing.T) {
	steps := map[byte][]string{'+': {"backed up", "recorded"}, '-': {"rewritten", "restored", "forgotten"}}
	for _, c := range resolvCases {
		for _, seq := range orders(2) {
			for i, victim := range seq {
				for _, step := range steps[victim[0]] {
					t.Run(fmt.Sprintf("%s/%v/kill %s at %q", c.name, seq, victim, step), func(t *testing.T) {
						r := newTestResolv(t)
						c.setup(t, r.path)
						for j, e := range seq {
							if j != i {
								r.apply(t, e)
								continue
							}
							cmd := exec.Command(os.Args[0], "-test.run=^TestResolvCrashHelper$")
							cmd.Env = append(os.Environ(), crashEnv+"="+strings.Join([]string{r.path, r.dir, string(e), step}, "|"))
							out, err := cmd.CombinedOutput()
							if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
								// The step was not reached (e.g. no rewrite
								// when the last goes): it finished normally.
								if err != nil {
									t.Fatalf("helper: %v\n%s", err, out)
								}
							}
							if e[0] == '-' {
								r.apply(t, e) // down is run again
							}
						}
						// A killed up is followed by its down (rollback or
						// a later wg-quick down), which must be harmless.
						r.apply(t, event("-"+string(victim[1:])))
						c.check(t, r.path, "at the end")
					})
				}
			}
		}
	}
}
