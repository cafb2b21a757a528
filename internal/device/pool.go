package device

import (
	"sync"
	"sync/atomic"

	"github.com/warren-vpn/warren/internal/bind"
	"github.com/warren-vpn/warren/internal/wire"
)

// elem is one packet moving through a pipeline, in a buffer big enough for
// any message. On the way out the plaintext sits at buf[Headroom:] and is
// sealed in place behind a transport header; on the way in the message sits
// at buf[0:] and is opened in place to buf[Headroom:].
type elem struct {
	buf     []byte
	pkt     []byte // the current contents: plaintext or message
	peer    *Peer
	kp      *keypair
	counter uint64
	ep      bind.Endpoint
	ok      bool // sealed or opened successfully

	nonceBuf [12]byte // chacha20poly1305.NonceSize, first 4 bytes zero
}

// batch is a group of packets that crosses the parallel crypto stage
// together; wg counts the outstanding crypto jobs. Batches pass the
// sequencers in the order they were produced, so every peer's packets keep
// their order.
type batch struct {
	elems []*elem
	wg    sync.WaitGroup
}

// hsMsg is a handshake message waiting for a handshake worker.
type hsMsg struct {
	buf [148]byte // the largest handshake message (wire.InitiationSize)
	n   int
	ep  bind.Endpoint
}

// pools recycles the engine's buffers so that the steady state allocates
// nothing per packet. Packet buffers come in two classes: small ones, sized
// for the MTU (they grow with it), and large ones (MaxMessageSize) for the
// rare bigger packet. Both are sync.Pools: per-core caches without a lock
// on the hot path, which the garbage collector may empty when it runs (in
// the steady state it does not: the data plane allocates nothing), so an
// idle device gives its buffers back. Idle peers hold no buffers.
type pools struct {
	smallSize atomic.Int64
	small     sync.Pool
	large     sync.Pool
	batches   sync.Pool
	hs        sync.Pool
}

func newPools(mtu int) *pools {
	p := &pools{}
	p.setMTU(mtu)
	p.large.New = func() any { return &elem{buf: make([]byte, MaxMessageSize)} }
	p.batches.New = func() any { return &batch{elems: make([]*elem, 0, 128)} }
	p.hs.New = func() any { return new(hsMsg) }
	return p
}

// setMTU grows the small class to hold a packet of mtu bytes with its
// headroom, padding and tag (never beyond MaxMessageSize).
func (p *pools) setMTU(mtu int) {
	need := int64(min(MaxMessageSize, max(2048, (Headroom+mtu+wire.PaddingMultiple+wire.TagSize+511)&^511)))
	for {
		cur := p.smallSize.Load()
		if need <= cur || p.smallSize.CompareAndSwap(cur, need) {
			return
		}
	}
}

// getElem returns an element whose buffer holds at least n bytes.
func (p *pools) getElem(n int) *elem {
	small := int(p.smallSize.Load())
	if n > small {
		return p.large.Get().(*elem)
	}
	for {
		e, _ := p.small.Get().(*elem)
		if e == nil {
			return &elem{buf: make([]byte, small)}
		}
		if len(e.buf) >= n {
			return e
		}
		// From before the MTU grew: let it go.
	}
}

func (p *pools) putElem(e *elem) {
	e.pkt, e.peer, e.kp, e.ep, e.ok, e.counter = nil, nil, nil, nil, false, 0
	switch len(e.buf) {
	case MaxMessageSize:
		p.large.Put(e)
	case int(p.smallSize.Load()):
		p.small.Put(e)
	}
}

func (p *pools) getBatch() *batch { return p.batches.Get().(*batch) }

// putBatch recycles b and every element it still holds.
func (p *pools) putBatch(b *batch) {
	for i, e := range b.elems {
		if e != nil {
			p.putElem(e)
		}
		b.elems[i] = nil
	}
	b.elems = b.elems[:0]
	p.batches.Put(b)
}

func (p *pools) getHS() *hsMsg { return p.hs.Get().(*hsMsg) }

func (p *pools) putHS(m *hsMsg) {
	m.ep = nil
	m.n = 0
	p.hs.Put(m)
}
