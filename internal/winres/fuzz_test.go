package winres

import (
	"bytes"
	"debug/pe"
	"testing"
)

// FuzzParseTree feeds arbitrary sections to the resource-tree reader: it
// must return resources inside the section or an error, never panic.
// Seeds: testdata/fuzz/FuzzParseTree (warren's own .rsrc section, and
// cut and bent copies of it).
func FuzzParseTree(f *testing.F) {
	obj, err := Syso(testInfo("amd64"))
	if err != nil {
		f.Fatal(err)
	}
	file, err := pe.NewFile(bytes.NewReader(obj))
	if err != nil {
		f.Fatal(err)
	}
	sect, _ := file.Sections[0].Data()
	f.Add(sect, uint32(0), uint32(0))
	f.Add(sect, uint32(0x1000), uint32(0x1000))
	f.Fuzz(func(t *testing.T, sect []byte, sectRVA, dirRVA uint32) {
		res, err := ParseTree(sect, sectRVA, dirRVA)
		if err != nil {
			return
		}
		for _, r := range res {
			if len(r.Data) > len(sect) {
				t.Fatalf("resource of %d bytes from a section of %d", len(r.Data), len(sect))
			}
		}
	})
}

// FuzzParseVersionInfo feeds arbitrary bytes to the VERSIONINFO decoder.
// Seeds: testdata/fuzz/FuzzParseVersionInfo.
func FuzzParseVersionInfo(f *testing.F) {
	ver, err := VersionInfo(testInfo("arm64"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ver)
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseVersionInfo(b)
		if err != nil {
			return
		}
		for k, s := range v.Strings {
			if len(k)+len(s) > 3*len(b) {
				t.Fatalf("string %q=%q longer than its input allows", k, s)
			}
		}
	})
}
