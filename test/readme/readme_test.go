// Package readme runs every example in README.md, so that the README cannot
// go stale.
//
// Every fenced shell block (```sh) in README.md carries a marker on the line
// before it saying how it runs:
//
//	<!-- example: user -->             as nobody
//	<!-- example: root -->             as root
//	<!-- example: repo -->             as root, in the repository's root
//	<!-- example: file NAME -->        (any block) written to NAME for the blocks after it
//	<!-- example: skip: REASON -->     not run here, and why
//
// and "fixture=server" after user or root first starts, as root, a
// WireGuard server for the block: a warren daemon with tunnel address
// 10.0.0.1/24 listening on 127.0.0.1:51820, a web page on 10.0.0.1:80 that
// says "hello from 10.0.0.1", and a wg0.conf in the block's directory that
// reaches it (Address 10.0.0.2/32).
//
// Each block runs under bash -e in its own network, mount and PID
// namespaces (unshare), with loopback up, /etc, /var, /run and /usr/bin
// overlaid by throwaway layers (so `install`, `/etc/wireguard` and
// `/var/lib/warren` change nothing on this machine), warren built from this
// tree first on PATH, and a fresh directory holding the files the README
// gave so far; when the block ends, the PID namespace ends every process it
// started, and the network namespaces it made go with the mount namespace.
// A block passes when it exits 0 within its time.
package readme

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/testenv"
)

// example is one fenced block of README.md and its marker.
type example struct {
	line    int    // of the opening fence
	kind    string // user, root, repo, file, skip
	arg     string // file: the name; skip: the reason
	fixture string
	text    string
}

