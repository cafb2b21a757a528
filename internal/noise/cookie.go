package noise

// MAC1, MAC2 and cookie replies: the DoS mitigation of whitepaper §5.3 and
// §5.4.4, §5.4.7.
//
// Source address bytes. A cookie binds to the initiator's source address. The
// bytes passed as src to CookieChecker are, by this package's convention, the
// IP address (4 bytes for IPv4 and v4-mapped IPv6, 16 bytes for IPv6)
// followed by the UDP port in big-endian (network) byte order; AppendSource
// builds them. Only the responder ever computes them, so the choice does not
// affect interoperability, but the engine must be consistent.

import (
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"time"

	"github.com/warren-vpn/warren/internal/wire"
	"golang.org/x/crypto/chacha20poly1305"
)

const (
	// CookieSecretMaxAge is how long the responder keeps its cookie secret
	// before drawing a new one ("Rm changes every two minutes").
	CookieSecretMaxAge = 120 * time.Second
	// CookieSecretLatency is the margin an initiator leaves for a cookie to
	// travel: it stops using a cookie CookieSecretMaxAge minus this after it
	// received it, so that it does not send a MAC2 the responder has already
	// rotated away from.
	CookieSecretLatency = 5 * time.Second
	// cookieSize is the length of a cookie (a 16-byte MAC).
	cookieSize = 16
)

// AppendSource appends the source address bytes of src, as CheckMAC2 and
// CreateReply expect them, to dst: the IP (4 or 16 bytes, v4-mapped addresses
// unmapped) and the port big-endian. It does not allocate when dst has room
// for 18 bytes.
func AppendSource(dst []byte, src netip.AddrPort) []byte {
	a := src.Addr().Unmap()
	if a.Is4() {
		b := a.As4()
		dst = append(dst, b[:]...)
	} else {
		b := a.As16()
		dst = append(dst, b[:]...)
	}
	return binary.BigEndian.AppendUint16(dst, src.Port())
}

// cookieChecker is safe for concurrent use.
type cookieChecker struct {
	mac1Key   [32]byte // HASH(LABEL_MAC1 || Sr_pub)
	cookieKey [32]byte // HASH(LABEL_COOKIE || Sr_pub)
	rand      io.Reader

	mu        sync.RWMutex
	secret    [32]byte // Rm
	secretSet time.Time
	hasSecret bool
}

func newCookieChecker(local PublicKey, rand io.Reader) *CookieChecker {
	c := new(CookieChecker)
	c.mac1Key = labeledKey(labelMAC1, &local)
	c.cookieKey = labeledKey(labelCookie, &local)
	c.rand = rand
	return c
}

// handshakeMACs splits a marshaled handshake message into the bytes MAC1
// covers, MAC1, and the bytes MAC2 covers.
func handshakeMACs(msg []byte) (mac1Input, mac1, mac2Input, mac2 []byte, ok bool) {
	n := len(msg)
	if n < wire.MAC1FromEnd {
		return nil, nil, nil, nil, false
	}
	return msg[:n-wire.MAC1FromEnd], msg[n-wire.MAC1FromEnd : n-wire.MAC2FromEnd], msg[:n-wire.MAC2FromEnd], msg[n-wire.MAC2FromEnd:], true
}

func (c *CookieChecker) checkMAC1(msg []byte) bool {
	in, got, _, _, ok := handshakeMACs(msg)
	if !ok {
		return false
	}
	var want [wire.MACSize]byte
	mac(&want, c.mac1Key[:], in) // mac1 = MAC(HASH(LABEL_MAC1 || Sr_pub), msg_α)
	return subtle.ConstantTimeCompare(want[:], got) == 1
}

func (c *CookieChecker) checkMAC2(msg, src []byte, now time.Time) bool {
	_, _, in, got, ok := handshakeMACs(msg)
	if !ok {
		return false
	}
	var cookie [cookieSize]byte
	c.mu.RLock()
	if !c.hasSecret || now.Sub(c.secretSet) > CookieSecretMaxAge {
		c.mu.RUnlock()
		return false // any cookie in circulation was made with a retired secret
	}
	mac(&cookie, c.secret[:], src) // τ = MAC(Rm, Am)
	c.mu.RUnlock()
	var want [wire.MACSize]byte
	mac(&want, cookie[:], in) // mac2 = MAC(τ, msg_β)
	clear(cookie[:])
	return subtle.ConstantTimeCompare(want[:], got) == 1
}

