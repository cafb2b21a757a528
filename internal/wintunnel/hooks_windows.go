//go:build windows

package wintunnel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/windows"
)

// Hook commands' limits.
const (
	// HookTimeout bounds each PreUp/PostUp/PreDown/PostDown command; at
	// the limit the command and every process it started are ended.
	HookTimeout = 2 * time.Minute
	// hookLineMax bounds each line of a command's output in the log; the
	// rest of a longer line is dropped.
	hookLineMax = 400
	// hookOutputGrace is how long a command's output is still read after
	// it exits, while a process it started in the background keeps the
	// output open.
	hookOutputGrace = 2 * time.Second
)

// ErrHookFailed is wrapped when a hook command exits with a non-zero code,
// cannot start, or runs out of time.
var ErrHookFailed = errors.New("hook command failed")

// hookRunner runs a tunnel's hook commands.
type hookRunner struct {
	tunnel  string
	timeout time.Duration
	// output receives each line the commands print (stdout and stderr,
	// in the order printed), prefixed with the stage ("PostUp: ...").
	output func(line string)
}

// hooks runs the commands of stage (PreUp, PostUp, PreDown, PostDown) in
// order; the first failure stops the rest. Their output goes to the
// engine's log (Logger.Verbosef), each line tagged with the stage.
func (s *ServiceTunnel) hooks(stage string, cmds []string) error {
	out := func(string) {}
	if s.opts.Logger != nil && s.opts.Logger.Verbosef != nil {
		verbosef := s.opts.Logger.Verbosef
		out = func(line string) { verbosef("%s", line) }
	}
	return hookRunner{tunnel: s.name, timeout: HookTimeout, output: out}.run(stage, cmds)
}

func (h hookRunner) run(stage string, cmds []string) error {
	for i, c := range cmds {
		if err := h.runOne(stage, c); err != nil {
			where := stage
			if len(cmds) > 1 {
				where = fmt.Sprintf("%s command %d of %d", stage, i+1, len(cmds))
			}
			return fmt.Errorf("tunnel %s: %s: %w", h.tunnel, where, err)
		}
	}
	return nil
}

// runOne runs one command, as SYSTEM:
//
//   - cmd.exe is the one in the system directory (GetSystemDirectory), never
//     one found through the working directory or PATH (as WireGuard for
//     Windows does);
//   - the command line is given raw (SysProcAttr.CmdLine) as
//     `cmd.exe /d /s /c "COMMAND"`: /d skips the AutoRun commands of the
//     registry (the reference does not), and /s makes cmd.exe strip exactly
//     the outer quotes we add, so COMMAND reaches it byte for byte, whatever
//     quotes it starts or ends with (Go's argument quoting turns " into \",
//     which cmd.exe does not understand);
//   - WIREGUARD_TUNNEL_NAME holds the tunnel's name, as in the reference;
//   - no console window; stdin is the null device;
//   - stdout and stderr go, a line at a time, to the log;
//   - it runs in a job object, so that at the time limit the command and
//     everything it started are ended (the reference waits forever).
func (h hookRunner) runOne(stage, command string) error {
	h.output(fmt.Sprintf("%s: running: %s", stage, command))
	sys, err := windows.GetSystemDirectory()
	if err != nil {
		return fmt.Errorf("%w: find the system directory: %v", ErrHookFailed, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(sys, "cmd.exe"))
	cmd.SysProcAttr = &syscall.SysProcAttr{
		CmdLine:       `cmd.exe /d /s /c "` + command + `"`,
		HideWindow:    true,
		CreationFlags: windows.CREATE_NO_WINDOW,
	}
	cmd.Env = append(os.Environ(), "WIREGUARD_TUNNEL_NAME="+h.tunnel)
	lw := &hookLines{emit: func(l string) { h.output(stage + ": " + l) }}
	cmd.Stdout, cmd.Stderr = lw, lw // one pipe: lines stay in order
	cmd.WaitDelay = hookOutputGrace

	job, jobErr := newKillJob()
	if jobErr == nil {
		defer windows.CloseHandle(job)
		cmd.Cancel = func() error {
			// End the whole tree; then cmd.exe itself, in case it escaped.
			windows.TerminateJobObject(job, 1)
			if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
				return err
			}
			return nil
		}
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: start %s: %v", ErrHookFailed, cmd.Path, err)
	}
	if jobErr == nil {
		jobErr = assignToJob(job, cmd.Process.Pid)
	}
	if jobErr != nil {
		h.output(fmt.Sprintf("%s: note: processes the command starts are not ended at the time limit: %v", stage, jobErr))
	}
	err = cmd.Wait()
	lw.flush()
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil && jobErr == nil:
		return fmt.Errorf("%w: no exit after %v; ended it and the processes it started", ErrHookFailed, h.timeout)
	case ctx.Err() != nil:
		return fmt.Errorf("%w: no exit after %v; ended cmd.exe", ErrHookFailed, h.timeout)
	case cmd.ProcessState == nil:
		return fmt.Errorf("%w: %v", ErrHookFailed, err)
	case !cmd.ProcessState.Success():
		return fmt.Errorf("%w: exit code %d", ErrHookFailed, cmd.ProcessState.ExitCode())
	}
	// It exited with 0, which is what counts, but a process it left
	// running holds its output open (exec.ErrWaitDelay).
	h.output(fmt.Sprintf("%s: a process the command started still holds its output, which is no longer logged", stage))
	return nil
}

