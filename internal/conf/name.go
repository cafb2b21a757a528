package conf

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/warren-vpn/warren/internal/noise"
)

// A peer's name lives in the file as a comment directly above its [Peer]
// header, which wg and wg-quick ignore like any comment:
//
//	# Name = alice
//	[Peer]
//	PublicKey = ...
//
// Only comment lines may stand between the name and the header; a blank
// line or any other line ends the name's claim. A comment that is not a
// valid name (see ValidPeerName) is an ordinary comment.

// MaxPeerName is the longest peer name, in bytes.
const MaxPeerName = 64

// ErrPeerName is wrapped by ValidPeerName's errors.
var ErrPeerName = errors.New("invalid peer name")

// ErrNoPeer: SetPeerName found no [Peer] with the public key given.
var ErrNoPeer = errors.New("no such peer")

// ValidPeerName reports whether name may be stored as a peer's name: 1 to
// MaxPeerName bytes of valid UTF-8 without control or formatting
// characters (no newline can end the comment early and add a line, no
// bidirectional override can disguise the name), and no white space at
// either end (which a reader would trim).
func ValidPeerName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrPeerName)
	case len(name) > MaxPeerName:
		return fmt.Errorf("%w: longer than %d bytes", ErrPeerName, MaxPeerName)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: not valid UTF-8", ErrPeerName)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("%w: white space at the start or end", ErrPeerName)
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("%w: control or formatting character %U", ErrPeerName, r)
		}
	}
	return nil
}

// nameComment returns the name a comment line carries ("# Name = alice",
// key case-insensitive, white space optional), if it is one and valid.
func nameComment(line []byte) (string, bool) {
	s := strings.TrimFunc(string(line), isSpaceRune)
	rest, ok := strings.CutPrefix(s, "#")
	if !ok {
		return "", false
	}
	key, value, ok := strings.Cut(rest, "=")
	if !ok || !strings.EqualFold(strings.TrimFunc(key, isSpaceRune), "Name") {
		return "", false
	}
	value = strings.TrimSpace(value)
	if ValidPeerName(value) != nil {
		return "", false
	}
	return value, true
}

// isCommentLine reports whether a line holds nothing but a comment.
func isCommentLine(line []byte) bool {
	t := bytes.TrimFunc(line, isSpaceRune)
	return len(t) > 0 && t[0] == '#'
}

// KeepNames gives each peer of dst without a name the name its public key
// has in src: for writing back a configuration read from a device (which
// knows no names) over the file it came from.
func KeepNames(dst, src *File) {
	names := map[noise.PublicKey]string{}
	for _, p := range src.Peers {
		if p.Name != "" {
			names[p.PublicKey] = p.Name
		}
	}
	for i := range dst.Peers {
		if dst.Peers[i].Name == "" {
			dst.Peers[i].Name = names[dst.Peers[i].PublicKey]
		}
	}
}

// SetPeerName returns data with the name of every [Peer] whose public key
// is pub set to name ("" removes it), leaving every other byte as it was:
// other comments, order, spacing and keys stay. data must parse with opts;
// ErrNoPeer when no peer has that key.
func SetPeerName(data []byte, opts Options, pub noise.PublicKey, name string) ([]byte, error) {
	if name != "" {
		if err := ValidPeerName(name); err != nil {
			return nil, err
		}
	}
	p, err := parse("config", data, opts)
	if err != nil {
		return nil, err
	}
	drop := map[int]bool{}   // line numbers of old name comments
	insert := map[int]bool{} // header line numbers to put the name above
	for i, peer := range p.f.Peers {
		if peer.PublicKey != pub {
			continue
		}
		if l := p.nameLines[i]; l > 0 {
			drop[l] = true
		}
		if name != "" {
			insert[p.peerLines[i]] = true
		}
	}
	if len(insert) == 0 && len(drop) == 0 {
		found := false
		for _, peer := range p.f.Peers {
			found = found || peer.PublicKey == pub
		}
		if !found {
			return nil, ErrNoPeer
		}
		return bytes.Clone(data), nil
	}
	var out bytes.Buffer
	rest := data
	for lineNo := 1; len(rest) > 0; lineNo++ {
		line, after, hasNL := bytes.Cut(rest, []byte{'\n'})
		rest = after
		if insert[lineNo] {
			eol := "\n"
			if bytes.HasSuffix(line, []byte{'\r'}) {
				eol = "\r\n"
			}
			fmt.Fprintf(&out, "# Name = %s%s", name, eol)
		}
		if drop[lineNo] {
			continue
		}
		out.Write(line)
		if hasNL {
			out.WriteByte('\n')
		}
	}
	return out.Bytes(), nil
}
