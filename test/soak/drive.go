package main

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// driveReport is what `soak drive` writes.
type driveReport struct {
	Start, End       time.Time
	Ops              map[string]int // churn operations applied, by kind
	OpFailures       int
	SyncConfs        int
	SyncConfFailures int
	LiveTouches      int                    // allowed IPs and endpoint re-set on a live peer
	PSKRotations     int                    // the live pair's preshared key changed at both ends
	Checks           int                    // get=1 answers compared with the model
	Mismatches       int                    // checks that found a difference
	Problems         []string               `json:",omitempty"` // the first failures and differences
	SetLatencyMax    time.Duration          // slowest UAPI set
	Handshakes       map[string][]time.Time // live peer's handshake times, by daemon
	Samples          map[string][]sample    // the daemons' resources, by daemon
}

// sample is one reading of a daemon's /proc entries.
type sample struct {
	T       time.Time
	RSSKiB  int
	Threads int
	FDs     int
}

func driveMain(args []string) error {
	fs := flag.NewFlagSet("drive", flag.ExitOnError)
	sockA := fs.String("a", "", "daemon A's UAPI socket")
	sockB := fs.String("b", "", "daemon B's UAPI socket")
	liveA := fs.String("a-live", "", "public key (base64) of the live peer configured on A")
	liveB := fs.String("b-live", "", "public key (base64) of the live peer configured on B")
	pids := fs.String("pids", "", "daemon A's and B's process ids, A,B")
	warren := fs.String("warren", "", "warren binary, for syncconf")
	dur := fs.Duration("duration", time.Minute, "how long to churn")
	every := fs.Duration("interval", 100*time.Millisecond, "time between churn operations on each daemon")
	sampleEvery := fs.Duration("sample", 5*time.Second, "time between resource samples")
	out := fs.String("out", "", "report file (JSON)")
	fs.Parse(args)
	pidList := strings.Split(*pids, ",")
	if *sockA == "" || *sockB == "" || *warren == "" || *out == "" || len(pidList) != 2 {
		return errors.New("needs -a, -b, -a-live, -b-live, -pids A,B, -warren and -out")
	}
	rep := &driveReport{Start: time.Now(), Ops: map[string]int{},
		Handshakes: map[string][]time.Time{}, Samples: map[string][]sample{}}
	stop := rep.Start.Add(*dur)
	models := make([]*model, 2)
	for i, s := range []struct{ name, sock, live string }{{"A", *sockA, *liveA}, {"B", *sockB, *liveB}} {
		lk, err := parseB64Key(s.live)
		if err != nil {
			return fmt.Errorf("-%s-live: %w", strings.ToLower(s.name), err)
		}
		dev, err := uapiGet(s.sock)
		if err != nil {
			return err
		}
		if models[i], err = newModel(s.name, s.sock, dev, lk, uint64(time.Now().UnixNano())+uint64(i)); err != nil {
			return err
		}
	}

	var mu sync.Mutex // guards rep between the goroutines below
	var wg sync.WaitGroup
	for i, m := range models {
		wg.Go(func() { watchHandshakes(m, stop, &mu, rep) })
		pid, err := strconv.Atoi(pidList[i])
		if err != nil {
			return fmt.Errorf("-pids: %w", err)
		}
		wg.Go(func() { sampleProcess(m.name, pid, *sampleEvery, stop, &mu, rep) })
	}
	c := &churner{rep: rep, mu: &mu, warren: *warren, models: models, dir: filepath.Dir(*out)}
	c.run(*every, stop)
	wg.Wait()
	rep.End = time.Now()
	return writeJSON(*out, rep)
}

func parseB64Key(s string) (key, error) {
	var k key
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != len(k) {
		return k, fmt.Errorf("%q is not a base64 key", s)
	}
	copy(k[:], b)
	return k, nil
}

// churner applies the churn to both daemons from one goroutine, so each
// model changes in step with its daemon.
type churner struct {
	rep    *driveReport
	mu     *sync.Mutex
	warren string
	models []*model
	dir    string // for syncconf's files
}

// Schedule of the slower operations; a short run (CI's minute) does each
// at least a few times.
const (
	checkEvery    = 10 * time.Second
	syncconfEvery = 30 * time.Second
	liveEvery     = 20 * time.Second
	pskEvery      = 60 * time.Second
)

func (c *churner) problem(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.rep.Problems) < 20 {
		c.rep.Problems = append(c.rep.Problems, time.Now().UTC().Format("15:04:05 ")+fmt.Sprintf(format, args...))
	}
}

