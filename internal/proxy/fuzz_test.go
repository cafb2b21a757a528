package proxy

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"testing"
)

// FuzzSOCKS5Request feeds arbitrary bytes to the request parser: it must
// not panic, and an accepted request must survive a round trip through
// its own encoding.
func FuzzSOCKS5Request(f *testing.F) {
	for _, seed := range [][]byte{
		{5, 1, 0, 1, 10, 0, 0, 1, 0, 80},
		append(append([]byte{5, 1, 0, 3, 11}, "example.com"...), 1, 187),
		append([]byte{5, 3, 0, 4}, make([]byte, 18)...),
		{5, 2, 0, 1, 0, 0, 0, 0, 0, 0},
		{5, 9, 0, 1, 0, 0, 0, 0, 0, 0},
		{4, 1, 0, 80, 1, 2, 3, 4, 0},
		{5, 1, 0, 3, 0, 0, 80},
		{5, 1, 1},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := readRequest(bytes.NewReader(b))
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, ErrSOCKSVersion) ||
				errors.Is(err, ErrSOCKSCommand) || errors.Is(err, ErrSOCKSAddress) || errors.Is(err, ErrSOCKSFormat) {
				return
			}
			t.Fatalf("unclassified error %v", err)
		}
		if req.Addr.Name != "" {
			enc := append([]byte{5, req.Cmd, 0, atypDomain, byte(len(req.Addr.Name))}, req.Addr.Name...)
			enc = append(enc, byte(req.Addr.Port>>8), byte(req.Addr.Port))
			again, err := readRequest(bytes.NewReader(enc))
			if err != nil || again != req {
				t.Fatalf("round trip: %+v -> %+v, %v", req, again, err)
			}
			return
		}
		enc := appendAddr([]byte{5, req.Cmd, 0}, netipAddrPort(req.Addr))
		again, err := readRequest(bytes.NewReader(enc))
		if err != nil || again != req {
			t.Fatalf("round trip: %+v -> %+v, %v", req, again, err)
		}
	})
}

// FuzzSOCKS5UDPDatagram: the UDP header parser must not panic, and the
// payload it returns is the datagram's tail.
func FuzzSOCKS5UDPDatagram(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 10, 0, 0, 1, 0, 53, 'x'})
	f.Add(append(append([]byte{0, 0, 0, 3, 4}, "host"...), 0, 53))
	f.Add([]byte{0, 0, 1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, payload, err := parseUDPDatagram(b)
		if err == nil && !bytes.HasSuffix(b, payload) {
			t.Fatal("payload is not the datagram's tail")
		}
	})
}

// FuzzSOCKS5Auth: the RFC 1929 parser must not panic.
func FuzzSOCKS5Auth(f *testing.F) {
	f.Add([]byte{1, 5, 'a', 'l', 'i', 'c', 'e', 2, 'p', 'w'})
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		readUserPass(bytes.NewReader(b))
		readGreeting(bytes.NewReader(b))
	})
}

// netipAddrPort is a's address and port; a must not be a name.
func netipAddrPort(a socksAddr) netip.AddrPort { return netip.AddrPortFrom(a.IP, a.Port) }
