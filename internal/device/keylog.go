package device

import (
	"encoding/base64"
	"io"
	"sync"

	"github.com/warren-vpn/warren/internal/noise"
)

// The key log (Options.KeyLog): for each handshake the device takes part
// in, the four lines Wireshark's WireGuard dissector reads from its
// wg.keylog_file preference, "NAME = base64" each:
//
//	LOCAL_STATIC_PRIVATE_KEY = ...
//	REMOTE_STATIC_PUBLIC_KEY = ...
//	LOCAL_EPHEMERAL_PRIVATE_KEY = ...
//	PRESHARED_KEY = ...
//
// The dissector ties each PRESHARED_KEY line to the ephemeral key before it,
// so a handshake's lines are written together, in one Write, in this order.

// keyLogNames are the line names, in the order written.
var keyLogNames = [4]string{
	"LOCAL_STATIC_PRIVATE_KEY",
	"REMOTE_STATIC_PUBLIC_KEY",
	"LOCAL_EPHEMERAL_PRIVATE_KEY",
	"PRESHARED_KEY",
}

// keyLogRecordSize bounds one handshake's lines.
const keyLogRecordSize = 4 * (len("LOCAL_EPHEMERAL_PRIVATE_KEY") + len(" = ") + 44 + 1)

// keyLogRecord is one handshake's lines, formatted while the handshake
// holds its keys and written once it has let go of its locks.
type keyLogRecord struct {
	buf [keyLogRecordSize]byte
	n   int
}

// fill formats the lines of one handshake.
func (r *keyLogRecord) fill(local *noise.PrivateKey, remote *noise.PublicKey, ephemeral *noise.PrivateKey, psk *noise.PresharedKey) {
	r.n = 0
	for i, key := range [4]*[noise.KeySize]byte{(*[32]byte)(local), (*[32]byte)(remote), (*[32]byte)(ephemeral), (*[32]byte)(psk)} {
		r.n += copy(r.buf[r.n:], keyLogNames[i])
		r.n += copy(r.buf[r.n:], " = ")
		base64.StdEncoding.Encode(r.buf[r.n:r.n+44], key[:])
		r.n += 44
		r.buf[r.n] = '\n'
		r.n++
	}
}

// keyLog serializes writes of records to the writer of Options.KeyLog.
type keyLog struct {
	mu sync.Mutex
	w  io.Writer
}

// write writes r whole and wipes it; it reports the writer's error.
func (l *keyLog) write(r *keyLogRecord) error {
	defer clear(r.buf[:])
	if r.n == 0 {
		return nil // the handshake failed before drawing its ephemeral key
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := l.w.Write(r.buf[:r.n])
	return err
}

// revealTo returns the callback that fills r with the key log lines of a
// handshake between local and remote, or nil when the device keeps no key
// log (r is then never touched). The callback runs inside the handshake,
// under the peer's hsMu, which keeps keys (and psk) from changing.
func (d *Device) revealTo(r *keyLogRecord, local *noise.PrivateKey, remote *noise.PublicKey, psk *noise.PresharedKey) noise.RevealFunc {
	if d.keyLog == nil {
		return nil
	}
	return func(ephemeral *noise.PrivateKey) { r.fill(local, remote, ephemeral, psk) }
}

// writeKeyLog writes a handshake's record, if the device keeps a key log.
func (p *Peer) writeKeyLog(r *keyLogRecord) {
	if p.d.keyLog == nil {
		return
	}
	if err := p.d.keyLog.write(r); err != nil {
		p.d.log.Errorf("%v - Failed to write the key log: %v", p, err)
	}
}
