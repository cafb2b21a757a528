// Command tsa is a throwaway RFC 3161 time-stamping authority for tests of
// the release (scripts/release.sh --self-signed-test, scripts/release-check.sh):
// there is no internet in CI, so osslsigncode's -ts points at this instead
// of a public TSA. It makes a test CA and a TSA certificate (critical
// extendedKeyUsage timeStamping) with openssl in DIR, then answers each
// POSTed time-stamp query by piping it through `openssl ts -reply`.
//
//	go run ./scripts/tsa -dir DIR [-listen 127.0.0.1:0] [-url-file FILE]
//
// Once listening it writes its URL (http://127.0.0.1:PORT/) to FILE, or
// to stdout without -url-file. DIR/ca.crt is the root to verify the time
// stamps with (osslsigncode verify -TSA-CAfile DIR/ca.crt). It runs until
// it is killed. Never use it for a real release.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
)

func main() {
	dir := flag.String("dir", "", "directory for the certificates, keys and openssl's serial file (made if missing)")
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	urlFile := flag.String("url-file", "", "file to write the URL to once listening (default: stdout)")
	flag.Parse()
	if *dir == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: tsa -dir DIR [-listen ADDR] [-url-file FILE]")
		os.Exit(2)
	}
	if err := serve(*dir, *listen, *urlFile); err != nil {
		fmt.Fprintln(os.Stderr, "tsa:", err)
		os.Exit(1)
	}
}

func serve(dir, listen, urlFile string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	a, err := newAuthority(dir)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String() + "/"
	if urlFile == "" {
		fmt.Println(url)
	} else if err := os.WriteFile(urlFile, []byte(url+"\n"), 0o644); err != nil {
		return err
	}
	return http.Serve(ln, a)
}
