package netstack

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Errors of Resolver.LookupNetIP; the error returned wraps one of them.
var (
	// ErrNoDNS: a name must be resolved but the tunnel has no DNS server.
	ErrNoDNS = errors.New("no DNS server configured for the tunnel")
	// ErrNotFound: the servers say the name does not exist, or has no
	// address of the families asked for.
	ErrNotFound = errors.New("no such host")
	// ErrBadName: the name cannot be sent as a DNS query, or is a
	// localhost name (RFC 6761), which never leaves this host.
	ErrBadName = errors.New("not a name to resolve through the tunnel")
	// ErrDNSServer: no server gave a usable answer (failure codes,
	// malformed replies, or no reply in time).
	ErrDNSServer = errors.New("the tunnel's DNS servers gave no answer")
)

// Resolver queries, resolver parameters.
const (
	// dnsTryTimeout bounds one query to one server.
	dnsTryTimeout = 3 * time.Second
	// dnsRounds is how many times each server is tried.
	dnsRounds = 2
	// dnsUDPSize is the reply size we advertise with EDNS(0) (the DNS
	// flag day's 1232 bytes fit any tunnel MTU); dnsUDPBuf reads a little
	// more from servers that ignore it.
	dnsUDPSize = 1232
	dnsUDPBuf  = 4096
	// maxCNAMEs bounds a chain of aliases in one answer.
	maxCNAMEs = 8
)

// Resolver resolves names through the tunnel's DNS servers and nothing
// else: a name is sent exactly as given (as a fully qualified name, so no
// search domain or ndots rule of the host's /etc/resolv.conf applies),
// never answered from the host's /etc/hosts, and localhost names are
// refused rather than sent. Queries go over UDP (TCP when a reply is
// truncated) from a fresh random port, each server taken in turn.
type Resolver struct {
	d       *Device
	servers []netip.Addr
	next    atomic.Uint32
}

// Resolver returns a resolver whose queries go through the stack to
// servers (port 53). With no servers every lookup fails with ErrNoDNS.
func (d *Device) Resolver(servers []netip.Addr) *Resolver {
	return &Resolver{d: d, servers: append([]netip.Addr(nil), servers...)}
}

// LookupNetIP returns the addresses of host: "ip" asks for both families
// (IPv4 first), "ip4" and "ip6" for one. An IP literal is returned as it
// is, without a query.
func (r *Resolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	var types []dnsmessage.Type
	switch network {
	case "ip":
		types = []dnsmessage.Type{dnsmessage.TypeA, dnsmessage.TypeAAAA}
	case "ip4":
		types = []dnsmessage.Type{dnsmessage.TypeA}
	case "ip6":
		types = []dnsmessage.Type{dnsmessage.TypeAAAA}
	default:
		return nil, fmt.Errorf("lookup %s: %w", host, net.UnknownNetworkError(network))
	}
	name, err := queryName(host)
	if err != nil {
		return nil, fmt.Errorf("lookup %q: %w", host, err)
	}
	if len(r.servers) == 0 {
		return nil, fmt.Errorf("lookup %s: %w", host, ErrNoDNS)
	}
	type result struct {
		addrs []netip.Addr
		err   error
	}
	results := make([]chan result, len(types))
	for i, typ := range types {
		results[i] = make(chan result, 1)
		go func() {
			addrs, err := r.query(ctx, name, typ)
			results[i] <- result{addrs, err}
		}()
	}
	var addrs []netip.Addr
	var firstErr error
	for _, ch := range results {
		res := <-ch
		addrs = append(addrs, res.addrs...)
		if res.err != nil && (firstErr == nil || errors.Is(firstErr, ErrNotFound)) {
			firstErr = res.err
		}
	}
	if len(addrs) > 0 {
		return addrs, nil
	}
	if firstErr == nil {
		firstErr = ErrNotFound
	}
	return nil, fmt.Errorf("lookup %s: %w", host, firstErr)
}

