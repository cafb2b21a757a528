//go:build !linux

package quick

import (
	"fmt"
	"runtime"
	"time"
)

func (e *env) up(c *config) error   { return unsupported() }
func (e *env) down(c *config) error { return unsupported() }
func (e *env) save(c *config) error { return unsupported() }

func (e *env) watch(iface, path string, interval time.Duration) error {
	return unsupported()
}

// unsupported is the error of every command but strip here; Main puts the
// program and command before it.
func unsupported() error {
	return fmt.Errorf("%w (this is %s)", ErrUnsupported, runtime.GOOS)
}
