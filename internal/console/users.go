package console

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Role is what a user may do.
type Role string

// The roles: a viewer reads every page; an operator also acts.
const (
	Viewer   Role = "viewer"
	Operator Role = "operator"
)

// User is who is logged in.
type User struct {
	Name string
	Role Role
}

// Operator reports whether u may act; templates show an action's button
// only then.
func (u User) Operator() bool { return u.Role == Operator }

// Anonymous is the user of a console without users or a token: on
// loopback only, and read-only.
var Anonymous = User{Name: "anonymous", Role: Viewer}

// TokenUser is who logs in with --console-token.
const TokenUser = "token"

type account struct {
	role Role
	hash []byte
}

// authenticator checks names and passwords against the users file and
// the token.
type authenticator struct {
	users map[string]account
	token string
}

var userName = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)

// BcryptCost is the cost of the hashes omq console adduser writes: about
// a quarter of a second a login on a small machine, which with the login
// rate limit makes guessing slow.
const BcryptCost = 12

func newAuthenticator(usersFile, token string) (*authenticator, error) {
	a := &authenticator{users: map[string]account{}, token: token}
	if usersFile == "" {
		return a, nil
	}
	b, err := os.ReadFile(usersFile)
	if err != nil {
		return nil, fmt.Errorf("--console-users: %w; create the file with omq console adduser NAME --role operator >> FILE", err)
	}
	if a.users, err = ParseUsers(b, usersFile); err != nil {
		return nil, err
	}
	return a, nil
}

// ParseUsers reads a users file: one "name:role:bcrypt-hash" a line, blank
// lines and lines starting with # ignored. An error names the file and the
// line, never the hash.
func ParseUsers(b []byte, file string) (map[string]account, error) {
	users := map[string]account{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, acc, err := parseUserLine(line)
		if err != nil {
			return nil, fmt.Errorf("console users file %s line %d: %w", file, n, err)
		}
		if _, dup := users[name]; dup {
			return nil, fmt.Errorf("console users file %s line %d: user %q appears twice; keep one line per user", file, n, name)
		}
		users[name] = acc
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("console users file %s: %w", file, err)
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("console users file %s has no user; add one with omq console adduser NAME --role operator >> %s", file, file)
	}
	return users, nil
}

func parseUserLine(line string) (string, account, error) {
	parts := strings.SplitN(line, ":", 3)
	if len(parts) != 3 {
		return "", account{}, fmt.Errorf("want name:role:bcrypt-hash (omq console adduser writes such a line), got %d field(s)", len(parts))
	}
	name, role, hash := parts[0], Role(parts[1]), []byte(parts[2])
	if !userName.MatchString(name) {
		return "", account{}, fmt.Errorf("user name %q: want 1 to 64 letters, digits, '.', '_', '@' or '-'", name)
	}
	if role != Viewer && role != Operator {
		return "", account{}, fmt.Errorf("user %q: role %q: want viewer or operator", name, role)
	}
	if _, err := bcrypt.Cost(hash); err != nil {
		return "", account{}, fmt.Errorf("user %q: the third field is not a bcrypt hash ($2a$…, $2b$…); write the line with omq console adduser", name)
	}
	return name, account{role: role, hash: hash}, nil
}

// UserLine is the users-file line of a new user: what omq console adduser
// prints.
func UserLine(name string, role Role, password []byte, cost int) (string, error) {
	if !userName.MatchString(name) {
		return "", fmt.Errorf("user name %q: want 1 to 64 letters, digits, '.', '_', '@' or '-'", name)
	}
	if role != Viewer && role != Operator {
		return "", fmt.Errorf("--role %q: want viewer or operator", role)
	}
	if len(password) < 12 {
		return "", fmt.Errorf("the password on standard input has %d characters: want at least 12", len(password))
	}
	if len(password) > 72 {
		return "", fmt.Errorf("the password on standard input has %d bytes: bcrypt reads at most 72; use a shorter one", len(password))
	}
	h, err := bcrypt.GenerateFromPassword(password, cost)
	if err != nil {
		return "", err
	}
	return name + ":" + string(role) + ":" + string(h), nil
}

// anonymous reports whether no one is configured: the read-only console.
func (a *authenticator) anonymous() bool { return len(a.users) == 0 && a.token == "" }

// dummyHash is compared against when the name is unknown, so a wrong name
// costs as long as a wrong password and names cannot be told apart. It is
// made on the first failed login, not at package init: every omq command
// links the console, and a cost-12 hash at start cost each of them ~0.3 s
// (10 s under -race).
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("omq-console-no-such-user"), BcryptCost)
	return h
})

// check returns the user a name and password (or, with an empty name, the
// token) log in as.
func (a *authenticator) check(name, password string) (User, bool) {
	if name == "" || name == TokenUser {
		if a.token != "" && subtle.ConstantTimeCompare([]byte(password), []byte(a.token)) == 1 {
			return User{Name: TokenUser, Role: Operator}, true
		}
		if name == "" {
			return User{}, false
		}
	}
	acc, ok := a.users[name]
	if !ok {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return User{}, false
	}
	if bcrypt.CompareHashAndPassword(acc.hash, []byte(password)) != nil {
		return User{}, false
	}
	return User{Name: name, Role: acc.role}, true
}
