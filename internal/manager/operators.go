package manager

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Operators are the limited accounts: an operator may see the tunnels
// (without keys) and activate and deactivate them, and nothing else (the
// web UI enforces what each role may do). The administrator creates them;
// each has its own argon2id password, kept with the administrator's in
// the accounts file. On Windows an operator account is for a member of
// Network Configuration Operators (or Administrators), checked when the
// account is made and at every login (see OperatorChecker): the group
// that may start and stop tunnel services and read none of their keys.

// Operator is an operator account.
type Operator struct {
	// Name is how the operator logs in; on Windows the Windows account
	// (NAME or DOMAIN\NAME). Names are unique regardless of case.
	Name    string        `json:"name"`
	Created time.Time     `json:"created"`
	Hash    *PasswordHash `json:"hash,omitempty"`
}

// maxOperators bounds the number of operator accounts.
const maxOperators = 100

// ErrOperator: the operator name is unacceptable, taken, or the account
// may not be an operator (on Windows: not in Network Configuration
// Operators).
var ErrOperator = errors.New("operator account refused")

// OperatorChecker is a System that says who may hold an operator account
// (Windows: members of Network Configuration Operators or
// Administrators). The manager asks it when an account is created and at
// every login.
type OperatorChecker interface {
	CheckOperator(account string) error
}

// checkOperatorName refuses names that are empty, too long, not printable
// text, or hold characters no Windows account name has (a backslash may
// separate a domain).
func checkOperatorName(name string) error {
	switch {
	case name == "" || name != strings.TrimSpace(name):
		return fmt.Errorf("%w: a name of 1 to 64 characters, without leading or trailing spaces", ErrOperator)
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > 64:
		return fmt.Errorf("%w: a name of 1 to 64 characters", ErrOperator)
	case strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }):
		return fmt.Errorf("%w: the name holds a control or formatting character", ErrOperator)
	case strings.ContainsAny(name, `"/[]:;|=,+*?<>`):
		return fmt.Errorf("%w: the name holds one of \" / [ ] : ; | = , + * ? < >", ErrOperator)
	case strings.Count(name, `\`) > 1 || strings.HasPrefix(name, `\`) || strings.HasSuffix(name, `\`):
		return fmt.Errorf("%w: at most one backslash, between a domain and a name", ErrOperator)
	}
	return nil
}

// Operators lists the operator accounts, without their hashes, oldest
// first.
func (a *Accounts) Operators() []Operator {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := slices.Clone(a.state.Operators)
	for i := range out {
		out[i].Hash = nil
	}
	return out
}

func (a *Accounts) operatorIndexLocked(name string) int {
	return slices.IndexFunc(a.state.Operators, func(o Operator) bool { return strings.EqualFold(o.Name, name) })
}

// CreateOperator makes an operator account. Use Manager.CreateOperator,
// which also asks the System whether the account may be one.
func (a *Accounts) CreateOperator(name, password string) (Operator, error) {
	if err := checkOperatorName(name); err != nil {
		return Operator{}, err
	}
	if err := checkNewPassword(password); err != nil {
		return Operator{}, err
	}
	hash, err := a.hash(password)
	if err != nil {
		return Operator{}, err
	}
	op := Operator{Name: name, Created: a.now().UTC(), Hash: hash}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.operatorIndexLocked(name) >= 0 {
		return Operator{}, fmt.Errorf("%w: an operator named %s exists", ErrOperator, name)
	}
	if len(a.state.Operators) >= maxOperators {
		return Operator{}, fmt.Errorf("%w: at most %d operators; delete one first", ErrOperator, maxOperators)
	}
	a.state.Operators = append(a.state.Operators, op)
	if err := a.saveLocked(); err != nil {
		a.state.Operators = a.state.Operators[:len(a.state.Operators)-1]
		return Operator{}, err
	}
	op.Hash = nil
	return op, nil
}

// SetOperatorPassword gives an operator a new password (the
// administrator's reset).
func (a *Accounts) SetOperatorPassword(name, password string) error {
	if err := checkNewPassword(password); err != nil {
		return err
	}
	hash, err := a.hash(password)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	i := a.operatorIndexLocked(name)
	if i < 0 {
		return fmt.Errorf("operator %s: %w", name, ErrNotFound)
	}
	prev := a.state.Operators[i].Hash
	a.state.Operators[i].Hash = hash
	if err := a.saveLocked(); err != nil {
		a.state.Operators[i].Hash = prev
		return err
	}
	return nil
}

// DeleteOperator removes an operator account; ErrNotFound if none.
func (a *Accounts) DeleteOperator(name string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := a.operatorIndexLocked(name)
	if i < 0 {
		return fmt.Errorf("operator %s: %w", name, ErrNotFound)
	}
	prev := slices.Clone(a.state.Operators)
	a.state.Operators = slices.Delete(a.state.Operators, i, i+1)
	if err := a.saveLocked(); err != nil {
		a.state.Operators = prev
		return err
	}
	return nil
}

// dummyHash is checked against when a login names no operator, so that
// the time taken does not tell which names exist.
var dummyHash = PasswordHash{Algorithm: "argon2id", Version: argon2.Version, Salt: make([]byte, 16), Hash: make([]byte, 32)}

// CheckOperator returns the operator account name and password log in to
// (its Name as stored). It takes as long as one argon2id hash whether or
// not the name exists: callers rate-limit it.
func (a *Accounts) CheckOperator(name, password string) (Operator, bool) {
	a.mu.Lock()
	var op Operator
	h := &dummyHash
	if i := a.operatorIndexLocked(name); i >= 0 {
		op = a.state.Operators[i]
		if op.Hash != nil && op.Hash.Algorithm == "argon2id" && op.Hash.Version == argon2.Version && len(op.Hash.Salt) >= 16 && len(op.Hash.Hash) >= 16 {
			h = op.Hash
		}
	}
	params := a.params
	a.mu.Unlock()
	if len(password) > maxPasswordLen {
		return Operator{}, false
	}
	p := h.Params
	if h == &dummyHash {
		p = params
	}
	got := argon2.IDKey([]byte(password), h.Salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	if h == &dummyHash || subtle.ConstantTimeCompare(got, h.Hash) != 1 {
		return Operator{}, false
	}
	op.Hash = nil
	return op, true
}

// CreateOperator makes an operator account for name, if the System lets
// that account be an operator (see OperatorChecker).
func (m *Manager) CreateOperator(name, password string) (Operator, error) {
	if err := checkOperatorName(name); err != nil {
		return Operator{}, err
	}
	if c, ok := m.sys.(OperatorChecker); ok {
		if err := c.CheckOperator(name); err != nil {
			return Operator{}, fmt.Errorf("%w: %w", ErrOperator, err)
		}
	}
	op, err := m.accounts.CreateOperator(name, password)
	if err == nil {
		m.Logf(LogTagAuth, "operator %s created", op.Name)
	}
	return op, err
}

// OperatorLogin checks an operator's name and password and, where the
// System says who may be one, that the account still may (removed from
// Network Configuration Operators in Windows, it may not log in).
func (m *Manager) OperatorLogin(name, password string) (Operator, error) {
	op, ok := m.accounts.CheckOperator(name, password)
	if !ok {
		return Operator{}, ErrPassword
	}
	if c, ok := m.sys.(OperatorChecker); ok {
		if err := c.CheckOperator(op.Name); err != nil {
			return Operator{}, fmt.Errorf("%w: %w", ErrOperator, err)
		}
	}
	return op, nil
}
