package manager

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/warren-vpn/warren/internal/atomicfile"
)

// Argon2Params are the argon2id parameters a password is hashed with;
// they are recorded with each hash, so that changing the defaults keeps
// old hashes verifiable.
type Argon2Params struct {
	Time    uint32 `json:"time"`
	Memory  uint32 `json:"memoryKiB"`
	Threads uint8  `json:"threads"`
	KeyLen  uint32 `json:"keyLen"`
}

// DefaultArgon2 is RFC 9106's second recommended choice: 3 passes over
// 64 MiB with 4 lanes (about 0.1 s here), a 256-bit hash.
var DefaultArgon2 = Argon2Params{Time: 3, Memory: 64 * 1024, Threads: 4, KeyLen: 32}

// MinPasswordLen is the shortest password accepted, in characters.
const MinPasswordLen = 12

// maxPasswordLen bounds what is hashed (argon2 takes any length; a
// megabyte-long password is an attack, not a password).
const maxPasswordLen = 1024

// PasswordHash is a stored argon2id hash.
type PasswordHash struct {
	Algorithm string       `json:"algorithm"` // "argon2id"
	Version   int          `json:"version"`   // argon2.Version (0x13)
	Params    Argon2Params `json:"params"`
	Salt      []byte       `json:"salt"`
	Hash      []byte       `json:"hash"`
}

