package device

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/replay"
	"github.com/warren-vpn/warren/internal/wire"
	"golang.org/x/crypto/chacha20poly1305"
)

// keypair is one transport session (whitepaper §5.4.6): two AEADs, the send
// counter and the receive replay window.
type keypair struct {
	peer        *Peer
	created     time.Time
	initiator   bool
	localIndex  uint32
	remoteIndex uint32

	sendNonce atomic.Uint64
	isNext    atomic.Bool // installed as the responder's next session

	// mu is held for reading while sealing or opening and for writing
	// while zeroing, so that keys are never wiped under a crypto worker.
	mu         sync.RWMutex
	dead       bool
	send, recv cipher.AEAD

	replayMu sync.Mutex
	replay   replay.Filter
}

// newKeypair builds a session from the handshake's keys and wipes them: from
// here on the keys live only inside the AEADs, which zero wipes.
func newKeypair(p *Peer, nk *noise.Keypair, now time.Time) (*keypair, error) {
	defer nk.Zero()
	send, err := chacha20poly1305.New(nk.Send[:])
	if err != nil {
		return nil, fmt.Errorf("send key: %w", err)
	}
	recv, err := chacha20poly1305.New(nk.Receive[:])
	if err != nil {
		return nil, fmt.Errorf("receive key: %w", err)
	}
	return &keypair{
		peer:        p,
		created:     now,
		initiator:   nk.Initiator,
		localIndex:  nk.LocalIndex,
		remoteIndex: nk.RemoteIndex,
		send:        send,
		recv:        recv,
	}, nil
}

// zero wipes the session keys; packets still in flight on it are dropped.
func (kp *keypair) zero() {
	if kp == nil {
		return
	}
	kp.mu.Lock()
	if !kp.dead {
		kp.dead = true
		zeroAEAD(kp.send)
		zeroAEAD(kp.recv)
	}
	kp.mu.Unlock()
}

// isZeroed reports whether the keys were wiped (for tests).
func (kp *keypair) isZeroed() bool {
	kp.mu.RLock()
	defer kp.mu.RUnlock()
	return kp.dead && aeadKeyIsZero(kp.send) && aeadKeyIsZero(kp.recv)
}

// aeadKey returns the key inside a chacha20poly1305 AEAD, whose
// implementation is a pointer to a struct holding only the key. The layout
// is checked by reflection, so that a different implementation is left
// alone rather than corrupted.
func aeadKey(a cipher.AEAD) *[chacha20poly1305.KeySize]byte {
	v := reflect.ValueOf(a)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return nil
	}
	t := v.Type().Elem()
	if t.Kind() != reflect.Struct || t.NumField() != 1 ||
		t.Field(0).Type != reflect.TypeFor[[chacha20poly1305.KeySize]byte]() || t.Field(0).Offset != 0 {
		return nil
	}
	return (*[chacha20poly1305.KeySize]byte)(unsafe.Pointer(v.Pointer()))
}

func zeroAEAD(a cipher.AEAD) {
	if k := aeadKey(a); k != nil {
		clear(k[:])
	}
}

func aeadKeyIsZero(a cipher.AEAD) bool {
	k := aeadKey(a)
	return k != nil && *k == [chacha20poly1305.KeySize]byte{}
}

// nonce writes the AEAD nonce for e's counter into e (a buffer that lives
// on the heap anyway, so passing it to the AEAD does not allocate).
func (e *elem) nonce() []byte {
	binary.LittleEndian.PutUint64(e.nonceBuf[4:], e.counter)
	return e.nonceBuf[:]
}

// seal encrypts e's plaintext (at buf[Headroom:]) in place into a transport
// message, padding it within mtu. The caller holds kp.mu for reading.
func (kp *keypair) seal(e *elem, mtu int) {
	n := len(e.pkt)
	padded := wire.PaddedSize(n, mtu)
	clear(e.buf[Headroom+n : Headroom+padded])
	wire.PutTransportHeader(e.buf, kp.remoteIndex, e.counter)
	out := kp.send.Seal(e.buf[Headroom:Headroom], e.nonce(), e.buf[Headroom:Headroom+padded], nil)
	e.pkt = e.buf[:Headroom+len(out)]
	e.ok = true
}

// open decrypts e's transport message, in e.buf or (received straight
// into a receive buffer) elsewhere; the plaintext ends up at
// buf[Headroom:]. The caller holds kp.mu for reading.
func (kp *keypair) open(e *elem) {
	pt, err := kp.recv.Open(e.buf[Headroom:Headroom], e.nonce(), e.pkt[wire.TransportHeaderSize:], nil)
	if err != nil {
		e.ok = false
		return
	}
	e.pkt = e.buf[Headroom : Headroom+len(pt)]
	e.ok = true
}
