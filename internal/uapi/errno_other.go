//go:build !unix

package uapi

// Without a unix errno table, use Linux's numbers, as wireguard-go and
// wireguard-tools do on Windows.
const (
	errnoInvalid   = 22
	errnoProtocol  = 71
	errnoIO        = 5
	errnoPortInUse = 98
)

func errnoText(n int64) string {
	switch n {
	case errnoInvalid:
		return ErrInvalid.Error()
	case errnoProtocol:
		return ErrProtocol.Error()
	case errnoIO:
		return ErrIO.Error()
	case errnoPortInUse:
		return ErrPortInUse.Error()
	}
	return unknownErrnoText(n)
}

func isSyscallErrno(error, int64) bool { return false }
