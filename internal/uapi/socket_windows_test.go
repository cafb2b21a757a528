package uapi

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/warren-vpn/warren/internal/wgtypes"
)

// testPipeDir is a pipe namespace of the test's own, so that tests running
// at once (and tunnels on the machine) never see each other's pipes.
func testPipeDir(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf(`\\.\pipe\warren-test\%d-%d-%s`, os.Getpid(), time.Now().UnixNano(), strings.ReplaceAll(t.Name(), "/", "-"))
}

// skipOnWine skips a test that needs to enumerate named pipes, which wine
// (where CI runs the Windows tests) cannot do.
func skipOnWine(t *testing.T) {
	t.Helper()
	if windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil {
		t.Skip("wine cannot enumerate named pipes (FindFirstFile on \\\\.\\pipe\\* fails); run on Windows")
	}
}

func TestPipePrefix(t *testing.T) {
	tests := []struct{ dir, want string }{
		{"", `\\.\pipe\ProtectedPrefix\Administrators\WireGuard\`},
		{DefaultSocketDir, `\\.\pipe\ProtectedPrefix\Administrators\WireGuard\`},
		{`\\.\pipe\x\y`, `\\.\pipe\x\y\`},
		{`\\.\PIPE\x\y\`, `\\.\PIPE\x\y\`},
		{`C:\Users\a\Temp\001`, `\\.\pipe\warren\C:\Users\a\Temp\001\`},
		{`C:/Users/a/Temp/001/`, `\\.\pipe\warren\C:\Users\a\Temp\001\`},
	}
	for _, tt := range tests {
		if got := PipePrefix(tt.dir); got != tt.want {
			t.Errorf("PipePrefix(%q) = %q, want %q", tt.dir, got, tt.want)
		}
	}
}

func TestPipeGetSet(t *testing.T) {
	dir := testPipeDir(t)
	h := &fakeHandler{state: testDevice()}
	serveTest(t, dir, "wgpipe0", h)

	c, err := Dial(dir, "wgpipe0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := Set(c, &wgtypes.Config{ListenPort: ptr[uint16](51820)}); err != nil {
		t.Fatalf("Set: %v", err)
	}
	dev, err := Get(c)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !equalDevice(dev, testDevice()) {
		t.Errorf("Get = %+v, want the handler's state", dev)
	}
	if n := h.nApplied(); n != 1 || *h.applied[0].ListenPort != 51820 {
		t.Errorf("applied %d configs: %+v", n, h.applied)
	}

	// Several clients at once, each with its own pipe instance.
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			c, err := Dial(dir, "wgpipe0")
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			_, err = Get(c)
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Get: %v", err)
		}
	}
}

func TestPipeSecurityDescriptor(t *testing.T) {
	dir := testPipeDir(t)
	serveTest(t, dir, "wgsd0", &fakeHandler{state: &wgtypes.Device{}})
	c, err := Dial(dir, "wgsd0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h := windows.Handle(c.(interface{ Fd() uintptr }).Fd())
	sd, err := windows.GetSecurityInfo(h, windows.SE_KERNEL_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatalf("GetSecurityInfo: %v", err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		t.Fatalf("DACL: %v", err)
	}
	if dacl == nil {
		t.Fatal("pipe has a NULL DACL (everyone may connect)")
	}
	var sids []string
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			t.Fatalf("GetAce %d: %v", i, err)
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE {
			t.Errorf("ACE %d has type %d, want access-allowed only", i, ace.Header.AceType)
			continue
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		sids = append(sids, sid.String())
	}
	slices.Sort(sids)
	if want := []string{"S-1-5-18", "S-1-5-32-544"}; !slices.Equal(sids, want) {
		t.Errorf("DACL admits %q, want only SYSTEM and Administrators %q", sids, want)
	}
	if control, _, err := sd.Control(); err != nil || control&windows.SE_DACL_PROTECTED == 0 {
		t.Errorf("DACL not protected from inheritance: control %#x, %v", control, err)
	}
}

func TestPipeInUseMissingAndInvalid(t *testing.T) {
	dir := testPipeDir(t)
	serveTest(t, dir, "wgbusy0", &fakeHandler{state: &wgtypes.Device{}})
	if l, err := Listen(dir, "wgbusy0"); !errors.Is(err, ErrSocketInUse) {
		if l != nil {
			l.Close()
		}
		t.Errorf("second Listen = %v, want ErrSocketInUse", err)
	}
	if _, err := Dial(dir, "wgnone0"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Dial of a missing pipe = %v, want fs.ErrNotExist", err)
	}
	l, err := Listen(dir, "wgshort0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := Dial(dir, "wgshort0"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Dial after the listener closed = %v, want fs.ErrNotExist", err)
	}
	if l, err := Listen(dir, "wgshort0"); err != nil {
		t.Errorf("Listen again after Close: %v", err)
	} else {
		l.Close()
	}
	for _, name := range []string{"", "a/b", `a\b`, "..", "sixteen-chars-xx"} {
		if _, err := Dial(dir, name); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Dial(%q) = %v, want ErrInvalidName", name, err)
		}
		if _, err := Listen(dir, name); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Listen(%q) = %v, want ErrInvalidName", name, err)
		}
	}
}

func TestPipeInterfaces(t *testing.T) {
	skipOnWine(t)
	dir := testPipeDir(t)
	if names, err := Interfaces(dir); err != nil || len(names) != 0 {
		t.Fatalf("empty namespace: %q, %v", names, err)
	}
	h := &fakeHandler{state: &wgtypes.Device{}}
	serveTest(t, dir, "wgb", h)
	la := serveTest(t, dir, "wga", h)
	serveTest(t, dir+`\deeper`, "wgc", h) // another namespace: not listed
	names, err := Interfaces(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"wga", "wgb"}; !slices.Equal(names, want) {
		t.Errorf("Interfaces = %q, want %q", names, want)
	}
	la.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		names, err = Interfaces(dir)
		if err == nil && slices.Equal(names, []string{"wgb"}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after closing wga: Interfaces = %q, %v; want [wgb]", names, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := Dial(dir, "wga"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Dial after Close = %v, want fs.ErrNotExist", err)
	}
}

// TestPipeDirectoryNamespace: a plain directory (as WARREN_SOCKET_DIR or a
// test's TempDir) maps to a private namespace that works end to end.
func TestPipeDirectoryNamespace(t *testing.T) {
	dir := t.TempDir()
	serveTest(t, dir, "wgdir0", &fakeHandler{state: testDevice()})
	c, err := Dial(dir, "wgdir0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := Get(c); err != nil {
		t.Fatal(err)
	}
	skipOnWine(t)
	names, err := Interfaces(dir)
	if err != nil || !slices.Equal(names, []string{"wgdir0"}) {
		t.Fatalf("Interfaces(%q) = %q, %v", dir, names, err)
	}
}

// TestPipeListenerCloseReleasesEvent: Close closes the event it used to
// wake Accept (a handle a long-running process would otherwise lose on
// every listener), and Accept after Close still says the listener is
// closed, without touching the closed handle.
func TestPipeListenerCloseReleasesEvent(t *testing.T) {
	l, err := Listen(testPipeDir(t), "wgev0")
	if err != nil {
		t.Fatal(err)
	}
	ev := l.(*pipeListener).closed
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := windows.WaitForSingleObject(ev, 0); !errors.Is(err, windows.ERROR_INVALID_HANDLE) {
		t.Errorf("the listener's event is still open after Close (wait: %v)", err)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
