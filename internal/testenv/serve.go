package testenv

import (
	"io"
	"net"
	"testing"
	"time"
)

// stopWait is how long a server may take to return once stopped.
const stopWait = 5 * time.Second

// Serve runs serve on a goroutine of its own until the test ends. At
// cleanup it calls stop (which closes the server or its listener) and
// fails t unless serve then returns nil within 5 s.
func Serve(t testing.TB, serve func() error, stop func() error) {
	t.Helper()
	serveFor(t, serve, stop, stopWait)
}

func serveFor(t testing.TB, serve func() error, stop func() error, wait time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- serve() }()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve = %v, want nil after it was stopped", err)
			}
		case <-time.After(wait):
			t.Errorf("Serve did not return within %v after it was stopped", wait)
		}
	})
}

// ServeConns accepts connections on l until the test ends and hands each
// to handle on a goroutine of its own, closing the connection when handle
// returns. At cleanup l is closed and the accept loop waited for.
func ServeConns(t testing.TB, l net.Listener, handle func(net.Conn)) {
	t.Helper()
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
}

// Echo is a handler for ServeConns that sends back what it receives
// until the client closes its side.
func Echo(c net.Conn) { io.Copy(c, c) }

// ServePackets reads datagrams of up to 64 KiB from pc until the test
// ends and, when reply returns a datagram, sends it back to the sender.
// reply must not keep p, which the next datagram overwrites. At cleanup
// pc is closed and the read loop waited for.
func ServePackets(t testing.TB, pc net.PacketConn, reply func(p []byte, from net.Addr) []byte) {
	t.Helper()
	done := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if out := reply(buf[:n], from); out != nil {
				pc.WriteTo(out, from)
			}
		}
	}()
}

// EchoPackets is a reply for ServePackets that sends each datagram back
// with prefix in front.
func EchoPackets(prefix string) func(p []byte, from net.Addr) []byte {
	return func(p []byte, _ net.Addr) []byte { return append([]byte(prefix), p...) }
}
