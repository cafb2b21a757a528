package tun

import (
	"errors"
	"strings"
	"testing"
)

func TestClassifyTrust(t *testing.T) {
	if err := classifyTrust(0); err != nil {
		t.Fatalf("classifyTrust(0) = %v", err)
	}
	for _, tt := range []struct {
		code uint32
		want error
		text string
	}{
		{0x800B0100, ErrWintunUnsigned, "no Authenticode signature"},
		{0x800B0003, ErrWintunUnsigned, "not a signed Windows binary"},
		{0x80096010, ErrWintunTampered, "changed after it was signed"},
		{0x80090006, ErrWintunTampered, "changed after it was signed"},
		{0x800B0109, ErrWintunUntrusted, "root this machine trusts"},
		{0x800B0101, ErrWintunUntrusted, "expired"},
		{0x800B010C, ErrWintunUntrusted, "revoked"},
		{0x800B0111, ErrWintunUntrusted, "distrusts"},
		{0x80004005, ErrWintunUntrusted, "did not verify"},
	} {
		err := classifyTrust(tt.code)
		if !errors.Is(err, tt.want) {
			t.Errorf("classifyTrust(%#x) = %v, want %v", tt.code, err, tt.want)
			continue
		}
		for _, other := range []error{ErrWintunUnsigned, ErrWintunTampered, ErrWintunUntrusted, ErrWintunSigner, ErrWintunWritable} {
			if other != tt.want && errors.Is(err, other) {
				t.Errorf("classifyTrust(%#x) = %v also matches %v", tt.code, err, other)
			}
		}
		if !strings.Contains(err.Error(), tt.text) {
			t.Errorf("classifyTrust(%#x) = %q, want it to say %q", tt.code, err, tt.text)
		}
	}
}

func TestCheckSigner(t *testing.T) {
	if err := checkSigner("WireGuard LLC", wintunSigner); err != nil {
		t.Errorf("official signer refused: %v", err)
	}
	err := checkSigner("Evil Corp", wintunSigner)
	if !errors.Is(err, ErrWintunSigner) || !strings.Contains(err.Error(), `"Evil Corp", not "WireGuard LLC"`) {
		t.Errorf("checkSigner(Evil Corp) = %v", err)
	}
	if err := checkSigner("WireGuard LLC ", wintunSigner); err == nil {
		t.Error("a near-miss signer name was accepted")
	}
}
