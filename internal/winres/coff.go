package winres

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
)

// COFF and resource-directory layout (winnt.h, PE format spec §4 and §6.9).
const (
	coffHeaderSize    = 20
	sectionHeaderSize = 40
	relocSize         = 10
	symbolSize        = 18
	dirHeaderSize     = 16 // IMAGE_RESOURCE_DIRECTORY
	dirEntrySize      = 8  // IMAGE_RESOURCE_DIRECTORY_ENTRY
	dataEntrySize     = 16 // IMAGE_RESOURCE_DATA_ENTRY
	subdirFlag        = 0x80000000

	scnInitializedData = 0x00000040 // IMAGE_SCN_CNT_INITIALIZED_DATA
	scnMemRead         = 0x40000000 // IMAGE_SCN_MEM_READ
	symClassStatic     = 3          // IMAGE_SYM_CLASS_STATIC
)

// coffObject lays the resources out as a .rsrc section (three directory
// levels: type, id, language; then the data entries; then the data) in a
// COFF object for arch. Each data entry holds an RVA, which only the
// linker knows: the object carries the entry's offset in the section and
// an ADDR32NB relocation against the section's symbol.
func coffObject(arch string, res []Resource) ([]byte, error) {
	_, mach, relocType, err := machine(arch)
	if err != nil {
		return nil, err
	}
	res = slices.Clone(res)
	slices.SortFunc(res, func(a, b Resource) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Lang, b.Lang))
	})
	for i := 1; i < len(res); i++ {
		if res[i].Type == res[i-1].Type && res[i].ID == res[i-1].ID && res[i].Lang == res[i-1].Lang {
			return nil, fmt.Errorf("resource type %d id %d language %#x given twice", res[i].Type, res[i].ID, res[i].Lang)
		}
	}

	// The tree: types, then each type's ids, then each id's languages.
	type idGroup struct {
		id    uint32
		leafs []int // indices into res
	}
	type typeGroup struct {
		typ uint32
		ids []idGroup
	}
	var types []typeGroup
	for i, r := range res {
		if len(types) == 0 || types[len(types)-1].typ != r.Type {
			types = append(types, typeGroup{typ: r.Type})
		}
		t := &types[len(types)-1]
		if len(t.ids) == 0 || t.ids[len(t.ids)-1].id != r.ID {
			t.ids = append(t.ids, idGroup{id: r.ID})
		}
		g := &t.ids[len(t.ids)-1]
		g.leafs = append(g.leafs, i)
	}

	// Offsets of every directory, then of the data entries and the data.
	off := dirHeaderSize + dirEntrySize*len(types)
	typeDirOff := make([]int, len(types))
	for i, t := range types {
		typeDirOff[i] = off
		off += dirHeaderSize + dirEntrySize*len(t.ids)
	}
	idDirOff := make([][]int, len(types))
	for i, t := range types {
		for _, g := range t.ids {
			idDirOff[i] = append(idDirOff[i], off)
			off += dirHeaderSize + dirEntrySize*len(g.leafs)
		}
	}
	entryOff := off
	off += dataEntrySize * len(res)
	dataOff := make([]int, len(res))
	for i, r := range res {
		off = (off + 7) &^ 7
		dataOff[i] = off
		off += len(r.Data)
	}
	sect := make([]byte, (off+7)&^7)

	dir := func(at, n int) {
		binary.LittleEndian.PutUint16(sect[at+14:], uint16(n)) // NumberOfIdEntries; all else 0
	}
	entry := func(at, i int, id uint32, target uint32) {
		p := at + dirHeaderSize + dirEntrySize*i
		binary.LittleEndian.PutUint32(sect[p:], id)
		binary.LittleEndian.PutUint32(sect[p+4:], target)
	}
	dir(0, len(types))
	var relocs []uint32
	for i, t := range types {
		entry(0, i, t.typ, subdirFlag|uint32(typeDirOff[i]))
		dir(typeDirOff[i], len(t.ids))
		for j, g := range t.ids {
			entry(typeDirOff[i], j, g.id, subdirFlag|uint32(idDirOff[i][j]))
			dir(idDirOff[i][j], len(g.leafs))
			for k, leaf := range g.leafs {
				e := entryOff + dataEntrySize*leaf
				entry(idDirOff[i][j], k, res[leaf].Lang, uint32(e))
				binary.LittleEndian.PutUint32(sect[e:], uint32(dataOff[leaf])) // + the section's RVA, by relocation
				binary.LittleEndian.PutUint32(sect[e+4:], uint32(len(res[leaf].Data)))
				relocs = append(relocs, uint32(e))
				copy(sect[dataOff[leaf]:], res[leaf].Data)
			}
		}
	}

	// The object: file header, one section header, the section's data,
	// its relocations, a symbol table with the section symbol, and an
	// empty string table.
	sectOff := coffHeaderSize + sectionHeaderSize
	relocOff := sectOff + len(sect)
	symOff := relocOff + relocSize*len(relocs)
	b := make([]byte, symOff+symbolSize+4)

	binary.LittleEndian.PutUint16(b[0:], mach)
	binary.LittleEndian.PutUint16(b[2:], 1)              // NumberOfSections
	binary.LittleEndian.PutUint32(b[8:], uint32(symOff)) // PointerToSymbolTable
	binary.LittleEndian.PutUint32(b[12:], 1)             // NumberOfSymbols

	sh := b[coffHeaderSize:]
	copy(sh, ".rsrc")
	binary.LittleEndian.PutUint32(sh[16:], uint32(len(sect)))   // SizeOfRawData
	binary.LittleEndian.PutUint32(sh[20:], uint32(sectOff))     // PointerToRawData
	binary.LittleEndian.PutUint32(sh[24:], uint32(relocOff))    // PointerToRelocations
	binary.LittleEndian.PutUint16(sh[32:], uint16(len(relocs))) // NumberOfRelocations
	binary.LittleEndian.PutUint32(sh[36:], scnInitializedData|scnMemRead)

	copy(b[sectOff:], sect)
	for i, r := range relocs {
		p := relocOff + relocSize*i
		binary.LittleEndian.PutUint32(b[p:], r) // VirtualAddress: the offset in the section
		binary.LittleEndian.PutUint32(b[p+4:], 0)
		binary.LittleEndian.PutUint16(b[p+8:], relocType)
	}

	sym := b[symOff:]
	copy(sym, ".rsrc")
	binary.LittleEndian.PutUint16(sym[12:], 1) // SectionNumber
	sym[16] = symClassStatic
	binary.LittleEndian.PutUint32(b[symOff+symbolSize:], 4) // string table: just its size
	return b, nil
}
