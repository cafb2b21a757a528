package conf

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// StripText returns the configuration file data without wg-quick's
// [Interface] keys, byte for byte as Debian's `wg-quick strip` prints it:
// every other line is kept, in order — comments, blank lines, peer names
// and repeated keys included — with the spaces and tabs around it removed
// (bash's read removes them), each followed by a newline, and one more
// newline at the end (from echo). No [Interface] header is added where
// the file has none.
//
// As in wg-quick, a line's key is what comes before its first '=', with
// the comment (from '#') and the surrounding white space removed; a key
// starting with '[' starts a section, "[Interface]" the interface's; keys
// and the section name are matched without regard to case.
//
// StripText does not parse the file; StripChecked does.
func StripText(data []byte) []byte {
	out, _ := stripLines(data)
	return out
}

// StripChecked is StripText for a file that Parse accepted with
// Options.Quick: it also parses the result as wg setconf would and fails,
// naming the line of data that is to blame, if that is refused — a
// wg-quick key written in a way wg-quick does not recognize (with white
// space inside it) stays in, and setconf would refuse it. name is used in
// error messages only.
func StripChecked(name string, data []byte) ([]byte, error) {
	out, lines := stripLines(data)
	if _, err := Parse(name, out, Options{}); err != nil {
		var pe *ParseError
		if errors.As(err, &pe) && pe.Line >= 1 && pe.Line <= len(lines) {
			return nil, &ParseError{File: name, Line: lines[pe.Line-1],
				Err: fmt.Errorf("after strip: %w (wg-quick strip keeps this line as it is)", pe.Err)}
		}
		return nil, fmt.Errorf("%s: after strip: %w", name, err)
	}
	return out, nil
}

// stripLines is StripText, also returning the line of data (from 1) that
// each output line came from.
func stripLines(data []byte) (out []byte, from []int) {
	var b bytes.Buffer
	inInterface := false
	for n := 1; len(data) > 0; n++ {
		raw, rest, found := bytes.Cut(data, []byte{'\n'})
		data = rest
		line := bytes.Trim(raw, " \t")
		if !found && len(line) == 0 {
			break // bash's read: a last line without newline counts if not empty
		}
		key := string(line)
		if i := strings.IndexByte(key, '#'); i >= 0 {
			key = key[:i]
		}
		if i := strings.IndexByte(key, '='); i >= 0 {
			key = key[:i]
		}
		key = strings.Trim(key, " \t\n\v\f\r")
		if strings.HasPrefix(key, "[") {
			inInterface = asciiEqualFold(key, "[Interface]")
		}
		if inInterface && isQuickKeyASCII(key) {
			continue
		}
		b.Write(line)
		b.WriteByte('\n')
		from = append(from, n)
	}
	b.WriteByte('\n')
	return b.Bytes(), from
}

// isQuickKeyASCII is isQuickKey with bash's case folding in the C locale
// (wg-quick sets LC_ALL=C): ASCII letters only.
func isQuickKeyASCII(key string) bool {
	for _, k := range quickKeys {
		if asciiEqualFold(k, key) {
			return true
		}
	}
	return false
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
