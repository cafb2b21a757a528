package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// The traffic through the tunnel is one TCP stream and one UDP probe stream.
//
// TCP accounts for every byte: the sender hashes what it wrote, the receiver
// what it read, and at the end the receiver echoes its count and hash back
// over the same connection. A tunnel that loses, duplicates, reorders or
// corrupts packets cannot make the two hashes differ without TCP noticing,
// except corruption that keeps a valid TCP checksum: exactly what a
// coalescer that recomputes checksums over a corrupt segment would produce,
// and what the hash catches.
//
// The UDP probes show what TCP hides: each datagram carries a sequence
// number and a payload derived from it, so the receiver counts loss exactly
// (WireGuard may lose packets; it must never duplicate one, its replay window
// forbids it, nor deliver one altered), and their arrival times show any
// outage at 1/pps resolution, where TCP's retransmission backoff would
// stretch a short outage into a long gap.

// probeMagic starts every probe datagram.
var probeMagic = [8]byte{'w', 's', 'o', 'a', 'k', 0, 'v', '1'}

// probeLen is a probe datagram's size.
const probeLen = 200

// makeProbe fills b (probeLen bytes) with probe seq.
func makeProbe(b []byte, seq uint64) {
	copy(b, probeMagic[:])
	binary.BigEndian.PutUint64(b[8:], seq)
	sum := sha256.Sum256(b[:16])
	for i := 16; i < probeLen; i += len(sum) {
		copy(b[i:], sum[:])
	}
}

// checkProbe returns the sequence number of a well-formed probe.
func checkProbe(b []byte) (uint64, bool) {
	if len(b) != probeLen || !bytes.Equal(b[:8], probeMagic[:]) {
		return 0, false
	}
	seq := binary.BigEndian.Uint64(b[8:])
	var want [probeLen]byte
	makeProbe(want[:], seq)
	return seq, bytes.Equal(b, want[:])
}

// gapMeter records the longest time between successive events.
type gapMeter struct {
	last   time.Time
	maxGap time.Duration
	maxAt  time.Time // when the longest gap ended
}

func (g *gapMeter) event(now time.Time) {
	if !g.last.IsZero() {
		if d := now.Sub(g.last); d > g.maxGap {
			g.maxGap, g.maxAt = d, now
		}
	}
	g.last = now
}

// sendReport is what `soak send` writes.
type sendReport struct {
	Start, End  time.Time
	TCPBytes    int64
	TCPSHA256   string
	TCPComplete bool   // the receiver echoed the same count and hash
	TCPError    string `json:",omitempty"`
	UDPSent     uint64
	// The sender's own longest pause between two probes: a machine too
	// busy to run the soak shows here, not as a fault of the tunnel.
	SendMaxPause   time.Duration
	SendMaxPauseAt time.Time
}

// recvReport is what `soak recv` writes.
type recvReport struct {
	TCPBytes      int64
	TCPSHA256     string
	TCPEOF        bool   // the sender closed the stream: everything it wrote has arrived
	TCPError      string `json:",omitempty"`
	TCPMaxGap     time.Duration
	TCPMaxGapAt   time.Time
	UDPReceived   uint64
	UDPDuplicates uint64
	UDPCorrupt    uint64
	UDPReordered  uint64
	UDPMaxGap     time.Duration
	UDPMaxGapAt   time.Time
}

