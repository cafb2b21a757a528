package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// The protocol's timers (the WireGuard paper, section 6.1), which bound
// what the soak may see.
const (
	rekeyAfterTime = 120 * time.Second // the initiator rekeys a session this old
	rekeyTimeout   = 5 * time.Second   // a handshake unanswered this long is sent again
	rekeyJitter    = 333 * time.Millisecond
	pollResolution = time.Second // watchHandshakes reads once a second
)

// maxHandshakeInterval is the longest a healthy pair goes between successful
// handshakes while data flows: a rekey when the session reaches
// REKEY_AFTER_TIME, one lost attempt retried after REKEY_TIMEOUT plus
// jitter, and the resolution of the measurement.
const maxHandshakeInterval = rekeyAfterTime + rekeyTimeout + rekeyJitter + pollResolution

// maxDataGap is the longest period without delivered data the soak accepts:
// rekeying never needs one (the old session carries data until the new one
// is confirmed), and a lost handshake is retried after REKEY_TIMEOUT.
const maxDataGap = rekeyTimeout

// maxProbeLoss is the share of UDP probes that may be lost. WireGuard may
// lose packets and retries nothing; on a veth between two namespaces it has
// no reason to, so more than this is a fault.
const maxProbeLoss = 0.001

// flatTolerance is how far a resource may move between warm-up and the end.
const flatTolerance = 0.10

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// listFlag collects repeated NAME=VALUE flags.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// row is one line of the table.
type row struct {
	check, result string
	ok            bool
}

func reportMain(args []string, w io.Writer) (bool, error) {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	sendF := fs.String("send", "", "soak send's report")
	recvF := fs.String("recv", "", "soak recv's report")
	driveF := fs.String("drive", "", "soak drive's report")
	stopsF := fs.String("stops", "", "file of NAME STATUS SECONDS: how each daemon stopped")
	var logs listFlag
	fs.Var(&logs, "log", "NAME=PATH of a daemon's log (repeatable)")
	warmup := fs.Duration("warmup", time.Minute, "resources are compared from this long after the start")
	title := fs.String("title", "", "first line of the table")
	fs.Parse(args)
	var (
		s sendReport
		r recvReport
		d driveReport
	)
	for _, x := range []struct {
		path string
		v    any
	}{{*sendF, &s}, {*recvF, &r}, {*driveF, &d}} {
		if err := readJSON(x.path, x.v); err != nil {
			return false, err
		}
	}
	var rows []row
	rows = append(rows, trafficRows(&s, &r)...)
	end := s.End
	if end.IsZero() || end.After(d.End) {
		end = d.End
	}
	for _, name := range []string{"A", "B"} {
		rows = append(rows, handshakeRow(name, d.Handshakes[name], end))
	}
	for _, name := range []string{"A", "B"} {
		rows = append(rows, resourceRows(name, d.Samples[name], d.Start, d.Start.Add(*warmup), d.End)...)
	}
	rows = append(rows, churnRows(&d)...)
	for _, l := range logs {
		name, path, _ := strings.Cut(l, "=")
		n, first, err := scanLog(path)
		if err != nil {
			return false, err
		}
		res := fmt.Sprintf("%d error lines", n)
		if n > 0 {
			res += "; first: " + first
		}
		rows = append(rows, row{"daemon " + name + " log: no errors", res, n == 0})
		n, first, err = spuriousRetries(path)
		if err != nil {
			return false, err
		}
		res = fmt.Sprintf("%d retries of a handshake already answered", n)
		if n > 0 {
			res += "; first: " + first
		}
		rows = append(rows, row{"daemon " + name + " log: retries only unanswered", res, n == 0})
	}
	if *stopsF != "" {
		stops, err := stopRows(*stopsF)
		if err != nil {
			return false, err
		}
		rows = append(rows, stops...)
	}

	if *title != "" {
		fmt.Fprintln(w, *title)
	}
	ok := true
	fmt.Fprintf(w, "%-44s %-5s %s\n", "check", "pass", "result")
	for _, x := range rows {
		mark := "yes"
		if !x.ok {
			mark, ok = "NO", false
		}
		fmt.Fprintf(w, "%-44s %-5s %s\n", x.check, mark, x.result)
	}
	if len(d.Problems) > 0 {
		fmt.Fprintln(w, "\nchurn problems (first 20):")
		for _, p := range d.Problems {
			fmt.Fprintln(w, "  "+p)
		}
	}
	return ok, nil
}

