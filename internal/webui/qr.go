package webui

import (
	"fmt"

	qrcode "github.com/skip2/go-qrcode"
)

// qrModulePixels is the side of one QR module in the PNG: a client's
// configuration (about 350 bytes) makes a version 13–15 symbol at level M,
// 77 modules or less plus the 4-module quiet zone, so about 500 pixels,
// which phone cameras read from a screen at arm's length.
const qrModulePixels = 6

// qrPNG renders text as a QR code PNG that the WireGuard apps import
// (they scan the plain wg-quick configuration). Error correction is level
// M (15% of the symbol may be unreadable): enough for a screen's glare
// without making the symbol so dense that a phone struggles.
func qrPNG(text []byte) ([]byte, error) {
	q, err := qrcode.New(string(text), qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("QR code: %w", err)
	}
	png, err := q.PNG(-qrModulePixels)
	if err != nil {
		return nil, fmt.Errorf("QR code: %w", err)
	}
	return png, nil
}
