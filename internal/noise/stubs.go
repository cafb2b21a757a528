package noise

// Placeholders so the API compiles while handshake.go and cookie.go are
// written; each is deleted as its real body lands.

import (
	"io"
	"time"

	"github.com/warren-vpn/warren/internal/wire"
)

type handshakeState struct{}

func (s *handshakeState) zero() {}

type cookieChecker struct{}
type cookieGenerator struct{}

func newIdentity(priv PrivateKey) *Identity { panic("unimplemented") }
func (id *Identity) zero()                  { panic("unimplemented") }
func newPeerKeys(local *Identity, remote PublicKey, psk PresharedKey) (*PeerKeys, error) {
	panic("unimplemented")
}
func (p *PeerKeys) zero()                  { panic("unimplemented") }
func newTimestamp(now time.Time) Timestamp { panic("unimplemented") }
func timestampAfter(t, u Timestamp) bool   { panic("unimplemented") }
func createInitiation(local *Identity, peer *PeerKeys, senderIndex uint32, now time.Time, rand io.Reader) (*wire.Initiation, *Initiator, error) {
	panic("unimplemented")
}
func (i *Initiator) consumeResponse(local *Identity, peer *PeerKeys, msg *wire.Response) (*Keypair, error) {
	panic("unimplemented")
}
func consumeInitiation(local *Identity, msg *wire.Initiation) (*ConsumedInitiation, error) {
	panic("unimplemented")
}
func (c *ConsumedInitiation) createResponse(peer *PeerKeys, senderIndex uint32, rand io.Reader) (*wire.Response, *Keypair, error) {
	panic("unimplemented")
}
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
