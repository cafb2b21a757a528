// Command genpeers prints a wg setconf file for scripts/bench.sh's memory
// measurement: a random private key and N peers, each with a random public
// key and one AllowedIPs /32. Random 32-byte strings are valid Curve25519
// public keys, so no key derivation is needed.
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
)

func main() {
	n := flag.Int("n", 10000, "number of peers")
	flag.Parse()
	if *n < 0 || *n > 1<<24 {
		fmt.Fprintln(os.Stderr, "genpeers: -n must be between 0 and 2^24")
		os.Exit(2)
	}
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(w, "[Interface]\nPrivateKey = %s\n", key())
	for i := range *n {
		fmt.Fprintf(w, "\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.%d.%d/32\n",
			key(), 64+i>>16, i>>8&0xff, i&0xff)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(os.Stderr, "genpeers: %v\n", err)
		os.Exit(1)
	}
}

func key() string {
	var k [32]byte
	rand.Read(k[:])
	return base64.StdEncoding.EncodeToString(k[:])
}
