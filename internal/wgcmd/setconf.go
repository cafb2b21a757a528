package wgcmd

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/warren-vpn/warren/internal/conf"
)

func setconfUsage(w io.Writer, prog, cmd string) {
	fmt.Fprintf(w, "Usage: %s %s <interface> <configuration filename>\n", prog, cmd)
}

// setconf is wg setconf, addconf and syncconf (args[0] says which).
func (e *env) setconf(args []string) int {
	cmd := args[0]
	if len(args) != 3 {
		setconfUsage(e.stderr, e.prog, cmd)
		return 1
	}
	name, path := args[1], args[2]
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(e.stderr, "fopen: %s\n", fileErrText(err))
		return 1
	}
	f, err := conf.Parse(path, data, conf.Options{Warn: e.warn})
	clear(data)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		if errors.Is(err, conf.ErrMissingPublicKey) {
			fmt.Fprintln(e.stderr, "Invalid configuration")
		} else {
			fmt.Fprintln(e.stderr, "Configuration parsing error")
		}
		return 1
	}
	r, err := e.resolver()
	if err != nil && hasEndpoint(f) {
		fmt.Fprintln(e.stderr, err)
		return 1
	}
	cfg, err := f.WireGuardConfig(e.ctx, r, cmd != "addconf")
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		fmt.Fprintln(e.stderr, "Configuration parsing error")
		return 1
	}
	if cmd == "syncconf" && len(cfg.Peers) > 0 {
		have, err := e.devices.Get(name)
		if err != nil {
			fmt.Fprintf(e.stderr, "Unable to retrieve current interface configuration: %s\n", errnoText(err))
			return 1
		}
		conf.Sync(cfg, have)
	}
	if err := e.devices.Set(name, cfg); err != nil {
		fmt.Fprintf(e.stderr, "Unable to modify interface: %s\n", errnoText(err))
		return 1
	}
	return 0
}

func hasEndpoint(f *conf.File) bool {
	for _, p := range f.Peers {
		if p.Endpoint != "" {
			return true
		}
	}
	return false
}
