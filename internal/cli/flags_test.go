package cli

import (
	"bytes"
	"errors"
	"flag"
	"testing"
)

func TestParseFlagsSaysWhatTheUserWrote(t *testing.T) {
	newFS := func() *flag.FlagSet {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		fs.String("netns", "", "a `NAME`")
		fs.Int("size", 1, "")
		return fs
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, "unknown flag --bogus"},
		{[]string{"-bogus"}, "unknown flag -bogus"},
		{[]string{"--bogus=1"}, "unknown flag --bogus"},
		{[]string{"--netns"}, "flag --netns needs an argument"},
		{[]string{"--size", "big"}, `invalid value "big" for flag --size: parse error`},
		{[]string{"-size=big"}, `invalid value "big" for flag -size: parse error`},
	} {
		err := ParseFlags(newFS(), tc.args)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: %v, want %q", tc.args, err, tc.want)
		}
	}
	for _, h := range []string{"-h", "--help"} {
		if err := ParseFlags(newFS(), []string{h}); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%s: %v, want flag.ErrHelp", h, err)
		}
	}
	if err := ParseFlags(newFS(), []string{"--netns", "a", "rest"}); err != nil {
		t.Errorf("good flags: %v", err)
	}
}

func TestPrintFlags(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.String("netns", "", "create it in `NAME`\nwhich must exist")
	fs.Bool("kill-switch", false, "engage it")
	var b bytes.Buffer
	PrintFlags(&b, fs)
	want := "  --kill-switch\n        engage it\n  --netns NAME\n        create it in NAME\n        which must exist\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