func (c *CookieChecker) createReply(msg []byte, receiver uint32, src []byte, now time.Time) (*wire.CookieReply, error) {
	_, mac1, _, _, ok := handshakeMACs(msg)
	if !ok {
		return nil, fmt.Errorf("create cookie reply: %w: %d-byte message has no MACs", wire.ErrMalformed, len(msg))
	}
	var cookie [cookieSize]byte
	c.mu.Lock()
	if !c.hasSecret || now.Sub(c.secretSet) > CookieSecretMaxAge {
		if _, err := io.ReadFull(c.rand, c.secret[:]); err != nil {
			c.hasSecret = false
			c.mu.Unlock()
			return nil, fmt.Errorf("create cookie reply: new secret: %w", err)
		}
		c.secretSet = now
		c.hasSecret = true
	}
	mac(&cookie, c.secret[:], src)
	c.mu.Unlock()
	defer clear(cookie[:])

	r := &wire.CookieReply{Receiver: receiver}
	if _, err := io.ReadFull(c.rand, r.Nonce[:]); err != nil {
		return nil, fmt.Errorf("create cookie reply: nonce: %w", err)
	}
	a, err := chacha20poly1305.NewX(c.cookieKey[:])
	if err != nil {
		panic("noise: xchacha20poly1305 key of invalid length")
	}
	// msg.cookie = XAEAD(HASH(LABEL_COOKIE || Sr_pub), nonce, τ, mac1)
	a.Seal(r.Cookie[:0], r.Nonce[:], cookie[:], mac1)
	return r, nil
}

// cookieGenerator is safe for concurrent use.
type cookieGenerator struct {
	mac1Key   [32]byte // HASH(LABEL_MAC1 || Sr_pub) of the peer
	cookieKey [32]byte // HASH(LABEL_COOKIE || Sr_pub) of the peer

	mu          sync.Mutex
	cookie      [cookieSize]byte
	cookieSet   time.Time
	hasCookie   bool
	lastMAC1    [wire.MACSize]byte
	hasLastMAC1 bool
}

func newCookieGenerator(remote PublicKey) *CookieGenerator {
	g := new(CookieGenerator)
	g.mac1Key = labeledKey(labelMAC1, &remote)
	g.cookieKey = labeledKey(labelCookie, &remote)
	return g
}

func (g *CookieGenerator) addMACs(msg []byte, now time.Time) {
	in1, mac1, in2, mac2, ok := handshakeMACs(msg)
	if !ok {
		return
	}
	var m [wire.MACSize]byte
	mac(&m, g.mac1Key[:], in1)
	copy(mac1, m[:])

	g.mu.Lock()
	defer g.mu.Unlock()
	g.lastMAC1 = m
	g.hasLastMAC1 = true
	if g.hasCookie && now.Sub(g.cookieSet) < CookieSecretMaxAge-CookieSecretLatency {
		mac(&m, g.cookie[:], in2)
		copy(mac2, m[:])
		return
	}
	if g.hasCookie { // expired: forget it
		clear(g.cookie[:])
		g.hasCookie = false
	}
	clear(mac2)
}

func (g *CookieGenerator) consumeReply(r *wire.CookieReply, now time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.hasLastMAC1 {
		return fmt.Errorf("consume cookie reply: %w: no handshake message awaits a cookie", ErrDecrypt)
	}
	a, err := chacha20poly1305.NewX(g.cookieKey[:])
	if err != nil {
		panic("noise: xchacha20poly1305 key of invalid length")
	}
	var cookie [cookieSize]byte
	if _, err := a.Open(cookie[:0], r.Nonce[:], r.Cookie[:], g.lastMAC1[:]); err != nil {
		return fmt.Errorf("consume cookie reply: %w", ErrDecrypt)
	}
	g.cookie = cookie
	clear(cookie[:])
	g.cookieSet = now
	g.hasCookie = true
	// One reply per message sent: a replayed reply finds nothing to answer.
	g.hasLastMAC1 = false
	return nil
}