func sendMain(args []string) error {
	fs := flag.NewFlagSet("send", flag.ExitOnError)
	tcpAddr := fs.String("tcp", "", "receiver's TCP address")
	udpAddr := fs.String("udp", "", "receiver's UDP address")
	dur := fs.Duration("duration", time.Minute, "how long to send")
	rate := fs.Int64("rate", 2_500_000, "TCP bytes per second")
	pps := fs.Int("pps", 100, "UDP probes per second")
	out := fs.String("out", "", "report file (JSON)")
	fs.Parse(args)
	if *tcpAddr == "" || *udpAddr == "" || *out == "" || *rate <= 0 || *pps <= 0 {
		return errors.New("needs -tcp, -udp, -out, and positive -rate and -pps")
	}
	var conn *net.TCPConn
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", *tcpAddr, 2*time.Second)
		if err == nil {
			conn = c.(*net.TCPConn)
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("connect to %s: %w", *tcpAddr, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	defer conn.Close()
	uconn, err := net.Dial("udp", *udpAddr)
	if err != nil {
		return fmt.Errorf("udp %s: %w", *udpAddr, err)
	}
	defer uconn.Close()

	rep := sendReport{Start: time.Now()}
	stop := rep.Start.Add(*dur)
	var wg sync.WaitGroup
	wg.Go(func() { rep.UDPSent, rep.SendMaxPause, rep.SendMaxPauseAt = sendProbes(uconn, *pps, stop) })

	h := sha256.New()
	werr := sendStream(conn, h, *rate, stop, &rep.TCPBytes)
	rep.TCPSHA256 = hex.EncodeToString(h.Sum(nil))
	wg.Wait()
	if werr == nil {
		werr = awaitEcho(conn, rep.TCPBytes, rep.TCPSHA256)
	}
	if werr != nil {
		rep.TCPError = werr.Error()
	} else {
		rep.TCPComplete = true
	}
	rep.End = time.Now()
	return writeJSON(*out, &rep)
}

// sendStream writes random bytes at rate until stop, hashing them into h.
func sendStream(conn *net.TCPConn, h hash.Hash, rate int64, stop time.Time, n *int64) error {
	var seed [32]byte
	rand.Read(seed[:])
	src := mrand.NewChaCha8(seed)
	buf := make([]byte, 16<<10)
	start := time.Now()
	for {
		now := time.Now()
		if !now.Before(stop) {
			break
		}
		// Pace: byte n is due at start + n/rate.
		if due := start.Add(time.Duration(float64(*n) / float64(rate) * float64(time.Second))); due.After(now) {
			time.Sleep(due.Sub(now))
			continue
		}
		src.Read(buf)
		conn.SetWriteDeadline(time.Now().Add(time.Minute))
		w, err := conn.Write(buf)
		h.Write(buf[:w])
		*n += int64(w)
		if err != nil {
			return fmt.Errorf("write after %d bytes: %w", *n, err)
		}
	}
	return conn.CloseWrite()
}

// awaitEcho reads the receiver's count and hash and compares them with ours.
func awaitEcho(conn *net.TCPConn, n int64, sum string) error {
	conn.SetReadDeadline(time.Now().Add(2 * time.Minute))
	var echo [8 + sha256.Size]byte
	if _, err := io.ReadFull(conn, echo[:]); err != nil {
		return fmt.Errorf("receiver's echo: %w", err)
	}
	gotN := int64(binary.BigEndian.Uint64(echo[:8]))
	gotSum := hex.EncodeToString(echo[8:])
	if gotN != n || gotSum != sum {
		return fmt.Errorf("receiver has %d bytes, sha256 %s; sent %d, sha256 %s", gotN, gotSum, n, sum)
	}
	return nil
}

// sendProbes sends pps probes a second until stop; returns how many, and
// the longest time between two of them.
func sendProbes(c net.Conn, pps int, stop time.Time) (uint64, time.Duration, time.Time) {
	var b [probeLen]byte
	var seq uint64
	var gaps gapMeter
	start := time.Now()
	interval := time.Second / time.Duration(pps)
	for now := start; now.Before(stop); now = time.Now() {
		gaps.event(now)
		makeProbe(b[:], seq)
		// A send error (no route while the tunnel is down, a full
		// buffer) is a datagram lost, which the receiver counts.
		c.Write(b[:])
		seq++
		time.Sleep(time.Until(start.Add(time.Duration(seq) * interval)))
	}
	return seq, gaps.maxGap, gaps.maxAt
}

func recvMain(args []string) error {
	fs := flag.NewFlagSet("recv", flag.ExitOnError)
	tcpAddr := fs.String("tcp", "", "TCP address to listen on")
	udpAddr := fs.String("udp", "", "UDP address to listen on")
	out := fs.String("out", "", "report file (JSON)")
	fs.Parse(args)
	if *tcpAddr == "" || *udpAddr == "" || *out == "" {
		return errors.New("needs -tcp, -udp and -out")
	}
	ln, err := net.Listen("tcp", *tcpAddr)
	if err != nil {
		return err
	}
	uc, err := net.ListenPacket("udp", *udpAddr)
	if err != nil {
		return err
	}
	var (
		mu  sync.Mutex
		rep recvReport
	)
	// SIGTERM (the script giving up on a stream that never ends) still
	// writes what arrived, so the report can say how far it got.
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, os.Interrupt)
	udpDone := make(chan struct{})
	go func() {
		defer close(udpDone)
		recvProbes(uc, &mu, &rep)
	}()
	tcpDone := make(chan struct{})
	go func() {
		defer close(tcpDone)
		recvStream(ln, &mu, &rep)
	}()
	select {
	case <-tcpDone:
		time.Sleep(2 * time.Second) // probes still in flight
	case <-term:
	}
	uc.Close()
	ln.Close()
	<-udpDone
	mu.Lock()
	defer mu.Unlock()
	return writeJSON(*out, &rep)
}

// recvStream accepts one connection, hashes all it carries, and echoes the
// count and hash back when the sender has closed its side.
func recvStream(ln net.Listener, mu *sync.Mutex, rep *recvReport) {
	c, err := ln.Accept()
	if err != nil {
		mu.Lock()
		rep.TCPError = err.Error()
		mu.Unlock()
		return
	}
	defer c.Close()
	h := sha256.New()
	var gaps gapMeter
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		now := time.Now()
		mu.Lock()
		if n > 0 {
			h.Write(buf[:n])
			rep.TCPBytes += int64(n)
			gaps.event(now)
			rep.TCPMaxGap, rep.TCPMaxGapAt = gaps.maxGap, gaps.maxAt
			rep.TCPSHA256 = hex.EncodeToString(h.Sum(nil))
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				rep.TCPEOF = true
			} else {
				rep.TCPError = err.Error()
			}
			var echo [8 + sha256.Size]byte
			binary.BigEndian.PutUint64(echo[:], uint64(rep.TCPBytes))
			copy(echo[8:], h.Sum(nil))
			mu.Unlock()
			c.Write(echo[:])
			return
		}
		mu.Unlock()
	}
}

// recvProbes counts probes until c is closed.
func recvProbes(c net.PacketConn, mu *sync.Mutex, rep *recvReport) {
	seen := make([]bool, 0, 1<<16)
	var highest uint64
	var gaps gapMeter
	buf := make([]byte, 2048)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return
		}
		now := time.Now()
		mu.Lock()
		seq, ok := checkProbe(buf[:n])
		switch {
		case !ok || seq > 1<<32:
			rep.UDPCorrupt++
		case seq < uint64(len(seen)) && seen[seq]:
			rep.UDPDuplicates++
		default:
			for uint64(len(seen)) <= seq {
				seen = append(seen, false)
			}
			seen[seq] = true
			rep.UDPReceived++
			if rep.UDPReceived > 1 && seq < highest {
				rep.UDPReordered++
			}
			highest = max(highest, seq)
			gaps.event(now)
			rep.UDPMaxGap, rep.UDPMaxGapAt = gaps.maxGap, gaps.maxAt
		}
		mu.Unlock()
	}
}
