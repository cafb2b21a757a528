package proxy

import (
	"bufio"
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// SOCKS5 protocol constants (RFC 1928, RFC 1929).
const (
	socksVersion   = 5
	authVersion    = 1
	methodNone     = 0x00
	methodUserPass = 0x02
	methodNoneOK   = 0xff

	cmdConnect      = 1
	cmdBind         = 2
	cmdUDPAssociate = 3

	atypIPv4   = 1
	atypDomain = 3
	atypIPv6   = 4

	repSucceeded          = 0
	repGeneralFailure     = 1
	repNotAllowed         = 2
	repNetworkUnreachable = 3
	repHostUnreachable    = 4
	repConnectionRefused  = 5
	repTTLExpired         = 6
	repCommandUnsupported = 7
	repAddressUnsupported = 8
)

// handshakeTimeout bounds a client's greeting, authentication and request.
const handshakeTimeout = 30 * time.Second

// Errors of the SOCKS5 parsers.
var (
	ErrSOCKSVersion = errors.New("socks5: unsupported protocol version")
	ErrSOCKSCommand = errors.New("socks5: unknown command")
	ErrSOCKSAddress = errors.New("socks5: unsupported address type")
	ErrSOCKSFormat  = errors.New("socks5: malformed message")
)

// socksAddr is a SOCKS5 address: an IP or a domain name, and a port.
type socksAddr struct {
	IP   netip.Addr // valid unless Name is set
	Name string
	Port uint16
}

func (a socksAddr) String() string {
	if a.Name != "" {
		return net.JoinHostPort(a.Name, strconv.Itoa(int(a.Port)))
	}
	return netip.AddrPortFrom(a.IP, a.Port).String()
}

// socksRequest is a client's request (RFC 1928 §4).
type socksRequest struct {
	Cmd  byte
	Addr socksAddr
}

// readGreeting reads the version/method-selection message and returns
// the methods offered.
func readGreeting(r io.Reader) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("socks5: read greeting: %w", err)
	}
	if hdr[0] != socksVersion {
		return nil, fmt.Errorf("%w %d", ErrSOCKSVersion, hdr[0])
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(r, methods); err != nil {
		return nil, fmt.Errorf("socks5: read methods: %w", err)
	}
	return methods, nil
}

// readUserPass reads an RFC 1929 username/password request.
func readUserPass(r io.Reader) (user, pass string, err error) {
	var ver [1]byte
	if _, err := io.ReadFull(r, ver[:]); err != nil {
		return "", "", fmt.Errorf("socks5: read auth: %w", err)
	}
	if ver[0] != authVersion {
		return "", "", fmt.Errorf("%w: auth version %d", ErrSOCKSFormat, ver[0])
	}
	readField := func() (string, error) {
		var n [1]byte
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return "", fmt.Errorf("socks5: read auth: %w", err)
		}
		b := make([]byte, n[0])
		if _, err := io.ReadFull(r, b); err != nil {
			return "", fmt.Errorf("socks5: read auth: %w", err)
		}
		return string(b), nil
	}
	if user, err = readField(); err != nil {
		return "", "", err
	}
	if pass, err = readField(); err != nil {
		return "", "", err
	}
	return user, pass, nil
}

// readRequest reads a request. An unknown command or address type is
// returned with the request's command (for the reply) and an error.
func readRequest(r io.Reader) (socksRequest, error) {
	var hdr [3]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return socksRequest{}, fmt.Errorf("socks5: read request: %w", err)
	}
	if hdr[0] != socksVersion {
		return socksRequest{}, fmt.Errorf("%w %d", ErrSOCKSVersion, hdr[0])
	}
	if hdr[2] != 0 {
		return socksRequest{}, fmt.Errorf("%w: reserved byte %#x", ErrSOCKSFormat, hdr[2])
	}
	req := socksRequest{Cmd: hdr[1]}
	addr, err := readAddr(r)
	if err != nil {
		return req, err
	}
	req.Addr = addr
	switch req.Cmd {
	case cmdConnect, cmdBind, cmdUDPAssociate:
	default:
		return req, fmt.Errorf("%w %d", ErrSOCKSCommand, req.Cmd)
	}
	return req, nil
}

