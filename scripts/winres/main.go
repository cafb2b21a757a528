// Command winres makes and checks the Windows resources of warren.exe, for
// scripts/release.sh and scripts/release-check.sh (internal/winres does
// the work):
//
//	go run ./scripts/winres syso -arch amd64|arm64 -version V -o FILE.syso
//	go run ./scripts/winres check -arch amd64|arm64 -version V FILE.exe
//	go run ./scripts/winres machine [-dll] FILE.exe|FILE.dll
//
// syso writes the COFF object the Go linker links into cmd/warren
// (rsrc_windows_ARCH.syso); check reads a built exe and fails unless its
// machine type, VERSIONINFO strings and manifest are warren's for that
// version and architecture; machine prints a PE file's architecture
// (amd64, arm64, 386, arm; with -dll it must be a DLL), to check a
// wintun.dll before it is packaged.
package main

import (
	"bytes"
	"debug/pe"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/warren-vpn/warren/internal/winres"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "winres:", err)
		os.Exit(1)
	}
}

const usage = "usage: winres syso -arch ARCH -version V -o FILE | check -arch ARCH -version V EXE | machine [-dll] FILE"

// warrenInfo is what warren.exe says about itself in Explorer's
// Properties > Details and to anything that reads its version resource.
func warrenInfo(version, arch string) winres.Info {
	return winres.Info{
		Version:          version,
		CompanyName:      "The warren authors",
		ProductName:      "warren",
		FileDescription:  "warren: WireGuard tunnels, the wg and wg-quick tools",
		InternalName:     "warren",
		OriginalFilename: "warren.exe",
		LegalCopyright:   "Copyright (C) The warren authors",
		Arch:             arch,
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("winres "+args[0], flag.ContinueOnError)
	arch := fs.String("arch", "", "amd64 or arm64")
	version := fs.String("version", "", "warren's version, e.g. 0.1.0+20261126075300")
	out := fs.String("o", "", "output file")
	dll := fs.Bool("dll", false, "machine: also require a DLL")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "syso":
		if *out == "" || fs.NArg() != 0 {
			return errors.New(usage)
		}
		obj, err := winres.Syso(warrenInfo(*version, *arch))
		if err != nil {
			return err
		}
		return os.WriteFile(*out, obj, 0o644)
	case "check":
		if fs.NArg() != 1 {
			return errors.New(usage)
		}
		if err := check(fs.Arg(0), warrenInfo(*version, *arch)); err != nil {
			return fmt.Errorf("%s: %w", fs.Arg(0), err)
		}
		fmt.Fprintf(stdout, "%s: %s, version %s, manifest asInvoker, longPathAware, Windows 10/11\n", fs.Arg(0), *arch, *version)
		return nil
	case "machine":
		if fs.NArg() != 1 {
			return errors.New(usage)
		}
		m, err := machineOf(fs.Arg(0), *dll)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, m)
		return nil
	}
	return errors.New(usage)
}

var machines = map[uint16]string{
	pe.IMAGE_FILE_MACHINE_AMD64: "amd64",
	pe.IMAGE_FILE_MACHINE_ARM64: "arm64",
	pe.IMAGE_FILE_MACHINE_I386:  "386",
	pe.IMAGE_FILE_MACHINE_ARMNT: "arm",
}

func machineOf(path string, wantDLL bool) (string, error) {
	f, err := pe.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	if wantDLL && f.Characteristics&pe.IMAGE_FILE_DLL == 0 {
		return "", fmt.Errorf("%s: not a DLL", path)
	}
	if m, ok := machines[f.Machine]; ok {
		return m, nil
	}
	return "", fmt.Errorf("%s: unknown machine type %#x", path, f.Machine)
}

// check compares an exe's machine type and resources with want.
func check(path string, want winres.Info) error {
	m, err := machineOf(path, false)
	if err != nil {
		return err
	}
	if m != want.Arch {
		return fmt.Errorf("machine type is %s, want %s", m, want.Arch)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := winres.ReadPE(f)
	if err != nil {
		return err
	}
	raw, ok := winres.Find(res, winres.TypeVersion, winres.IDVersion)
	if !ok {
		return errors.New("no version resource (VERSIONINFO)")
	}
	got, err := winres.ParseVersionInfo(raw)
	if err != nil {
		return err
	}
	wantRaw, err := winres.VersionInfo(want)
	if err != nil {
		return err
	}
	wantVer, err := winres.ParseVersionInfo(wantRaw)
	if err != nil {
		return err
	}
	if got.FileVersion != wantVer.FileVersion || got.ProductVersion != wantVer.ProductVersion {
		return fmt.Errorf("numeric versions %v/%v, want %v", got.FileVersion, got.ProductVersion, wantVer.FileVersion)
	}
	for k, v := range wantVer.Strings {
		if got.Strings[k] != v {
			return fmt.Errorf("version string %s is %q, want %q", k, got.Strings[k], v)
		}
	}
	man, ok := winres.Find(res, winres.TypeManifest, winres.IDManifest)
	if !ok {
		return errors.New("no application manifest (RT_MANIFEST 1)")
	}
	wantMan, err := winres.Manifest(want)
	if err != nil {
		return err
	}
	if !bytes.Equal(man, wantMan) {
		return fmt.Errorf("manifest differs from warren's:\n%s", man)
	}
	return nil
}
