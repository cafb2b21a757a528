package quick

import (
	"errors"
	"os/exec"
	"testing"
)

// TestDaemonError: warren's daemon's own reason becomes the one error line
// (not printed and then wrapped again); another program's output is shown
// and its exit status named.
func TestDaemonError(t *testing.T) {
	exit := &exec.ExitError{}
	for _, tc := range []struct {
		name, output, rest, err string
	}{
		{"ours", "warren daemon: interface wg0 already exists\n", "",
			"userspace device failed: interface wg0 already exists"},
		{"ours after log lines", "DEBUG: (wg0) starting\nwarren daemon: create tun \"wg0\": no such device\n", "DEBUG: (wg0) starting\n",
			`userspace device failed: create tun "wg0": no such device`},
		{"another program", "cannot create TUN\n", "cannot create TUN\n",
			"userspace device failed: wireguard-go wg0: " + exit.Error()},
		{"silent", "", "", "userspace device failed: wireguard-go wg0: " + exit.Error()},
	} {
		rest, err := daemonError([]byte(tc.output), "wireguard-go wg0", exit)
		if string(rest) != tc.rest || err == nil || err.Error() != tc.err || !errors.Is(err, ErrDaemon) {
			t.Errorf("%s: rest %q, err %v; want %q, %q", tc.name, rest, err, tc.rest, tc.err)
		}
	}
}
