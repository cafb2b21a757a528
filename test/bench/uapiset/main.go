// Command uapiset times what scripts/scale.sh calls "UAPI set": adding one
// peer (a random key with one /32) to a running interface and removing it
// again, each a set request over the interface's UAPI socket, without the
// cost of starting a wg(8) process. It prints the median of -n rounds of
// each, in milliseconds: "add_ms=A remove_ms=R". With -get it times one get
// request instead, its answer read to the end but not parsed (the server's
// part of `wg show dump`): "get_s=S bytes=B".
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/warren-vpn/warren/internal/noise"
	"github.com/warren-vpn/warren/internal/uapi"
	"github.com/warren-vpn/warren/internal/wgtypes"
)

func main() {
	dir := flag.String("dir", "/var/run/wireguard", "UAPI socket directory")
	n := flag.Int("n", 5, "rounds")
	get := flag.Bool("get", false, "time one get request")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: uapiset [-dir DIR] [-n ROUNDS] INTERFACE")
		os.Exit(2)
	}
	if *get {
		secs, size, err := timeGet(*dir, flag.Arg(0))
		if err != nil {
			fmt.Fprintf(os.Stderr, "uapiset: get: %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("get_s=%.3f bytes=%d\n", secs, size)
		return
	}
	add, rm, err := run(*dir, flag.Arg(0), *n)
	if err != nil {
		fmt.Fprintf(os.Stderr, "uapiset: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("add_ms=%.3f remove_ms=%.3f\n", add, rm)
}

func run(dir, iface string, rounds int) (add, rm float64, err error) {
	var k noise.PublicKey
	if _, err := rand.Read(k[:]); err != nil {
		return 0, 0, err
	}
	pfx := netip.MustParsePrefix("10.250.0.1/32")
	var adds, rms []float64
	for range max(rounds, 1) {
		d, err := timeSet(dir, iface, &wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: k, AllowedIPs: []netip.Prefix{pfx}}}})
		if err != nil {
			return 0, 0, fmt.Errorf("add: %w", err)
		}
		adds = append(adds, d)
		if d, err = timeSet(dir, iface, &wgtypes.Config{Peers: []wgtypes.PeerConfig{{PublicKey: k, Remove: true}}}); err != nil {
			return 0, 0, fmt.Errorf("remove: %w", err)
		}
		rms = append(rms, d)
	}
	return median(adds), median(rms), nil
}

// timeSet times one set request, connection included, in milliseconds.
func timeSet(dir, iface string, cfg *wgtypes.Config) (float64, error) {
	start := time.Now()
	c, err := uapi.Dial(dir, iface)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if err := uapi.Set(c, cfg); err != nil {
		return 0, err
	}
	return float64(time.Since(start).Microseconds()) / 1000, nil
}

// timeGet times one get request, from connecting to the answer's errno
// line, and returns the seconds and the answer's size.
func timeGet(dir, iface string) (float64, int64, error) {
	start := time.Now()
	c, err := uapi.Dial(dir, iface)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	if _, err := io.WriteString(c, "get=1\n\n"); err != nil {
		return 0, 0, err
	}
	br := bufio.NewReaderSize(c, 1<<16)
	var size int64
	for {
		line, err := br.ReadSlice('\n')
		size += int64(len(line))
		if err != nil {
			return 0, 0, fmt.Errorf("answer cut after %d bytes: %w", size, err)
		}
		if bytes.HasPrefix(line, []byte("errno=")) {
			if string(line) != "errno=0\n" {
				return 0, 0, fmt.Errorf("answer %q", line)
			}
			return time.Since(start).Seconds(), size, nil
		}
	}
}

func median(v []float64) float64 {
	slices.Sort(v)
	return v[len(v)/2]
}