// readAddr reads ATYP, DST.ADDR and DST.PORT.
func readAddr(r io.Reader) (socksAddr, error) {
	var atyp [1]byte
	if _, err := io.ReadFull(r, atyp[:]); err != nil {
		return socksAddr{}, fmt.Errorf("socks5: read address: %w", err)
	}
	var a socksAddr
	switch atyp[0] {
	case atypIPv4:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return a, fmt.Errorf("socks5: read address: %w", err)
		}
		a.IP = netip.AddrFrom4(b)
	case atypIPv6:
		var b [16]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return a, fmt.Errorf("socks5: read address: %w", err)
		}
		a.IP = netip.AddrFrom16(b).Unmap()
	case atypDomain:
		var n [1]byte
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return a, fmt.Errorf("socks5: read address: %w", err)
		}
		b := make([]byte, n[0])
		if _, err := io.ReadFull(r, b); err != nil {
			return a, fmt.Errorf("socks5: read address: %w", err)
		}
		if n[0] == 0 {
			return a, fmt.Errorf("%w: empty domain name", ErrSOCKSFormat)
		}
		// A literal address in domain form is taken as the address. A
		// zone (fe80::1%eth0) names an interface of the client's host,
		// which means nothing inside the tunnel: refused.
		if ip, err := netip.ParseAddr(string(b)); err == nil {
			if ip.Zone() != "" {
				return a, fmt.Errorf("%w: an address with a zone (%q) cannot be reached through the tunnel", ErrSOCKSFormat, b)
			}
			a.IP = ip.Unmap()
		} else {
			a.Name = string(b)
		}
	default:
		return a, fmt.Errorf("%w %d", ErrSOCKSAddress, atyp[0])
	}
	var port [2]byte
	if _, err := io.ReadFull(r, port[:]); err != nil {
		return a, fmt.Errorf("socks5: read port: %w", err)
	}
	a.Port = binary.BigEndian.Uint16(port[:])
	return a, nil
}

// appendAddr appends ATYP, ADDR and PORT for ap.
func appendAddr(b []byte, ap netip.AddrPort) []byte {
	a := ap.Addr().Unmap()
	switch {
	case a.Is4():
		v := a.As4()
		b = append(append(b, atypIPv4), v[:]...)
	case a.Is6():
		v := a.As16()
		b = append(append(b, atypIPv6), v[:]...)
	default:
		b = append(b, atypIPv4, 0, 0, 0, 0)
	}
	return binary.BigEndian.AppendUint16(b, ap.Port())
}

// writeReply sends a reply with code rep and bound address bnd.
func writeReply(w io.Writer, rep byte, bnd netip.AddrPort) error {
	_, err := w.Write(appendAddr([]byte{socksVersion, rep, 0}, bnd))
	return err
}

// parseUDPDatagram splits a SOCKS5 UDP request header (RFC 1928 §7) from
// its payload. Fragments (FRAG != 0) are rejected.
func parseUDPDatagram(b []byte) (socksAddr, []byte, error) {
	if len(b) < 4 {
		return socksAddr{}, nil, fmt.Errorf("%w: short UDP datagram", ErrSOCKSFormat)
	}
	if b[0] != 0 || b[1] != 0 {
		return socksAddr{}, nil, fmt.Errorf("%w: UDP reserved bytes", ErrSOCKSFormat)
	}
	if b[2] != 0 {
		return socksAddr{}, nil, fmt.Errorf("%w: UDP fragments are not supported", ErrSOCKSFormat)
	}
	r := bytesReader{b: b[3:]}
	a, err := readAddr(&r)
	if err != nil {
		return socksAddr{}, nil, err
	}
	return a, r.b, nil
}

// bytesReader is a minimal io.Reader over a slice that exposes the rest.
type bytesReader struct{ b []byte }

