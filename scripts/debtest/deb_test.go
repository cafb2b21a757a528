package debtest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/warren-vpn/warren/internal/testenv"
)

const (
	version = "9.8.7+20261126075300"
	commit  = "0123456789abcdef0123456789abcdef01234567"
)

// shared is the package both tests use, built once.
var shared struct {
	once     sync.Once
	dir, deb string
	err      error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// sharedDeb builds the package once for all tests (in a directory others
// may read: dpkg runs chrooted in TestInstall).
func sharedDeb(t *testing.T) string {
	t.Helper()
	requirements(t)
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "warren-debtest-")
		if shared.err == nil {
			shared.err = os.Chmod(shared.dir, 0o755)
		}
		if shared.err == nil {
			shared.deb = build(t, shared.dir)
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	if shared.deb == "" {
		t.Fatal("the package could not be built (see the first test)")
	}
	return shared.deb
}

// build builds warren as scripts/release.sh does (version and commit
// through the linker) and packages it; it returns the .deb's path.
func build(t *testing.T, out string) string {
	t.Helper()
	requirements(t)
	bin := filepath.Join(t.TempDir(), "warren-"+version+"-linux-"+runtime.GOARCH)
	pkg := "github.com/warren-vpn/warren/internal/buildinfo"
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags=-buildid= -s -w -X "+pkg+".version="+version+" -X "+pkg+".commit="+commit, "-o", bin, "../../cmd/warren")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	cmd = exec.Command("../package-deb.sh", version, out, runtime.GOARCH+"="+bin)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1764143580")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("package-deb.sh: %v\n%s", err, b)
	}
	return filepath.Join(out, "warren_"+version+"_"+runtime.GOARCH+".deb")
}

// requirements skips t where no package can be built.
func requirements(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds warren and its package")
	}
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skipf("no package for %s", runtime.GOARCH)
	}
	testenv.RequireTool(t, "dpkg-deb", "dpkg")
	testenv.RequireTool(t, "man", "man-db")
}

// TestPackage checks what the package holds, that building it twice gives
// the same bytes, and what lintian says.
func TestPackage(t *testing.T) {
	deb := sharedDeb(t)
	list, err := exec.Command("dpkg-deb", "-c", deb).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"-rwxr-xr-x root/root .* ./usr/bin/warren\n",
		"-rw-r--r-- root/root .* ./usr/share/man/man8/warren.8.gz\n",
		"./usr/share/man/man8/warren-quick.8.gz\n", "./usr/share/man/man8/warren-wg.8.gz\n",
		"./usr/share/man/man8/warren-daemon.8.gz\n", "./usr/share/man/man8/warren-proxy.8.gz\n",
		"./usr/share/man/man8/warren-selftest.8.gz\n", "./usr/share/man/man8/warren-manager.8.gz\n",
		"./usr/share/bash-completion/completions/warren\n", "./usr/share/zsh/vendor-completions/_warren\n",
		"./lib/systemd/system/warren@.service\n", "./lib/systemd/system/warren.target\n",
		"./usr/share/doc/warren/copyright\n", "./usr/share/doc/warren/changelog.gz\n",
	} {
		if !containsLine(string(list), want) {
			t.Errorf("package lacks %s", strings.TrimSpace(want))
		}
	}
	for _, never := range []string{"./usr/bin/wg\n", "./usr/bin/wg-quick\n", "./usr/share/man/man8/wg.8.gz\n"} {
		if strings.Contains(string(list), never) {
			t.Errorf("package holds %s, which is wireguard-tools'", strings.TrimSpace(never))
		}
	}
	info, err := exec.Command("dpkg-deb", "-I", deb).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Package: warren", "Version: " + version, "Architecture: " + runtime.GOARCH,
		"postinst", "prerm", "postrm", "triggers", "md5sums"} {
		if !strings.Contains(string(info), want) {
			t.Errorf("control information lacks %q:\n%s", want, info)
		}
	}
	again := build(t, t.TempDir())
	if a, b := fileSum(t, deb), fileSum(t, again); a != b {
		t.Errorf("two builds differ: %s, %s", a, b)
	}
	if _, err := exec.LookPath("lintian"); err != nil {
		testenv.Missing(t, "needs lintian (apt-get install lintian) to check the package")
		return
	}
	out, _ := exec.Command("lintian", "--tag-display-limit", "0", "--info", "--display-info", deb).CombinedOutput()
	t.Logf("lintian:\n%s", out)
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "E: ") || strings.HasPrefix(line, "W: ") {
			t.Errorf("lintian: %s", line)
		}
	}
}

