package wgcmd

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

// ANSI sequences of wg's human view.
const (
	fgRed    = "\x1b[31m"
	fgGreen  = "\x1b[32m"
	fgYellow = "\x1b[33m"
	fgCyan   = "\x1b[36m"
	bold     = "\x1b[1m"
	reset    = "\x1b[0m"
)

func (e *env) showUsage(w io.Writer, cmd string) {
	fmt.Fprintf(w, "Usage: %s %s { <interface> | all | interfaces } [public-key | private-key | listen-port | fwmark | peers | preshared-keys | endpoints | allowed-ips | latest-handshakes | transfer | persistent-keepalive | dump]\n", e.prog, cmd)
}

// show is wg show: args[0] is "show".
func (e *env) show(args []string) int {
	cmd := args[0]
	if len(args) > 3 {
		e.showUsage(e.stderr, cmd)
		return 1
	}
	out := bufio.NewWriter(e.stdout)
	defer out.Flush()
	style := e.style()

	switch {
	case len(args) == 1 || args[1] == "all":
		names, err := e.devices.Interfaces()
		if err != nil {
			fmt.Fprintf(e.stderr, "Unable to list interfaces: %s\n", errnoText(err))
			return 1
		}
		ret := 0
		if len(names) > 0 {
			ret = 1
		}
		for i, name := range names {
			d, err := e.devices.Get(name)
			if err != nil {
				out.Flush()
				fmt.Fprintf(e.stderr, "Unable to access interface %s: %s\n", name, errnoText(err))
				continue
			}
			if len(args) == 3 {
				if !e.uglyPrint(out, name, d, args[2], true, cmd) {
					return 1
				}
			} else {
				prettyPrint(out, name, d, style)
				if i < len(names)-1 {
					out.WriteString("\n")
				}
			}
			ret = 0
		}
		return ret
	case args[1] == "interfaces":
		if len(args) > 2 {
			e.showUsage(e.stderr, cmd)
			return 1
		}
		names, err := e.devices.Interfaces()
		if err != nil {
			fmt.Fprintf(e.stderr, "Unable to list interfaces: %s\n", errnoText(err))
			return 1
		}
		if len(names) > 0 {
			out.WriteString(strings.Join(names, " ") + "\n")
		}
		return 0
	case len(args) == 2 && (args[1] == "-h" || args[1] == "--help" || args[1] == "help"):
		e.showUsage(e.stderr, cmd)
		return 0
	}
	d, err := e.devices.Get(args[1])
	if err != nil {
		fmt.Fprintln(e.stderr, accessError(err))
		return 1
	}
	if len(args) == 3 {
		if !e.uglyPrint(out, args[1], d, args[2], false, cmd) {
			return 1
		}
		return 0
	}
	prettyPrint(out, args[1], d, style)
	return 0
}

// showStyle parameterizes the human view.
type showStyle struct {
	color bool
	// showKeys prints private and preshared keys instead of "(hidden)".
	showKeys bool
	now      time.Time
}

func (e *env) style() showStyle {
	return showStyle{color: e.color, showKeys: e.getenv("WG_HIDE_KEYS") == "never", now: e.now()}
}

// painter writes wg's human view, with or without colours.
type painter struct {
	w     io.Writer
	color bool
}

// c returns an ANSI sequence when colours are on.
func (p painter) c(seq string) string {
	if p.color {
		return seq
	}
	return ""
}

func (p painter) printf(format string, args ...any) { fmt.Fprintf(p.w, format, args...) }

// handshakeUnix is the handshake's time in whole seconds, 0 when none.
func handshakeUnix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func hasHandshake(t time.Time) bool { return !t.IsZero() && (t.Unix() != 0 || t.Nanosecond() != 0) }

// sortedByHandshake orders peers as wg's human view does: the most recent
// handshake first, peers without one last, ties in device order.
func sortedByHandshake(peers []wgtypes.Peer) []wgtypes.Peer {
	s := slices.Clone(peers)
	slices.SortStableFunc(s, func(a, b wgtypes.Peer) int {
		ha, hb := hasHandshake(a.LastHandshakeTime), hasHandshake(b.LastHandshakeTime)
		switch {
		case !ha && hb:
			return 1
		case ha && !hb:
			return -1
		case !ha && !hb:
			return 0
		}
		return b.LastHandshakeTime.Compare(a.LastHandshakeTime)
	})
	return s
}

