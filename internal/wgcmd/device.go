package wgcmd

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"runtime"
	"strconv"
	"syscall"

	"github.com/warren-vpn/warren/internal/uapi"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// devices is how commands reach WireGuard interfaces.
type devices interface {
	// Interfaces lists the interfaces, sorted.
	Interfaces() ([]string, error)
	Get(name string) (*wgtypes.Device, error)
	Set(name string, cfg *wgtypes.Config) error
}

// uapiDevices reaches interfaces through their UAPI sockets in dirs: the
// system directory first, then the rootless one under $XDG_RUNTIME_DIR.
type uapiDevices struct{ dirs []string }

// dial connects to name's socket in the first directory that has it.
func (u uapiDevices) dial(name string) (net.Conn, error) {
	var first error
	for _, dir := range u.dirs {
		c, err := uapi.Dial(dir, name)
		if err == nil {
			return c, nil
		}
		if first == nil || !errors.Is(err, fs.ErrNotExist) && errors.Is(first, fs.ErrNotExist) {
			first = err
		}
	}
	if first == nil {
		first = fmt.Errorf("interface %s: %w", name, fs.ErrNotExist)
	}
	return nil, first
}

func (u uapiDevices) Get(name string) (*wgtypes.Device, error) {
	c, err := u.dial(name)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return uapi.Get(c)
}

func (u uapiDevices) Set(name string, cfg *wgtypes.Config) error {
	c, err := u.dial(name)
	if err != nil {
		return err
	}
	defer c.Close()
	return uapi.Set(c, cfg)
}

// errnoText words an error as wg's perror would, from the errno it stands
// for ("No such device" for an interface without a socket).
func errnoText(err error) string {
	var ue *uapi.Error
	var errno syscall.Errno
	switch {
	case errors.As(err, &ue):
		return errnoNumberText(ue.Errno)
	case errors.Is(err, fs.ErrNotExist):
		return "No such device"
	case errors.Is(err, uapi.ErrInvalidName):
		return "Invalid argument"
	case errors.Is(err, fs.ErrPermission):
		return "Permission denied"
	case errors.Is(err, uapi.ErrUnsupported):
		return "Operation not supported"
	case errors.As(err, &errno):
		return capitalize(errno.Error())
	}
	return "Protocol error"
}

// errnoNumberText is strerror for an errno a UAPI server reports: a number
// of the host both run on, or on Windows (where servers report Linux
// numbers, as wireguard-go does) one of the usual Linux ones.
func errnoNumberText(n int64) string {
	if runtime.GOOS != "windows" && n > 0 && n < 4096 {
		return capitalize(syscall.Errno(n).Error())
	}
	switch n {
	case 1:
		return "Operation not permitted"
	case 2:
		return "No such file or directory"
	case 5:
		return "Input/output error"
	case 12:
		return "Cannot allocate memory"
	case 13:
		return "Permission denied"
	case 19:
		return "No such device"
	case 22:
		return "Invalid argument"
	case 71:
		return "Protocol error"
	case 95:
		return "Operation not supported"
	case 98:
		return "Address already in use"
	case 99:
		return "Cannot assign requested address"
	case 101:
		return "Network is unreachable"
	}
	return "Unknown error " + strconv.FormatInt(n, 10)
}

func capitalize(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// accessError is the message of a failed get on one interface.
func accessError(err error) string {
	return fmt.Sprintf("Unable to access interface: %s", errnoText(err))
}

// fileErrText is strerror for a failed file operation.
func fileErrText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return capitalize(errno.Error())
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return capitalize(pe.Err.Error())
	}
	return capitalize(err.Error())
}
