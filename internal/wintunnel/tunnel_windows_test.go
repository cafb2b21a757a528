//go:build windows

package wintunnel

import (
	"errors"
	"testing"
)

// TestFirstFailure: the tunnel reports the first of its parts to fail,
// with the adapter's reason when the engine closed because of it, and
// nothing once it is being closed.
func TestFirstFailure(t *testing.T) {
	ringErr := errors.New("ring corrupt")
	applyErr := errors.New("add route failed")
	closed := func() chan struct{} { c := make(chan struct{}); close(c); return c }
	never := func() chan struct{} { return make(chan struct{}) }
	cases := []struct {
		name                                string
		stop, tunDead, engineDone, applyBad chan struct{}
		tunErr                              error
		want                                error
	}{
		{"stopped", closed(), never(), never(), never(), nil, nil},
		{"adapter failed", never(), closed(), never(), never(), ringErr, ringErr},
		{"engine closed for the adapter", never(), never(), closed(), never(), ringErr, ringErr},
		{"engine closed", never(), never(), closed(), never(), nil, ErrEngineClosed},
		{"configuration failed", never(), never(), never(), closed(), nil, applyErr},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := firstFailure(c.stop, c.tunDead, c.engineDone, c.applyBad,
				func() error { return c.tunErr }, func() error { return applyErr })
			if !errors.Is(got, c.want) || (c.want == nil) != (got == nil) {
				t.Errorf("firstFailure = %v, want %v", got, c.want)
			}
		})
	}
}
