//go:build windows

package winnet

import "golang.org/x/sys/windows"

// Windows returns g as the Windows API takes it (Data1..Data3 hold the
// first fields as numbers, so the string forms agree).
func (g GUID) Windows() windows.GUID {
	return windows.GUID{
		Data1: uint32(g[0])<<24 | uint32(g[1])<<16 | uint32(g[2])<<8 | uint32(g[3]),
		Data2: uint16(g[4])<<8 | uint16(g[5]),
		Data3: uint16(g[6])<<8 | uint16(g[7]),
		Data4: [8]byte(g[8:16]),
	}
}
