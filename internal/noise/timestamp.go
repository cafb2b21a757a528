package noise

// TAI64N timestamps for the initiation message (whitepaper §5.1, §5.4.2).

import (
	"encoding/binary"
	"time"
)

const (
	// tai64Base is 2^62 + 10: TAI64 label of the Unix epoch (TAI was 10 s
	// ahead of UTC in 1970).
	tai64Base = uint64(0x400000000000000a)
	// whitenerMask clears the low 24 bits of the nanoseconds (~16.8 ms
	// resolution), so the timestamp does not reveal the sender's clock
	// precisely; ordering of initiations sent at least that far apart is kept.
	whitenerMask = uint32(1<<24 - 1)
)

func newTimestamp(now time.Time) Timestamp {
	var t Timestamp
	binary.BigEndian.PutUint64(t[0:8], tai64Base+uint64(now.Unix()))
	binary.BigEndian.PutUint32(t[8:12], uint32(now.Nanosecond())&^whitenerMask)
	return t
}

// timestampAfter compares t and u as 96-bit big-endian numbers.
func timestampAfter(t, u Timestamp) bool {
	th, uh := binary.BigEndian.Uint64(t[0:8]), binary.BigEndian.Uint64(u[0:8])
	tl, ul := binary.BigEndian.Uint32(t[8:12]), binary.BigEndian.Uint32(u[8:12])
	return th > uh || (th == uh && tl > ul)
}
