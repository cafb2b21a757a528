package winres

import (
	"encoding/binary"
	"fmt"
	"unicode/utf16"
)

// VS_FIXEDFILEINFO constants (verrsrc.h).
const (
	fixedSignature  = 0xFEEF04BD
	fixedStrucVer   = 0x00010000
	fixedFlagsMask  = 0x3F       // VS_FFI_FILEFLAGSMASK
	flagPrerelease  = 0x2        // VS_FF_PRERELEASE
	osNTWindows32   = 0x00040004 // VOS_NT_WINDOWS32
	fileTypeApp     = 0x1        // VFT_APP
	fixedInfoLength = 52
)

// versionStrings lists the StringFileInfo entries in the order they are
// written (the order rc.exe uses).
func versionStrings(info Info) [][2]string {
	return [][2]string{
		{"CompanyName", info.CompanyName},
		{"FileDescription", info.FileDescription},
		{"FileVersion", info.Version},
		{"InternalName", info.InternalName},
		{"LegalCopyright", info.LegalCopyright},
		{"OriginalFilename", info.OriginalFilename},
		{"ProductName", info.ProductName},
		{"ProductVersion", info.Version},
	}
}

// VersionInfo returns the VS_VERSIONINFO resource for info: the numeric
// file and product versions, and the strings in one US English, Unicode
// string table (040904b0).
func VersionInfo(info Info) ([]byte, error) {
	v, pre, err := numericVersion(info.Version)
	if err != nil {
		return nil, err
	}
	ms := uint32(v[0])<<16 | uint32(v[1])
	ls := uint32(v[2])<<16 | uint32(v[3])
	var flags uint32
	if pre {
		flags = flagPrerelease
	}
	fixed := binary.LittleEndian.AppendUint32(nil, fixedSignature)
	for _, d := range []uint32{fixedStrucVer, ms, ls, ms, ls, fixedFlagsMask, flags, osNTWindows32, fileTypeApp, 0, 0, 0} {
		fixed = binary.LittleEndian.AppendUint32(fixed, d)
	}

	var strs []node
	for _, kv := range versionStrings(info) {
		if kv[1] == "" {
			return nil, fmt.Errorf("version info: %s is empty", kv[0])
		}
		strs = append(strs, node{key: kv[0], text: true, value: utf16z(kv[1])})
	}
	translation := binary.LittleEndian.AppendUint16(nil, LangEnUS)
	translation = binary.LittleEndian.AppendUint16(translation, codePageUnicode)
	root := node{key: "VS_VERSION_INFO", value: fixed, children: []node{
		{key: "StringFileInfo", text: true, children: []node{
			{key: fmt.Sprintf("%04x%04x", LangEnUS, codePageUnicode), text: true, children: strs},
		}},
		{key: "VarFileInfo", text: true, children: []node{
			{key: "Translation", value: translation},
		}},
	}}
	return root.encode(), nil
}

// node is one block of a version resource: WORD wLength, WORD
// wValueLength, WORD wType, the key (UTF-16, NUL-terminated), padding to
// 32 bits, the value, then each child at a 32-bit boundary.
type node struct {
	key      string
	text     bool // wType 1: the value is UTF-16 text and wValueLength counts its WORDs
	value    []byte
	children []node
}

func (n node) encode() []byte {
	b := make([]byte, 6, 64)
	b = append(b, utf16z(n.key)...)
	b = pad4(b)
	b = append(b, n.value...)
	for _, c := range n.children {
		b = pad4(b)
		b = append(b, c.encode()...)
	}
	valueLen := len(n.value)
	if n.text {
		valueLen /= 2
	}
	binary.LittleEndian.PutUint16(b[0:], uint16(len(b)))
	binary.LittleEndian.PutUint16(b[2:], uint16(valueLen))
	if n.text {
		binary.LittleEndian.PutUint16(b[4:], 1)
	}
	return b
}

// utf16z is s in UTF-16LE with a terminating NUL.
func utf16z(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return append(b, 0, 0)
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}
