//go:build linux

package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as a tiny TCP sink and source, run inside a
// namespace with `ip netns exec NS TESTBINARY` and these variables set.
const (
	helperEnv      = "WARREN_E2E_HELPER" // "sink" or "source"
	helperAddrEnv  = "WARREN_E2E_ADDR"   // host:port to listen on or dial
	helperBytesEnv = "WARREN_E2E_BYTES"  // how many bytes the source sends
	helperSeedEnv  = "WARREN_E2E_SEED"   // seed of the source's byte stream
	helperTimeout  = 90 * time.Second    // a helper gives up after this
)

// helperMain runs the helper named by mode and returns its exit code.
func helperMain(mode string) int {
	addr := os.Getenv(helperAddrEnv)
	var err error
	switch mode {
	case "sink":
		err = helperSink(addr)
	case "source":
		var n int64
		var seed uint64
		n, err = strconv.ParseInt(os.Getenv(helperBytesEnv), 10, 64)
		if err == nil {
			seed, err = strconv.ParseUint(os.Getenv(helperSeedEnv), 10, 64)
		}
		if err == nil {
			err = helperSource(addr, n, seed)
		}
	default:
		err = fmt.Errorf("unknown helper %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e helper:", err)
		return 1
	}
	return 0
}

// helperSink accepts one connection on addr, reads it to EOF and prints
// "received N SHA256HEX". It prints "listening" once it listens.
func helperSink(addr string) error {
	deadline := time.Now().Add(helperTimeout)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Println("listening")
	if err := ln.(*net.TCPListener).SetDeadline(deadline); err != nil {
		return err
	}
	c, err := ln.Accept()
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(deadline); err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(h, c)
	if err != nil {
		return fmt.Errorf("after %d bytes: %w", n, err)
	}
	fmt.Printf("received %d %x\n", n, h.Sum(nil))
	return nil
}

// helperSource dials addr (retrying until the deadline), sends n bytes of
// the stream seeded with seed, half-closes and waits for the sink to close.
func helperSource(addr string, n int64, seed uint64) error {
	deadline := time.Now().Add(helperTimeout)
	var c net.Conn
	for {
		var err error
		c, err = net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer c.Close()
	if err := c.SetDeadline(deadline); err != nil {
		return err
	}
	h := sha256.New()
	sent, err := io.Copy(io.MultiWriter(c, h), io.LimitReader(stream(seed), n))
	if err != nil {
		return fmt.Errorf("after %d bytes: %w", sent, err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, c); err != nil {
		return err
	}
	fmt.Printf("sent %d %x\n", sent, h.Sum(nil))
	return nil
}

// stream is the deterministic pseudo-random byte stream for a seed.
func stream(seed uint64) io.Reader {
	var s [32]byte
	for i := range 4 {
		s[i*8] = byte(seed >> (8 * i))
	}
	return rand.NewChaCha8(s)
}

// streamHash is the SHA-256 of the first n bytes of stream(seed).
func streamHash(n int64, seed uint64) string {
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(stream(seed), n)); err != nil {
		panic(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Transfer sends n bytes over TCP from namespace from to a sink listening
// at addr (host:port) in namespace to, and fails the test unless the sink
// received exactly those bytes (same count, same SHA-256). It returns the
// transfer's duration.
func Transfer(t *testing.T, from, to *Netns, addr string, n int64, seed uint64) time.Duration {
	t.Helper()
	d, err := transfer(from, to, addr, n, seed)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// transfer is Transfer returning its failure; it may run on any goroutine.
func transfer(from, to *Netns, addr string, n int64, seed uint64) (time.Duration, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), helperTimeout+10*time.Second)
	defer cancel()
	env := append(os.Environ(), helperAddrEnv+"="+addr,
		helperBytesEnv+"="+strconv.FormatInt(n, 10), helperSeedEnv+"="+strconv.FormatUint(seed, 10))

	sink := to.Command(ctx, exe)
	sink.Env = append(env, helperEnv+"=sink")
	var sinkErr strings.Builder
	sink.Stderr = &sinkErr
	stdout, err := sink.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := sink.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = sink.Process.Kill(); _ = sink.Wait() }()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "listening" {
		return 0, fmt.Errorf("sink in %s did not start: %q %s", to.Name, lines.Text(), sinkErr.String())
	}

	start := time.Now()
	source := from.Command(ctx, exe)
	source.Env = append(env, helperEnv+"=source")
	out, err := source.CombinedOutput()
	elapsed := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("source in %s sending to %s: %v\n%s", from.Name, addr, err, out)
	}
	if !lines.Scan() {
		_ = sink.Wait()
		return 0, fmt.Errorf("sink in %s: no result: %s", to.Name, sinkErr.String())
	}
	got := lines.Text()
	want := streamHash(n, seed)
	if got != fmt.Sprintf("received %d %s", n, want) {
		return 0, fmt.Errorf("sink at %s got %q, want %d bytes with SHA-256 %s (source said %q)", addr, got, n, want, strings.TrimSpace(string(out)))
	}
	return elapsed, nil
}
