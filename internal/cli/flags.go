package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// ParseFlags parses args with fs (whose output it silences) and words its
// errors with the flag as the user wrote it: "unknown flag --bogus", not
// the flag package's "flag provided but not defined: -bogus". -h and
// --help return flag.ErrHelp.
func ParseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return fmt.Errorf("unknown flag %s", written(args, name))
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return fmt.Errorf("flag %s needs an argument", written(args, name))
	}
	if rest, ok := strings.CutPrefix(msg, "invalid value "); ok {
		// invalid value "x" for flag -name: reason
		if i := strings.Index(rest, " for flag -"); i >= 0 {
			after := rest[i+len(" for flag -"):]
			name, reason, _ := strings.Cut(after, ": ")
			return fmt.Errorf("invalid value %s for flag %s: %s", rest[:i], written(args, name), reason)
		}
	}
	return err
}

// written is flag name as args spell it (-name or --name, the first one
// before "--"); --name if args do not hold it.
func written(args []string, name string) string {
	for _, a := range args {
		if a == "--" {
			break
		}
		for _, dashes := range []string{"--", "-"} {
			if a == dashes+name || strings.HasPrefix(a, dashes+name+"=") {
				return dashes + name
			}
		}
	}
	return "--" + name
}

// PrintFlags prints fs's flags for a usage text, as GNU tools spell them:
// "  --name ARG  usage", the usage's lines after the first indented under
// it. ARG is the usage's `quoted` word (flag.UnquoteUsage), none for a
// boolean.
func PrintFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		head := "  --" + f.Name
		if arg != "" {
			head += " " + arg
		}
		lines := strings.Split(usage, "\n")
		fmt.Fprintf(w, "%s\n", head)
		for _, l := range lines {
			fmt.Fprintf(w, "        %s\n", l)
		}
	})
}
