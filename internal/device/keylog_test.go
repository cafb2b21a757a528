package device

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/warren-vpn/warren/internal/netsim"
	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/wgtypes"
	"github.com/warren-vpn/warren/internal/wire"
)

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// keyLogEntry is one handshake's lines, parsed.
type keyLogEntry struct {
	local     noise.PrivateKey
	remote    noise.PublicKey
	ephemeral noise.PrivateKey
	psk       noise.PresharedKey
}

// parseKeyLog reads log as Wireshark's dissector does, strictly: groups of
// the four lines in order, "NAME = base64".
func parseKeyLog(t *testing.T, log string) []keyLogEntry {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(log, "\n"), "\n")
	if log == "" || len(lines)%4 != 0 {
		t.Fatalf("key log of %d lines, want groups of 4:\n%s", len(lines), log)
	}
	var out []keyLogEntry
	for i := 0; i < len(lines); i += 4 {
		var e keyLogEntry
		for j, dst := range []*[32]byte{(*[32]byte)(&e.local), (*[32]byte)(&e.remote), (*[32]byte)(&e.ephemeral), (*[32]byte)(&e.psk)} {
			name, val, ok := strings.Cut(lines[i+j], " = ")
			if !ok || name != keyLogNames[j] {
				t.Fatalf("key log line %d is %q, want %s = ...", i+j+1, lines[i+j], keyLogNames[j])
			}
			b, err := base64.StdEncoding.DecodeString(val)
			if err != nil || len(b) != 32 {
				t.Fatalf("key log line %d: %q is not a base64 key", i+j+1, val)
			}
			copy(dst[:], b)
		}
		out = append(out, e)
	}
	return out
}

// TestKeyLog: with a key log, each side writes for each handshake its
// static private key, the peer's public key, the ephemeral private key it
// drew (whose public key is the one on the wire) and the preshared key.
func TestKeyLog(t *testing.T) {
	for _, withPSK := range []bool{false, true} {
		t.Run(fmt.Sprint("psk=", withPSK), func(t *testing.T) {
			n := netsim.New(netsim.Options{})
			t.Cleanup(func() { n.Close() })
			var logA, logB syncBuffer
			a := newNodeWith(t, n, 1, nil, nodeConfig{keyLog: &logA})
			b := newNodeWith(t, n, 2, nil, nodeConfig{keyLog: &logB})
			var psk noise.PresharedKey
			if withPSK {
				psk, _ = noise.NewPresharedKey(randReader{})
			}
			pa, pb := peerOf(b, 0), peerOf(a, 0)
			pa.PresharedKey, pb.PresharedKey = &psk, &psk
			if err := a.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{pa}}); err != nil {
				t.Fatal(err)
			}
			if err := b.d.Apply(&wgtypes.Config{Peers: []wgtypes.PeerConfig{pb}}); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			ephemerals := map[netip.Addr][]noise.PublicKey{}
			n.SetFilter(func(src, dst netip.AddrPort, data []byte) bool {
				var e noise.PublicKey
				switch {
				case len(data) == wire.InitiationSize && data[0] == wire.TypeInitiation:
					copy(e[:], data[8:40])
				case len(data) == wire.ResponseSize && data[0] == wire.TypeResponse:
					copy(e[:], data[12:44])
				default:
					return true
				}
				mu.Lock()
				ephemerals[src.Addr()] = append(ephemerals[src.Addr()], e)
				mu.Unlock()
				return true
			})
			expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("logged")))
			expectPacket(t, b, a, ipv4(b.v4, a.v4, []byte("logged")))
			for _, c := range []struct {
				nd, peer *node
				log      *syncBuffer
			}{{a, b, &logA}, {b, a, &logB}} {
				entries := parseKeyLog(t, c.log.String())
				if len(entries) != 1 {
					t.Fatalf("%v logged %d handshakes, want 1", c.nd.v4, len(entries))
				}
				e := entries[0]
				if e.local != c.nd.priv || e.remote != c.peer.pub || e.psk != psk {
					t.Errorf("%v logged the wrong static or preshared key", c.nd.v4)
				}
				mu.Lock()
				sent := ephemerals[c.nd.addr]
				mu.Unlock()
				if len(sent) != 1 || !e.ephemeral.PublicKey().Equal(sent[0]) {
					t.Errorf("%v logged an ephemeral key that is not the one it sent", c.nd.v4)
				}
			}
		})
	}
}

type failingWriter struct{}

var errKeyLogFull = errors.New("no space left")

func (failingWriter) Write([]byte) (int, error) { return 0, errKeyLogFull }

// TestKeyLogWriteFailure: a key log that cannot be written is reported,
// and the tunnel works regardless.
func TestKeyLogWriteFailure(t *testing.T) {
	n := netsim.New(netsim.Options{})
	t.Cleanup(func() { n.Close() })
	var errs syncBuffer
	a := newNodeWith(t, n, 1, nil, nodeConfig{keyLog: failingWriter{}, logger: &Logger{
		Verbosef: func(string, ...any) {},
		Errorf:   func(f string, args ...any) { fmt.Fprintf(&errs, f+"\n", args...) },
	}})
	b := newNode(t, n, 2, nil)
	connect(t, a, b)
	expectPacket(t, a, b, ipv4(a.v4, b.v4, []byte("unlogged")))
	if got := errs.String(); !strings.Contains(got, "Failed to write the key log: "+errKeyLogFull.Error()) {
		t.Errorf("errors logged: %q", got)
	}
}
