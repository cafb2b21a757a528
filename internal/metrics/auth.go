package metrics

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
)

// Errors of the bind policy and the token file, for errors.Is.
var (
	// ErrTokenRequired: the address is not loopback and no token file was
	// given.
	ErrTokenRequired = errors.New("a metrics address that is not loopback needs a bearer token file")
	// ErrBadToken: the token file is unreadable, empty, too short or holds
	// characters a bearer token cannot have.
	ErrBadToken = errors.New("bad metrics token file")
	// ErrBadAddress: the address is not host:port.
	ErrBadAddress = errors.New("bad metrics address")
)

// MinTokenLength is the shortest token accepted: 16 characters, so that
// guessing over the network is hopeless (use e.g. 32 random hex digits).
const MinTokenLength = 16

// IsLoopback reports whether addr (host:port, as for net.Listen) binds
// only loopback: a loopback IP literal (127.0.0.0/8, ::1) or "localhost".
// An empty host binds every address and is not loopback.
func IsLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("%w %q: %w", ErrBadAddress, addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return true, nil
	}
	if host == "" {
		return false, nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false, fmt.Errorf("%w %q: host is neither an IP address nor localhost", ErrBadAddress, addr)
	}
	return ip.Unmap().IsLoopback(), nil
}

// CheckBind applies the bind policy: a loopback address may go without a
// token file, any other address needs one.
func CheckBind(addr, tokenFile string) error {
	loop, err := IsLoopback(addr)
	if err != nil {
		return err
	}
	if !loop && tokenFile == "" {
		return fmt.Errorf("%w (--metrics %s)", ErrTokenRequired, addr)
	}
	return nil
}

// readToken reads a bearer token from path: its content without leading
// and trailing white space, at least MinTokenLength characters of RFC
// 6750's token alphabet. The token itself never appears in an error.
func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadToken, err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < MinTokenLength {
		return "", fmt.Errorf("%w: %s holds %d characters, want at least %d", ErrBadToken, path, len(tok), MinTokenLength)
	}
	for i := 0; i < len(tok); i++ {
		if !isTokenChar(tok[i], strings.TrimRight(tok[i:], "=") == "") {
			return "", fmt.Errorf("%w: %s: character %d is not allowed in a bearer token (letters, digits, -._~+/ and trailing =)", ErrBadToken, path, i+1)
		}
	}
	return tok, nil
}

// isTokenChar is RFC 6750's b64token alphabet; '=' only at the end.
func isTokenChar(c byte, tail bool) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	case c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/':
		return true
	case c == '=':
		return tail
	}
	return false
}

// bearer checks requests for one token. The comparison is of SHA-256
// digests in constant time, so neither the token's bytes nor its length
// leak through timing.
type bearer struct {
	digest [sha256.Size]byte
}

func newBearer(token string) *bearer { return &bearer{digest: sha256.Sum256([]byte(token))} }

// allowed reports whether r carries "Authorization: Bearer <token>".
func (b *bearer) allowed(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(got[:], b.digest[:]) == 1
}

// wrap refuses requests without the token with 401.
func (b *bearer) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !b.allowed(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="warren metrics"`)
			http.Error(w, "401 unauthorized: send Authorization: Bearer <token>", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
