package manager_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warren-vpn/warren/internal/manager"
)

func TestOperatorAccounts(t *testing.T) {
	f := newFixture(t, nil)
	acc := f.m.Accounts()
	op, err := f.m.CreateOperator(`OFFICE\alice`, "operator password 1")
	if err != nil {
		t.Fatal(err)
	}
	if op.Name != `OFFICE\alice` || op.Created.IsZero() || op.Hash != nil {
		t.Errorf("created %+v", op)
	}
	for _, tt := range []struct{ name, password string }{
		{"", "operator password 1"},
		{" bob", "operator password 1"},
		{"bob\x00", "operator password 1"},
		{"a/b", "operator password 1"},
		{`a\b\c`, "operator password 1"},
		{`\bob`, "operator password 1"},
		{strings.Repeat("x", 65), "operator password 1"},
		{"office\\ALICE", "operator password 1"}, // taken, whatever the case
		{"bob", "short"},
	} {
		if _, err := f.m.CreateOperator(tt.name, tt.password); !errors.Is(err, manager.ErrOperator) && !errors.Is(err, manager.ErrPassword) {
			t.Errorf("CreateOperator(%q, %q) = %v, want ErrOperator or ErrPassword", tt.name, tt.password, err)
		}
	}
	if ops := acc.Operators(); len(ops) != 1 || ops[0].Hash != nil {
		t.Errorf("Operators = %+v", ops)
	}
	// Login by name, any case; the stored name comes back.
	if got, ok := acc.CheckOperator(`office\Alice`, "operator password 1"); !ok || got.Name != `OFFICE\alice` || got.Hash != nil {
		t.Errorf("CheckOperator = %+v, %v", got, ok)
	}
	for _, tt := range []struct{ name, password string }{
		{`OFFICE\alice`, "wrong password"},
		{`OFFICE\alice`, ""},
		{"nobody", "operator password 1"},
		{"", ""},
	} {
		if _, ok := acc.CheckOperator(tt.name, tt.password); ok {
			t.Errorf("CheckOperator(%q, %q) let in", tt.name, tt.password)
		}
	}
	// An operator's password is no administrator's, and the other way.
	if acc.CheckPassword("operator password 1") {
		t.Error("the operator's password works for the administrator")
	}
	data, _ := os.ReadFile(filepath.Join(f.state, "accounts.json"))
	if strings.Contains(string(data), "operator password") || !strings.Contains(string(data), `"argon2id"`) {
		t.Errorf("accounts file holds %s", data)
	}

	// The administrator resets it.
	if err := acc.SetOperatorPassword(`office\alice`, "operator password 2"); err != nil {
		t.Fatal(err)
	}
	if _, ok := acc.CheckOperator(`OFFICE\alice`, "operator password 1"); ok {
		t.Error("the old password still works")
	}
	if err := acc.SetOperatorPassword("nobody", "operator password 2"); !errors.Is(err, manager.ErrNotFound) {
		t.Errorf("reset of nobody: %v", err)
	}
	// It survives a restart.
	f.m.Close()
	m2, err := manager.New(manager.Options{System: f.sys, Store: f.store, StateDir: f.state, Argon2: cheap})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if _, err := m2.OperatorLogin(`OFFICE\alice`, "operator password 2"); err != nil {
		t.Errorf("after a restart: %v", err)
	}
	if _, err := m2.OperatorLogin(`OFFICE\alice`, "operator password 1"); !errors.Is(err, manager.ErrPassword) {
		t.Errorf("wrong password: %v", err)
	}
	if err := m2.Accounts().DeleteOperator(`OFFICE\ALICE`); err != nil {
		t.Fatal(err)
	}
	if err := m2.Accounts().DeleteOperator(`OFFICE\alice`); !errors.Is(err, manager.ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
	if _, err := m2.OperatorLogin(`OFFICE\alice`, "operator password 2"); err == nil {
		t.Error("a deleted operator logged in")
	}
}

// Where the System says who may be an operator (Windows: members of
// Network Configuration Operators or Administrators), an account outside
// those groups cannot be made one, and one removed from them cannot log
// in any more.
func TestOperatorGroupMembership(t *testing.T) {
	groups := map[string][]string{
		"alice": {"S-1-5-32-545", "S-1-5-32-556"}, // Users, Network Configuration Operators
		"root":  {"S-1-5-32-544"},                 // Administrators
		"bob":   {"S-1-5-32-545"},                 // Users only
	}
	f := newServiceFixture(t, func(s *manager.ServiceSystem) {
		s.OperatorGroups = func(account string) ([]string, error) {
			g, ok := groups[strings.ToLower(account)]
			if !ok {
				return nil, errors.New("no such account")
			}
			return g, nil
		}
	}, nil)
	for _, name := range []string{"alice", "root"} {
		if _, err := f.m.CreateOperator(name, "operator password 1"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, name := range []string{"bob", "carol"} {
		_, err := f.m.CreateOperator(name, "operator password 1")
		if !errors.Is(err, manager.ErrOperator) {
			t.Errorf("%s: %v, want ErrOperator", name, err)
		}
	}
	if _, err := f.m.CreateOperator("bob", "operator password 1"); err == nil || !strings.Contains(err.Error(), "Network Configuration Operators") {
		t.Errorf("refusal says %v", err)
	}
	if _, err := f.m.OperatorLogin("alice", "operator password 1"); err != nil {
		t.Fatal(err)
	}
	groups["alice"] = []string{"S-1-5-32-545"}
	if _, err := f.m.OperatorLogin("alice", "operator password 1"); !errors.Is(err, manager.ErrOperator) {
		t.Errorf("login after leaving the group: %v", err)
	}
}
