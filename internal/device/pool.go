package device

import (
	"sync"

	"github.com/warren-vpn/warren/internal/bind"
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
// nothing per packet. Idle peers hold no buffers.
type pools struct {
	elems   sync.Pool
	batches sync.Pool
	hs      sync.Pool
}

func newPools() *pools {
	p := &pools{}
	p.elems.New = func() any { return &elem{buf: make([]byte, MaxMessageSize)} }
	p.batches.New = func() any { return &batch{elems: make([]*elem, 0, 128)} }
	p.hs.New = func() any { return new(hsMsg) }
	return p
}

func (p *pools) getElem() *elem { return p.elems.Get().(*elem) }

func (p *pools) putElem(e *elem) {
	e.pkt, e.peer, e.kp, e.ep, e.ok, e.counter = nil, nil, nil, nil, false, 0
	p.elems.Put(e)
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
