package tun

import (
	"errors"
	"fmt"
)

// wintunSigner is the signer wintun.dll must carry: WireGuard LLC publishes
// the official builds, signed with its code-signing certificate. Tests
// point it at their throwaway certificate.
var wintunSigner = "WireGuard LLC"

// Why a wintun.dll is refused. Each is wrapped with the DLL's path and
// what to do; errors.Is tells them apart.
var (
	// ErrWintunWritable: the DLL, its folder or a folder above can be
	// changed by someone other than SYSTEM, Administrators and
	// TrustedInstaller, who could swap it for code that runs as SYSTEM.
	ErrWintunWritable = errors.New("wintun.dll is in a place a non-administrator can change")
	// ErrWintunUnsigned: it carries no Authenticode signature.
	ErrWintunUnsigned = errors.New("wintun.dll is not signed")
	// ErrWintunTampered: it is signed, but its contents no longer match
	// the signature: it was altered after signing.
	ErrWintunTampered = errors.New("wintun.dll does not match its signature (altered after signing)")
	// ErrWintunUntrusted: the signature is intact but its certificate is
	// not trusted here (unknown root, expired, revoked, not for code).
	ErrWintunUntrusted = errors.New("wintun.dll's signature is not trusted")
	// ErrWintunSigner: a valid signature by someone else than
	// wintunSigner.
	ErrWintunSigner = errors.New("wintun.dll is not signed by its publisher")
)

// WinVerifyTrust results (HRESULTs) that classifyTrust tells apart.
const (
	trustENoSignature       = 0x800B0100 // TRUST_E_NOSIGNATURE
	trustESubjectFormUnkown = 0x800B0003 // TRUST_E_SUBJECT_FORM_UNKNOWN
	trustEProviderUnknown   = 0x800B0001 // TRUST_E_PROVIDER_UNKNOWN
	trustEBadDigest         = 0x80096010 // TRUST_E_BAD_DIGEST
	cryptEHashValue         = 0x80091007 // CRYPT_E_HASH_VALUE
	nteBadSignature         = 0x80090006 // NTE_BAD_SIGNATURE
	trustECertSignature     = 0x80096004 // TRUST_E_CERT_SIGNATURE
	certEUntrustedRoot      = 0x800B0109 // CERT_E_UNTRUSTEDROOT
	certEChaining           = 0x800B010A // CERT_E_CHAINING
	certEExpired            = 0x800B0101 // CERT_E_EXPIRED
	certERevoked            = 0x800B010C // CERT_E_REVOKED
	certEUntrustedTestRoot  = 0x800B010D // CERT_E_UNTRUSTEDTESTROOT
	certEWrongUsage         = 0x800B0110 // CERT_E_WRONG_USAGE
	trustEExplicitDistrust  = 0x800B0111 // TRUST_E_EXPLICIT_DISTRUST
	trustESubjectNotTrusted = 0x800B0004 // TRUST_E_SUBJECT_NOT_TRUSTED
	cryptESecuritySettings  = 0x80092026 // CRYPT_E_SECURITY_SETTINGS
)

// classifyTrust turns WinVerifyTrust's result into one of the errors
// above, saying in words what the code means; 0 is nil.
func classifyTrust(code uint32) error {
	var kind error
	var why string
	switch code {
	case 0:
		return nil
	case trustENoSignature:
		kind, why = ErrWintunUnsigned, "it carries no Authenticode signature"
	case trustESubjectFormUnkown, trustEProviderUnknown:
		kind, why = ErrWintunUnsigned, "it is not a signed Windows binary"
	case trustEBadDigest, cryptEHashValue, nteBadSignature:
		kind, why = ErrWintunTampered, "its contents were changed after it was signed"
	case certEUntrustedRoot, certEUntrustedTestRoot, certEChaining:
		kind, why = ErrWintunUntrusted, "its certificate does not lead to a root this machine trusts"
	case certEExpired:
		kind, why = ErrWintunUntrusted, "its certificate has expired and the signature has no timestamp"
	case certERevoked:
		kind, why = ErrWintunUntrusted, "its certificate was revoked"
	case certEWrongUsage:
		kind, why = ErrWintunUntrusted, "its certificate is not for signing code"
	case trustEExplicitDistrust, trustESubjectNotTrusted, cryptESecuritySettings:
		kind, why = ErrWintunUntrusted, "this machine's policy distrusts its signer"
	case trustECertSignature:
		kind, why = ErrWintunUntrusted, "a certificate in its chain has a bad signature"
	default:
		kind, why = ErrWintunUntrusted, "the signature did not verify"
	}
	return fmt.Errorf("%w: %s (WinVerifyTrust 0x%08X)", kind, why, code)
}

// checkSigner refuses a DLL whose verified signer is not want.
func checkSigner(got, want string) error {
	if got != want {
		return fmt.Errorf("%w: it is signed by %q, not %q", ErrWintunSigner, got, want)
	}
	return nil
}
