package noise

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// TestSecretKeysRedacted: no fmt verb, directly or through a struct or a
// pointer, prints any encoding of a private or preshared key; Base64 and
// Hex still encode them for the places that must (wg showconf, UAPI).
func TestSecretKeysRedacted(t *testing.T) {
	var priv PrivateKey
	var psk PresharedKey
	for i := range priv {
		priv[i] = byte(0x40 + i)
		psk[i] = byte(0x90 + i)
	}
	type holder struct {
		Priv PrivateKey
		PSK  *PresharedKey
	}
	h := holder{priv, &psk}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%v"} {
		out = append(out, fmt.Sprintf(verb, priv), fmt.Sprintf(verb, psk), fmt.Sprintf(verb, &priv), fmt.Sprintf(verb, h))
	}
	out = append(out, fmt.Sprint(priv, psk), fmt.Sprintln(h), priv.String(), psk.String())
	all := strings.Join(out, "\n")
	for _, k := range [][]byte{priv[:], psk[:]} {
		for _, enc := range []string{
			base64.StdEncoding.EncodeToString(k), hex.EncodeToString(k), strings.ToUpper(hex.EncodeToString(k)),
			fmt.Sprint([KeySize]byte(k)), string(k[:8]),
		} {
			if strings.Contains(all, enc) {
				t.Fatalf("a secret key's encoding %q leaked through fmt:\n%s", enc, all)
			}
		}
	}
	if !strings.Contains(all, "(redacted)") {
		t.Errorf("no redaction marker in:\n%s", all)
	}
	if got, err := ParseKey(priv.Base64()); err != nil || got != priv {
		t.Errorf("Base64 does not round-trip: %v", err)
	}
	if priv.Hex() != hex.EncodeToString(priv[:]) || psk.Base64() != base64.StdEncoding.EncodeToString(psk[:]) {
		t.Error("Hex/Base64 do not encode the key")
	}
}
