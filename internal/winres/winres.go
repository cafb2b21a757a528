// Package winres builds the Windows resources warren links into warren.exe
// (a VERSIONINFO and an application manifest) as a COFF object, the .syso
// file the Go linker picks up from cmd/warren, for amd64 or arm64; and it
// reads resources back out of a built PE file, so that a check can prove
// they are there. It is used by scripts/winres at release time, never by
// warren itself, and imports nothing of warren's.
//
// The output depends only on its inputs (no time stamps), so release builds
// stay reproducible.
package winres

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Resource types and ids (winuser.h).
const (
	TypeVersion  = 16 // RT_VERSION
	TypeManifest = 24 // RT_MANIFEST

	// IDVersion is the id of the one VERSIONINFO resource.
	IDVersion = 1
	// IDManifest is CREATEPROCESS_MANIFEST_RESOURCE_ID: the manifest the
	// loader applies to an exe.
	IDManifest = 1

	// LangEnUS is the language the resources are filed under (0x0409).
	LangEnUS = 0x0409
	// codePageUnicode is the code page of the version strings (UTF-16).
	codePageUnicode = 1200
)

// ErrArch is returned for an architecture warren does not build for.
var ErrArch = errors.New("unsupported architecture")

// ErrVersion is returned for a version that does not start with
// MAJOR.MINOR.PATCH numbers that fit Windows' 16-bit fields.
var ErrVersion = errors.New("version must start with MAJOR.MINOR.PATCH, each at most 65535")

// Info is what goes into the VERSIONINFO resource and the manifest.
type Info struct {
	// Version is warren's version, e.g. 0.1.0+20261126075300; its leading
	// MAJOR.MINOR.PATCH also gives the numeric file and product versions.
	Version          string
	CompanyName      string
	ProductName      string
	FileDescription  string
	InternalName     string
	OriginalFilename string
	LegalCopyright   string
	// Arch is the Go architecture: amd64 or arm64.
	Arch string
}

// Resource is one leaf of a PE resource tree.
type Resource struct {
	Type, ID uint32
	Lang     uint32
	Data     []byte
}

// numericVersion parses the leading MAJOR.MINOR.PATCH of v into the four
// 16-bit fields Windows keeps (the fourth is 0), and says whether v marks a
// pre-release (a "-" before any "+", as in 0.1.0-dev).
func numericVersion(v string) (fields [4]uint16, prerelease bool, err error) {
	core := v
	if i := strings.IndexAny(core, "-+"); i >= 0 {
		prerelease = core[i] == '-'
		core = core[:i]
	}
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return fields, false, fmt.Errorf("%w: %q", ErrVersion, v)
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return fields, false, fmt.Errorf("%w: %q", ErrVersion, v)
		}
		fields[i] = uint16(n)
	}
	return fields, prerelease, nil
}

// manifestArch maps a Go architecture to the manifest's
// processorArchitecture and the COFF machine type.
func machine(arch string) (manifestArch string, coffMachine uint16, reloc uint16, err error) {
	switch arch {
	case "amd64":
		return "amd64", 0x8664, 0x0003, nil // IMAGE_FILE_MACHINE_AMD64, IMAGE_REL_AMD64_ADDR32NB
	case "arm64":
		return "arm64", 0xAA64, 0x0002, nil // IMAGE_FILE_MACHINE_ARM64, IMAGE_REL_ARM64_ADDR32NB
	}
	return "", 0, 0, fmt.Errorf("%w: %q (want amd64 or arm64)", ErrArch, arch)
}

// Syso returns the COFF object holding info's VERSIONINFO and manifest,
// for the linker to put in warren.exe.
func Syso(info Info) ([]byte, error) {
	ver, err := VersionInfo(info)
	if err != nil {
		return nil, err
	}
	man, err := Manifest(info)
	if err != nil {
		return nil, err
	}
	return coffObject(info.Arch, []Resource{
		{Type: TypeVersion, ID: IDVersion, Lang: LangEnUS, Data: ver},
		{Type: TypeManifest, ID: IDManifest, Lang: LangEnUS, Data: man},
	})
}
