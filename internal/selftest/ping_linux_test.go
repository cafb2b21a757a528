package selftest

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// reply turns an echo request into the reply a host sends back.
func reply(req []byte, v6 bool) []byte {
	b := bytes.Clone(req)
	b[0], b[2], b[3] = icmp4EchoReply, 0, 0
	if v6 {
		b[0] = icmp6EchoReply
	} else {
		binary.BigEndian.PutUint16(b[2:], ^checksum(b))
	}
	return b
}

func TestEchoRoundTrip(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		for _, n := range []int{0, 1, 56, 1392} {
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(i * 7)
			}
			req := echoRequest(v6, 0xbeef, 42, data)
			if !v6 && checksum(req) != 0xffff {
				t.Errorf("request of %d bytes: checksum does not verify", n)
			}
			if _, _, _, ok := parseEchoReply(v6, req); ok {
				t.Errorf("v6=%v: a request parsed as a reply", v6)
			}
			id, seq, got, ok := parseEchoReply(v6, reply(req, v6))
			if !ok || id != 0xbeef || seq != 42 || !bytes.Equal(got, data) {
				t.Errorf("v6=%v, %d bytes: parsed %v %#x %d %d bytes", v6, n, ok, id, seq, len(got))
			}
			if _, _, _, ok := parseEchoReply(!v6, reply(req, v6)); ok {
				t.Errorf("v6=%v: reply accepted for the other family", v6)
			}
		}
	}
	bad := reply(echoRequest(false, 1, 1, []byte("x")), false)
	bad[8] ^= 1
	if _, _, _, ok := parseEchoReply(false, bad); ok {
		t.Error("ICMPv4 reply with a bad checksum accepted")
	}
}

// FuzzParseEchoReply: any bytes parse without panicking, and what parses
// is an echo reply whose data is the rest of the message.
func FuzzParseEchoReply(f *testing.F) {
	f.Add(false, reply(echoRequest(false, 7, 1, []byte("warren")), false))
	f.Add(true, reply(echoRequest(true, 7, 1, []byte("warren")), true))
	f.Add(false, []byte{0, 0})
	f.Fuzz(func(t *testing.T, v6 bool, b []byte) {
		id, seq, data, ok := parseEchoReply(v6, b)
		if !ok {
			return
		}
		if len(b) < 8 || len(data) != len(b)-8 || binary.BigEndian.Uint16(b[4:]) != id || binary.BigEndian.Uint16(b[6:]) != seq {
			t.Fatalf("parsed %#x %d %d bytes from %x", id, seq, len(data), b)
		}
		if !v6 && checksum(b) != 0xffff {
			t.Fatal("ICMPv4 reply with a bad checksum accepted")
		}
	})
}
