//go:build !linux

package quick

import (
	"fmt"
	"runtime"
	"time"
)

func (e *env) up(c *config) error   { return unsupported(e, "up") }
func (e *env) down(c *config) error { return unsupported(e, "down") }
func (e *env) save(c *config) error { return unsupported(e, "save") }

func (e *env) watch(iface, path string, interval time.Duration) error {
	return unsupported(e, "up")
}

func unsupported(e *env, cmd string) error {
	return fmt.Errorf("%s %s on %s: %w", e.prog, cmd, runtime.GOOS, ErrUnsupported)
}
