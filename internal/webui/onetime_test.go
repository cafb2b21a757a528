package webui

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/noise"
)

// The links are 256-bit secrets, bounded in number (the oldest goes), and
// each is wiped when it goes.
func TestOneTimeLinks(t *testing.T) {
	c := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	l := newOneTimeLinks(c.now)
	seen := map[string]bool{}
	var first string
	var firstData []byte
	for i := 0; i < oneTimeMax+1; i++ {
		data := []byte("config")
		tok, exp, err := l.put(oneTimeEntry{kind: linkConfig, data: data, tunnel: "wg0"})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) != 32 || seen[tok] {
			t.Fatalf("token %q: %d bytes, %v, seen %v", tok, len(raw), err, seen[tok])
		}
		seen[tok] = true
		if !exp.Equal(c.now().Add(15 * time.Minute)) {
			t.Errorf("expires %v", exp)
		}
		if i == 0 {
			first = tok
			l.mu.Lock()
			for _, e := range l.m {
				firstData = e.data
			}
			l.mu.Unlock()
		}
		c.add(time.Millisecond)
	}
	if l.len() != oneTimeMax {
		t.Errorf("%d links held, want at most %d", l.len(), oneTimeMax)
	}
	if _, ok := l.take(first, linkConfig); ok {
		t.Error("the oldest link survived the bound")
	}
	if string(firstData) == "config" {
		t.Error("the link pushed out was not wiped")
	}
	// The table is keyed by hash: no token is in it.
	l.mu.Lock()
	for h := range l.m {
		if seen[string(h[:])] {
			t.Error("a token is stored as is")
		}
	}
	l.mu.Unlock()
	// Expiry wipes too.
	tok, _, _ := l.put(oneTimeEntry{kind: linkQR, data: []byte("x"), tunnel: "wg1", client: noise.PublicKey{9}})
	c.add(15 * time.Minute)
	if _, ok := l.take(tok, linkQR); ok || l.len() != 0 {
		t.Errorf("expired links still held: %d", l.len())
	}
	// dropClient drops that client's only.
	a, _, _ := l.put(oneTimeEntry{kind: linkQR, data: []byte("a"), tunnel: "wg1", client: noise.PublicKey{1}})
	b, _, _ := l.put(oneTimeEntry{kind: linkQR, data: []byte("b"), tunnel: "wg1", client: noise.PublicKey{2}})
	l.dropClient("wg1", noise.PublicKey{1})
	if _, ok := l.take(a, linkQR); ok {
		t.Error("dropped client's link works")
	}
	if e, ok := l.take(b, linkQR); !ok || string(e.data) != "b" {
		t.Error("another client's link was dropped")
	}
}