// prettyPrint is wg show's human view of one interface.
func prettyPrint(w io.Writer, name string, d *wgtypes.Device, st showStyle) {
	p := painter{w: w, color: st.color}
	p.printf("%s", p.c(reset))
	p.printf("%sinterface%s: %s%s%s\n", p.c(fgGreen+bold), p.c(reset), p.c(fgGreen), name, p.c(reset))
	if !d.PrivateKey.IsZero() {
		p.printf("  %spublic key%s: %s\n", p.c(bold), p.c(reset), d.PublicKey.String())
		priv := "(hidden)"
		if st.showKeys {
			priv = d.PrivateKey.Base64()
		}
		p.printf("  %sprivate key%s: %s\n", p.c(bold), p.c(reset), priv)
	}
	if d.ListenPort != 0 {
		p.printf("  %slistening port%s: %d\n", p.c(bold), p.c(reset), d.ListenPort)
	}
	if d.FwMark != 0 {
		p.printf("  %sfwmark%s: 0x%x\n", p.c(bold), p.c(reset), d.FwMark)
	}
	if len(d.Peers) == 0 {
		return
	}
	p.printf("\n")
	peers := sortedByHandshake(d.Peers)
	for i, peer := range peers {
		p.printf("%speer%s: %s%s%s\n", p.c(fgYellow+bold), p.c(reset), p.c(fgYellow), peer.PublicKey.String(), p.c(reset))
		if !peer.PresharedKey.IsZero() {
			psk := "(hidden)"
			if st.showKeys {
				psk = peer.PresharedKey.Base64()
			}
			p.printf("  %spreshared key%s: %s\n", p.c(bold), p.c(reset), psk)
		}
		if peer.Endpoint.IsValid() {
			p.printf("  %sendpoint%s: %s\n", p.c(bold), p.c(reset), conf.FormatEndpoint(peer.Endpoint))
		}
		p.printf("  %sallowed ips%s: ", p.c(bold), p.c(reset))
		if len(peer.AllowedIPs) == 0 {
			p.printf("(none)\n")
		}
		for j, a := range peer.AllowedIPs {
			sep := ", "
			if j == len(peer.AllowedIPs)-1 {
				sep = "\n"
			}
			p.printf("%s%s/%s%d%s", conf.FormatAddr(a.Addr()), p.c(fgCyan), p.c(reset), a.Bits(), sep)
		}
		if hs := handshakeUnix(peer.LastHandshakeTime); hs != 0 {
			p.printf("  %slatest handshake%s: %s\n", p.c(bold), p.c(reset), p.ago(hs, st.now.Unix()))
		}
		if peer.RxBytes != 0 || peer.TxBytes != 0 {
			p.printf("  %stransfer%s: %s received, %s sent\n", p.c(bold), p.c(reset), p.bytes(peer.RxBytes), p.bytes(peer.TxBytes))
		}
		if peer.PersistentKeepaliveInterval != 0 {
			p.printf("  %spersistent keepalive%s: every %s\n", p.c(bold), p.c(reset), p.duration(uint64(peer.PersistentKeepaliveInterval)))
		}
		if i < len(peers)-1 {
			p.printf("\n")
		}
	}
}

// duration is wg's "1 year, 2 days, 1 hour, 3 minutes, 1 second".
func (p painter) duration(left uint64) string {
	const (
		minute = 60
		hour   = 60 * minute
		day    = 24 * hour
		year   = 365 * day
	)
	var parts []string
	for _, u := range []struct {
		name string
		n    uint64
	}{{"year", year}, {"day", day}, {"hour", hour}, {"minute", minute}, {"second", 1}} {
		n := left / u.n
		left %= u.n
		if n == 0 {
			continue
		}
		plural := "s"
		if n == 1 {
			plural = ""
		}
		parts = append(parts, fmt.Sprintf("%d %s%s%s%s", n, p.c(fgCyan), u.name, plural, p.c(reset)))
	}
	return strings.Join(parts, ", ")
}

// ago words the age of a handshake at Unix time then, seen at now.
func (p painter) ago(then, now int64) string {
	switch {
	case now == then:
		return "Now"
	case now < then:
		return "(" + p.c(fgRed) + "System clock wound backward; connection problems may ensue." + p.c(reset) + ")"
	}
	return p.duration(uint64(now-then)) + " ago"
}

// bytes is wg's transfer amount: "123 B", "1.23 KiB" ... "4.56 TiB".
func (p painter) bytes(b uint64) string {
	const k = 1024
	switch {
	case b < k:
		return fmt.Sprintf("%d %sB%s", b, p.c(fgCyan), p.c(reset))
	case b < k*k:
		return fmt.Sprintf("%.2f %sKiB%s", float64(b)/k, p.c(fgCyan), p.c(reset))
	case b < k*k*k:
		return fmt.Sprintf("%.2f %sMiB%s", float64(b)/(k*k), p.c(fgCyan), p.c(reset))
	case b < k*k*k*k:
		return fmt.Sprintf("%.2f %sGiB%s", float64(b)/(k*k*k), p.c(fgCyan), p.c(reset))
	}
	return fmt.Sprintf("%.2f %sTiB%s", float64(b)/(k*k*k)/k, p.c(fgCyan), p.c(reset))
}