// queryName checks host and returns it as a fully qualified name: letters,
// digits, '-' and '_' in labels of 1 to 63 bytes, at most 253 bytes in
// all, one final dot allowed.
func queryName(host string) (dnsmessage.Name, error) {
	h := strings.TrimSuffix(host, ".")
	if h == "" || len(h) > 253 {
		return dnsmessage.Name{}, fmt.Errorf("%w: empty or longer than 253 bytes", ErrBadName)
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 {
			return dnsmessage.Name{}, fmt.Errorf("%w: a label is empty or longer than 63 bytes", ErrBadName)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return dnsmessage.Name{}, fmt.Errorf("%w: byte %q", ErrBadName, c)
			}
		}
	}
	lower := strings.ToLower(h)
	if lower == "localhost" || strings.HasSuffix(lower, ".localhost") {
		return dnsmessage.Name{}, fmt.Errorf("%w: localhost names stay on this host", ErrBadName)
	}
	return dnsmessage.NewName(h + ".")
}

// query asks the servers in turn for name's records of type typ, until
// one answers or every server has been tried dnsRounds times.
func (r *Resolver) query(ctx context.Context, name dnsmessage.Name, typ dnsmessage.Type) ([]netip.Addr, error) {
	q := dnsmessage.Question{Name: name, Type: typ, Class: dnsmessage.ClassINET}
	var lastErr error
	for range dnsRounds * len(r.servers) {
		if err := ctx.Err(); err != nil {
			if lastErr == nil {
				lastErr = err
			}
			return nil, fmt.Errorf("%w: %w", ErrDNSServer, lastErr)
		}
		server := netip.AddrPortFrom(r.servers[int(r.next.Add(1)-1)%len(r.servers)], 53)
		addrs, err := r.exchange(ctx, server, q)
		if err == nil || errors.Is(err, ErrNotFound) {
			return addrs, err
		}
		lastErr = fmt.Errorf("%v: %w", server.Addr(), err)
	}
	return nil, fmt.Errorf("%w: %w", ErrDNSServer, lastErr)
}

// exchange asks one server over UDP, and over TCP if the reply is
// truncated.
func (r *Resolver) exchange(ctx context.Context, server netip.AddrPort, q dnsmessage.Question) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(ctx, dnsTryTimeout)
	defer cancel()
	id := uint16(rand.Uint32())
	msg, err := buildQuery(id, q)
	if err != nil {
		return nil, err
	}
	ans, err := r.exchangeUDP(ctx, server, id, q, msg)
	if err != nil {
		return nil, err
	}
	if ans.truncated {
		if ans, err = r.exchangeTCP(ctx, server, id, q, msg); err != nil {
			return nil, err
		}
	}
	return ans.result()
}

// buildQuery builds a recursive query for q with an EDNS(0) record.
func buildQuery(id uint16, q dnsmessage.Question) ([]byte, error) {
	b := dnsmessage.NewBuilder(make([]byte, 0, 64), dnsmessage.Header{ID: id, RecursionDesired: true})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAdditionals(); err != nil {
		return nil, err
	}
	var opt dnsmessage.ResourceHeader
	if err := opt.SetEDNS0(dnsUDPSize, dnsmessage.RCodeSuccess, false); err != nil {
		return nil, err
	}
	if err := b.OPTResource(opt, dnsmessage.OPTResource{}); err != nil {
		return nil, err
	}
	return b.Finish()
}

func (r *Resolver) exchangeUDP(ctx context.Context, server netip.AddrPort, id uint16, q dnsmessage.Question, msg []byte) (answer, error) {
	c, err := r.d.DialUDP(server)
	if err != nil {
		return answer{}, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	if _, err := c.Write(msg); err != nil {
		return answer{}, err
	}
	buf := make([]byte, dnsUDPBuf)
	for {
		n, err := c.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return answer{}, ctx.Err()
			}
			return answer{}, err
		}
		ans, err := parseResponse(buf[:n], id, q)
		if errors.Is(err, errNotOurs) {
			continue // a stray or forged datagram: keep waiting for ours
		}
		return ans, err
	}
}

func (r *Resolver) exchangeTCP(ctx context.Context, server netip.AddrPort, id uint16, q dnsmessage.Question, msg []byte) (answer, error) {
	c, err := r.d.DialTCP(ctx, server)
	if err != nil {
		return answer{}, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(msg))), msg...)); err != nil {
		return answer{}, err
	}
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return answer{}, err
	}
	buf := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	if _, err := io.ReadFull(c, buf); err != nil {
		return answer{}, err
	}
	ans, err := parseResponse(buf, id, q)
	if err == nil && ans.truncated {
		err = fmt.Errorf("%w: truncated reply over TCP", errMalformed)
	}
	return ans, err
}