func (r *bytesReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// replyCode maps a dial error to a SOCKS5 reply code.
func replyCode(err error) byte {
	switch {
	case errors.Is(err, ErrNoRoute):
		return repNetworkUnreachable
	case errors.Is(err, ErrRefused), errors.Is(err, syscall.ECONNREFUSED):
		return repConnectionRefused
	case errors.Is(err, ErrNoHandshake), errors.Is(err, ErrTimeout), errors.Is(err, ErrResolve),
		errors.Is(err, context.DeadlineExceeded):
		return repHostUnreachable
	}
	return repGeneralFailure
}

// Network is what the proxies need from a tunnel; *Tunnel implements it.
type Network interface {
	// DialContext connects to "host:port" over "tcp" or "udp"; host may
	// be a name.
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
	// LookupAddr resolves a name (or parses an IP literal).
	LookupAddr(ctx context.Context, host string) (netip.Addr, error)
	// ListenPacket opens an unconnected UDP socket on the tunnel for
	// destinations of ip's family.
	ListenPacket(ip netip.Addr) (net.PacketConn, error)
}

// ListenPacket opens an unconnected UDP socket on the stack for
// destinations of ip's family.
func (t *Tunnel) ListenPacket(ip netip.Addr) (net.PacketConn, error) {
	if ip.Unmap().Is4() {
		return t.Net.ListenUDP(netip.AddrPortFrom(netip.IPv4Unspecified(), 0))
	}
	return t.Net.ListenUDP(netip.AddrPortFrom(netip.IPv6Unspecified(), 0))
}

// SOCKS5Server serves SOCKS5 (RFC 1928) over a Network: CONNECT to IPv4,
// IPv6 and domain names, UDP ASSOCIATE, and, if Username is set,
// username/password authentication (RFC 1929).
type SOCKS5Server struct {
	Net                Network
	Username, Password string
	// Logf receives one line per failed client; nil discards.
	Logf func(format string, args ...any)
	// Limiter caps the clients and UDP associations held and sets the
	// relays' idle timeout; nil gives the server its own with
	// DefaultLimits.
	Limiter *Limiter

	lim limiterRef
	t   tracker
}

func (s *SOCKS5Server) limiter() *Limiter { return s.lim.get(s.Limiter, s.Logf) }

// Serve accepts clients on l until Close. A misbehaving client gets an
// error reply and is disconnected; the others are unaffected.
func (s *SOCKS5Server) Serve(l net.Listener) error { return s.t.serve(l, s.limiter(), s.handle) }

// Close stops serving, ends every client connection and waits for them.
func (s *SOCKS5Server) Close() error {
	s.t.close()
	return nil
}

func (s *SOCKS5Server) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

func (s *SOCKS5Server) handle(c net.Conn) {
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	br := bufio.NewReaderSize(c, 512)
	if err := s.authenticate(br, c); err != nil {
		s.logf("socks5 %v: %v", c.RemoteAddr(), err)
		return
	}
	req, err := readRequest(br)
	if err != nil {
		rep := byte(repGeneralFailure)
		switch {
		case errors.Is(err, ErrSOCKSCommand):
			rep = repCommandUnsupported
		case errors.Is(err, ErrSOCKSAddress):
			rep = repAddressUnsupported
		}
		writeReply(c, rep, netip.AddrPort{})
		s.logf("socks5 %v: %v", c.RemoteAddr(), err)
		return
	}
	switch req.Cmd {
	case cmdConnect:
		s.connect(c, br, req)
	case cmdUDPAssociate:
		s.associate(c, req)
	default:
		writeReply(c, repCommandUnsupported, netip.AddrPort{})
		s.logf("socks5 %v: command %d not supported", c.RemoteAddr(), req.Cmd)
	}
}

func (s *SOCKS5Server) authenticate(br *bufio.Reader, c net.Conn) error {
	methods, err := readGreeting(br)
	if err != nil {
		return err
	}
	want := byte(methodNone)
	if s.Username != "" {
		want = methodUserPass
	}
	offered := false
	for _, m := range methods {
		offered = offered || m == want
	}
	if !offered {
		c.Write([]byte{socksVersion, methodNoneOK})
		return fmt.Errorf("socks5: client offers no acceptable method (want %#x)", want)
	}
	if _, err := c.Write([]byte{socksVersion, want}); err != nil {
		return err
	}
	if want != methodUserPass {
		return nil
	}
	user, pass, err := readUserPass(br)
	if err != nil {
		return err
	}
	okUser := subtle.ConstantTimeCompare([]byte(user), []byte(s.Username))
	okPass := subtle.ConstantTimeCompare([]byte(pass), []byte(s.Password))
	if okUser&okPass != 1 {
		c.Write([]byte{authVersion, 1})
		return fmt.Errorf("socks5: authentication failed for user %q", user)
	}
	_, err = c.Write([]byte{authVersion, 0})
	return err
}

func (s *SOCKS5Server) connect(c net.Conn, br *bufio.Reader, req socksRequest) {
	// The dial is bounded by the Network's own timeout.
	up, err := s.Net.DialContext(context.Background(), "tcp", req.Addr.String())
	if err != nil {
		writeReply(c, replyCode(err), netip.AddrPort{})
		s.logf("socks5 %v: CONNECT: %s", c.RemoteAddr(), dialFailure(req.Addr.String(), err))
		return
	}
	if !s.t.add(up) {
		return
	}
	defer s.t.remove(up)
	var bnd netip.AddrPort
	if ta, ok := up.LocalAddr().(*net.TCPAddr); ok {
		bnd = ta.AddrPort()
	}
	if err := writeReply(c, repSucceeded, bnd); err != nil {
		up.Close()
		return
	}
	c.SetDeadline(time.Time{})
	// Bytes the client sent right behind its request are already buffered.
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		if _, err := up.Write(b); err != nil {
			up.Close()
			return
		}
	}
	relay(c, up, s.limiter().limits.TCPIdle)
}

