package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/warren-vpn/warren/internal/netstack"
)

// Reasons a connection through the tunnel fails; DialError wraps one.
var (
	// ErrNoRoute: no peer's AllowedIPs cover the destination.
	ErrNoRoute = errors.New("no peer's AllowedIPs cover the destination")
	// ErrNoHandshake: the peer for the destination has not completed a
	// handshake recently (down, wrong key, or endpoint unreachable).
	ErrNoHandshake = errors.New("handshake with the peer has not completed")
	// ErrRefused: the destination answered with a reset.
	ErrRefused = errors.New("connection refused")
	// ErrTimeout: the tunnel is up but the destination did not answer.
	ErrTimeout = errors.New("connection timed out")
	// ErrResolve: the name could not be resolved through the tunnel's DNS.
	ErrResolve = errors.New("name not resolved")
)

// HandshakeError says that the handshake with a peer has not completed:
// the peer has no current session (no handshake within REJECT_AFTER_TIME)
// and did not answer while a connection waited. errors.Is matches
// ErrNoHandshake.
type HandshakeError struct {
	// Peer is the peer's public key (base64); Endpoint its endpoint, ""
	// if it has none (then only the peer can start a handshake).
	Peer, Endpoint string
	// Attempts counts the handshake initiations sent to the peer since
	// its last handshake (or since the tunnel started); AtLeast marks a
	// lower bound, when older ones were forgotten.
	Attempts int
	AtLeast  bool
	// SendErr is why the latest initiation could not be sent (no route to
	// the endpoint, say); nil if it went out.
	SendErr error
}

func (e *HandshakeError) Error() string {
	if e.Endpoint == "" {
		return fmt.Sprintf("handshake with peer %s has not completed: it has no endpoint, so only it can start one", e.Peer)
	}
	s := fmt.Sprintf("handshake with peer %s at %s has not completed after %s", e.Peer, e.Endpoint, e.attempts())
	if e.SendErr != nil {
		s += fmt.Sprintf(" (the last could not be sent: %v)", e.SendErr)
	}
	return s
}

// Public is what a client of the proxy may be told: neither the peer's
// key nor its endpoint.
func (e *HandshakeError) Public() string {
	if e.Endpoint == "" {
		return "the tunnel's peer has not connected (it has no endpoint to be reached at)"
	}
	return fmt.Sprintf("the tunnel's peer has not answered a handshake (%s)", e.attempts())
}

func (e *HandshakeError) attempts() string {
	n := fmt.Sprintf("%d attempts", e.Attempts)
	if e.Attempts == 1 {
		n = "1 attempt"
	}
	if e.AtLeast {
		n = "at least " + n
	}
	return n
}

// Is makes errors.Is(err, ErrNoHandshake) true.
func (e *HandshakeError) Is(target error) bool { return target == ErrNoHandshake }

// DialError says why a connection through the tunnel failed, naming the
// peer when there is one. errors.Is matches its Reason.
type DialError struct {
	Network, Address string
	// Peer is the public key (base64) of the peer the destination routes
	// to, "" if none; Endpoint is that peer's endpoint, if known.
	Peer, Endpoint string
	Reason         error // one of ErrNoRoute, ErrNoHandshake, ...
	// Handshake is set when a peer's handshake is why: with Reason
	// ErrNoHandshake the destination's peer's, with ErrResolve that of
	// the peer of the DNS server DNSServer.
	Handshake *HandshakeError
	DNSServer netip.Addr
	Err       error // the underlying error, if any
}

func (e *DialError) Error() string {
	s := fmt.Sprintf("dial %s %s: ", e.Network, e.Address)
	switch {
	case e.Handshake != nil && errors.Is(e.Reason, ErrResolve):
		return s + fmt.Sprintf("%v: the tunnel's DNS server %v could not be reached: %v", e.Reason, e.DNSServer, e.Handshake)
	case e.Handshake != nil:
		return s + e.Handshake.Error()
	}
	s += fmt.Sprint(e.Reason)
	if e.Peer != "" {
		s += " (peer " + e.Peer
		if e.Endpoint != "" {
			s += " at " + e.Endpoint
		}
		s += ")"
	}
	// A deadline, a cancellation or the reason's own errno only repeat
	// the reason.
	if e.Err != nil && !errors.Is(e.Err, e.Reason) && e.Err.Error() != fmt.Sprint(e.Reason) &&
		!errors.Is(e.Err, context.DeadlineExceeded) && !errors.Is(e.Err, context.Canceled) {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *DialError) Unwrap() []error {
	errs := []error{e.Reason, e.Err}
	if e.Handshake != nil {
		errs = append(errs, e.Handshake)
	}
	return errs
}

// Public is what a client of the proxy may be told: the destination it
// asked for and the reason, never the peer's public key or real endpoint
// (Error, for the operator's log, names them).
func (e *DialError) Public() string {
	s := fmt.Sprintf("dial %s %s: ", e.Network, e.Address)
	switch {
	case e.Handshake != nil && errors.Is(e.Reason, ErrResolve):
		return s + fmt.Sprintf("%v: the tunnel's DNS server could not be reached: %s", e.Reason, e.Handshake.Public())
	case e.Handshake != nil:
		return s + e.Handshake.Public()
	case errors.Is(e.Reason, ErrResolve):
		// The resolver's verdict names no key or endpoint.
		for _, why := range []error{netstack.ErrNotFound, netstack.ErrDNSServer, netstack.ErrNoDNS, netstack.ErrBadName} {
			if errors.Is(e.Err, why) {
				return s + fmt.Sprintf("%v: %v", e.Reason, why)
			}
		}
	}
	return s + fmt.Sprint(e.Reason)
}

// clientReason turns an error from the tunnel into text for a client of
// the proxy: a DialError's Public form, or a generic reason. The details
// belong in the log.
func clientReason(err error) string {
	var de *DialError
	var ne net.Error
	switch {
	case errors.As(err, &de):
		return de.Public()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "the connection through the tunnel timed out"
	}
	return "the connection through the tunnel failed"
}

// dialFailure is a failed dial to address for the log: a DialError names
// its destination itself; anything else gets it added.
func dialFailure(address string, err error) string {
	var de *DialError
	if errors.As(err, &de) {
		return err.Error()
	}
	return fmt.Sprintf("dial %s: %v", address, err)
}

// innermost is the error at the end of err's chain: the stack's own
// reason, without the wrappers that repeat the destination.
func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// withoutLookup drops the resolver's "lookup HOST: " from err, which a
// DialError's own "dial NETWORK HOST:PORT" already says.
func withoutLookup(err error, host string) error {
	if inner := errors.Unwrap(err); inner != nil && err.Error() == "lookup "+host+": "+inner.Error() {
		return inner
	}
	return err
}
