package quick

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/uapi"
)

// Errors the commands return, matchable with errors.Is.
var (
	// ErrUnsupported: up, down and save exist only on Linux for now.
	ErrUnsupported = errors.New("only supported on Linux for now")
	// ErrNoConfig: the configuration file does not exist.
	ErrNoConfig = errors.New("does not exist")
	// ErrBadName: the file name is not an interface name followed by .conf.
	ErrBadName = errors.New("the config file must be a valid interface name, followed by .conf")
	// ErrExists: up found the interface already there.
	ErrExists = errors.New("already exists")
	// ErrNotWireGuard: down or save found no WireGuard interface by that name.
	ErrNotWireGuard = errors.New("not a WireGuard interface")
	// ErrHook: a PreUp, PostUp, PreDown or PostDown command failed.
	ErrHook = errors.New("hook failed")
	// ErrHookSource: the configuration has hook commands but others could
	// have written them (see checkHookSource).
	ErrHookSource = errors.New("hook commands refused")
	// ErrDaemon: the userspace device could not be started or reached.
	ErrDaemon = errors.New("userspace device failed")
	// ErrInterrupted: a signal stopped up, which then rolled back.
	ErrInterrupted = errors.New("interrupted")
	// ErrNotRoot: the command needs root.
	ErrNotRoot = errors.New("must be run as root")
)

// defaultSearchPaths are the directories a bare interface name is looked
// up in, as wg-quick's CONFIG_SEARCH_PATHS.
func defaultSearchPaths() []string { return []string{"/etc/wireguard", "/usr/local/etc/wireguard"} }

// ifaceName is wg-quick's pattern for an interface name usable as a file name.
var ifaceName = regexp.MustCompile(`^[a-zA-Z0-9_=+.-]{1,15}$`)

// confName extracts the interface name from a configuration file's name.
var confName = regexp.MustCompile(`^([a-zA-Z0-9_=+.-]{1,15})\.conf$`)

// config is a loaded configuration: where it came from and what it says.
type config struct {
	Path      string // absolute, symlinks resolved
	Interface string
	File      *conf.File
}

// env is what a command runs with: its name for messages, its output and
// its environment.
type env struct {
	prog           string
	stdout, stderr io.Writer
	getenv         func(string) string
	searchPaths    []string
	// geteuid is os.Geteuid, or a test's.
	geteuid func() int
}

// warnf prints a warning to stderr.
func (e *env) warnf(format string, args ...any) {
	fmt.Fprintf(e.stderr, format+"\n", args...)
}

func usage(w io.Writer, prog string) {
	fmt.Fprintf(w, `Usage: %s [ up | down | save | strip ] [ CONFIG_FILE | INTERFACE ]

  CONFIG_FILE is a configuration file whose name is the interface name
  followed by .conf. Otherwise INTERFACE is an interface name whose
  configuration is /etc/wireguard/INTERFACE.conf. The file is in wg(8)'s
  setconf format, plus these [Interface] keys handled here:
    Address    one or more IPs with prefix lengths, added to the interface
    DNS        DNS servers and search domains, set while the tunnel is up
    MTU        the interface MTU (automatic when absent)
    Table      routing table for the AllowedIPs routes: off, auto (default)
               or a table number or name
    PreUp, PostUp, PreDown, PostDown
               bash commands run around bringing the tunnel up and down;
               %%i is replaced by the interface name
    SaveConfig true to write the running configuration back at down

  up and down bring the tunnel up and down; save writes the running
  configuration back to the file; strip prints the file with the keys above
  removed, for wg setconf, keeping everything else (comments included) as
  it is. up, down and save must be run as root.
`, prog)
}

// errPrefix is what a command's errors start with: "wg-quick: ", as
// wg-quick's, or "warren up: " for prog "warren" and cmd "up".
func errPrefix(prog, cmd string) string {
	if prog == "wg-quick" || cmd == "" {
		return prog + ": "
	}
	return prog + " " + cmd + ": "
}

// Main runs the wg-quick command set. args holds the command and its
// operand ("up", "wg0"); prog names the program in messages ("wg-quick",
// "warren"). It returns the exit code.
func Main(prog string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return newEnv(prog, stdout, stderr).main(args)
}

func newEnv(prog string, stdout, stderr io.Writer) *env {
	return &env{prog: prog, stdout: stdout, stderr: stderr, getenv: os.Getenv, searchPaths: defaultSearchPaths(), geteuid: os.Geteuid}
}

