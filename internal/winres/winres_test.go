package winres

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func testInfo(arch string) Info {
	return Info{
		Version:          "0.1.0+20261126075300",
		CompanyName:      "the warren project",
		ProductName:      "warren",
		FileDescription:  "warren: WireGuard tunnels & tools",
		InternalName:     "warren",
		OriginalFilename: "warren.exe",
		LegalCopyright:   "Copyright (C) the warren authors",
		Arch:             arch,
	}
}

// checkResources asserts that res holds info's version resource and
// manifest, as Windows reads them.
func checkResources(t *testing.T, res []Resource, info Info) {
	t.Helper()
	raw, ok := Find(res, TypeVersion, IDVersion)
	if !ok {
		t.Fatalf("no RT_VERSION resource among %d", len(res))
	}
	v, err := ParseVersionInfo(raw)
	if err != nil {
		t.Fatalf("ParseVersionInfo: %v", err)
	}
	if want := [4]uint16{0, 1, 0, 0}; v.FileVersion != want || v.ProductVersion != want {
		t.Errorf("numeric versions %v, %v; want %v", v.FileVersion, v.ProductVersion, want)
	}
	for _, kv := range versionStrings(info) {
		if got := v.Strings[kv[0]]; got != kv[1] {
			t.Errorf("%s = %q, want %q", kv[0], got, kv[1])
		}
	}
	if len(v.Translations) != 1 || v.Translations[0] != [2]uint16{LangEnUS, codePageUnicode} {
		t.Errorf("translations %v, want [[0x409 1200]]", v.Translations)
	}
	man, ok := Find(res, TypeManifest, IDManifest)
	if !ok {
		t.Fatalf("no RT_MANIFEST resource 1")
	}
	for _, want := range []string{
		`level="asInvoker"`, `uiAccess="false"`,
		`<supportedOS Id="{8e0f7a12-bfb3-4fe8-b9a5-48fd50a15a9a}"/>`,
		`>true</longPathAware>`, `>UTF-8</activeCodePage>`,
		`processorArchitecture="` + info.Arch + `"`, `version="0.1.0.0"`,
		`<description>warren: WireGuard tunnels &amp; tools</description>`,
	} {
		if !bytes.Contains(man, []byte(want)) {
			t.Errorf("manifest lacks %s:\n%s", want, man)
		}
	}
}

func TestSysoObject(t *testing.T) {
	for _, tc := range []struct {
		arch    string
		machine uint16
		reloc   uint16
	}{{"amd64", pe.IMAGE_FILE_MACHINE_AMD64, 3}, {"arm64", pe.IMAGE_FILE_MACHINE_ARM64, 2}} {
		t.Run(tc.arch, func(t *testing.T) {
			obj, err := Syso(testInfo(tc.arch))
			if err != nil {
				t.Fatal(err)
			}
			again, _ := Syso(testInfo(tc.arch))
			if !bytes.Equal(obj, again) {
				t.Error("two runs give different objects")
			}
			f, err := pe.NewFile(bytes.NewReader(obj))
			if err != nil {
				t.Fatalf("debug/pe cannot read the object: %v", err)
			}
			if f.Machine != tc.machine {
				t.Errorf("machine %#x, want %#x", f.Machine, tc.machine)
			}
			if len(f.Sections) != 1 || f.Sections[0].Name != ".rsrc" {
				t.Fatalf("sections %v, want one .rsrc", f.Sections)
			}
			s := f.Sections[0]
			if len(s.Relocs) != 2 {
				t.Fatalf("%d relocations, want one per data entry (2)", len(s.Relocs))
			}
			for _, r := range s.Relocs {
				if r.Type != tc.reloc || r.SymbolTableIndex != 0 {
					t.Errorf("relocation %+v, want type %d against symbol 0", r, tc.reloc)
				}
			}
			if len(f.COFFSymbols) != 1 || f.COFFSymbols[0].SectionNumber != 1 || f.COFFSymbols[0].StorageClass != symClassStatic {
				t.Errorf("symbols %+v, want the static section symbol", f.COFFSymbols)
			}
			data, err := s.Data()
			if err != nil {
				t.Fatal(err)
			}
			// Unlinked, the data entries hold offsets into the section: an RVA of 0.
			res, err := ParseTree(data, 0, 0)
			if err != nil {
				t.Fatalf("ParseTree: %v", err)
			}
			if len(res) != 2 {
				t.Errorf("%d resources, want 2", len(res))
			}
			checkResources(t, res, testInfo(tc.arch))
		})
	}
}

