package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReply asks the authority for a time stamp the way osslsigncode does
// (POST of a DER TimeStampReq) and verifies the answer with openssl against
// the authority's root: a granted, signed token over the query's digest.
func TestReply(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("needs openssl")
	}
	dir := t.TempDir()
	a, err := newAuthority(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	defer srv.Close()

	data := filepath.Join(dir, "data")
	query := filepath.Join(dir, "q.tsq")
	if err := os.WriteFile(data, []byte("a signature to time-stamp"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("openssl", "ts", "-query", "-data", data, "-sha256", "-cert", "-out", query).CombinedOutput(); err != nil {
		t.Fatalf("openssl ts -query: %v\n%s", err, out)
	}
	q, _ := os.ReadFile(query)
	resp, err := http.Post(srv.URL, "application/timestamp-query", bytes.NewReader(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/timestamp-reply" {
		t.Fatalf("status %s, content type %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	var reply bytes.Buffer
	reply.ReadFrom(resp.Body)
	rf := filepath.Join(dir, "r.tsr")
	if err := os.WriteFile(rf, reply.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("openssl", "ts", "-verify", "-in", rf, "-queryfile", query,
		"-CAfile", filepath.Join(dir, caCert), "-untrusted", filepath.Join(dir, tsaCert)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verification: OK") {
		t.Fatalf("openssl ts -verify: %v\n%s", err, out)
	}
	text, _ := exec.Command("openssl", "ts", "-reply", "-in", rf, "-text").CombinedOutput()
	for _, want := range []string{"Status: Granted", "Policy OID: " + policyOID} {
		if !strings.Contains(string(text), want) {
			t.Errorf("reply lacks %q:\n%s", want, text)
		}
	}

	// A second authority over the same directory reuses its root.
	before, _ := os.ReadFile(filepath.Join(dir, caCert))
	if _, err := newAuthority(dir); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, caCert))
	if !bytes.Equal(before, after) {
		t.Error("a restart replaced the root")
	}
}

func TestRefusals(t *testing.T) {
	a := &authority{dir: t.TempDir()}
	for _, tc := range []struct {
		method string
		body   string
		want   int
	}{
		{http.MethodGet, "", http.StatusMethodNotAllowed},
		{http.MethodPost, "", http.StatusBadRequest},
		{http.MethodPost, strings.Repeat("x", maxQuery+1), http.StatusBadRequest},
	} {
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, httptest.NewRequest(tc.method, "/", strings.NewReader(tc.body)))
		if rec.Code != tc.want {
			t.Errorf("%s with %d bytes: %d, want %d", tc.method, len(tc.body), rec.Code, tc.want)
		}
	}
}
