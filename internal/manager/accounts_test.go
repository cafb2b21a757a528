package manager_test

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/warren-vpn/warren/internal/manager"
)

func TestSetup(t *testing.T) {
	f := newFixture(t, nil)
	acc := f.m.Accounts()
	if !acc.NeedsSetup() {
		t.Fatal("a new manager has a password: default credentials")
	}
	if acc.CheckPassword("") || acc.CheckPassword("admin") {
		t.Fatal("a password works before setup")
	}
	secret, err := acc.NewSetupSecret()
	if err != nil {
		t.Fatal(err)
	}
	// 256 random bits, URL-safe.
	if len(secret) < 43 || strings.ContainsAny(secret, "+/=") {
		t.Errorf("setup secret %q: want ≥ 43 URL-safe characters", secret)
	}
	if other, _ := acc.NewSetupSecret(); other == secret {
		t.Error("two setup secrets are equal")
	} else if acc.CheckSetupSecret(secret) {
		t.Error("an earlier setup secret still works")
	} else {
		secret = other
	}
	if err := acc.CompleteSetup(secret+"x", "correct horse battery"); !errors.Is(err, manager.ErrSetup) {
		t.Errorf("wrong secret: %v", err)
	}
	if err := acc.CompleteSetup(secret, "short"); !errors.Is(err, manager.ErrPassword) {
		t.Errorf("short password: %v", err)
	}
	if err := acc.CompleteSetup(secret, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	// Once only.
	if err := acc.CompleteSetup(secret, "another password!"); !errors.Is(err, manager.ErrSetup) {
		t.Errorf("setup link used twice: %v", err)
	}
	if _, err := acc.NewSetupSecret(); !errors.Is(err, manager.ErrSetup) {
		t.Errorf("new setup secret after setup: %v", err)
	}
	if !acc.CheckPassword("correct horse battery") || acc.CheckPassword("correct horse batterY") {
		t.Error("password check wrong")
	}

	// The stored hash is argon2id with its salt and parameters recorded.
	h := acc.AdminHash()
	if h.Algorithm != "argon2id" || h.Version != argon2.Version || len(h.Salt) != 16 || h.Params != *cheap {
		t.Errorf("hash %+v", h)
	}
	want := argon2.IDKey([]byte("correct horse battery"), h.Salt, h.Params.Time, h.Params.Memory, h.Params.Threads, h.Params.KeyLen)
	if subtle.ConstantTimeCompare(want, h.Hash) != 1 {
		t.Error("stored hash is not argon2id(password, salt, params)")
	}
	data, err := os.ReadFile(filepath.Join(f.state, "accounts.json"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("correct horse")) {
		t.Error("the password is in the accounts file")
	}
	fi, _ := os.Stat(filepath.Join(f.state, "accounts.json"))
	if fi.Mode().Perm() != 0o600 && runtime.GOOS != "windows" { // Windows: the folder's DACL (winsvc.EnsurePrivateDir)
		t.Errorf("accounts file mode %v", fi.Mode().Perm())
	}

	// The password survives a restart; a second salt differs.
	f.m.Close()
	m2, err := manager.New(manager.Options{System: f.sys, Store: f.store, StateDir: f.state, Argon2: cheap})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if m2.Accounts().NeedsSetup() || !m2.Accounts().CheckPassword("correct horse battery") {
		t.Error("password lost across a restart")
	}
	if err := m2.Accounts().ChangePassword("wrong", "a new password!"); !errors.Is(err, manager.ErrPassword) {
		t.Errorf("change with a wrong password: %v", err)
	}
	if err := m2.Accounts().ChangePassword("correct horse battery", "a new password!"); err != nil {
		t.Fatal(err)
	}
	if m2.Accounts().CheckPassword("correct horse battery") || !m2.Accounts().CheckPassword("a new password!") {
		t.Error("password not changed")
	}
	if bytes.Equal(m2.Accounts().AdminHash().Salt, h.Salt) {
		t.Error("salt reused")
	}
}

func TestTokens(t *testing.T) {
	f := newFixture(t, nil)
	acc := f.m.Accounts()
	secret, tok, err := acc.CreateToken("ci")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "wrn_") || len(secret) < 40 || tok.Hash != nil {
		t.Errorf("token %q, %+v", secret, tok)
	}
	if got, ok := acc.CheckToken(secret); !ok || got.ID != tok.ID || got.LastUsed.IsZero() {
		t.Errorf("token check: %+v, %v", got, ok)
	}
	for _, bad := range []string{"", secret + "x", secret[:len(secret)-1], "wrn_", strings.ToUpper(secret)} {
		if _, ok := acc.CheckToken(bad); ok {
			t.Errorf("token %q accepted", bad)
		}
	}
	data, _ := os.ReadFile(filepath.Join(f.state, "accounts.json"))
	if bytes.Contains(data, []byte(secret)) || bytes.Contains(data, []byte(secret[4:])) {
		t.Error("the token's secret is stored")
	}
	if list := acc.Tokens(); len(list) != 1 || list[0].Name != "ci" || list[0].Hash != nil {
		t.Errorf("token list %+v", list)
	}
	if _, _, err := acc.CreateToken("bad\nname"); err == nil {
		t.Error("a token name with a newline was accepted")
	}
	if err := acc.RevokeToken(tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := acc.CheckToken(secret); ok {
		t.Error("a revoked token works")
	}
	if err := acc.RevokeToken(tok.ID); !errors.Is(err, manager.ErrNotFound) {
		t.Errorf("revoking twice: %v", err)
	}
}

func TestSetupLinkFile(t *testing.T) {
	f := newFixture(t, nil)
	path, err := f.m.WriteSetupLink("http://127.0.0.1:51821/setup?token=abc")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(path) != f.state {
		t.Errorf("setup link at %s, not in the state directory", path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 && runtime.GOOS != "windows" { // Windows: the folder's DACL
		t.Errorf("setup link mode %v, want 0600", fi.Mode().Perm())
	}
	if err := f.m.RemoveSetupLink(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("setup link still there")
	}
}
