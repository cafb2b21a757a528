package winres

import (
	"encoding/binary"
	"fmt"
	"unicode/utf16"
)

// Version is a decoded VERSIONINFO resource.
type Version struct {
	FileVersion, ProductVersion [4]uint16
	Flags                       uint32
	// Strings holds the first string table's entries (CompanyName, ...).
	Strings map[string]string
	// Translations lists the (language, code page) pairs of VarFileInfo.
	Translations [][2]uint16
}

// ParseVersionInfo decodes a VS_VERSIONINFO resource.
func ParseVersionInfo(b []byte) (Version, error) {
	var v Version
	root, err := parseNode(b)
	if err != nil {
		return v, err
	}
	if root.key != "VS_VERSION_INFO" {
		return v, fmt.Errorf("version info: key %q: %w", root.key, ErrMalformed)
	}
	if len(root.value) < fixedInfoLength || binary.LittleEndian.Uint32(root.value) != fixedSignature {
		return v, fmt.Errorf("version info: no VS_FIXEDFILEINFO: %w", ErrMalformed)
	}
	d := func(i int) uint32 { return binary.LittleEndian.Uint32(root.value[4*i:]) }
	split := func(ms, ls uint32) [4]uint16 {
		return [4]uint16{uint16(ms >> 16), uint16(ms), uint16(ls >> 16), uint16(ls)}
	}
	v.FileVersion = split(d(2), d(3))
	v.ProductVersion = split(d(4), d(5))
	v.Flags = d(7)
	for _, c := range root.children {
		switch c.key {
		case "StringFileInfo":
			if len(c.children) == 0 || v.Strings != nil {
				continue
			}
			v.Strings = map[string]string{}
			for _, s := range c.children[0].children {
				v.Strings[s.key] = decodeUTF16z(s.value)
			}
		case "VarFileInfo":
			for _, t := range c.children {
				if t.key != "Translation" {
					continue
				}
				for i := 0; i+4 <= len(t.value); i += 4 {
					v.Translations = append(v.Translations, [2]uint16{
						binary.LittleEndian.Uint16(t.value[i:]), binary.LittleEndian.Uint16(t.value[i+2:])})
				}
			}
		}
	}
	return v, nil
}

// parseNode decodes one block (see node) and its children.
func parseNode(b []byte) (node, error) {
	var n node
	if len(b) < 6 {
		return n, fmt.Errorf("version block of %d bytes: %w", len(b), ErrMalformed)
	}
	length := int(binary.LittleEndian.Uint16(b))
	valueLen := int(binary.LittleEndian.Uint16(b[2:]))
	n.text = binary.LittleEndian.Uint16(b[4:]) == 1
	if length < 6 || length > len(b) {
		return n, fmt.Errorf("version block length %d of %d bytes: %w", length, len(b), ErrMalformed)
	}
	b = b[:length]
	p := 6
	var key []uint16
	for {
		if p+2 > len(b) {
			return n, fmt.Errorf("version block key not terminated: %w", ErrMalformed)
		}
		c := binary.LittleEndian.Uint16(b[p:])
		p += 2
		if c == 0 {
			break
		}
		key = append(key, c)
	}
	n.key = string(utf16.Decode(key))
	p = (p + 3) &^ 3
	if n.text {
		valueLen *= 2
	}
	if p+valueLen > len(b) {
		// A string may end its block without the padding it counts.
		if p > len(b) || !n.text {
			return n, fmt.Errorf("version block %q: value overruns it: %w", n.key, ErrMalformed)
		}
		valueLen = len(b) - p
	}
	n.value = b[p : p+valueLen]
	p += valueLen
	for {
		p = (p + 3) &^ 3
		if p >= len(b) {
			break
		}
		c, err := parseNode(b[p:])
		if err != nil {
			return n, fmt.Errorf("in %q: %w", n.key, err)
		}
		n.children = append(n.children, c)
		p += int(binary.LittleEndian.Uint16(b[p:]))
	}
	return n, nil
}

// decodeUTF16z decodes UTF-16LE up to the first NUL.
func decodeUTF16z(b []byte) string {
	var u []uint16
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}