// main is Main in e.
func (e *env) main(args []string) int {
	prog, stdout, stderr := e.prog, e.stdout, e.stderr
	isHelp := func(s string) bool { return s == "--help" || s == "-h" }
	if len(args) == 1 && (isHelp(args[0]) || args[0] == "help") || len(args) == 2 && isHelp(args[1]) {
		usage(stdout, prog)
		return 0
	}
	if len(args) == 5 && args[0] == "up" && args[1] == ReresolveArg {
		secs, err := strconv.Atoi(args[4])
		if err != nil || secs <= 0 {
			usage(stderr, prog)
			return 1
		}
		if err := e.watch(args[2], args[3], time.Duration(secs)*time.Second); err != nil {
			fmt.Fprintf(stderr, "%s%v\n", errPrefix(prog, "up"), err)
			return 1
		}
		return 0
	}
	cmd := ""
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "up", "down", "save", "strip":
	default:
		usage(stderr, prog)
		return 1
	}
	if len(args) != 2 {
		what := "expects a CONFIG_FILE or INTERFACE"
		if len(args) > 2 {
			what = fmt.Sprintf("expects one CONFIG_FILE or INTERFACE, not %d arguments", len(args)-1)
		}
		fmt.Fprintf(stderr, "%s%s\n\n", errPrefix(prog, cmd), what)
		usage(stderr, prog)
		return 1
	}
	if err := e.run(cmd, args[1]); err != nil {
		fmt.Fprintf(stderr, "%s%v\n", errPrefix(prog, cmd), err)
		return 1
	}
	return 0
}

func (e *env) run(cmd, operand string) error {
	if cmd != "strip" && e.geteuid() != 0 {
		return ErrNotRoot
	}
	if cmd == "strip" {
		return e.strip(operand)
	}
	c, err := e.load(operand)
	if err != nil {
		return err
	}
	switch cmd {
	case "up":
		return e.up(c)
	case "down":
		return e.down(c)
	default:
		return e.save(c)
	}
}

// strip prints the configuration named by operand without wg-quick's keys,
// as wg-quick strip does (conf.StripChecked), once it has been checked as
// up would check it.
func (e *env) strip(operand string) error {
	var out []byte
	_, err := e.loadWith(operand, func(path string, data []byte) (err error) {
		out, err = conf.StripChecked(path, data)
		return err
	})
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(out)
	clear(out)
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// load finds, checks and parses the configuration named by operand, as
// wg-quick's parse_options: a bare interface name is looked up in the
// search paths; the file's name gives the interface's.
func (e *env) load(operand string) (*config, error) {
	return e.loadWith(operand, nil)
}

// loadWith is load; use, if not nil, also gets the file's path and text
// once it parsed (the text is cleared afterwards: it holds the key).
func (e *env) loadWith(operand string, use func(path string, data []byte) error) (*config, error) {
	path := operand
	if ifaceName.MatchString(operand) && len(e.searchPaths) > 0 {
		// Unlike wg-quick, a file of that name here (wg0.conf) is taken
		// when the search paths have none.
		if _, err := os.Stat(operand); err != nil {
			path = filepath.Join(e.searchPaths[0], operand+".conf")
		}
		for _, dir := range e.searchPaths {
			p := filepath.Join(dir, operand+".conf")
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			}
		}
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("`%s' %w", path, ErrNoConfig)
	}
	m := confName.FindStringSubmatch(filepath.Base(path))
	if m == nil {
		return nil, fmt.Errorf("`%s': %w", path, ErrBadName)
	}
	// wg-quick's pattern lets "." (from "..conf") and "-x" through: the
	// first is no interface name, the second reads as an option to ip,
	// resolvconf and resolvectl.
	if err := uapi.ValidName(m[1]); err != nil {
		return nil, fmt.Errorf("`%s': %w: %w", path, ErrBadName, err)
	}
	iface := m[1]
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("resolve path %s: %w", path, err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	if w := conf.CheckPermissions(abs); w != "" {
		e.warnf("%s", w)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	defer clear(data)
	f, err := conf.Parse(abs, data, conf.Options{Quick: true, Warn: func(msg string) { e.warnf("%s", msg) }})
	if err != nil {
		return nil, err
	}
	if use != nil {
		if err := use(abs, data); err != nil {
			return nil, err
		}
	}
	return &config{Path: abs, Interface: iface, File: f}, nil
}
