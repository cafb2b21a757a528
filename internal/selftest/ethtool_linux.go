package selftest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ethtool(8)'s ioctl interface (linux/ethtool.h), for the features the
// kernel has turned on for an interface, by name.
const (
	ethSSFeatures = 4  // ETH_SS_FEATURES
	ethGStringLen = 32 // ETH_GSTRING_LEN
	maxFeatures   = 1024
)

// ethtoolIfreq is struct ifreq with ifr_data.
type ethtoolIfreq struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [16]byte
}

// ethtoolFeatures returns the interface's netdev features (as `ethtool -k`
// names them) and whether each is active. It opens its socket in the
// calling thread's network namespace.
func ethtoolFeatures(ifname string) (map[string]bool, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("ethtool socket: %w", err)
	}
	defer unix.Close(fd)
	call := func(buf []byte) error {
		var ifr ethtoolIfreq
		copy(ifr.name[:unix.IFNAMSIZ-1], ifname)
		var pin runtime.Pinner
		pin.Pin(&buf[0])
		defer pin.Unpin()
		ifr.data = unsafe.Pointer(&buf[0])
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
		if e != 0 {
			return e
		}
		return nil
	}
	le := binary.NativeEndian

	// How many features there are: struct ethtool_sset_info with one
	// data word.
	info := make([]byte, 20)
	le.PutUint32(info[0:], unix.ETHTOOL_GSSET_INFO)
	le.PutUint64(info[8:], 1<<ethSSFeatures)
	if err := call(info); err != nil {
		return nil, fmt.Errorf("ETHTOOL_GSSET_INFO: %w", err)
	}
	if le.Uint64(info[8:])&(1<<ethSSFeatures) == 0 {
		return nil, errors.New("the kernel lists no features")
	}
	n := int(le.Uint32(info[16:]))
	if n <= 0 || n > maxFeatures {
		return nil, fmt.Errorf("the kernel lists %d features", n)
	}

	// Their names: struct ethtool_gstrings.
	names := make([]byte, 12+n*ethGStringLen)
	le.PutUint32(names[0:], unix.ETHTOOL_GSTRINGS)
	le.PutUint32(names[4:], ethSSFeatures)
	le.PutUint32(names[8:], uint32(n))
	if err := call(names); err != nil {
		return nil, fmt.Errorf("ETHTOOL_GSTRINGS: %w", err)
	}

	// Their state: struct ethtool_gfeatures, blocks of 32 features
	// {available, requested, active, never_changed}.
	blocks := (n + 31) / 32
	feats := make([]byte, 8+blocks*16)
	le.PutUint32(feats[0:], unix.ETHTOOL_GFEATURES)
	le.PutUint32(feats[4:], uint32(blocks))
	if err := call(feats); err != nil {
		return nil, fmt.Errorf("ETHTOOL_GFEATURES: %w", err)
	}
	out := make(map[string]bool, n)
	for i := range n {
		raw := names[12+i*ethGStringLen : 12+(i+1)*ethGStringLen]
		name := unix.ByteSliceToString(raw)
		if name == "" {
			continue
		}
		active := le.Uint32(feats[8+(i/32)*16+8:])
		out[name] = active&(1<<(i%32)) != 0
	}
	return out, nil
}
