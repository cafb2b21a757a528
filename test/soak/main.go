// Command soak is the Go half of scripts/soak.sh: the traffic, the churn and
// the verdict of a long run of two warren daemons. The script makes the
// network namespaces and runs the daemons; this program never touches engine
// internals: it speaks TCP and UDP through the tunnel, and the UAPI text
// protocol to the daemons' sockets, as wg would.
//
//	soak recv  -tcp ADDR -udp ADDR -out FILE       (receiver's namespace)
//	soak send  -tcp ADDR -udp ADDR -duration D -out FILE
//	soak drive -a SOCK -b SOCK -pids A,B -warren BIN -duration D -out FILE
//	soak report -send F -recv F -drive F -log A -log B -duration D
//
// recv and send carry one TCP stream, whose bytes both ends hash with
// SHA-256, and a sequence-numbered UDP probe stream, whose datagrams each
// prove their own content; drive churns idle peers through UAPI, rotates the
// live pair's preshared key, checks that each device's configuration matches
// what it was told, records the live pair's handshakes and samples the
// daemons' memory and threads; report judges all of it and prints the table.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "recv":
		err = recvMain(args)
	case "send":
		err = sendMain(args)
	case "drive":
		err = driveMain(args)
	case "report":
		var ok bool
		ok, err = reportMain(args, os.Stdout)
		if err == nil && !ok {
			os.Exit(1)
		}
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "soak %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: soak recv|send|drive|report [flags] (see scripts/soak.sh)")
	os.Exit(2)
}
