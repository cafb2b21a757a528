package uapi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/noise"
)

// peersBody is a set body of n peers with distinct keys and one /32 each.
func peersBody(n int) string {
	var b strings.Builder
	b.Grow(n * 110)
	for i := range n {
		var k noise.PublicKey
		k[0], k[1], k[2], k[3] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		fmt.Fprintf(&b, "public_key=%s\nallowed_ip=10.%d.%d.%d/32\n", k.Hex(), byte(i>>16), byte(i>>8), byte(i))
	}
	b.WriteByte('\n')
	return b.String()
}

// TestParseSetManyPeers: a request is not capped at 131,072 peers any more
// (the old fixed MaxPeers), only at the default peer limit.
func TestParseSetManyPeers(t *testing.T) {
	const n = 1<<17 + 1
	cfg, err := ParseSet(strings.NewReader(peersBody(n)))
	if err != nil {
		t.Fatalf("%d peers: %v", n, err)
	}
	if len(cfg.Peers) != n {
		t.Fatalf("parsed %d peers, want %d", len(cfg.Peers), n)
	}
}

func TestParseSetDefaultPeerLimit(t *testing.T) {
	_, _, err := parseSet(newLineReader(strings.NewReader(peersBody(5))), 4)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "more than 4 peers") {
		t.Errorf("5 peers with a limit of 4: err = %v, want EINVAL naming the limit", err)
	}
}

// limitedHandler is a fakeHandler with a peer limit.
type limitedHandler struct {
	fakeHandler
	max int
}

func (h *limitedHandler) MaxPeers() int { return h.max }

// serveOne sends req to ServeConn(h) over a pipe and returns the answer
// and what the server logged.
func serveOne(t *testing.T, h Handler, req string) (answer string, logged []string) {
	t.Helper()
	cli, srv := net.Pipe()
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		ServeConn(srv, h, func(f string, a ...any) {
			mu.Lock()
			logged = append(logged, fmt.Sprintf(f, a...))
			mu.Unlock()
		})
	}()
	cli.SetDeadline(time.Now().Add(10 * time.Second))
	go io.WriteString(cli, req)
	br := bufio.NewReader(cli)
	var b strings.Builder
	for {
		line, err := br.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			t.Fatalf("reading answer: %v (got %q)", err, b.String())
		}
		if line == "\n" {
			break
		}
	}
	cli.Close()
	<-done
	mu.Lock()
	defer mu.Unlock()
	return b.String(), logged
}

// TestServePeerLimit: a Handler's own limit bounds a set request while it
// is parsed; the refusal is EINVAL, nothing is applied, and the log names
// the limit.
func TestServePeerLimit(t *testing.T) {
	h := &limitedHandler{max: 3}
	ans, logged := serveOne(t, h, "set=1\n"+peersBody(4))
	if ans != "errno=-22\n\n" {
		t.Errorf("4 peers, limit 3: answer %q, want errno=-22", ans)
	}
	if h.nApplied() != 0 {
		t.Errorf("a refused request was applied")
	}
	if !strings.Contains(strings.Join(logged, "\n"), "more than 3 peers") {
		t.Errorf("log %q does not name the limit", logged)
	}
	ans, _ = serveOne(t, h, "set=1\n"+peersBody(3))
	if ans != "errno=0\n\n" || h.nApplied() != 1 {
		t.Errorf("3 peers, limit 3: answer %q, %d applied; want errno=0, 1", ans, h.nApplied())
	}
}

var _ Handler = (*limitedHandler)(nil)

// TestServeBulkSetReturnsMemory: after a set of many peers the server
// gives the memory the parsed request took back to the system rather
// than keeping it in the heap for good.
func TestServeBulkSetReturnsMemory(t *testing.T) {
	const n = 4 * bulkPeers
	req := "set=1\n" + peersBody(n)
	h := &fakeHandler{}
	if ans, _ := serveOne(t, h, req); ans != "errno=0\n\n" {
		t.Fatalf("answer %q", ans)
	}
	h.applied = nil // what the handler kept
	req = ""
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	// The request's text, lines and Config came to some 20 MiB.
	if kept := ms.HeapIdle - ms.HeapReleased; kept > 8<<20 {
		t.Errorf("%d MiB of free heap kept from the system after a set of %d peers", kept>>20, n)
	}
}
