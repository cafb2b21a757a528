package bind

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// ErrNoDefaultRoute is reported (not returned by Send) when a family whose
// socket must be pinned has no physical default route, so that its sends
// are dropped.
var ErrNoDefaultRoute = errors.New("no physical default route")

// sendGate is a blackhole per family. While a family's gate is shut, sends
// to that family's addresses are counted and dropped and Send reports
// success, as a lossy link would: the engine's timers retry the handshake
// and the gate opens again when there is a way out. The first drop of each
// closure is reported once. The zero sendGate is open and reports nothing.
type sendGate struct {
	fam    [2]gateFamily
	report atomic.Pointer[func(error)]
}

type gateFamily struct {
	shut     atomic.Bool
	reported atomic.Bool // this closure's first drop was reported
	dropped  atomic.Uint64
}

// setReport sets the function that hears about the first drop of each
// closure (nil: nobody).
func (g *sendGate) setReport(report func(error)) {
	if report == nil {
		g.report.Store(nil)
		return
	}
	g.report.Store(&report)
}

// shut starts dropping f's sends.
func (g *sendGate) shut(f Family) {
	if g.fam[f].shut.CompareAndSwap(false, true) {
		g.fam[f].reported.Store(false)
	}
}

// open stops dropping f's sends.
func (g *sendGate) open(f Family) { g.fam[f].shut.Store(false) }

// isShut reports whether f's sends are dropped.
func (g *sendGate) isShut(f Family) bool { return g.fam[f].shut.Load() }

// dropped is how many datagrams to f's addresses were dropped so far.
func (g *sendGate) dropped(f Family) uint64 { return g.fam[f].dropped.Load() }

// send hands bufs to the real send function unless ep's family is shut.
func (g *sendGate) send(bufs [][]byte, ep Endpoint, send func([][]byte, Endpoint) error) error {
	dst := ep.DstAddrPort()
	f := &g.fam[familyOf(dst.Addr())]
	if !f.shut.Load() {
		return send(bufs, ep)
	}
	f.dropped.Add(uint64(len(bufs)))
	if f.reported.CompareAndSwap(false, true) {
		if report := g.report.Load(); report != nil {
			(*report)(fmt.Errorf("%w for %v: dropping %v datagrams (the first to %v) until one appears, rather than send them into the tunnel",
				ErrNoDefaultRoute, familyOf(dst.Addr()), familyOf(dst.Addr()), dst))
		}
	}
	return nil
}
