package webui

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"

	"github.com/warren-vpn/warren/internal/noise"
)

// A new client's configuration holds its private key, which the manager
// does not keep. Besides the text in the answer to the request that added
// the client, it stays reachable for a while through one-time links (its
// QR code for the page, a download to hand to the client's owner). Until
// a link is used or expires, the configuration lives here: in this
// process's memory only, never on disk; at most oneTimeMax links (the
// oldest goes first); each for oneTimeTTL; wiped when used, expired,
// pushed out, or when the client is deleted.

// oneTimeTTL is how long a one-time link works.
const oneTimeTTL = 15 * time.Minute

// oneTimeMax bounds the links held at once (two per client added).
const oneTimeMax = 64

// oneTimeTokenBytes is a link's secret: 256 random bits.
const oneTimeTokenBytes = 32

// Kinds of one-time links.
const (
	linkConfig = "config" // the configuration, as a file download
	linkQR     = "qr"     // the configuration as a QR code (PNG)
)

// oneTimeEntry is what a one-time link gives.
type oneTimeEntry struct {
	kind     string
	data     []byte // the client's configuration
	fileName string
	tunnel   string
	client   noise.PublicKey
	expires  time.Time
	seq      uint64
}

// oneTimeLinks holds the links by the SHA-256 of their token: a token is
// looked up by its hash, so neither the lookup's time nor the table's
// contents tell anything about the tokens, and a leak of the table gives
// no working link.
type oneTimeLinks struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[[sha256.Size]byte]*oneTimeEntry
	seq uint64
}

func newOneTimeLinks(now func() time.Time) *oneTimeLinks {
	return &oneTimeLinks{now: now, m: map[[sha256.Size]byte]*oneTimeEntry{}}
}

// put stores a copy of e's data behind a new link and returns its token
// (43 characters of URL-safe base64).
func (l *oneTimeLinks) put(e oneTimeEntry) (string, time.Time, error) {
	var secret [oneTimeTokenBytes]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", time.Time{}, err
	}
	token := base64.RawURLEncoding.EncodeToString(secret[:])
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked()
	for len(l.m) >= oneTimeMax {
		var oldest [sha256.Size]byte
		first := true
		for h, x := range l.m {
			if first || x.seq < l.m[oldest].seq {
				oldest, first = h, false
			}
		}
		l.dropLocked(oldest)
	}
	l.seq++
	e.seq = l.seq
	e.data = append([]byte(nil), e.data...)
	e.expires = l.now().Add(oneTimeTTL)
	l.m[sha256.Sum256([]byte(token))] = &e
	return token, e.expires, nil
}

// take returns what token links to and forgets it: a link works once. A
// token of another kind, expired, used, or never given is not found.
func (l *oneTimeLinks) take(token, kind string) (*oneTimeEntry, bool) {
	if len(token) != base64.RawURLEncoding.EncodedLen(oneTimeTokenBytes) {
		return nil, false
	}
	h := sha256.Sum256([]byte(token))
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked()
	e, ok := l.m[h]
	if !ok || e.kind != kind {
		return nil, false
	}
	delete(l.m, h)
	return e, true
}

// dropClient wipes every link to a client's configuration.
func (l *oneTimeLinks) dropClient(tunnel string, pub noise.PublicKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for h, e := range l.m {
		if e.tunnel == tunnel && e.client == pub {
			l.dropLocked(h)
		}
	}
}

// len is the number of links held (expired ones pruned).
func (l *oneTimeLinks) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked()
	return len(l.m)
}

func (l *oneTimeLinks) pruneLocked() {
	now := l.now()
	for h, e := range l.m {
		if !now.Before(e.expires) {
			l.dropLocked(h)
		}
	}
}

func (l *oneTimeLinks) dropLocked(h [sha256.Size]byte) {
	if e := l.m[h]; e != nil {
		clear(e.data)
		delete(l.m, h)
	}
}
