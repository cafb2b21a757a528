package manager

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/noise"
)

// The manager adds and removes a client's [Peer] section by editing the
// configuration's text, so that every other byte of the file — other
// peers, their names, comments, order, spacing, line endings — stays as
// the administrator wrote it. Each edit is checked by parsing the result:
// the other peers must come out exactly as they went in.

// errPeerText: the file's text could not be edited safely (its sections
// are not where the parser says they are).
var errPeerText = errors.New("the configuration's [Peer] sections could not be edited safely")

// lineOf is one line of a file with its line ending.
type lineOf struct {
	text []byte // without the line ending
	eol  []byte // "\n", "\r\n" or "" for a last line without one
}

func splitLines(data []byte) []lineOf {
	var out []lineOf
	for len(data) > 0 {
		line, rest, ok := bytes.Cut(data, []byte{'\n'})
		l := lineOf{text: line}
		if ok {
			l.eol = []byte{'\n'}
			if bytes.HasSuffix(line, []byte{'\r'}) {
				l.text, l.eol = line[:len(line)-1], []byte("\r\n")
			}
		}
		out = append(out, l)
		data = rest
	}
	return out
}

func joinLines(lines []lineOf) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l.text)
		b.Write(l.eol)
	}
	return b.Bytes()
}

// sectionHeader reports which header a line is, as conf's parser decides
// it: the text before any '#', without white space, is "[Interface]" or
// "[Peer]" in any case.
func sectionHeader(line []byte) string {
	if i := bytes.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	var clean []byte
	for _, c := range line {
		switch c {
		case ' ', '\t', '\n', '\v', '\f', '\r':
		default:
			clean = append(clean, c)
		}
	}
	switch {
	case strings.EqualFold(string(clean), "[Interface]"):
		return "interface"
	case strings.EqualFold(string(clean), "[Peer]"):
		return "peer"
	}
	return ""
}

func isComment(line []byte) bool {
	t := bytes.TrimLeft(line, " \t\v\f\r")
	return len(t) > 0 && t[0] == '#'
}

func isBlank(line []byte) bool { return len(bytes.Trim(line, " \t\v\f\r")) == 0 }

// fileEOL is the line ending the file uses ("\r\n" if its first line
// ends so, else "\n").
func fileEOL(data []byte) string {
	if i := bytes.IndexByte(data, '\n'); i > 0 && data[i-1] == '\r' {
		return "\r\n"
	}
	return "\n"
}

// appendPeerBlock returns data with block (a "# Name = ..." comment and a
// [Peer] section, in "\n" line endings) added at the end, after a blank
// line, in the file's line endings.
func appendPeerBlock(data []byte, block string) []byte {
	eol := fileEOL(data)
	var b bytes.Buffer
	b.Write(data)
	if len(data) > 0 && data[len(data)-1] != '\n' {
		b.WriteString(eol)
	}
	lines := splitLines(data)
	if len(lines) > 0 && !isBlank(lines[len(lines)-1].text) {
		b.WriteString(eol)
	}
	b.WriteString(strings.ReplaceAll(strings.TrimRight(block, "\n"), "\n", eol))
	b.WriteString(eol)
	return b.Bytes()
}

// removePeerBlock returns data without the [Peer] sections whose public key
// is pub, and the text removed, in "\n" line endings without blank lines:
// what appendPeerBlock puts back. A section is its header, the comment
// lines directly above it (its "# Name = ..." among them) and the lines
// up to the next section's comments and header; the last section also
// takes the blank lines that set it apart. ErrNotFound when no peer has
// the key.
func removePeerBlock(data []byte, pub noise.PublicKey) (out []byte, removed string, err error) {
	before, err := conf.Parse("config", data, conf.Options{Quick: true})
	if err != nil {
		return nil, "", err
	}
	found := false
	for _, p := range before.Peers {
		found = found || p.PublicKey == pub
	}
	if !found {
		return nil, "", fmt.Errorf("peer %s: %w", pub, ErrNotFound)
	}
	lines := splitLines(data)
	var headers []int // line indexes of section headers
	var peerHeaders []int
	for i, l := range lines {
		switch sectionHeader(l.text) {
		case "interface":
			headers = append(headers, i)
		case "peer":
			headers = append(headers, i)
			peerHeaders = append(peerHeaders, i)
		}
	}
	if len(peerHeaders) != len(before.Peers) {
		return nil, "", errPeerText
	}
	drop := make([]bool, len(lines))
	var text strings.Builder
	for i, h := range peerHeaders {
		if before.Peers[i].PublicKey != pub {
			continue
		}
		end := len(lines)
		for _, n := range headers {
			if n > h {
				end = n
				break
			}
		}
		// The comments directly above the next header (or at the end of
		// the file) are not this section's.
		for end > h+1 && isComment(lines[end-1].text) {
			end--
		}
		// The comments directly above the header are the section's (its
		// name among them).
		start := h
		for start > 0 && isComment(lines[start-1].text) && !drop[start-1] {
			start--
		}
		first := start
		if end == len(lines) {
			// The last section: the blank lines that set it apart go too.
			for start > 0 && isBlank(lines[start-1].text) && !drop[start-1] {
				start--
			}
		}
		for j := start; j < end; j++ {
			drop[j] = true
		}
		for j := first; j < end; j++ {
			if !isBlank(lines[j].text) {
				text.Write(lines[j].text)
				text.WriteByte('\n')
			}
		}
	}
	var kept []lineOf
	for i, l := range lines {
		if !drop[i] {
			kept = append(kept, l)
		}
	}
	out = joinLines(kept)
	// The check: the same file less that peer.
	after, err := conf.Parse("config", out, conf.Options{Quick: true})
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", errPeerText, err)
	}
	var want []conf.Peer
	for _, p := range before.Peers {
		if p.PublicKey != pub {
			want = append(want, p)
		}
	}
	if !reflect.DeepEqual(after.Interface, before.Interface) || !samePeers(after.Peers, want) {
		return nil, "", errPeerText
	}
	return out, text.String(), nil
}

// samePeers reports whether a and b list equal peers in the same order
// (nil and empty alike).
func samePeers(a, b []conf.Peer) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !reflect.DeepEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}
