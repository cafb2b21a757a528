//go:build !windows

package wgcmd

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/warren-vpn/warren/internal/uapi"
)

// Interfaces lists the live sockets in dir in directory order, the order
// in which wg lists them (uapi.Interfaces sorts, which would reorder wg
// show all's output).
func (u uapiDevices) Interfaces() ([]string, error) {
	d, err := os.Open(u.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer d.Close()
	ents, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, ent := range ents {
		name, ok := strings.CutSuffix(ent.Name(), ".sock")
		if !ok || ent.Type() != fs.ModeSocket || uapi.ValidName(name) != nil {
			continue
		}
		// A socket nobody answers on was left by a dead daemon.
		c, err := uapi.Dial(u.dir, name)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				continue
			}
		} else {
			c.Close()
		}
		names = append(names, name)
	}
	return names, nil
}