// APIToken describes an API token. Its secret is shown once, when it is
// created; only the secret's SHA-256 is stored (a token is 256 random
// bits, so a fast hash is enough).
type APIToken struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"lastUsed,omitzero"`
	Hash     []byte    `json:"hash"`
}

// tokenPrefix starts every API token's secret, so that one that leaks is
// easy to recognise (and to scan for).
const tokenPrefix = "wrn_"

// maxTokens bounds the number of API tokens.
const maxTokens = 100

// accountsFile is what Accounts keeps on disk.
type accountsFile struct {
	Admin     *PasswordHash `json:"admin,omitempty"`
	Tokens    []APIToken    `json:"tokens,omitempty"`
	Operators []Operator    `json:"operators,omitempty"` // operators.go
}

// Accounts holds the administrator's password and the API tokens in one
// file (0600) in the manager's state directory, and the one-time setup
// secret in memory. There are no default credentials: until setup, only
// the holder of the setup link can set the password.
type Accounts struct {
	path   string
	params Argon2Params
	now    func() time.Time

	mu        sync.Mutex
	state     accountsFile
	setupHash []byte // SHA-256 of the setup secret; nil when none is pending
}

func openAccounts(path string, params Argon2Params, now func() time.Time) (*Accounts, error) {
	a := &Accounts{path: path, params: params, now: now}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read accounts: %w", err)
	default:
		if err := json.Unmarshal(data, &a.state); err != nil {
			return nil, fmt.Errorf("read accounts %s: %w", path, err)
		}
		if h := a.state.Admin; h != nil && (h.Algorithm != "argon2id" || h.Version != argon2.Version || len(h.Salt) < 16 || len(h.Hash) < 16) {
			return nil, fmt.Errorf("read accounts %s: the admin password hash is not an argon2id hash this version can check", path)
		}
	}
	return a, nil
}

func (a *Accounts) saveLocked() error {
	data, err := json.MarshalIndent(&a.state, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(a.path, data, 0o600); err != nil {
		return fmt.Errorf("save accounts: %w", err)
	}
	return nil
}

// NeedsSetup reports whether no administrator password is set yet.
func (a *Accounts) NeedsSetup() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state.Admin == nil
}

// NewSetupSecret returns a new one-time setup secret (256 random bits,
// URL-safe) and forgets any earlier one. It fails once a password is set.
func (a *Accounts) NewSetupSecret() (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state.Admin != nil {
		return "", ErrSetup
	}
	secret := randomText(32)
	h := sha256.Sum256([]byte(secret))
	a.setupHash = h[:]
	return secret, nil
}

// CheckSetupSecret reports whether secret is the pending setup secret.
func (a *Accounts) CheckSetupSecret(secret string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.checkSetupLocked(secret)
}

func (a *Accounts) checkSetupLocked(secret string) bool {
	if a.setupHash == nil || a.state.Admin != nil {
		return false
	}
	h := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(h[:], a.setupHash) == 1
}

// CompleteSetup sets the administrator's password, once, given the setup
// secret; the secret is then spent.
func (a *Accounts) CompleteSetup(secret, password string) error {
	if err := checkNewPassword(password); err != nil {
		return err
	}
	hash, err := a.hash(password)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.checkSetupLocked(secret) {
		return ErrSetup
	}
	a.state.Admin = hash
	if err := a.saveLocked(); err != nil {
		a.state.Admin = nil
		return err
	}
	a.setupHash = nil
	return nil
}

// CheckPassword reports whether password is the administrator's. It
// takes as long as one argon2id hash: callers rate-limit it.
func (a *Accounts) CheckPassword(password string) bool {
	a.mu.Lock()
	h := a.state.Admin
	a.mu.Unlock()
	if h == nil || len(password) > maxPasswordLen {
		return false
	}
	got := argon2.IDKey([]byte(password), h.Salt, h.Params.Time, h.Params.Memory, h.Params.Threads, h.Params.KeyLen)
	return subtle.ConstantTimeCompare(got, h.Hash) == 1
}

// ChangePassword replaces the password, given the current one.
func (a *Accounts) ChangePassword(old, password string) error {
	if !a.CheckPassword(old) {
		return fmt.Errorf("%w: the current password is wrong", ErrPassword)
	}
	if err := checkNewPassword(password); err != nil {
		return err
	}
	hash, err := a.hash(password)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	prev := a.state.Admin
	a.state.Admin = hash
	if err := a.saveLocked(); err != nil {
		a.state.Admin = prev
		return err
	}
	return nil
}

// AdminHash returns a copy of the stored password hash (nil before setup),
// for inspection; it is no secret that lets anyone in.
func (a *Accounts) AdminHash() *PasswordHash {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state.Admin == nil {
		return nil
	}
	h := *a.state.Admin
	h.Salt, h.Hash = slices.Clone(h.Salt), slices.Clone(h.Hash)
	return &h
}

func (a *Accounts) hash(password string) (*PasswordHash, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	p := a.params
	return &PasswordHash{
		Algorithm: "argon2id",
		Version:   argon2.Version,
		Params:    p,
		Salt:      salt,
		Hash:      argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen),
	}, nil
}

// checkNewPassword refuses passwords too short, too long or not text.
func checkNewPassword(pw string) error {
	switch {
	case !utf8.ValidString(pw):
		return fmt.Errorf("%w: not valid UTF-8", ErrPassword)
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		return fmt.Errorf("%w: shorter than %d characters", ErrPassword, MinPasswordLen)
	case len(pw) > maxPasswordLen:
		return fmt.Errorf("%w: longer than %d bytes", ErrPassword, maxPasswordLen)
	}
	return nil
}

// Tokens lists the API tokens, without their hashes, oldest first.
func (a *Accounts) Tokens() []APIToken {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := slices.Clone(a.state.Tokens)
	for i := range out {
		out[i].Hash = nil
	}
	return out
}

// CreateToken makes an API token named name and returns its secret, which
// is not stored and cannot be shown again.
func (a *Accounts) CreateToken(name string) (secret string, tok APIToken, err error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 64 || !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", APIToken{}, fmt.Errorf("token name: want 1 to 64 printable characters")
	}
	secret = tokenPrefix + randomText(32)
	h := sha256.Sum256([]byte(secret))
	id := make([]byte, 8)
	rand.Read(id)
	tok = APIToken{ID: hex.EncodeToString(id), Name: name, Created: a.now().UTC(), Hash: h[:]}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.state.Tokens) >= maxTokens {
		return "", APIToken{}, fmt.Errorf("at most %d API tokens; revoke one first", maxTokens)
	}
	a.state.Tokens = append(a.state.Tokens, tok)
	if err := a.saveLocked(); err != nil {
		a.state.Tokens = a.state.Tokens[:len(a.state.Tokens)-1]
		return "", APIToken{}, err
	}
	tok.Hash = nil
	return secret, tok, nil
}

// RevokeToken deletes the token with that ID; ErrNotFound if none.
func (a *Accounts) RevokeToken(id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := slices.IndexFunc(a.state.Tokens, func(t APIToken) bool { return t.ID == id })
	if i < 0 {
		return fmt.Errorf("API token %q: %w", id, ErrNotFound)
	}
	prev := slices.Clone(a.state.Tokens)
	a.state.Tokens = slices.Delete(a.state.Tokens, i, i+1)
	if err := a.saveLocked(); err != nil {
		a.state.Tokens = prev
		return err
	}
	return nil
}

// CheckToken returns the token whose secret this is. The last use is
// remembered in memory and saved at most once an hour per token.
func (a *Accounts) CheckToken(secret string) (APIToken, bool) {
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 128 {
		return APIToken{}, false
	}
	h := sha256.Sum256([]byte(secret))
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range a.state.Tokens {
		t := &a.state.Tokens[i]
		if subtle.ConstantTimeCompare(h[:], t.Hash) == 1 {
			now := a.now().UTC()
			if now.Sub(t.LastUsed) > time.Hour {
				t.LastUsed = now
				a.saveLocked() // best effort: the token works either way
			}
			out := *t
			out.Hash = nil
			return out, true
		}
	}
	return APIToken{}, false
}

// randomText is n random bytes in unpadded URL-safe base64.
func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand panics rather than return short)
	return base64.RawURLEncoding.EncodeToString(b)
}

// setupLinkFile is where the setup link is written in the state directory.
const setupLinkFile = "setup-link"

// WriteSetupLink writes link to the state directory's setup-link file
// (0600) and returns the file's path; RemoveSetupLink removes it.
func (m *Manager) WriteSetupLink(link string) (string, error) {
	path := filepath.Join(m.stateDir, setupLinkFile)
	if err := atomicfile.WriteFile(path, []byte(link+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write setup link: %w", err)
	}
	return path, nil
}

// RemoveSetupLink removes the setup-link file, if any.
func (m *Manager) RemoveSetupLink() error {
	err := os.Remove(filepath.Join(m.stateDir, setupLinkFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove setup link: %w", err)
	}
	return nil
}
