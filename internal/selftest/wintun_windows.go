package selftest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/warren-vpn/warren/internal/tun"
)

// ErrWintunSignature is wrapped when wintun.dll's Authenticode signature
// does not verify here.
var ErrWintunSignature = errors.New("wintun.dll's signature does not verify")

// wintunDriver finds wintun.dll where warren loads it from (beside
// warren.exe, then System32), and reports its version and the signer of
// its Authenticode signature, verified with WinVerifyTrust. A missing or
// untrusted DLL is an error; creating the adapter (internal/tun) makes
// its own, stricter decision, which the adapter check reports.
func wintunDriver() (string, []Fact, error) {
	var looked []string
	var path string
	if exe, err := os.Executable(); err == nil {
		looked = append(looked, filepath.Join(filepath.Dir(exe), "wintun.dll"))
	}
	if sys, err := windows.GetSystemDirectory(); err == nil {
		looked = append(looked, filepath.Join(sys, "wintun.dll"))
	}
	for _, p := range looked {
		if _, err := os.Stat(p); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		return "", []Fact{{"wintun.dll", "not found"}}, fmt.Errorf("%w (looked for %v): download Wintun from https://www.wintun.net/ and put bin\\%s\\wintun.dll from its zip beside warren.exe",
			tun.ErrWintunMissing, looked, runtime.GOARCH)
	}
	version := fileVersion(path)
	signer, err := verifySigner(path)
	facts := []Fact{{"wintun.dll", fmt.Sprintf("%s, version %s", path, version)}}
	if err != nil {
		facts = append(facts, Fact{"wintun.dll signature", err.Error()})
		return "", facts, fmt.Errorf("%s: %w", path, err)
	}
	facts = append(facts, Fact{"wintun.dll signature", "valid, signed by " + signer})
	return fmt.Sprintf("%s, version %s, signed by %s", path, version, signer), facts, nil
}

// fileVersion is the DLL's file version from its version resource, or why
// there is none.
func fileVersion(path string) string {
	size, err := windows.GetFileVersionInfoSize(path, nil)
	if err != nil || size == 0 {
		return fmt.Sprintf("unknown (%v)", err)
	}
	buf := make([]byte, size)
	if err := windows.GetFileVersionInfo(path, 0, size, unsafe.Pointer(&buf[0])); err != nil {
		return fmt.Sprintf("unknown (%v)", err)
	}
	var info *windows.VS_FIXEDFILEINFO
	var n uint32
	if err := windows.VerQueryValue(unsafe.Pointer(&buf[0]), `\`, unsafe.Pointer(&info), &n); err != nil || info == nil || n < uint32(unsafe.Sizeof(*info)) {
		return fmt.Sprintf("unknown (%v)", err)
	}
	return fmt.Sprintf("%d.%d.%d.%d", info.FileVersionMS>>16, info.FileVersionMS&0xffff, info.FileVersionLS>>16, info.FileVersionLS&0xffff)
}

var (
	modcrypt32           = windows.NewLazySystemDLL("crypt32.dll")
	procCryptMsgGetParam = modcrypt32.NewProc("CryptMsgGetParam")
	procCryptMsgClose    = modcrypt32.NewProc("CryptMsgClose")
)

const cmsgSignerCertInfoParam = 7 // CMSG_SIGNER_CERT_INFO_PARAM

// verifySigner checks path's embedded Authenticode signature with
// WinVerifyTrust (no revocation check: the selftest must not wait on the
// network) and returns the signer's name.
func verifySigner(path string) (string, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return "", err
	}
	file := &windows.WinTrustFileInfo{Size: uint32(unsafe.Sizeof(windows.WinTrustFileInfo{})), FilePath: p}
	data := &windows.WinTrustData{
		Size:                            uint32(unsafe.Sizeof(windows.WinTrustData{})),
		UIChoice:                        windows.WTD_UI_NONE,
		RevocationChecks:                windows.WTD_REVOKE_NONE,
		UnionChoice:                     windows.WTD_CHOICE_FILE,
		FileOrCatalogOrBlobOrSgnrOrCert: unsafe.Pointer(file),
		StateAction:                     windows.WTD_STATEACTION_VERIFY,
		ProvFlags:                       windows.WTD_CACHE_ONLY_URL_RETRIEVAL,
	}
	verr := windows.WinVerifyTrustEx(windows.InvalidHWND, &windows.WINTRUST_ACTION_GENERIC_VERIFY_V2, data)
	data.StateAction = windows.WTD_STATEACTION_CLOSE
	windows.WinVerifyTrustEx(windows.InvalidHWND, &windows.WINTRUST_ACTION_GENERIC_VERIFY_V2, data)
	if verr != nil {
		return "", fmt.Errorf("%w: WinVerifyTrust: %w", ErrWintunSignature, verr)
	}
	return signerName(path)
}

// signerName reads the signer's certificate out of path's signature and
// returns its simple display name.
func signerName(path string) (string, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return "", err
	}
	var store, msg windows.Handle
	var enc, content, format uint32
	if err := windows.CryptQueryObject(windows.CERT_QUERY_OBJECT_FILE, unsafe.Pointer(p), windows.CERT_QUERY_CONTENT_FLAG_PKCS7_SIGNED_EMBED,
		windows.CERT_QUERY_FORMAT_FLAG_BINARY, 0, &enc, &content, &format, &store, &msg, nil); err != nil {
		return "", fmt.Errorf("read the signature: %w", err)
	}
	defer windows.CertCloseStore(store, 0)
	defer procCryptMsgClose.Call(uintptr(msg))
	var size uint32
	if r, _, e := procCryptMsgGetParam.Call(uintptr(msg), cmsgSignerCertInfoParam, 0, 0, uintptr(unsafe.Pointer(&size))); r == 0 {
		return "", fmt.Errorf("signer of the signature: %w", e)
	}
	info := make([]byte, size)
	if r, _, e := procCryptMsgGetParam.Call(uintptr(msg), cmsgSignerCertInfoParam, 0, uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&size))); r == 0 {
		return "", fmt.Errorf("signer of the signature: %w", e)
	}
	cert, err := windows.CertFindCertificateInStore(store, windows.X509_ASN_ENCODING|windows.PKCS_7_ASN_ENCODING, 0,
		windows.CERT_FIND_SUBJECT_CERT, unsafe.Pointer(&info[0]), nil)
	if err != nil {
		return "", fmt.Errorf("signer's certificate: %w", err)
	}
	defer windows.CertFreeCertificateContext(cert)
	name := make([]uint16, 256)
	n := windows.CertGetNameString(cert, windows.CERT_NAME_SIMPLE_DISPLAY_TYPE, 0, nil, &name[0], uint32(len(name)))
	if n <= 1 {
		return "", errors.New("signer's certificate has no name")
	}
	return windows.UTF16ToString(name[:n]), nil
}
