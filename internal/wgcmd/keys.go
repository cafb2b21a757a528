package wgcmd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/warren-vpn/warren/internal/noise"
)

// genkey prints a fresh private key (genkey) or preshared key (genpsk).
func (e *env) genkey(args []string) int {
	if len(args) != 1 {
		fmt.Fprintf(e.stderr, "Usage: %s %s\n", e.prog, args[0])
		return 1
	}
	if worldAccessibleFile(e.stdout) {
		fmt.Fprint(e.stderr, "Warning: writing to world accessible file.\nConsider setting the umask to 077 and trying again.\n")
	}
	var out string
	if args[0] == "genkey" {
		k, err := noise.NewPrivateKey(e.rand)
		if err != nil {
			fmt.Fprintf(e.stderr, "getrandom: %v\n", err)
			return 1
		}
		out = k.Base64()
		k.Zero()
	} else {
		k, err := noise.NewPresharedKey(e.rand)
		if err != nil {
			fmt.Fprintf(e.stderr, "getrandom: %v\n", err)
			return 1
		}
		out = k.Base64()
		k.Zero()
	}
	if _, err := fmt.Fprintln(e.stdout, out); err != nil {
		return 1
	}
	return 0
}

// worldAccessibleFile reports whether w is a regular file others may access,
// where a new key should not go.
func worldAccessibleFile(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || runtime.GOOS == "windows" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o007 != 0
}

// pubkey reads a private key from stdin and prints its public key. Like wg
// it reads exactly one base64 key, then accepts only white space and NULs.
func (e *env) pubkey(args []string) int {
	if len(args) != 1 {
		fmt.Fprintf(e.stderr, "Usage: %s %s\n", e.prog, args[0])
		return 1
	}
	r := bufio.NewReader(e.stdin)
	var b64 [44]byte
	defer clear(b64[:])
	if _, err := io.ReadFull(r, b64[:]); err != nil {
		fmt.Fprintf(e.stderr, "%s: Key is not the correct length or format\n", e.prog)
		return 1
	}
	for {
		c, err := r.ReadByte()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "%s: Key is not the correct length or format\n", e.prog)
			return 1
		}
		if c == 0 || c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' {
			continue
		}
		fmt.Fprintf(e.stderr, "%s: Trailing characters found after key\n", e.prog)
		return 1
	}
	k, err := noise.ParseKey(string(b64[:]))
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: Key is not the correct length or format\n", e.prog)
		return 1
	}
	priv := noise.PrivateKey(k)
	clear(k[:])
	fmt.Fprintln(e.stdout, priv.PublicKey().String())
	priv.Zero()
	return 0
}
