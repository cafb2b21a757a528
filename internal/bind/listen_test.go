package bind

import (
	"errors"
	"syscall"
	"testing"
)

// failing returns a control function that fails sockets of network with
// err for the first n calls (n < 0: always).
func failing(network string, err error, n int) controlFunc {
	calls := 0
	return func(nw, _ string, _ syscall.RawConn) error {
		if nw != network {
			return nil
		}
		calls++
		if n < 0 || calls <= n {
			return err
		}
		return nil
	}
}

func TestListenPairOneFamilyMissing(t *testing.T) {
	for _, network := range []string{"udp4", "udp6"} {
		t.Run("no "+network, func(t *testing.T) {
			v4, v6, port, err := listenPair(0, failing(network, syscall.EAFNOSUPPORT, -1))
			if err != nil {
				t.Fatalf("listenPair: %v", err)
			}
			closeConns(v4, v6)
			if port == 0 {
				t.Error("port 0")
			}
			if (v4 == nil) != (network == "udp4") || (v6 == nil) != (network == "udp6") {
				t.Errorf("v4 %v, v6 %v; want only the other family", v4 != nil, v6 != nil)
			}
		})
	}
}

func TestListenPairNoFamily(t *testing.T) {
	fail := func(string, string, syscall.RawConn) error { return syscall.EAFNOSUPPORT }
	v4, v6, _, err := listenPair(0, fail)
	if err == nil {
		closeConns(v4, v6)
		t.Fatal("listenPair succeeded without any address family")
	}
	if !errors.Is(err, syscall.EAFNOSUPPORT) {
		t.Errorf("error %v does not wrap EAFNOSUPPORT", err)
	}
}

func TestListenPairRetriesPortTakenForIPv6(t *testing.T) {
	v4, v6, port, err := listenPair(0, failing("udp6", syscall.EADDRINUSE, 3))
	if err != nil {
		t.Fatalf("listenPair: %v", err)
	}
	defer closeConns(v4, v6)
	if v4 == nil || v6 == nil || port == 0 {
		t.Fatalf("v4 %v, v6 %v, port %d; want both on one port", v4 != nil, v6 != nil, port)
	}
}

func TestListenPairFixedPortTakenForIPv6(t *testing.T) {
	v4, v6, port, err := listenPair(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	closeConns(v4, v6)
	_, _, _, err = listenPair(port, failing("udp6", syscall.EADDRINUSE, -1))
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("listenPair(%d) = %v, want EADDRINUSE", port, err)
	}
}