func trafficRows(s *sendReport, r *recvReport) []row {
	mib := func(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
	short := func(h string) string {
		if len(h) > 12 {
			return h[:12]
		}
		return h
	}
	tcpOK := s.TCPComplete && r.TCPEOF && s.TCPBytes > 0 && s.TCPBytes == r.TCPBytes && s.TCPSHA256 == r.TCPSHA256
	tcp := fmt.Sprintf("sent %s sha256 %s…, received %s sha256 %s…", mib(s.TCPBytes), short(s.TCPSHA256), mib(r.TCPBytes), short(r.TCPSHA256))
	if s.TCPError != "" {
		tcp += "; sender: " + s.TCPError
	}
	if r.TCPError != "" {
		tcp += "; receiver: " + r.TCPError
	}
	if !r.TCPEOF {
		tcp += "; stream never ended"
	}
	lost := int64(s.UDPSent) - int64(r.UDPReceived)
	lossShare := 0.0
	if s.UDPSent > 0 {
		lossShare = float64(lost) / float64(s.UDPSent)
	}
	udpOK := s.UDPSent > 0 && r.UDPDuplicates == 0 && r.UDPCorrupt == 0 && lost >= 0 && lossShare <= maxProbeLoss
	udp := fmt.Sprintf("sent %d, received %d, lost %d (%.3f%%, limit %.1f%%), duplicated %d, altered %d, reordered %d",
		s.UDPSent, r.UDPReceived, lost, 100*lossShare, 100*maxProbeLoss, r.UDPDuplicates, r.UDPCorrupt, r.UDPReordered)
	gap := max(r.TCPMaxGap, r.UDPMaxGap)
	gapRes := fmt.Sprintf("TCP %s (at %s), UDP probes %s (at %s); limit REKEY_TIMEOUT %s; the sender itself paused up to %s (at %s)",
		r.TCPMaxGap.Round(time.Millisecond), clock(r.TCPMaxGapAt), r.UDPMaxGap.Round(time.Millisecond), clock(r.UDPMaxGapAt), maxDataGap,
		s.SendMaxPause.Round(time.Millisecond), clock(s.SendMaxPauseAt))
	return []row{
		{"TCP stream: every byte accounted for", tcp, tcpOK},
		{"UDP probes: none altered or duplicated", udp, udpOK},
		{"longest time without delivered data", gapRes, r.TCPBytes > 0 && r.UDPReceived > 0 && gap <= maxDataGap},
	}
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("15:04:05")
}

// handshakeGaps returns the longest interval between successive handshakes
// and from the last one to end.
func handshakeGaps(hs []time.Time, end time.Time) time.Duration {
	var longest time.Duration
	for i := 1; i < len(hs); i++ {
		longest = max(longest, hs[i].Sub(hs[i-1]))
	}
	if len(hs) > 0 {
		longest = max(longest, end.Sub(hs[len(hs)-1]))
	}
	return longest
}

func handshakeRow(name string, hs []time.Time, end time.Time) row {
	longest := handshakeGaps(hs, end)
	res := fmt.Sprintf("%d handshakes (%d rekeys), longest interval %s incl. the last to the end; limit %s",
		len(hs), max(len(hs)-1, 0), longest.Round(100*time.Millisecond), maxHandshakeInterval)
	return row{"daemon " + name + ": handshakes on time", res, len(hs) > 0 && longest <= maxHandshakeInterval}
}

// flatness compares a resource after warm-up with its value at the end:
// base is the median of the first three samples from warmupEnd, final the
// median of the last three. It fails without three samples after warm-up.
func flatness(vals []int, times []time.Time, warmupEnd time.Time, slack int) (base, final, peak int, ok bool) {
	i := sort.Search(len(times), func(i int) bool { return !times[i].Before(warmupEnd) })
	after := vals[i:]
	if len(after) < 3 {
		return 0, 0, 0, false
	}
	med3 := func(v []int) int { c := slices.Clone(v); slices.Sort(c); return c[1] }
	base, final, peak = med3(after[:3]), med3(after[len(after)-3:]), slices.Max(after)
	tol := max(int(float64(base)*flatTolerance), slack)
	return base, final, peak, final <= base+tol && final >= base-tol
}

// rssJudgedFrom is the shortest run whose RSS is judged: in a shorter one
// the heap is still growing to the collector's goal at the end (in CI's
// one-minute run RSS rose 14% while the live heap stayed flat).
const rssJudgedFrom = 10 * time.Minute

func resourceRows(name string, ss []sample, start, warmupEnd, end time.Time) []row {
	times := make([]time.Time, len(ss))
	for i, s := range ss {
		times[i] = s.T
	}
	var rows []row
	for _, m := range []struct {
		what, unit string
		get        func(sample) int
		slack      int
	}{
		{"RSS", "MiB", func(s sample) int { return s.RSSKiB }, 0},
		// Thread counts are small and Go keeps an OS thread it once
		// needed for a blocking call: 10% or 2, whichever is more.
		{"threads", "", func(s sample) int { return s.Threads }, 2},
		{"open files", "", func(s sample) int { return s.FDs }, 2},
	} {
		vals := make([]int, len(ss))
		for i, s := range ss {
			vals[i] = m.get(s)
		}
		base, final, peak, ok := flatness(vals, times, warmupEnd, m.slack)
		f := func(v int) string { return fmt.Sprint(v) }
		if m.unit == "MiB" {
			f = func(v int) string { return fmt.Sprintf("%.1f MiB", float64(v)/1024) }
		}
		res := fmt.Sprintf("after warm-up %s, at the end %s, peak %s (%d samples)", f(base), f(final), f(peak), len(ss))
		if m.what == "RSS" && end.Sub(start) < rssJudgedFrom {
			ok = true
			res += fmt.Sprintf("; not judged in a run under %v", rssJudgedFrom)
		}
		if len(ss) > 0 && ss[len(ss)-1].T.Before(end.Add(-30*time.Second)) {
			ok = false
			res += "; samples stop at " + clock(ss[len(ss)-1].T) + ": the daemon exited"
		}
		rows = append(rows, row{fmt.Sprintf("daemon %s: %s flat (±10%%)", name, m.what), res, ok})
	}
	return rows
}

func churnRows(d *driveReport) []row {
	total := 0
	kinds := make([]string, 0, len(d.Ops))
	for k, n := range d.Ops {
		total += n
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	slices.Sort(kinds)
	return []row{
		{"churn through UAPI: every set accepted",
			fmt.Sprintf("%d sets (%s), %d failed; slowest set %s", total, strings.Join(kinds, ", "), d.OpFailures, d.SetLatencyMax.Round(time.Millisecond)),
			total > 0 && d.OpFailures == 0},
		{"live peers changed while carrying traffic",
			fmt.Sprintf("%d allowed-IP/endpoint re-sets, %d preshared-key rotations", d.LiveTouches, d.PSKRotations), true},
		{"warren syncconf of 1,000-peer files",
			fmt.Sprintf("%d runs, %d failed", d.SyncConfs, d.SyncConfFailures), d.SyncConfFailures == 0},
		{"configuration read back matches what was set",
			fmt.Sprintf("%d checks of all peers, %d differed", d.Checks, d.Mismatches), d.Checks > 0 && d.Mismatches == 0},
	}
}

// errorLine matches what a daemon log must not contain.
var errorLine = regexp.MustCompile(`^ERROR: |panic: |fatal error: |WARNING: DATA RACE`)

// scanLog counts the error lines of a daemon log and returns the first.
func scanLog(path string) (int, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	n, first := 0, ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if errorLine.MatchString(sc.Text()) {
			if n == 0 {
				first = sc.Text()
			}
			n++
		}
	}
	return n, first, sc.Err()
}

// stopRows reads "NAME STATUS SECONDS" lines: how each daemon ended after
// SIGTERM at the end of the run.
func stopRows(path string) ([]row, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rows []row
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var name string
		var status int
		var secs float64
		if _, err := fmt.Sscan(line, &name, &status, &secs); err != nil {
			return nil, fmt.Errorf("%s: %q: %w", path, line, err)
		}
		res := fmt.Sprintf("exit status %d after %.1f s", status, secs)
		if status < 0 {
			res = fmt.Sprintf("still running %.0f s after SIGTERM (killed)", secs)
		}
		rows = append(rows, row{"daemon " + name + ": stops on SIGTERM within 10 s", res, status == 0 && secs <= 10})
	}
	if len(rows) == 0 {
		return nil, errors.New(path + ": empty")
	}
	return rows, nil
}

// The log lines of the handshake's retransmission (timers.go, handshake.go).
var (
	peerTag     = regexp.MustCompile(`peer\([^)]*\)`)
	sentInit    = "Sending handshake initiation"
	gotResponse = "Received handshake response"
	retrying    = "Handshake did not complete after"
)

// spuriousRetries counts handshake retransmissions (REKEY_TIMEOUT expiring)
// of a peer whose last initiation was answered: the protocol retries only a
// handshake that got no response, so such a retry means the retransmission
// timer was left running after the handshake completed.
func spuriousRetries(path string) (int, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	answered := map[string]bool{}
	n, first := 0, ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		peer := peerTag.FindString(line)
		switch {
		case peer == "":
		case strings.Contains(line, sentInit):
			answered[peer] = false
		case strings.Contains(line, gotResponse):
			answered[peer] = true
		case strings.Contains(line, retrying) && answered[peer]:
			if n == 0 {
				first = line
			}
			n++
		}
	}
	return n, first, sc.Err()
}
