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

// Interfaces lists the live sockets of every directory, each in directory
// order, the order in which wg lists them (uapi.Interfaces sorts, which
// would reorder wg show all's output). A name in an earlier directory hides
// the same name in a later one, as dial does.
func (u uapiDevices) Interfaces() ([]string, error) {
	var all []string
	seen := map[string]bool{}
	for _, dir := range u.dirs {
		names, err := interfacesIn(dir)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				all = append(all, n)
			}
		}
	}
	return all, nil
}

func interfacesIn(dir string) ([]string, error) {
	d, err := os.Open(dir)
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
		c, err := uapi.Dial(dir, name)
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
