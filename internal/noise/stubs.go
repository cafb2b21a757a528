package noise

// Placeholders so the API compiles while handshake.go and cookie.go are
// written; each is deleted as its real body lands.

import (
	"io"
	"time"

	"github.com/warren-vpn/warren/internal/wire"
)

type cookieChecker struct{}
type cookieGenerator struct{}

func newCookieChecker(local PublicKey, rand io.Reader) *CookieChecker  { panic("unimplemented") }
func (c *CookieChecker) checkMAC1(msg []byte) bool                     { panic("unimplemented") }
func (c *CookieChecker) checkMAC2(msg, src []byte, now time.Time) bool { panic("unimplemented") }
func (c *CookieChecker) createReply(msg []byte, receiver uint32, src []byte, now time.Time) (*wire.CookieReply, error) {
	panic("unimplemented")
}
func newCookieGenerator(remote PublicKey) *CookieGenerator   { panic("unimplemented") }
func (g *CookieGenerator) addMACs(msg []byte, now time.Time) { panic("unimplemented") }
func (g *CookieGenerator) consumeReply(r *wire.CookieReply, now time.Time) error {
	panic("unimplemented")
}
