package quick

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
)

// addFirewall adds wg-quick's rules for a full tunnel of one family (4 or
// 6) through nft, or iptables-restore when nft is absent, and sets
// src_valid_mark for IPv4.
func (e *env) addFirewall(iface string, family, mark int, addrs []netip.Addr, st *state) error {
	if family == 4 {
		e.logf("sysctl -q net.ipv4.conf.all.src_valid_mark=1")
		if err := os.WriteFile("/proc/sys/net/ipv4/conf/all/src_valid_mark", []byte("1\n"), 0o644); err != nil {
			return fmt.Errorf("set src_valid_mark: %w", err)
		}
	}
	pf, ipt := "ip", "iptables"
	if family == 6 {
		pf, ipt = "ip6", "ip6tables"
	}
	if _, err := exec.LookPath("nft"); err == nil {
		st.Firewall = "nft"
		e.logf("nft -f -")
		if err := e.command(strings.NewReader(NftScript(iface, pf, mark, addrs)), "nft", "-f", "-"); err != nil {
			return fmt.Errorf("add firewall rules for %s: %w", iface, err)
		}
		return nil
	}
	st.Firewall = "iptables"
	e.logf("%s-restore -n", ipt)
	if err := e.command(strings.NewReader(IptablesScript(iface, mark, addrs)), ipt+"-restore", "-n"); err != nil {
		return fmt.Errorf("add firewall rules for %s: %w", iface, err)
	}
	return nil
}

// removeFirewall deletes every rule wg-quick (or we) added for iface, in
// nft and in iptables, whichever exist — as wg-quick's remove_firewall,
// so it also cleans up after a wg-quick that was interrupted.
func (e *env) removeFirewall(iface string) error {
	var errs []error
	if _, err := exec.LookPath("nft"); err == nil {
		out, err := exec.Command("nft", "list", "tables").Output()
		if err == nil {
			var script strings.Builder
			for line := range strings.Lines(string(out)) {
				line = strings.TrimSpace(line)
				if strings.HasSuffix(line, " wg-quick-"+iface) {
					fmt.Fprintf(&script, "delete %s\n", line)
				}
			}
			if script.Len() > 0 {
				e.logf("nft -f -")
				if err := e.command(strings.NewReader(script.String()), "nft", "-f", "-"); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	marker := fmt.Sprintf(`-m comment --comment "wg-quick(8) rule for %s"`, iface)
	for _, ipt := range []string{"iptables", "ip6tables"} {
		if _, err := exec.LookPath(ipt + "-save"); err != nil {
			continue
		}
		out, err := exec.Command(ipt + "-save").Output()
		if err != nil {
			continue
		}
		var restore strings.Builder
		found := false
		s := bufio.NewScanner(bytes.NewReader(out))
		for s.Scan() {
			line := s.Text()
			switch {
			case strings.HasPrefix(line, "*"), line == "COMMIT":
				restore.WriteString(line + "\n")
			case strings.HasPrefix(line, "-A ") && strings.Contains(line, marker):
				found = true
				restore.WriteString("-D" + strings.TrimPrefix(line, "-A") + "\n")
			}
		}
		if found {
			e.logf("%s-restore -n", ipt)
			if err := e.command(strings.NewReader(restore.String()), ipt+"-restore", "-n"); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("remove firewall rules of %s: %w", iface, errors.Join(errs...))
	}
	return nil
}