// errNotOurs marks a reply that does not answer our query (another ID or
// question); errMalformed one that cannot be parsed.
var (
	errNotOurs   = errors.New("reply to another query")
	errMalformed = errors.New("malformed DNS reply")
)

// answer is what a reply says about one question.
type answer struct {
	rcode     dnsmessage.RCode
	truncated bool
	addrs     []netip.Addr
}

// result is the lookup's outcome: the addresses, ErrNotFound for a name
// that does not exist or has none, or a server failure.
func (a answer) result() ([]netip.Addr, error) {
	switch a.rcode {
	case dnsmessage.RCodeSuccess:
		if len(a.addrs) == 0 {
			return nil, ErrNotFound
		}
		return a.addrs, nil
	case dnsmessage.RCodeNameError:
		return nil, ErrNotFound
	}
	return nil, fmt.Errorf("server answered %v", a.rcode)
}

// parseResponse reads a reply to query id for q: its code, whether it is
// truncated, and the addresses of q's type for q's name, following the
// aliases (CNAME) the answer section gives for it.
func parseResponse(msg []byte, id uint16, q dnsmessage.Question) (answer, error) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return answer{}, fmt.Errorf("%w: %w", errMalformed, err)
	}
	if !h.Response || h.ID != id {
		return answer{}, errNotOurs
	}
	qs, err := p.AllQuestions()
	if err != nil {
		return answer{}, fmt.Errorf("%w: %w", errMalformed, err)
	}
	if len(qs) != 1 || qs[0].Type != q.Type || qs[0].Class != q.Class || !sameName(qs[0].Name, q.Name) {
		return answer{}, errNotOurs
	}
	ans := answer{rcode: h.RCode, truncated: h.Truncated}
	if h.RCode != dnsmessage.RCodeSuccess || h.Truncated {
		return ans, nil
	}
	type record struct {
		name  dnsmessage.Name
		cname dnsmessage.Name // set for a CNAME
		addr  netip.Addr      // set for an A or AAAA of q's type
	}
	var records []record
	for {
		rh, err := p.AnswerHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			break
		}
		if err != nil {
			return answer{}, fmt.Errorf("%w: %w", errMalformed, err)
		}
		rec := record{name: rh.Name}
		switch {
		case rh.Class != dnsmessage.ClassINET:
			err = p.SkipAnswer()
		case rh.Type == dnsmessage.TypeCNAME:
			var c dnsmessage.CNAMEResource
			c, err = p.CNAMEResource()
			rec.cname = c.CNAME
		case rh.Type == dnsmessage.TypeA && q.Type == dnsmessage.TypeA:
			var a dnsmessage.AResource
			a, err = p.AResource()
			rec.addr = netip.AddrFrom4(a.A)
		case rh.Type == dnsmessage.TypeAAAA && q.Type == dnsmessage.TypeAAAA:
			var a dnsmessage.AAAAResource
			a, err = p.AAAAResource()
			rec.addr = netip.AddrFrom16(a.AAAA)
		default:
			err = p.SkipAnswer()
		}
		if err != nil {
			return answer{}, fmt.Errorf("%w: %w", errMalformed, err)
		}
		records = append(records, rec)
	}
	target := q.Name
	for hops := 0; hops <= maxCNAMEs; hops++ {
		var alias *dnsmessage.Name
		for i := range records {
			rec := &records[i]
			if !sameName(rec.name, target) {
				continue
			}
			if rec.addr.IsValid() {
				ans.addrs = append(ans.addrs, rec.addr)
			} else if rec.cname.Length > 0 && alias == nil {
				alias = &rec.cname
			}
		}
		if len(ans.addrs) > 0 || alias == nil {
			break
		}
		target = *alias
	}
	return ans, nil
}

// sameName compares DNS names as DNS does: ASCII letters case-insensitively,
// every other byte exactly.
func sameName(a, b dnsmessage.Name) bool {
	if a.Length != b.Length {
		return false
	}
	for i := 0; i < int(a.Length); i++ {
		x, y := a.Data[i], b.Data[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
