package winres

import (
	"debug/pe"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrMalformed is returned for a resource tree or version resource that
// does not hold together (offsets out of bounds, lengths that overrun).
var ErrMalformed = errors.New("malformed resource data")

// maxEntries bounds the directory entries ParseTree reads.
const maxEntries = 1 << 16

// ReadPE returns the resources of a PE image (an .exe or .dll), the ones
// with numeric type, id and language (named ones are left out).
func ReadPE(r io.ReaderAt) ([]Resource, error) {
	f, err := pe.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("read PE: %w", err)
	}
	defer f.Close()
	var dirs []pe.DataDirectory
	switch oh := f.OptionalHeader.(type) {
	case *pe.OptionalHeader64:
		dirs = oh.DataDirectory[:oh.NumberOfRvaAndSizes]
	case *pe.OptionalHeader32:
		dirs = oh.DataDirectory[:oh.NumberOfRvaAndSizes]
	default:
		return nil, fmt.Errorf("read PE: no optional header (an object file, not an image)")
	}
	if len(dirs) <= pe.IMAGE_DIRECTORY_ENTRY_RESOURCE || dirs[pe.IMAGE_DIRECTORY_ENTRY_RESOURCE].VirtualAddress == 0 {
		return nil, nil
	}
	rva := dirs[pe.IMAGE_DIRECTORY_ENTRY_RESOURCE].VirtualAddress
	for _, s := range f.Sections {
		if rva >= s.VirtualAddress && rva < s.VirtualAddress+max(s.VirtualSize, s.Size) {
			data, err := s.Data()
			if err != nil {
				return nil, fmt.Errorf("read PE: section %s: %w", s.Name, err)
			}
			return ParseTree(data, s.VirtualAddress, rva)
		}
	}
	return nil, fmt.Errorf("read PE: the resource directory (RVA %#x) is in no section: %w", rva, ErrMalformed)
}

// ParseTree reads a resource tree of three levels (type, id, language).
// sect is the section holding it, loaded at sectRVA; the tree starts at
// dirRVA. Directory offsets are relative to the tree's start, data
// offsets are RVAs. In an unlinked object, both RVAs are 0.
func ParseTree(sect []byte, sectRVA, dirRVA uint32) ([]Resource, error) {
	if dirRVA < sectRVA || uint64(dirRVA-sectRVA) > uint64(len(sect)) {
		return nil, fmt.Errorf("resource directory at RVA %#x outside its section: %w", dirRVA, ErrMalformed)
	}
	tree := sect[dirRVA-sectRVA:]
	var out []Resource
	// Each directory is read once, and the entries read are bounded, so a
	// tree whose entries point back or share subdirectories cannot blow up.
	seen := map[uint32]bool{}
	entries := 0
	var walk func(off uint32, level int, path [3]uint32) error
	walk = func(off uint32, level int, path [3]uint32) error {
		if seen[off] {
			return fmt.Errorf("directory at %#x reached twice: %w", off, ErrMalformed)
		}
		seen[off] = true
		if uint64(off)+dirHeaderSize > uint64(len(tree)) {
			return fmt.Errorf("directory at %#x past the end: %w", off, ErrMalformed)
		}
		named := int(binary.LittleEndian.Uint16(tree[off+12:]))
		ids := int(binary.LittleEndian.Uint16(tree[off+14:]))
		n := named + ids
		if entries += n; entries > maxEntries {
			return fmt.Errorf("more than %d directory entries: %w", maxEntries, ErrMalformed)
		}
		if uint64(off)+dirHeaderSize+uint64(n)*dirEntrySize > uint64(len(tree)) {
			return fmt.Errorf("directory at %#x: %d entries overrun the section: %w", off, n, ErrMalformed)
		}
		for i := range n {
			p := off + dirHeaderSize + uint32(i)*dirEntrySize
			name := binary.LittleEndian.Uint32(tree[p:])
			target := binary.LittleEndian.Uint32(tree[p+4:])
			isDir := target&subdirFlag != 0
			if isDir != (level < 2) {
				return fmt.Errorf("entry at %#x: a %s at level %d: %w", p, map[bool]string{true: "directory", false: "leaf"}[isDir], level+1, ErrMalformed)
			}
			if name&subdirFlag != 0 {
				continue // a named entry
			}
			path[level] = name
			if isDir {
				if err := walk(target&^subdirFlag, level+1, path); err != nil {
					return err
				}
				continue
			}
			if uint64(target)+dataEntrySize > uint64(len(tree)) {
				return fmt.Errorf("data entry at %#x past the end: %w", target, ErrMalformed)
			}
			dataRVA := binary.LittleEndian.Uint32(tree[target:])
			size := binary.LittleEndian.Uint32(tree[target+4:])
			if dataRVA < sectRVA || uint64(dataRVA-sectRVA)+uint64(size) > uint64(len(sect)) {
				return fmt.Errorf("data of type %d id %d at RVA %#x (%d bytes) outside the section: %w", path[0], path[1], dataRVA, size, ErrMalformed)
			}
			start := dataRVA - sectRVA
			out = append(out, Resource{Type: path[0], ID: path[1], Lang: path[2], Data: sect[start : start+size]})
		}
		return nil
	}
	if err := walk(0, 0, [3]uint32{}); err != nil {
		return nil, err
	}
	return out, nil
}

// Find returns the data of the first resource of type typ and id id, in
// any language.
func Find(res []Resource, typ, id uint32) ([]byte, bool) {
	for _, r := range res {
		if r.Type == typ && r.ID == id {
			return r.Data, true
		}
	}
	return nil, false
}
