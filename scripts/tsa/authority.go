package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Files an authority keeps in its directory.
const (
	caCert   = "ca.crt"
	caKey    = "ca.key"
	tsaCert  = "tsa.crt"
	tsaKey   = "tsa.key"
	config   = "tsa.cnf"
	serial   = "serial"
	maxQuery = 64 << 10
)

// policyOID is the policy the test TSA names in its tokens (an arbitrary
// test arc: nobody else issues time stamps under it).
const policyOID = "1.3.6.1.4.1.55555.1.1"

// authority answers RFC 3161 queries with `openssl ts -reply`. Requests
// run one at a time (openssl keeps the serial number in a file).
type authority struct {
	dir string
	mu  sync.Mutex
}

// newAuthority makes the CA, the TSA certificate and openssl's
// configuration in dir unless they are there already.
func newAuthority(dir string) (*authority, error) {
	a := &authority{dir: dir}
	if _, err := os.Stat(a.path(tsaCert)); err == nil {
		return a, nil
	}
	steps := [][]string{
		{"req", "-x509", "-newkey", "rsa:3072", "-nodes", "-sha256", "-days", "30",
			"-subj", "/CN=warren test time-stamping root (throwaway)",
			"-addext", "basicConstraints=critical,CA:TRUE",
			"-addext", "keyUsage=critical,keyCertSign,cRLSign",
			"-keyout", a.path(caKey), "-out", a.path(caCert)},
		{"req", "-new", "-newkey", "rsa:3072", "-nodes", "-sha256",
			"-subj", "/CN=warren test time-stamping authority (throwaway)",
			"-keyout", a.path(tsaKey), "-out", a.path("tsa.csr")},
		{"x509", "-req", "-in", a.path("tsa.csr"), "-CA", a.path(caCert), "-CAkey", a.path(caKey),
			"-set_serial", "2", "-days", "30", "-sha256", "-extfile", a.path("tsa.ext"), "-out", a.path(tsaCert)},
	}
	ext := "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n"
	if err := os.WriteFile(a.path("tsa.ext"), []byte(ext), 0o600); err != nil {
		return nil, err
	}
	for _, args := range steps {
		if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("openssl %s: %w\n%s", args[0], err, out)
		}
	}
	cnf := fmt.Sprintf(`[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
serial = %s
crypto_device = builtin
signer_cert = %s
certs = %s
signer_key = %s
signer_digest = sha256
default_policy = %s
digests = sha1, sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
`, a.path(serial), a.path(tsaCert), a.path(caCert), a.path(tsaKey), policyOID)
	if err := os.WriteFile(a.path(config), []byte(cnf), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(a.path(serial), []byte("01\n"), 0o600); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *authority) path(name string) string { return filepath.Join(a.dir, name) }

// ServeHTTP answers a POSTed TimeStampReq with a TimeStampResp.
func (a *authority) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST an RFC 3161 time-stamp query", http.StatusMethodNotAllowed)
		return
	}
	query, err := io.ReadAll(io.LimitReader(r.Body, maxQuery+1))
	if err != nil || len(query) == 0 || len(query) > maxQuery {
		http.Error(w, "bad or oversized query", http.StatusBadRequest)
		return
	}
	reply, err := a.reply(query)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tsa:", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Write(reply)
}

// reply runs `openssl ts -reply` on one query.
func (a *authority) reply(query []byte) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	q := a.path("query.tsq")
	if err := os.WriteFile(q, query, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command("openssl", "ts", "-reply", "-config", a.path(config), "-queryfile", q)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("openssl ts -reply: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
