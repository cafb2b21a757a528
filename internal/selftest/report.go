package selftest

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Status is a check's outcome.
type Status int

// Outcomes. A skipped check did not run because it does not apply here
// (IPv6 disabled on the host, kill switch not asked for) or because a check
// it needs did not pass; only Fail makes the selftest fail.
const (
	Pass Status = iota + 1
	Fail
	Skip
)

func (s Status) String() string {
	switch s {
	case Pass:
		return "PASS"
	case Fail:
		return "FAIL"
	case Skip:
		return "SKIP"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// Check is one step of the selftest and what came of it.
type Check struct {
	Name   string
	Status Status
	// Detail says what the check saw (Pass) or why it failed or was
	// skipped.
	Detail string
	// Err is the failure (Fail) or the reason for skipping (Skip), for
	// errors.Is; nil on Pass.
	Err  error
	Took time.Duration
}

// Fact is one line about the machine or the tunnel for the report.
type Fact struct {
	Name, Value string
}

// Report is the selftest's outcome: the checks in the order they ran and
// facts about the machine.
type Report struct {
	Checks []Check
	Facts  []Fact
	// Interrupted says the run was cut short (Ctrl-C); the checks not run
	// are skipped, and the cleanup still ran.
	Interrupted bool
}

// OK reports whether no check failed and the run was not interrupted.
func (r *Report) OK() bool {
	if r.Interrupted {
		return false
	}
	for _, c := range r.Checks {
		if c.Status == Fail {
			return false
		}
	}
	return true
}

// Check returns the check called name, or nil.
func (r *Report) Check(name string) *Check {
	for i := range r.Checks {
		if r.Checks[i].Name == name {
			return &r.Checks[i]
		}
	}
	return nil
}

// Fact returns the value of the fact called name, or "".
func (r *Report) Fact(name string) string {
	for _, f := range r.Facts {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

func (r *Report) fact(name, format string, args ...any) {
	v := fmt.Sprintf(format, args...)
	for i := range r.Facts {
		if r.Facts[i].Name == name {
			r.Facts[i].Value = v
			return
		}
	}
	r.Facts = append(r.Facts, Fact{Name: name, Value: v})
}

// header opens the report.
const header = "warren selftest: a throwaway WireGuard tunnel from this machine's network stack,\n" +
	"through a real adapter, to a warren peer inside this process (loopback UDP)\n\n"

// nameWidth aligns the check and fact columns.
const nameWidth = 26

// writeCheck writes one check's line, continuation lines indented.
func writeCheck(w io.Writer, c Check) {
	detail := strings.ReplaceAll(strings.TrimSpace(c.Detail), "\n", "\n"+strings.Repeat(" ", nameWidth+9))
	took := ""
	if c.Status != Skip && c.Took >= time.Millisecond {
		took = fmt.Sprintf(" (%v)", c.Took.Round(time.Millisecond))
	}
	fmt.Fprintf(w, "  %s  %-*s %s%s\n", c.Status, nameWidth, c.Name, detail, took)
}

// writeTail writes the facts and the verdict.
func (r *Report) writeTail(w io.Writer) {
	fmt.Fprintf(w, "\nAbout this machine and the test tunnel:\n")
	for _, f := range r.Facts {
		v := strings.ReplaceAll(f.Value, "\n", "\n"+strings.Repeat(" ", nameWidth+3))
		fmt.Fprintf(w, "  %-*s %s\n", nameWidth, f.Name, v)
	}
	var failed, skipped []string
	for _, c := range r.Checks {
		switch c.Status {
		case Fail:
			failed = append(failed, c.Name)
		case Skip:
			skipped = append(skipped, c.Name)
		}
	}
	fmt.Fprintln(w)
	switch {
	case r.Interrupted:
		fmt.Fprintf(w, "Result: INTERRUPTED after %d checks; everything the test made was removed.\n", len(r.Checks)-len(skipped))
	case len(failed) > 0:
		fmt.Fprintf(w, "Result: FAILED: %d of %d checks failed: %s.\n", len(failed), len(r.Checks), strings.Join(failed, ", "))
	default:
		fmt.Fprintf(w, "Result: all %d checks that ran passed", len(r.Checks)-len(skipped))
		if len(skipped) > 0 {
			fmt.Fprintf(w, " (%d skipped: %s)", len(skipped), strings.Join(skipped, ", "))
		}
		fmt.Fprintln(w, ".")
	}
}

// WriteTo writes the report as text: the checks, the facts, the verdict.
// Nothing in it is secret (the keys are throwaway and never printed).
func (r *Report) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	io.WriteString(cw, header)
	for _, c := range r.Checks {
		writeCheck(cw, c)
	}
	r.writeTail(cw)
	return cw.n, cw.err
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}