// associate serves UDP ASSOCIATE: a local UDP socket on the address the
// client reached us at relays datagrams to and from the tunnel until the
// TCP connection closes. The association belongs to one source: the
// address and port the client announced in its request, where they are
// not zero, or else the control connection's address and the first port
// a datagram comes from. Datagrams from anywhere else are dropped.
func (s *SOCKS5Server) associate(c net.Conn, req socksRequest) {
	la, _ := c.LocalAddr().(*net.TCPAddr)
	ra, _ := c.RemoteAddr().(*net.TCPAddr)
	if la == nil || ra == nil {
		writeReply(c, repGeneralFailure, netip.AddrPort{})
		return
	}
	// Eviction ends the association by closing its control connection.
	held, err := s.limiter().assocs.admit(ra.AddrPort().Addr().Unmap(), func() { c.Close() })
	if err != nil {
		writeReply(c, repGeneralFailure, netip.AddrPort{})
		return
	}
	defer held.release()
	touch := held.touch
	if lc, ok := c.(*limitedConn); ok {
		// UDP traffic keeps the control connection from looking idle.
		touch = func() { held.touch(); lc.slot.touch() }
	}
	local, err := net.ListenUDP("udp", &net.UDPAddr{IP: la.IP, Zone: la.Zone})
	if err != nil {
		writeReply(c, repGeneralFailure, netip.AddrPort{})
		s.logf("socks5 %v: UDP associate: %v", c.RemoteAddr(), err)
		return
	}
	if !s.t.add(local) {
		return
	}
	defer s.t.remove(local)
	defer local.Close()
	if err := writeReply(c, repSucceeded, local.LocalAddr().(*net.UDPAddr).AddrPort()); err != nil {
		return
	}
	c.SetDeadline(time.Time{})
	a := &association{
		s:      s,
		local:  local,
		touch:  touch,
		client: associationSource(ra.AddrPort().Addr(), req.Addr),
		remote: make(map[bool]net.PacketConn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.fromClient()
	}()
	// The association ends with its TCP connection.
	io.Copy(io.Discard, c)
	local.Close()
	<-done
	a.closeRemotes()
}

// associationSource is where an association's datagrams must come from:
// the address and port the client announced (RFC 1928 §4: "the address
// and port that the client expects to use to send UDP datagrams"), each
// where it is not zero; otherwise the control connection's address, and
// port 0 for "the first one seen". An announced name is not resolved: the
// control connection's address stands for it.
func associationSource(control netip.Addr, announced socksAddr) netip.AddrPort {
	ip := control.Unmap()
	if announced.Name == "" && announced.IP.IsValid() && !announced.IP.IsUnspecified() {
		ip = announced.IP.Unmap()
	}
	return netip.AddrPortFrom(ip, announced.Port)
}

// association is one UDP ASSOCIATE's state.
type association struct {
	s     *SOCKS5Server
	local *net.UDPConn
	touch func() // marks the association active

	mu sync.Mutex
	// client is the one source whose datagrams are relayed, and where
	// replies go; its port is 0 until the first datagram when the client
	// announced none.
	client netip.AddrPort
	remote map[bool]net.PacketConn // tunnel sockets by family (true: IPv6)
	wg     sync.WaitGroup
}

// admit reports whether a datagram from from belongs to the association,
// binding it to from's port if the client announced none.
func (a *association) admit(from netip.AddrPort) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if from.Addr() != a.client.Addr() {
		return false
	}
	if a.client.Port() == 0 {
		a.client = from
	}
	return from.Port() == a.client.Port()
}

