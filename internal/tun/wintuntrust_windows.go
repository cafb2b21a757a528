//go:build windows

package tun

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/warren-vpn/warren/internal/winacl"
)

// loadTrustedDLL checks the DLL at path and loads it, or says why not. It
// opens the file so that nobody can write, delete or rename it while it is
// checked and loaded; refuses it if the DLL, its folder or a folder above
// can be changed by anyone but SYSTEM, Administrators and TrustedInstaller
// (read gives each one's security descriptor); verifies its Authenticode
// signature through that handle with WinVerifyTrust and that the signer is
// signer; and only then loads it by its full path. The module stays loaded
// for the life of the process, so a later LoadLibraryEx of its bare name
// (the wintun package's) gets this module. It returns the module.
func loadTrustedDLL(path, signer string, read winacl.Reader) (windows.Handle, error) {
	f, final, err := openLocked(path)
	if err != nil {
		return 0, err
	}
	defer windows.CloseHandle(f)
	for _, p := range uniquePaths(winacl.StripExtendedPrefix(final), path) {
		if err := winacl.CheckPath(p, read, winacl.AccountName); err != nil {
			if errors.Is(err, winacl.ErrWritable) {
				return 0, fmt.Errorf("%w: %w", ErrWintunWritable, err)
			}
			return 0, fmt.Errorf("cannot tell who may change it: %w", err)
		}
	}
	got, err := verifySignature(f, final)
	if err != nil {
		return 0, err
	}
	if err := checkSigner(got, signer); err != nil {
		return 0, err
	}
	m, err := windows.LoadLibraryEx(winacl.StripExtendedPrefix(final), 0, windows.LOAD_LIBRARY_SEARCH_SYSTEM32)
	if err != nil {
		return 0, fmt.Errorf("load %s: %w", final, err)
	}
	return m, nil
}

// openLocked opens path for reading with a share mode that lets others
// read (the loader) but not write, delete or rename it until the handle is
// closed, and returns the handle and the file's final path (links
// resolved, `\\?\` form).
func openLocked(path string) (windows.Handle, string, error) {
	p16, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0, "", err
	}
	f, err := windows.CreateFile(p16, windows.GENERIC_READ, windows.FILE_SHARE_READ, nil,
		windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return 0, "", fmt.Errorf("open %s: %w", path, err)
	}
	final, err := winacl.FinalPath(f)
	if err != nil {
		windows.CloseHandle(f)
		return 0, "", fmt.Errorf("open %s: %w", path, err)
	}
	return f, final, nil
}

// uniquePaths is the final path, and the path as given when it names
// another place (a link on the way): both must be safe.
func uniquePaths(final, given string) []string {
	if strings.EqualFold(final, given) {
		return []string{final}
	}
	return []string{final, given}
}

// readFileSecurity is the winacl.Reader the Wintun loader checks with.
func readFileSecurity(path string) (string, error) { return winacl.ReadFileSecurity(path) }

var (
	modwintrust                        = windows.NewLazySystemDLL("wintrust.dll")
	procWTHelperProvDataFromStateData  = modwintrust.NewProc("WTHelperProvDataFromStateData")
	procWTHelperGetProvSignerFromChain = modwintrust.NewProc("WTHelperGetProvSignerFromChain")
	procWTHelperGetProvCertFromChain   = modwintrust.NewProc("WTHelperGetProvCertFromChain")
)

// cryptProviderCert is the start of CRYPT_PROVIDER_CERT (wintrust.h):
// DWORD cbStruct, then PCCERT_CONTEXT pCert at offset 8 on 64-bit Windows
// (amd64 and arm64 alike).
type cryptProviderCert struct {
	_    uint32
	cert *windows.CertContext
}

// The pointer follows the DWORD at pointer alignment (8 on 64-bit),
// checked at compile time on every GOARCH.
var _ = [1]int{}[unsafe.Offsetof(cryptProviderCert{}.cert)-unsafe.Sizeof(uintptr(0))]

// verifySignature runs WinVerifyTrust (Authenticode policy, no UI, no
// network: revocation is not checked, since a tunnel often starts before
// the network does) on the open file f and returns the display name of
// the certificate that signed it: the signer WinVerifyTrust verified, not
// any certificate that merely rides along in the signature.
func verifySignature(f windows.Handle, path string) (string, error) {
	p16, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return "", err
	}
	file := windows.WinTrustFileInfo{
		Size:     uint32(unsafe.Sizeof(windows.WinTrustFileInfo{})),
		FilePath: p16,
		File:     f,
	}
	data := windows.WinTrustData{
		Size:                            uint32(unsafe.Sizeof(windows.WinTrustData{})),
		UIChoice:                        windows.WTD_UI_NONE,
		RevocationChecks:                windows.WTD_REVOKE_NONE,
		UnionChoice:                     windows.WTD_CHOICE_FILE,
		FileOrCatalogOrBlobOrSgnrOrCert: unsafe.Pointer(&file),
		StateAction:                     windows.WTD_STATEACTION_VERIFY,
		ProvFlags:                       windows.WTD_CACHE_ONLY_URL_RETRIEVAL,
	}
	verr := windows.WinVerifyTrustEx(windows.InvalidHWND, &windows.WINTRUST_ACTION_GENERIC_VERIFY_V2, &data)
	defer func() {
		data.StateAction = windows.WTD_STATEACTION_CLOSE
		windows.WinVerifyTrustEx(windows.InvalidHWND, &windows.WINTRUST_ACTION_GENERIC_VERIFY_V2, &data)
	}()
	if verr != nil {
		var code windows.Errno
		if !errors.As(verr, &code) {
			return "", fmt.Errorf("%w: WinVerifyTrust: %w", ErrWintunUntrusted, verr)
		}
		return "", classifyTrust(uint32(code))
	}
	return signerName(data.StateData)
}

// signerName reads the verified signer's certificate out of
// WinVerifyTrust's state.
func signerName(state windows.Handle) (string, error) {
	if state == 0 {
		return "", fmt.Errorf("%w: WinVerifyTrust kept no state to read the signer from", ErrWintunUntrusted)
	}
	prov, _, _ := procWTHelperProvDataFromStateData.Call(uintptr(state))
	if prov == 0 {
		return "", fmt.Errorf("%w: no provider data for the signature", ErrWintunUntrusted)
	}
	sgnr, _, _ := procWTHelperGetProvSignerFromChain.Call(prov, 0, 0, 0)
	if sgnr == 0 {
		return "", fmt.Errorf("%w: no signer in the verified signature", ErrWintunUntrusted)
	}
	pc, _, _ := procWTHelperGetProvCertFromChain.Call(sgnr, 0)
	if pc == 0 {
		return "", fmt.Errorf("%w: no signing certificate in the verified chain", ErrWintunUntrusted)
	}
	// pc points into memory wintrust owns (not Go's heap).
	cert := (*(**cryptProviderCert)(unsafe.Pointer(&pc))).cert
	if cert == nil {
		return "", fmt.Errorf("%w: no signing certificate in the verified chain", ErrWintunUntrusted)
	}
	n := windows.CertGetNameString(cert, windows.CERT_NAME_SIMPLE_DISPLAY_TYPE, 0, nil, nil, 0)
	if n <= 1 {
		return "", nil // no name: checkSigner refuses it
	}
	name := make([]uint16, n)
	windows.CertGetNameString(cert, windows.CERT_NAME_SIMPLE_DISPLAY_TYPE, 0, nil, &name[0], n)
	return windows.UTF16ToString(name), nil
}