// parse reads the examples of a README, and fails on a shell block
// without a marker or a marker without a block.
func parse(t *testing.T, readme []byte) []example {
	t.Helper()
	var out []example
	var pending *example
	sc := bufio.NewScanner(bytes.NewReader(readme))
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if m, ok := strings.CutPrefix(strings.TrimSpace(line), "<!-- example:"); ok {
			m, ok = strings.CutSuffix(m, "-->")
			if !ok {
				t.Fatalf("README.md:%d: an example marker must end with --> on its line", n)
			}
			ex, err := parseMarker(strings.TrimSpace(m))
			if err != nil {
				t.Fatalf("README.md:%d: %v", n, err)
			}
			pending = &ex
			continue
		}
		if !strings.HasPrefix(line, "```") {
			if pending != nil && strings.TrimSpace(line) != "" {
				t.Fatalf("README.md:%d: an example marker must be followed by a fenced block", n)
			}
			continue
		}
		lang := strings.TrimPrefix(line, "```")
		start := n
		var body strings.Builder
		closed := false
		for sc.Scan() {
			n++
			if strings.HasPrefix(sc.Text(), "```") {
				closed = true
				break
			}
			body.WriteString(sc.Text())
			body.WriteByte('\n')
		}
		if !closed {
			t.Fatalf("README.md:%d: a fenced block that never ends", start)
		}
		if pending == nil {
			if lang == "sh" || lang == "bash" || lang == "console" {
				t.Errorf("README.md:%d: a shell example without an <!-- example: ... --> marker (test/readme says which)", start)
			}
			continue
		}
		pending.line, pending.text = start, body.String()
		out = append(out, *pending)
		pending = nil
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func parseMarker(m string) (example, error) {
	if reason, ok := strings.CutPrefix(m, "skip:"); ok {
		if strings.TrimSpace(reason) == "" {
			return example{}, fmt.Errorf("a skipped example must say why")
		}
		return example{kind: "skip", arg: strings.TrimSpace(reason)}, nil
	}
	f := strings.Fields(m)
	if len(f) == 0 {
		return example{}, fmt.Errorf("an empty example marker")
	}
	ex := example{kind: f[0]}
	switch ex.kind {
	case "file":
		if len(f) != 2 || strings.ContainsAny(f[1], "/\\") {
			return example{}, fmt.Errorf("file takes one plain file name: %q", m)
		}
		ex.arg = f[1]
		return ex, nil
	case "user", "root", "repo":
	default:
		return example{}, fmt.Errorf("unknown example kind %q (user, root, repo, file, skip)", ex.kind)
	}
	for _, opt := range f[1:] {
		v, ok := strings.CutPrefix(opt, "fixture=")
		if !ok || v != "server" {
			return example{}, fmt.Errorf("unknown example option %q (fixture=server)", opt)
		}
		ex.fixture = v
	}
	return ex, nil
}

func TestParseMarkers(t *testing.T) {
	exs := parse(t, []byte("text\n<!-- example: file a.conf -->\n```ini\nx = 1\n```\n\n<!-- example: user fixture=server -->\n\n```sh\necho hi\n```\n```ini\nnot an example\n```\n<!-- example: skip: needs Windows -->\n```sh\nwarren.exe\n```\n"))
	if len(exs) != 3 || exs[0].kind != "file" || exs[0].arg != "a.conf" || exs[0].text != "x = 1\n" ||
		exs[1].kind != "user" || exs[1].fixture != "server" || exs[1].text != "echo hi\n" || exs[1].line != 9 ||
		exs[2].kind != "skip" || exs[2].arg != "needs Windows" {
		t.Errorf("parsed %+v", exs)
	}
	for _, bad := range []string{"", "bogus", "file", "file a/b", "user fixture=other", "skip:"} {
		if _, err := parseMarker(bad); err == nil {
			t.Errorf("marker %q accepted", bad)
		}
	}
}

// TestReadmeExamples runs README.md's examples in order.
func TestReadmeExamples(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(repo, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	exs := parse(t, readme)
	if t.Failed() {
		return
	}
	testenv.RequireRoot(t)
	testenv.RequireTUN(t)
	testenv.RequireTool(t, "unshare", "util-linux")
	testenv.RequireTool(t, "setpriv", "util-linux")
	testenv.RequireTool(t, "ncat", "ncat")
	testenv.RequireTool(t, "curl", "curl")

	// A world-readable place for warren and the blocks' directories, so
	// that nobody can use them.
	root, err := os.MkdirTemp("", "warren-readme-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	must(t, os.Chmod(root, 0o755))
	bin := filepath.Join(root, "bin")
	must(t, os.Mkdir(bin, 0o755))
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "warren"), "./cmd/warren")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// `go build -o warren` in the repository's root (the install example)
	// leaves a binary there, which .gitignore names; remove it unless it
	// was there before.
	if _, err := os.Stat(filepath.Join(repo, "warren")); os.IsNotExist(err) {
		t.Cleanup(func() { os.Remove(filepath.Join(repo, "warren")) })
	}

	files := map[string]string{}
	ran := 0
	for i, ex := range exs {
		switch ex.kind {
		case "file":
			files[ex.arg] = ex.text
			continue
		case "skip":
			t.Logf("README.md:%d: not run here: %s", ex.line, ex.arg)
			continue
		}
		ran++
		t.Run(fmt.Sprintf("line%d", ex.line), func(t *testing.T) {
			dir := filepath.Join(root, fmt.Sprintf("ex%d", i))
			must(t, os.Mkdir(dir, 0o777))
			must(t, os.Chmod(dir, 0o777))
			for name, text := range files {
				must(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
			}
			runExample(t, repo, bin, dir, ex)
		})
	}
	if ran == 0 {
		t.Error("README.md has no example that runs")
	}
}

// runExample runs one block in its sandbox.
func runExample(t *testing.T, repo, bin, dir string, ex example) {
	var script strings.Builder
	script.WriteString(sandbox)
	if ex.fixture == "server" {
		script.WriteString(serverFixture)
	}
	cwd := dir
	if ex.kind == "repo" {
		cwd = repo
	}
	fmt.Fprintf(&script, "cd %q\n", cwd)
	block := filepath.Join(dir, "example.sh")
	must(t, os.WriteFile(block, []byte("set -e\n"+ex.text), 0o644))
	if ex.kind == "user" {
		// nobody, with the environment a user's shell has.
		fmt.Fprintf(&script, "exec setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=%q PATH=\"$PATH\" bash %q\n", dir, block)
	} else {
		fmt.Fprintf(&script, "exec bash %q\n", block)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc",
		"--propagation", "private", "bash", "-c", script.String())
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "SANDBOX="+dir, "WARREN_BIN="+filepath.Join(bin, "warren"))
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("README.md:%d (%s, %.1fs):\n%s\n--- output:\n%s", ex.line, ex.kind, time.Since(start).Seconds(), ex.text, out)
	if ctx.Err() != nil {
		t.Fatalf("README.md:%d: still running after 4 minutes", ex.line)
	}
	if err != nil {
		t.Fatalf("README.md:%d: %v", ex.line, err)
	}
}

// sandbox runs first in the block's namespaces: loopback up, and
// throwaway layers over what examples may change.
const sandbox = `set -e
ip link set lo up
layers=$(mktemp -d /tmp/warren-readme-layers.XXXXXX)
mount -t tmpfs tmpfs "$layers"
for d in /etc /var /run /usr/bin; do
	n=${d//\//_}
	mkdir -p "$layers/$n/upper" "$layers/$n/work"
	mount -t overlay overlay -o "lowerdir=$d,upperdir=$layers/$n/upper,workdir=$layers/$n/work" "$d"
done
`

// serverFixture starts the WireGuard server fixture=server promises and
// writes the wg0.conf that reaches it.
const serverFixture = `umask 077
srvkey=$(warren genkey); clikey=$(warren genkey)
srvpub=$(printf %s "$srvkey" | warren pubkey); clipub=$(printf %s "$clikey" | warren pubkey)
warren daemon wgs
printf %s "$srvkey" > "$SANDBOX/.srv.key"
warren set wgs private-key "$SANDBOX/.srv.key" listen-port 51820 peer "$clipub" allowed-ips 10.0.0.2/32
rm "$SANDBOX/.srv.key"
ip addr add 10.0.0.1/24 dev wgs
ip link set wgs up
cat > "$SANDBOX/.web.sh" <<'WEB'
sed -u -n '/^\r*$/q'
printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n\r\nhello from 10.0.0.1\n'
WEB
setsid ncat -lk 10.0.0.1 80 --sh-exec "sh $SANDBOX/.web.sh" </dev/null >/dev/null 2>&1 &
cat > "$SANDBOX/wg0.conf" <<CONF
[Interface]
PrivateKey = $clikey
Address = 10.0.0.2/32

[Peer]
PublicKey = $srvpub
Endpoint = 127.0.0.1:51820
AllowedIPs = 10.0.0.0/24
PersistentKeepalive = 25
CONF
chmod 644 "$SANDBOX/wg0.conf"
umask 022
for i in $(seq 50); do ncat -z 10.0.0.1 80 && break; sleep 0.1; done
`

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