// newKillJob makes a job object for one command. It has no
// kill-on-close limit: what the command started in the background on
// purpose (`start ...`) survives when the command ends in time.
func newKillJob() (windows.Handle, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, fmt.Errorf("CreateJobObject: %w", err)
	}
	return job, nil
}

// assignToJob puts process pid in job. Processes cmd.exe starts from then
// on are in the job too; cmd.exe has not read its command line by the
// time this runs in practice, though nothing guarantees it.
func assignToJob(job windows.Handle, pid int) error {
	p, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		return fmt.Errorf("OpenProcess: %w", err)
	}
	defer windows.CloseHandle(p)
	if err := windows.AssignProcessToJobObject(job, p); err != nil {
		return fmt.Errorf("AssignProcessToJobObject: %w", err)
	}
	return nil
}

// hookLines splits a command's output into lines for the log: carriage
// returns and trailing blanks dropped, blank lines skipped, each line cut
// at hookLineMax bytes (the rest of a longer line is dropped, so a command
// printing without newlines cannot grow the buffer). exec.Cmd calls Write
// from one goroutine at a time when Stdout and Stderr are the same writer.
type hookLines struct {
	emit      func(string)
	buf       []byte
	truncated bool // the current line was cut; drop until its newline
}

func (w *hookLines) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if !w.truncated {
			room := hookLineMax - len(w.buf)
			if len(chunk) > room {
				w.buf = append(w.buf, chunk[:room]...)
				w.line(true)
				w.truncated = true
			} else {
				w.buf = append(w.buf, chunk...)
			}
		}
		if i < 0 {
			break
		}
		if !w.truncated {
			w.line(false)
		}
		w.truncated = false
		p = p[i+1:]
	}
	return n, nil
}

// flush emits a last line without a newline.
func (w *hookLines) flush() {
	if !w.truncated && len(w.buf) > 0 {
		w.line(false)
	}
	w.truncated = false
}

func (w *hookLines) line(cut bool) {
	b := w.buf
	if cut {
		// Cut at a rune boundary and say so.
		for j := len(b) - 1; j >= 0 && j >= len(b)-utf8.UTFMax; j-- {
			if utf8.RuneStart(b[j]) {
				if !utf8.FullRune(b[j:]) {
					b = b[:j]
				}
				break
			}
		}
	}
	s := strings.TrimRight(string(b), " \t\r")
	if cut {
		s += " [...]"
	}
	if s != "" {
		w.emit(s)
	}
	w.buf = w.buf[:0]
}
