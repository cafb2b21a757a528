package manager_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/warren-vpn/warren/internal/manager"
	"github.com/warren-vpn/warren/internal/ringlog"
)

func TestFollowTunnelLog(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.m.FollowLog(context.Background(), "wg0", nil); !errors.Is(err, manager.ErrNoLog) {
		t.Errorf("no log: %v, want ErrNoLog", err)
	}
	if err := f.m.FollowLog(context.Background(), "../x", nil); !errors.Is(err, manager.ErrBadName) {
		t.Errorf("bad name: %v, want ErrBadName", err)
	}
	if err := f.sys.Log("wg0", "Device started"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan string, 10)
	go f.m.FollowLog(ctx, "wg0", func(l ringlog.Line) error {
		got <- l.Text
		return nil
	})
	if s := <-got; s != "Device started" {
		t.Errorf("first line %q", s)
	}
	// New lines come as they are written.
	f.sys.Log("wg0", "Received handshake response")
	select {
	case s := <-got:
		if s != "Received handshake response" {
			t.Errorf("followed line %q", s)
		}
	case <-ctx.Done():
		t.Fatal("a new line never came")
	}
}