// fromClient relays the client's datagrams into the tunnel, holding a
// buffer only while one is in hand.
func (a *association) fromClient() {
	for {
		waitDatagram(a.local)
		bp := udpBufs.Get().(*[]byte)
		n, from, err := a.local.ReadFromUDPAddrPort(*bp)
		if err == nil {
			a.forward((*bp)[:n], netip.AddrPortFrom(from.Addr().Unmap(), from.Port()))
		}
		udpBufs.Put(bp)
		if err != nil {
			return
		}
	}
}

// forward sends one datagram from the client to its destination, if it
// comes from the association's source.
func (a *association) forward(b []byte, from netip.AddrPort) {
	if !a.admit(from) {
		return
	}
	dst, payload, err := parseUDPDatagram(b)
	if err != nil {
		return
	}
	a.touch()
	ip := dst.IP
	if dst.Name != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ip, err = a.s.Net.LookupAddr(ctx, dst.Name)
		cancel()
		if err != nil {
			a.s.logf("socks5 %v: UDP to %v: %v", from, dst, err)
			return
		}
	}
	pc, err := a.remoteFor(ip)
	if err != nil {
		a.s.logf("socks5 %v: UDP to %v: %v", from, dst, err)
		return
	}
	pc.WriteTo(payload, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, dst.Port)))
}

// remoteFor returns the tunnel socket for ip's family, opening it and its
// reader on first use.
func (a *association) remoteFor(ip netip.Addr) (net.PacketConn, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	v6 := ip.Is6()
	if pc := a.remote[v6]; pc != nil {
		return pc, nil
	}
	pc, err := a.s.Net.ListenPacket(ip)
	if err != nil {
		return nil, err
	}
	a.remote[v6] = pc
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.toClient(pc)
	}()
	return pc, nil
}

// toClient relays datagrams from the tunnel to the client. The userspace
// stack's UDP cannot be waited on without reading, so this holds a buffer
// for as long as the association has a socket of this family.
func (a *association) toClient(pc net.PacketConn) {
	bp := udpBufs.Get().(*[]byte)
	defer udpBufs.Put(bp)
	buf := *bp
	// The reply's header (at most 22 bytes, for IPv6) goes in front of
	// the payload, in the same buffer.
	const room = 3 + 1 + 16 + 2
	hdr := make([]byte, 0, room)
	for {
		n, from, err := pc.ReadFrom(buf[room:])
		if err != nil {
			return
		}
		ua, ok := from.(*net.UDPAddr)
		if !ok {
			continue
		}
		a.touch()
		a.mu.Lock()
		to := a.client
		a.mu.Unlock()
		h := appendAddr(append(hdr[:0], 0, 0, 0), ua.AddrPort())
		off := room - len(h)
		copy(buf[off:room], h)
		a.local.WriteToUDPAddrPort(buf[off:room+n], to)
	}
}

func (a *association) closeRemotes() {
	a.mu.Lock()
	for _, pc := range a.remote {
		pc.Close()
	}
	a.mu.Unlock()
	a.wg.Wait()
}
