package wire

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func fill(r *rand.ChaCha8, b []byte) { _, _ = r.Read(b) }

func TestRoundTrip(t *testing.T) {
	r := rand.NewChaCha8([32]byte{1})
	for i := range 20 {
		var in Initiation
		in.Sender = uint32(i) * 0x01010101
		fill(r, in.Ephemeral[:])
		fill(r, in.Static[:])
		fill(r, in.Timestamp[:])
		fill(r, in.MAC1[:])
		fill(r, in.MAC2[:])
		b := in.Marshal(make([]byte, InitiationSize+10))
		if len(b) != InitiationSize || b[0] != TypeInitiation {
			t.Fatalf("initiation marshals to %d bytes of type %d", len(b), b[0])
		}
		out, err := ParseInitiation(b)
		if err != nil || out != in {
			t.Fatalf("initiation round trip: %v, %+v != %+v", err, out, in)
		}

		var rs Response
		rs.Sender, rs.Receiver = uint32(i), ^uint32(i)
		fill(r, rs.Ephemeral[:])
		fill(r, rs.Empty[:])
		fill(r, rs.MAC1[:])
		fill(r, rs.MAC2[:])
		b = rs.Marshal(make([]byte, ResponseSize))
		if len(b) != ResponseSize || b[0] != TypeResponse {
			t.Fatalf("response marshals to %d bytes of type %d", len(b), b[0])
		}
		rout, err := ParseResponse(b)
		if err != nil || rout != rs {
			t.Fatalf("response round trip: %v", err)
		}

		var c CookieReply
		c.Receiver = uint32(i) << 8
		fill(r, c.Nonce[:])
		fill(r, c.Cookie[:])
		b = c.Marshal(make([]byte, CookieReplySize))
		if len(b) != CookieReplySize || b[0] != TypeCookieReply {
			t.Fatalf("cookie reply marshals to %d bytes of type %d", len(b), b[0])
		}
		cout, err := ParseCookieReply(b)
		if err != nil || cout != c {
			t.Fatalf("cookie reply round trip: %v", err)
		}

		tb := make([]byte, MinTransportSize+i)
		PutTransportHeader(tb, uint32(i)+7, uint64(i)<<40|3)
		h, err := ParseTransportHeader(tb)
		if err != nil || h.Receiver != uint32(i)+7 || h.Counter != uint64(i)<<40|3 {
			t.Fatalf("transport header round trip: %v %+v", err, h)
		}
	}
}

func TestFieldOffsets(t *testing.T) {
	// Layout from the whitepaper (§5.4.2, §5.4.3, §5.4.7, §5.4.6), little-endian integers.
	in := Initiation{Sender: 0x04030201}
	in.Ephemeral[0], in.Static[0], in.Timestamp[0], in.MAC1[0], in.MAC2[0] = 0xe0, 0x50, 0x70, 0x31, 0x32
	b := in.Marshal(make([]byte, InitiationSize))
	for off, want := range map[int]byte{0: 1, 4: 1, 7: 4, 8: 0xe0, 40: 0x50, 88: 0x70, 116: 0x31, 132: 0x32} {
		if b[off] != want {
			t.Errorf("initiation byte %d = %#x, want %#x", off, b[off], want)
		}
	}
	rs := Response{Sender: 0x0a, Receiver: 0x0b}
	rs.Ephemeral[0], rs.Empty[0], rs.MAC1[0], rs.MAC2[0] = 0xe0, 0xee, 0x31, 0x32
	b = rs.Marshal(make([]byte, ResponseSize))
	for off, want := range map[int]byte{0: 2, 4: 0x0a, 8: 0x0b, 12: 0xe0, 44: 0xee, 60: 0x31, 76: 0x32} {
		if b[off] != want {
			t.Errorf("response byte %d = %#x, want %#x", off, b[off], want)
		}
	}
	c := CookieReply{Receiver: 0x0c}
	c.Nonce[0], c.Cookie[0] = 0x99, 0xcc
	b = c.Marshal(make([]byte, CookieReplySize))
	for off, want := range map[int]byte{0: 3, 4: 0x0c, 8: 0x99, 32: 0xcc} {
		if b[off] != want {
			t.Errorf("cookie reply byte %d = %#x, want %#x", off, b[off], want)
		}
	}
	b = make([]byte, TransportHeaderSize)
	PutTransportHeader(b, 0x11223344, 0x0102030405060708)
	if want := []byte{4, 0, 0, 0, 0x44, 0x33, 0x22, 0x11, 8, 7, 6, 5, 4, 3, 2, 1}; !bytes.Equal(b, want) {
		t.Errorf("transport header %x, want %x", b, want)
	}
}

