package webui

import (
	"io"

	"github.com/warren-vpn/warren/internal/wgtypes"
)

type wgtypesDevice = wgtypes.Device

func ioNopCloser(r io.Reader) io.ReadCloser { return io.NopCloser(r) }
func ioReadAll(r io.Reader) ([]byte, error) { return io.ReadAll(r) }
