package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/cli"
	"github.com/warren-vpn/warren/internal/testenv"
)

const (
	bashCompletion = "../../dist/completion/warren.bash"
	zshCompletion  = "../../dist/completion/_warren"
)

// complete runs the bash completion for the command line words (the last
// one being completed) with env, and returns what it offers, sorted.
func complete(t *testing.T, env []string, setup string, words ...string) []string {
	t.Helper()
	script := `source "$1"; shift; ` + setup + `
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _warren; printf '%s\n' "${COMPREPLY[@]}"`
	cmd := exec.Command("bash", append([]string{"-c", script, "bash", bashCompletion}, words...)...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("completion of %q: %v\n%s", words, err, out)
	}
	got := strings.Fields(string(out))
	sort.Strings(got)
	return got
}

// TestBashCompletion: the script loads (complete -p warren), offers the
// commands warren lists for Linux, interface names from the UAPI sockets,
// tunnel names from the config directory, and only flags the commands'
// --help texts mention.
func TestBashCompletion(t *testing.T) {
	testenv.RequireTool(t, "bash", "bash")
	out, err := exec.Command("bash", "-c", `source "$1" && complete -p warren`, "bash", bashCompletion).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "complete -F _warren warren" {
		t.Fatalf("complete -p warren: %v, %q", err, out)
	}
	var want []string
	for _, c := range cli.Listed("linux") {
		want = append(want, c.Name)
	}
	want = append(want, "--help", "--version")
	sort.Strings(want)
	if got := complete(t, nil, "", "warren", ""); !slices.Equal(got, want) {
		t.Errorf("commands offered %q, want %q", got, want)
	}
	dir := t.TempDir()
	for _, name := range []string{"wg0", "wgb1"} {
		l, err := net.Listen("unix", filepath.Join(dir, name+".sock"))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
	}
	os.WriteFile(filepath.Join(dir, "notasocket.sock"), nil, 0o600)
	env := []string{"WARREN_SOCKET_DIR=" + dir}
	if got := complete(t, env, "", "warren", "show", ""); !slices.Equal(got, []string{"all", "interfaces", "wg0", "wgb1"}) {
		t.Errorf("warren show: %q", got)
	}
	if got := complete(t, env, "", "warren", "set", "wg"); !slices.Equal(got, []string{"wg0", "wgb1"}) {
		t.Errorf("warren set wg: %q", got)
	}
	if got := complete(t, env, "", "warren", "set", "wg0", "peer", "KEY", "end"); !slices.Equal(got, []string{"endpoint"}) {
		t.Errorf("warren set ... end: %q", got)
	}
	confs := t.TempDir()
	for _, f := range []string{"home.conf", "office.conf", "notes.txt"} {
		os.WriteFile(filepath.Join(confs, f), nil, 0o600)
	}
	work := t.TempDir()
	setup := "_warren_config_dirs=(" + confs + "); cd " + work
	if got := complete(t, nil, setup, "warren", "up", ""); !slices.Equal(got, []string{"home", "office"}) {
		t.Errorf("warren up: %q", got)
	}
	if got := complete(t, nil, setup, "warren", "help", "sh"); !slices.Equal(got, []string{"show", "showconf"}) {
		t.Errorf("warren help sh: %q", got)
	}
	for _, c := range cli.Listed("linux") {
		flags := complete(t, nil, "", "warren", c.Name, "-")
		_, help, _ := runArgs("warren", c.Name, "--help")
		for _, f := range flags {
			// Go's flag package prints -name; the help may write -f/--foreground.
			name := strings.TrimLeft(f, "-")
			if f != "-h" && f != "--help" && f != "--version" && !regexp.MustCompile(`(^|[\s\[,/])--?`+regexp.QuoteMeta(name)+`\b`).MatchString(help) {
				t.Errorf("completion offers %s for warren %s, which its --help does not mention", f, c.Name)
			}
		}
	}
}

// TestZshCompletion: the script parses, compinit binds it to warren, and
// it names exactly the commands warren lists for Linux.
func TestZshCompletion(t *testing.T) {
	testenv.RequireTool(t, "zsh", "zsh")
	if out, err := exec.Command("zsh", "-n", zshCompletion).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	abs, _ := filepath.Abs(filepath.Dir(zshCompletion))
	cmd := exec.Command("zsh", "-fc", `fpath=("$1" $fpath); autoload -Uz compinit; compinit -u -d "$2"; print -r -- ${_comps[warren]}`,
		"zsh", abs, filepath.Join(t.TempDir(), "zcompdump"))
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "_warren" {
		t.Fatalf("compinit: %v, %q", err, out)
	}
	// The completion system's functions, stubbed to print what they are
	// given: the script's own logic runs as in a shell.
	dir := t.TempDir()
	for _, name := range []string{"wg0", "wgz1"} {
		l, err := net.Listen("unix", filepath.Join(dir, name+".sock"))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
	}
	confs := t.TempDir()
	for _, f := range []string{"home.conf", "office.conf", "notes.txt"} {
		os.WriteFile(filepath.Join(confs, f), nil, 0o600)
	}
	stubs := `
compadd() { if [[ $1 == -a ]]; then print -l -- ${(P)2}; else print -l -- "$@"; fi }
_wanted() { shift 3; "$@" }
_describe() { print -l -- ${(P)4%%:*} }
_alternative() { local s; for s in "$@"; do eval "${s#*:*:}"; done }
_files() { print FILES }
_arguments() { print -l -- ARGUMENTS }
_message() { }
_warren_config_dirs=(` + confs + `)
source "$1"
`
	run := func(script string) []string {
		t.Helper()
		cmd := exec.Command("zsh", "-fc", stubs+script, "zsh", zshCompletion)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "WARREN_SOCKET_DIR=" + dir}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("zsh %q: %v\n%s", script, err, out)
		}
		got := strings.Fields(string(out))
		sort.Strings(got)
		return got
	}
	var want []string
	for _, c := range cli.Listed("linux") {
		want = append(want, c.Name)
	}
	sort.Strings(want)
	if got := run(`words=(warren ""); CURRENT=2; _warren`); !slices.Equal(got, want) {
		t.Errorf("commands offered %q, want %q", got, want)
	}
	if got := run(`_warren_interfaces`); !slices.Equal(got, []string{"wg0", "wgz1"}) {
		t.Errorf("interfaces %q", got)
	}
	if got := run(`_warren_configs`); !slices.Equal(got, []string{"FILES", "home", "office"}) {
		t.Errorf("tunnels %q", got)
	}
	if got := run(`words=(warren set wg0 private-key ""); CURRENT=5; _warren`); !slices.Equal(got, []string{"FILES"}) {
		t.Errorf("warren set wg0 private-key: %q", got)
	}
	if got := run(`words=(warren up ""); CURRENT=3; _warren`); !slices.Equal(got, []string{"ARGUMENTS"}) {
		t.Errorf("warren up: %q", got)
	}
}