func TestType(t *testing.T) {
	msg := func(typ byte, n int) []byte {
		b := make([]byte, n)
		if n > 0 {
			b[0] = typ
		}
		return b
	}
	withByte := func(b []byte, i int, v byte) []byte { b[i] = v; return b }
	for _, tc := range []struct {
		name string
		b    []byte
		want uint8 // 0: error
	}{
		{"empty", nil, 0},
		{"three bytes", []byte{1, 0, 0}, 0},
		{"initiation", msg(1, InitiationSize), TypeInitiation},
		{"initiation short", msg(1, InitiationSize-1), 0},
		{"initiation long", msg(1, InitiationSize+1), 0},
		{"response", msg(2, ResponseSize), TypeResponse},
		{"response short", msg(2, ResponseSize-1), 0},
		{"response long", msg(2, ResponseSize+1), 0},
		{"response at initiation size", msg(2, InitiationSize), 0},
		{"cookie reply", msg(3, CookieReplySize), TypeCookieReply},
		{"cookie reply short", msg(3, CookieReplySize-1), 0},
		{"cookie reply long", msg(3, CookieReplySize+1), 0},
		{"keepalive", msg(4, MinTransportSize), TypeTransport},
		{"transport short", msg(4, MinTransportSize-1), 0},
		{"transport header only", msg(4, TransportHeaderSize), 0},
		{"transport jumbo", msg(4, 65535), TypeTransport},
		{"type 0", msg(0, 148), 0},
		{"type 5", msg(5, 148), 0},
		{"type 255", msg(255, 148), 0},
		{"reserved byte 1", withByte(msg(1, InitiationSize), 1, 1), 0},
		{"reserved byte 2", withByte(msg(2, ResponseSize), 2, 0x80), 0},
		{"reserved byte 3", withByte(msg(4, 64), 3, 1), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Type(tc.b)
			if tc.want == 0 {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("Type = %d, %v; want ErrMalformed", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Type = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
	// Every length of every handshake type other than its own is rejected.
	for typ, size := range map[byte]int{1: InitiationSize, 2: ResponseSize, 3: CookieReplySize} {
		for n := range 200 {
			if _, err := Type(msg(typ, n)); (err == nil) != (n == size) {
				t.Errorf("type %d, %d bytes: err %v", typ, n, err)
			}
		}
	}
}

func TestParseWrongType(t *testing.T) {
	init := make([]byte, InitiationSize)
	init[0] = TypeInitiation
	resp := make([]byte, ResponseSize)
	resp[0] = TypeResponse
	for _, tc := range []struct {
		name  string
		parse func([]byte) error
		b     []byte
	}{
		{"initiation from response", func(b []byte) error { _, err := ParseInitiation(b); return err }, resp},
		{"response from initiation", func(b []byte) error { _, err := ParseResponse(b); return err }, init},
		{"cookie reply from initiation", func(b []byte) error { _, err := ParseCookieReply(b); return err }, init},
		{"transport from response", func(b []byte) error { _, err := ParseTransportHeader(b); return err }, resp},
		{"initiation from nothing", func(b []byte) error { _, err := ParseInitiation(b); return err }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.parse(tc.b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want ErrMalformed", err)
			}
		})
	}
}

func TestPaddedSize(t *testing.T) {
	for _, tc := range []struct {
		name         string
		n, mtu, want int
	}{
		{"keepalive", 0, 1420, 0},
		{"one byte", 1, 1420, 16},
		{"exact multiple", 32, 1420, 32},
		{"just over", 33, 1420, 48},
		{"capped at mtu", 1419, 1420, 1420},
		{"mtu not a multiple of 16", 1409, 1410, 1410},
		{"below an odd mtu", 1401, 1410, 1408},
		{"at mtu", 1420, 1420, 1420},
		{"over mtu is left alone", 1500, 1420, 1500},
		{"no mtu", 1500, 0, 1504},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PaddedSize(tc.n, tc.mtu); got != tc.want {
				t.Fatalf("PaddedSize(%d, %d) = %d, want %d", tc.n, tc.mtu, got, tc.want)
			}
		})
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	init := make([]byte, InitiationSize)
	init[0] = TypeInitiation
	tr := make([]byte, 100)
	tr[0] = TypeTransport
	n := testing.AllocsPerRun(100, func() {
		_, _ = ParseInitiation(init)
		_, _ = ParseTransportHeader(tr)
	})
	if n != 0 {
		t.Fatalf("parsing allocates %v times", n)
	}
}

func FuzzParse(f *testing.F) {
	for _, typ := range []byte{1, 2, 3, 4} {
		for _, n := range []int{InitiationSize, ResponseSize, CookieReplySize, MinTransportSize} {
			b := make([]byte, n)
			b[0] = typ
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		typ, err := Type(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Type error %v does not wrap ErrMalformed", err)
			}
		}
		out := make([]byte, 200)
		if m, err := ParseInitiation(b); err == nil {
			if typ != TypeInitiation || !bytes.Equal(m.Marshal(out), b) {
				t.Fatal("initiation does not round-trip")
			}
		}
		if m, err := ParseResponse(b); err == nil {
			if typ != TypeResponse || !bytes.Equal(m.Marshal(out), b) {
				t.Fatal("response does not round-trip")
			}
		}
		if m, err := ParseCookieReply(b); err == nil {
			if typ != TypeCookieReply || !bytes.Equal(m.Marshal(out), b) {
				t.Fatal("cookie reply does not round-trip")
			}
		}
		if h, err := ParseTransportHeader(b); err == nil {
			PutTransportHeader(out, h.Receiver, h.Counter)
			if typ != TypeTransport || !bytes.Equal(out[:TransportHeaderSize], b[:TransportHeaderSize]) {
				t.Fatal("transport header does not round-trip")
			}
		}
		if !bytes.Equal(b, orig) {
			t.Fatal("parsing modified its input")
		}
	})
}

func BenchmarkParseInitiation(b *testing.B) {
	msg := make([]byte, InitiationSize)
	msg[0] = TypeInitiation
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseInitiation(msg); err != nil {
			b.Fatal(err)
		}
	}
}