func (c *churner) run(every time.Duration, stop time.Time) {
	start := time.Now()
	dur := stop.Sub(start)
	last := map[string]time.Time{"check": start, "syncconf": start, "live": start, "psk": start}
	due := func(what string, period time.Duration) bool {
		if time.Since(last[what]) < period {
			return false
		}
		last[what] = time.Now()
		return true
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for n := 0; time.Now().Before(stop); n++ {
		<-tick.C
		for _, m := range c.models {
			name, body := m.randomOp()
			if c.set(m, body) {
				c.mu.Lock()
				c.rep.Ops[name]++
				c.mu.Unlock()
			}
		}
		if due("live", min(liveEvery, dur/6)) {
			for _, m := range c.models {
				c.touchLive(m, n)
			}
		}
		if due("psk", min(pskEvery, dur/3)) {
			c.rotatePSK()
		}
		if due("syncconf", min(syncconfEvery, dur/4)) {
			c.syncconf(c.models[n%2])
		}
		if due("check", checkEvery) {
			for _, m := range c.models {
				c.check(m)
			}
		}
	}
	for _, m := range c.models {
		c.check(m)
	}
}

// set applies body on m's daemon; on failure the model is re-read from the
// daemon so that one failure is counted once, not at every check after it.
func (c *churner) set(m *model, body string) bool {
	t0 := time.Now()
	err := uapiSet(m.sock, body)
	d := time.Since(t0)
	c.mu.Lock()
	c.rep.SetLatencyMax = max(c.rep.SetLatencyMax, d)
	if err != nil {
		c.rep.OpFailures++
	}
	c.mu.Unlock()
	if err != nil {
		c.problem("%s: set failed: %v; body:\n%s", m.name, err, body)
		c.resync(m)
		return false
	}
	return true
}

func (c *churner) resync(m *model) {
	dev, err := uapiGet(m.sock)
	if err != nil {
		c.problem("%s: get: %v", m.name, err)
		return
	}
	if nm, err := newModel(m.name, m.sock, dev, m.live, m.rng.Uint64()); err == nil {
		*m = *nm
	} else {
		c.problem("%v", err)
	}
}

// touchLive changes the live peer's allowed IPs while its traffic flows: an
// extra prefix (not the traffic's) comes and goes, and the endpoint is set
// again to what it is. Neither may disturb the session or the traffic.
func (c *churner) touchLive(m *model, n int) {
	p := m.dev.peers[m.live]
	base := []string{}
	for _, a := range p.allowed {
		if !strings.HasPrefix(a, "10.251.") {
			base = append(base, a)
		}
	}
	if len(base) == len(p.allowed) {
		base = append(base, fmt.Sprintf("10.251.%d.0/24", n%256))
	}
	m.setAllowed(m.live, base)
	if c.set(m, m.peerLines(m.live)) {
		c.mu.Lock()
		c.rep.LiveTouches++
		c.mu.Unlock()
	}
}

// rotatePSK gives the live pair a new preshared key, A first, then B. The
// current session goes on; the next handshake uses the new key at both ends
// (one falling between the two sets fails and is retried, as the protocol
// retries a lost handshake).
func (c *churner) rotatePSK() {
	psk := newKey()
	ok := true
	for _, m := range c.models {
		m.dev.peers[m.live].psk = psk
		ok = c.set(m, fmt.Sprintf("public_key=%s\nupdate_only=true\npreshared_key=%s\n", m.live.hex(), psk.hex())) && ok
	}
	if ok {
		c.mu.Lock()
		c.rep.PSKRotations++
		c.mu.Unlock()
	}
}

// syncconf changes a few idle peers in the model only, then hands the whole
// model to `warren syncconf`, which must make the daemon match it without
// touching the live peer's session.
func (c *churner) syncconf(m *model) {
	for range 10 {
		m.randomOp()
	}
	iface := strings.TrimSuffix(filepath.Base(m.sock), ".sock")
	f := filepath.Join(c.dir, "syncconf-"+m.name+".conf")
	err := os.WriteFile(f, []byte(m.conf()), 0o600)
	var out []byte
	if err == nil {
		cmd := exec.Command(c.warren, "syncconf", iface, f)
		cmd.Env = append(os.Environ(), "WG_COLOR_MODE=never")
		out, err = cmd.CombinedOutput()
	}
	c.mu.Lock()
	c.rep.SyncConfs++
	if err != nil {
		c.rep.SyncConfFailures++
	}
	c.mu.Unlock()
	if err != nil {
		c.problem("%s: warren syncconf: %v: %s", m.name, err, strings.TrimSpace(string(out)))
		c.resync(m)
		return
	}
	c.check(m)
}

func (c *churner) check(m *model) {
	got, err := uapiGet(m.sock)
	c.mu.Lock()
	c.rep.Checks++
	c.mu.Unlock()
	var diffs []string
	if err != nil {
		diffs = []string{fmt.Sprintf("%s: get: %v", m.name, err)}
	} else {
		diffs = m.diff(got, 5)
	}
	if len(diffs) == 0 {
		return
	}
	c.mu.Lock()
	c.rep.Mismatches++
	c.mu.Unlock()
	c.problem("configuration differs from what was set:\n  %s", strings.Join(diffs, "\n  "))
	c.resync(m)
}

// watchHandshakes records each new handshake time of m's live peer, read
// from get=1 once a second (two handshakes within a second count as one,
// which can only lengthen the gaps the report measures).
func watchHandshakes(m *model, stop time.Time, mu *sync.Mutex, rep *driveReport) {
	var last time.Time
	for time.Now().Before(stop) {
		if dev, err := uapiGet(m.sock); err == nil {
			if p, ok := dev.peers[m.live]; ok && !p.lastHandshake.IsZero() && !p.lastHandshake.Equal(last) {
				last = p.lastHandshake
				mu.Lock()
				rep.Handshakes[m.name] = append(rep.Handshakes[m.name], last)
				mu.Unlock()
			}
		}
		time.Sleep(time.Second)
	}
}

// sampleProcess reads pid's resident memory, threads and open files.
func sampleProcess(name string, pid int, every time.Duration, stop time.Time, mu *sync.Mutex, rep *driveReport) {
	for time.Now().Before(stop) {
		s := sample{T: time.Now()}
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return // the daemon is gone: the report notices the missing samples
		}
		for _, line := range strings.Split(string(status), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			switch f[0] {
			case "VmRSS:":
				s.RSSKiB, _ = strconv.Atoi(f[1])
			case "Threads:":
				s.Threads, _ = strconv.Atoi(f[1])
			}
		}
		if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
			s.FDs = len(fds)
		}
		mu.Lock()
		rep.Samples[name] = append(rep.Samples[name], s)
		mu.Unlock()
		time.Sleep(every)
	}
}
