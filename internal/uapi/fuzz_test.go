package uapi

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func FuzzParseSet(f *testing.F) {
	for _, tt := range setErrorCases() {
		f.Add(tt.in)
	}
	f.Add("private_key=" + hexOf(0xff) + "\nlisten_port=1\nfwmark=0\nreplace_peers=true\npublic_key=" + hexOf(1) +
		"\nupdate_only=true\npreshared_key=" + hexOf(2) + "\nendpoint=[fe80::1%eth0]:5\npersistent_keepalive_interval=25\n" +
		"allowed_ip=10.0.0.0/8\nreplace_allowed_ips=true\nallowed_ip=::/0\nprotocol_version=1\npublic_key=" + hexOf(1) + "\nremove=true\n\n")
	f.Fuzz(func(t *testing.T, in string) {
		br := bufio.NewReader(strings.NewReader(in))
		cfg, err := ParseSet(br)
		if err != nil {
			var ue *Error
			if !errors.As(err, &ue) || (ue.Errno != errnoInvalid && ue.Errno != errnoProtocol) {
				t.Fatalf("error %v is not EINVAL or EPROTO", err)
			}
			return
		}
		// Nothing beyond the first blank line was consumed.
		rest, _ := io.ReadAll(br)
		if want := afterBlankLine(in); string(rest) != want {
			t.Fatalf("left %q after the body, want %q", rest, want)
		}
		var b bytes.Buffer
		if err := WriteSet(&b, cfg); err != nil {
			t.Fatalf("WriteSet of a parsed config: %v", err)
		}
		again, err := ParseSet(&b)
		if err != nil {
			t.Fatalf("ParseSet(WriteSet(cfg)): %v", err)
		}
		if !reflect.DeepEqual(cfg, again) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v", cfg, again)
		}
	})
}

// afterBlankLine is what follows the first blank line of a set body.
func afterBlankLine(in string) string {
	off := 0
	for _, line := range strings.SplitAfter(in, "\n") {
		off += len(line)
		if line == "\n" || line == "\r\n" {
			return in[off:]
		}
	}
	return ""
}

func FuzzParseGet(f *testing.F) {
	var full strings.Builder
	WriteGet(&full, testDevice())
	f.Add(full.String() + "errno=0\n\n")
	f.Add(full.String())
	f.Add("errno=-22\n\n")
	f.Add("listen_port=1\npublic_key=" + hexOf(1) + "\nlast_handshake_time_sec=5\nlast_handshake_time_nsec=999999999\nallowed_ip=10.1.2.3/8\nerrno=0\n\n")
	f.Fuzz(func(t *testing.T, in string) {
		dev, err := ParseGet(strings.NewReader(in))
		if err != nil {
			var ue *Error
			if !errors.As(err, &ue) {
				t.Fatalf("error %v is not *Error", err)
			}
			return
		}
		var b strings.Builder
		if err := WriteGet(&b, dev); err != nil {
			t.Fatal(err)
		}
		again, err := ParseGet(strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("ParseGet(WriteGet(dev)): %v\n%s", err, b.String())
		}
		for i := range dev.Peers {
			if dev.Peers[i].ProtocolVersion == 0 {
				dev.Peers[i].ProtocolVersion = 1 // WriteGet's default
			}
		}
		if !equalDevice(dev, again) {
			t.Fatalf("round trip changed the device:\n%+v\n%+v", dev, again)
		}
	})
}

// fuzzConn is a connection whose client sends in and never reads until the
// server is done.
type fuzzConn struct {
	in  io.Reader
	out bytes.Buffer
}

func (c *fuzzConn) Read(p []byte) (int, error)  { return c.in.Read(p) }
func (c *fuzzConn) Write(p []byte) (int, error) { return c.out.Write(p) }
func (*fuzzConn) Close() error                  { return nil }

func FuzzServeConn(f *testing.F) {
	f.Add("get=1\n\n")
	f.Add("get=1\n\nset=1\nlisten_port=1\n\nget=1\n\n")
	f.Add("set=1\nlisten_port=x\npublic_key=" + hexOf(1) + "\n\nget=1\nx")
	f.Add("set=1\npublic_key=" + hexOf(1) + "\nallowed_ip=::/0\n\nset=1\nbare\n\nput=1\n\n")
	f.Add("set=1\nlisten_port=1\n")
	f.Fuzz(func(t *testing.T, in string) {
		h := &fakeHandler{state: testDevice()}
		c := &fuzzConn{in: strings.NewReader(in)}
		ServeConn(c, h, nil)
		if n, max := h.nApplied(), strings.Count(in, "set=1\n"); n > max {
			t.Fatalf("%d applies for %d set requests", n, max)
		}
		// The output is a sequence of complete answers.
		lr := newLineReader(bytes.NewReader(c.out.Bytes()))
		zeros := 0
		for {
			dev, sawErrno, err := parseGet(lr)
			var ue *Error
			switch {
			case err == nil && !sawErrno:
				if len(dev.Peers) != 0 || dev.ListenPort != 0 {
					t.Fatalf("output ends in a partial answer: %q", c.out.String())
				}
				if zeros < h.nApplied() {
					t.Fatalf("%d applies but %d successful answers", h.nApplied(), zeros)
				}
				return
			case err == nil:
				zeros++
			case errors.As(err, &ue) && (ue.Errno == errnoInvalid || ue.Errno == errnoProtocol):
			default:
				t.Fatalf("bad answer (%v) in %q", err, c.out.String())
			}
		}
	})
}