// TestVersionInfoLayout pins the documented layout (VS_VERSIONINFO): the
// key VS_VERSION_INFO, then VS_FIXEDFILEINFO at offset 40, and each
// String's wValueLength counting UTF-16 words with the NUL.
func TestVersionInfoLayout(t *testing.T) {
	info := testInfo("amd64")
	b, err := VersionInfo(info)
	if err != nil {
		t.Fatal(err)
	}
	if got := int(binary.LittleEndian.Uint16(b)); got != len(b) {
		t.Errorf("wLength %d, resource is %d bytes", got, len(b))
	}
	if got := binary.LittleEndian.Uint16(b[2:]); got != fixedInfoLength {
		t.Errorf("wValueLength %d, want %d", got, fixedInfoLength)
	}
	if !bytes.Equal(b[6:38], utf16z("VS_VERSION_INFO")) {
		t.Errorf("key is not VS_VERSION_INFO")
	}
	if binary.LittleEndian.Uint32(b[40:]) != fixedSignature {
		t.Errorf("VS_FIXEDFILEINFO does not start at 40")
	}
	if got := binary.LittleEndian.Uint32(b[40+4*9:]); got != fileTypeApp {
		t.Errorf("dwFileType %d, want VFT_APP", got)
	}
	key := utf16z("FileVersion")
	i := bytes.Index(b, key)
	if i < 0 {
		t.Fatal("no FileVersion string")
	}
	hdr := i - 6
	if got, want := int(binary.LittleEndian.Uint16(b[hdr+2:])), len(info.Version)+1; got != want {
		t.Errorf("FileVersion wValueLength %d, want %d words", got, want)
	}
	if binary.LittleEndian.Uint16(b[hdr+4:]) != 1 {
		t.Errorf("FileVersion wType is not text")
	}

	info.Version = "0.2.0-dev"
	b, _ = VersionInfo(info)
	v, err := ParseVersionInfo(b)
	if err != nil {
		t.Fatal(err)
	}
	if v.Flags&flagPrerelease == 0 || v.FileVersion != [4]uint16{0, 2, 0, 0} {
		t.Errorf("0.2.0-dev: flags %#x, version %v; want VS_FF_PRERELEASE and 0.2.0.0", v.Flags, v.FileVersion)
	}
}

func TestBadInput(t *testing.T) {
	for _, v := range []string{"", "1.2", "1.2.3.4", "70000.0.0", "a.b.c", "1..2"} {
		info := testInfo("amd64")
		info.Version = v
		if _, err := Syso(info); !errors.Is(err, ErrVersion) {
			t.Errorf("version %q: err %v, want ErrVersion", v, err)
		}
	}
	if _, err := Syso(testInfo("386")); !errors.Is(err, ErrArch) {
		t.Errorf("arch 386: err %v, want ErrArch", err)
	}
	info := testInfo("arm64")
	info.CompanyName = ""
	if _, err := Syso(info); err == nil || !strings.Contains(err.Error(), "CompanyName") {
		t.Errorf("empty CompanyName: err %v, want one naming it", err)
	}
	obj, _ := Syso(testInfo("amd64"))
	f, _ := pe.NewFile(bytes.NewReader(obj))
	data, _ := f.Sections[0].Data()
	for _, n := range []int{0, 15, 40, 100} {
		if _, err := ParseTree(data[:n], 0, 0); !errors.Is(err, ErrMalformed) {
			t.Errorf("tree cut at %d: err %v, want ErrMalformed", n, err)
		}
	}
	ver, _ := VersionInfo(testInfo("amd64"))
	for _, n := range []int{0, 5, 39, 80} {
		if _, err := ParseVersionInfo(ver[:n]); !errors.Is(err, ErrMalformed) {
			t.Errorf("version info cut at %d: err %v, want ErrMalformed", n, err)
		}
	}
}

// TestLinkedExe links the object into a Windows program for each
// architecture, as the release does with cmd/warren, and reads the
// resources back out of the image: the linker must accept the object's
// machine type and relocations, and Windows must find the resources
// where the image's resource directory says.
func TestLinkedExe(t *testing.T) {
	if testing.Short() {
		t.Skip("links Windows programs")
	}
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			dir := t.TempDir()
			write := func(name, text string) {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write("go.mod", "module example.com/hello\n\ngo 1.26\n")
			write("main.go", "package main\n\nfunc main() { println(\"hello\") }\n")
			obj, err := Syso(testInfo(arch))
			if err != nil {
				t.Fatal(err)
			}
			write("rsrc_windows_"+arch+".syso", string(obj))
			exe := filepath.Join(dir, "hello.exe")
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", exe, ".")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH="+arch, "CGO_ENABLED=0", "GOFLAGS=")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			f, err := os.Open(exe)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			res, err := ReadPE(f)
			if err != nil {
				t.Fatalf("ReadPE: %v", err)
			}
			checkResources(t, res, testInfo(arch))
		})
	}
}
