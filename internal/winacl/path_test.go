package winacl

import "testing"

// TestStripExtendedPrefix: only an extended-length drive path loses its
// prefix; UNC, device, NT and ordinary paths stay as they are.
func TestStripExtendedPrefix(t *testing.T) {
	for in, want := range map[string]string{
		`\\?\C:\Program Files\warren\wintun.dll`: `C:\Program Files\warren\wintun.dll`,
		`\\?\c:\x`:                               `c:\x`,
		`\\?\C:`:                                 `\\?\C:`,
		`\\?\UNC\server\share\x`:                 `\\?\UNC\server\share\x`,
		`\\?\Volume{0b7e}\x`:                     `\\?\Volume{0b7e}\x`,
		`\\.\C:\x`:                               `\\.\C:\x`,
		`\??\C:\x`:                               `\??\C:\x`,
		`C:\x`:                                   `C:\x`,
		`\\server\share\x`:                       `\\server\share\x`,
		``:                                       ``,
	} {
		if got := StripExtendedPrefix(in); got != want {
			t.Errorf("StripExtendedPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}