func maybeKey(s string, have bool) string {
	if !have {
		return "(none)"
	}
	return s
}

func fwmarkText(m uint32) string {
	if m == 0 {
		return "off"
	}
	return fmt.Sprintf("0x%x", m)
}

func endpointText(peer *wgtypes.Peer) string {
	if !peer.Endpoint.IsValid() {
		return "(none)"
	}
	return conf.FormatEndpoint(peer.Endpoint)
}

// dumpPrint is wg show dump: tab-separated, one line for the interface and
// one per peer, in device order.
func dumpPrint(w io.Writer, name string, d *wgtypes.Device, withIface bool) {
	prefix := ""
	if withIface {
		prefix = name + "\t"
	}
	hasKey := !d.PrivateKey.IsZero()
	fmt.Fprintf(w, "%s%s\t%s\t%d\t%s\n", prefix,
		maybeKey(d.PrivateKey.Base64(), hasKey), maybeKey(d.PublicKey.String(), hasKey), d.ListenPort, fwmarkText(d.FwMark))
	for i := range d.Peers {
		peer := &d.Peers[i]
		keepalive := "off"
		if peer.PersistentKeepaliveInterval != 0 {
			keepalive = fmt.Sprint(peer.PersistentKeepaliveInterval)
		}
		fmt.Fprintf(w, "%s%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", prefix,
			peer.PublicKey.String(),
			maybeKey(peer.PresharedKey.Base64(), !peer.PresharedKey.IsZero()),
			endpointText(peer),
			joinPrefixes(peer, ","),
			handshakeUnix(peer.LastHandshakeTime), peer.RxBytes, peer.TxBytes, keepalive)
	}
}

func joinPrefixes(peer *wgtypes.Peer, sep string) string {
	if len(peer.AllowedIPs) == 0 {
		return "(none)"
	}
	parts := make([]string, len(peer.AllowedIPs))
	for i, a := range peer.AllowedIPs {
		parts[i] = conf.FormatPrefix(a)
	}
	return strings.Join(parts, sep)
}

// uglyPrint prints one field for scripts; false means param is unknown
// (and the usage has been printed).
func (e *env) uglyPrint(w io.Writer, name string, d *wgtypes.Device, param string, withIface bool, cmd string) bool {
	prefix := ""
	if withIface {
		prefix = name + "\t"
	}
	hasKey := !d.PrivateKey.IsZero()
	perPeer := func(f func(p *wgtypes.Peer) string) {
		for i := range d.Peers {
			fmt.Fprintf(w, "%s%s\t%s\n", prefix, d.Peers[i].PublicKey.String(), f(&d.Peers[i]))
		}
	}
	switch param {
	case "public-key":
		fmt.Fprintf(w, "%s%s\n", prefix, maybeKey(d.PublicKey.String(), hasKey))
	case "private-key":
		fmt.Fprintf(w, "%s%s\n", prefix, maybeKey(d.PrivateKey.Base64(), hasKey))
	case "listen-port":
		fmt.Fprintf(w, "%s%d\n", prefix, d.ListenPort)
	case "fwmark":
		fmt.Fprintf(w, "%s%s\n", prefix, fwmarkText(d.FwMark))
	case "endpoints":
		perPeer(endpointText)
	case "allowed-ips":
		perPeer(func(p *wgtypes.Peer) string { return joinPrefixes(p, " ") })
	case "latest-handshakes":
		perPeer(func(p *wgtypes.Peer) string { return fmt.Sprint(handshakeUnix(p.LastHandshakeTime)) })
	case "transfer":
		perPeer(func(p *wgtypes.Peer) string { return fmt.Sprintf("%d\t%d", p.RxBytes, p.TxBytes) })
	case "persistent-keepalive":
		perPeer(func(p *wgtypes.Peer) string {
			if p.PersistentKeepaliveInterval == 0 {
				return "off"
			}
			return fmt.Sprint(p.PersistentKeepaliveInterval)
		})
	case "preshared-keys":
		perPeer(func(p *wgtypes.Peer) string {
			return maybeKey(p.PresharedKey.Base64(), !p.PresharedKey.IsZero())
		})
	case "peers":
		for i := range d.Peers {
			fmt.Fprintf(w, "%s%s\n", prefix, d.Peers[i].PublicKey.String())
		}
	case "dump":
		dumpPrint(w, name, d, withIface)
	default:
		if bw, ok := w.(*bufio.Writer); ok {
			bw.Flush()
		}
		fmt.Fprintf(e.stderr, "Invalid parameter: `%s'\n", param)
		e.showUsage(e.stderr, cmd)
		return false
	}
	return true
}