// TestInstall installs the package with dpkg -i, checks it, and removes it
// with dpkg -r (check-install.sh). On this machine only in CI or with
// WARREN_DEB_TEST=system; otherwise, as root, in a throwaway overlay.
func TestInstall(t *testing.T) {
	mode := os.Getenv("WARREN_DEB_TEST")
	if mode == "" {
		mode = "sandbox"
		if testenv.InCI() {
			mode = "system"
		}
	}
	if mode == "skip" {
		t.Skip("WARREN_DEB_TEST=skip")
	}
	if os.Geteuid() != 0 {
		testenv.Missing(t, "installing a package needs root: run as root (WARREN_DEB_TEST=system installs on this "+
			"machine itself and removes it again; the default, sandbox, uses a throwaway overlay)")
	}
	testenv.RequireTool(t, "systemd-analyze", "systemd")
	deb := sharedDeb(t)
	dir := filepath.Dir(deb)
	script, err := filepath.Abs("check-install.sh")
	if err != nil {
		t.Fatal(err)
	}
	var cmd *exec.Cmd
	switch mode {
	case "system":
		if hasPackage("warren") {
			t.Fatal("a warren package is installed here already: this test would remove it")
		}
		cmd = exec.Command(script, deb, version)
	case "sandbox":
		testenv.RequireTool(t, "unshare", "util-linux")
		args := []string{"--mount", "--propagation", "private", "sh", "-ec", sandbox, "sandbox", t.TempDir(), script, deb, version}
		// With wireguard-tools here, the overlay also removes it and puts
		// it back from its package, if apt can fetch that.
		if hasPackage("wireguard-tools") {
			get := exec.Command("apt-get", "download", "wireguard-tools")
			get.Dir = dir
			if b, err := get.CombinedOutput(); err != nil {
				t.Logf("apt-get download wireguard-tools: %v\n%s\n(not checking wireguard-tools installed after warren)", err, b)
			} else if m, _ := filepath.Glob(filepath.Join(dir, "wireguard-tools_*.deb")); len(m) == 1 {
				args = append(args, m[0])
			}
		}
		cmd = exec.Command("unshare", args...)
	default:
		t.Fatalf("WARREN_DEB_TEST=%s: system, sandbox or skip", mode)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	t.Logf("%s mode:\n%s", mode, out.String())
	if err != nil || !strings.Contains(out.String(), "check-install: ok") {
		t.Fatalf("check-install.sh: %v", err)
	}
}

// sandbox mounts a throwaway overlay of / (changes go to a tmpfs) and runs
// check-install.sh chrooted into it: $1 a scratch directory, then the
// script and its arguments.
const sandbox = `
d=$1; shift
mount -t tmpfs tmpfs "$d"
mkdir "$d/upper" "$d/work" "$d/root"
mount -t overlay overlay -o lowerdir=/,upperdir="$d/upper",workdir="$d/work" "$d/root"
for m in proc sys dev; do mount --rbind "/$m" "$d/root/$m"; done
mount -t tmpfs tmpfs "$d/root/run"
exec chroot "$d/root" "$@"
`

func hasPackage(name string) bool {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", name).Output()
	return err == nil && strings.Contains(string(out), "installed")
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// containsLine reports whether list has a line ending in want, whose
// start, up to " .* ", matches too.
func containsLine(list, want string) bool {
	prefix, suffix, hasPrefix := strings.Cut(want, " .* ")
	if !hasPrefix {
		suffix, prefix = want, ""
	}
	return slices.ContainsFunc(strings.SplitAfter(list, "\n"), func(l string) bool {
		return strings.HasSuffix(l, suffix) && strings.HasPrefix(l, prefix)
	})
}
