package console

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

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
// the token, and whether a session's user still holds the powers it
// logged in with. The file is read again when it changes (size or
// modification time), so removing a user or changing a role or a
// password takes effect on the next request without a restart.
type authenticator struct {
	file  string
	token string
	log   *slog.Logger

	mu      sync.Mutex
	users   map[string]account
	stamp   fileStamp // of the file users were last read from
	problem string    // the last reload's failure, logged once
}

// fileStamp tells a changed users file from the one already read.
type fileStamp struct {
	size int64
	mod  time.Time
}

var userName = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)

// BcryptCost is the cost of the hashes omq console adduser writes: about
// a quarter of a second a login on a small machine, which with the login
// rate limit makes guessing slow.
const BcryptCost = 12

func newAuthenticator(usersFile, token string, log *slog.Logger) (*authenticator, error) {
	a := &authenticator{file: usersFile, token: token, log: log, users: map[string]account{}}
	if usersFile == "" {
		return a, nil
	}
	fi, err := os.Stat(usersFile)
	if err == nil {
		a.stamp = fileStamp{fi.Size(), fi.ModTime()}
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

// refresh reads the users file again if it changed. A file that cannot be
// read or parsed keeps the last good list (a half-saved edit must not
// lock every operator out), and the log says why, once.
func (a *authenticator) refresh() {
	if a.file == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	fi, err := os.Stat(a.file)
	if err != nil {
		a.complain(err.Error())
		return
	}
	st := fileStamp{fi.Size(), fi.ModTime()}
	if st == a.stamp {
		return
	}
	a.stamp = st
	b, err := os.ReadFile(a.file)
	if err == nil {
		var users map[string]account
		if users, err = ParseUsers(b, a.file); err == nil {
			a.users, a.problem = users, ""
			a.log.Info("console users file read again", "file", a.file, "users", len(users))
			return
		}
	}
	a.complain(err.Error())
}

func (a *authenticator) complain(problem string) {
	if problem == a.problem {
		return
	}
	a.problem = problem
	a.log.Error("console users file not read again; the last good list of users stays in force", "file", a.file, "error", problem,
		"hint", "fix the file: omq console adduser writes its lines")
}

func (a *authenticator) account(name string) (account, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	acc, ok := a.users[name]
	return acc, ok
}

func (a *authenticator) hasUsers() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.users) > 0
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
func (a *authenticator) anonymous() bool { return !a.hasUsers() && a.token == "" }

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
// token) log in as, and how (viaUsers or viaToken).
func (a *authenticator) check(name, password string) (User, string, bool) {
	a.refresh()
	if name == "" || name == TokenUser {
		if a.token != "" && subtle.ConstantTimeCompare([]byte(password), []byte(a.token)) == 1 {
			return User{Name: TokenUser, Role: Operator}, viaToken, true
		}
		if name == "" {
			return User{}, "", false
		}
	}
	acc, ok := a.account(name)
	if !ok {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return User{}, "", false
	}
	if bcrypt.CompareHashAndPassword(acc.hash, []byte(password)) != nil {
		return User{}, "", false
	}
	return User{Name: name, Role: acc.role}, viaUsers, true
}

// credential is what a session of via and name was let in with, now: the
// user's bcrypt hash, the token, or nothing for the anonymous viewer.
func (a *authenticator) credential(via, name string) (secret []byte, role Role, ok bool) {
	switch via {
	case viaAnonymous:
		return nil, Viewer, a.anonymous()
	case viaToken:
		return []byte(a.token), Operator, a.token != ""
	case viaUsers:
		acc, ok := a.account(name)
		return acc.hash, acc.role, ok
	}
	return nil, "", false
}

// seal binds a session to the credential it was made with: an HMAC of
// its id keyed by the bcrypt hash or token. The bucket holds the seal but
// not the id, so reading the bucket tells nothing about the credential;
// a changed password or token no longer matches, and the session ends.
func (a *authenticator) seal(via, name, id string) string {
	secret, _, _ := a.credential(via, name)
	m := hmac.New(sha256.New, append([]byte(via+"\x00"), secret...))
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil))
}

// current is the user of ss as the users file and token have it now:
// false when the user was removed, the password or token changed, or the
// console has users since the anonymous session began. The role is
// today's, so a demoted operator is a viewer on the next request.
func (a *authenticator) current(ss *session) (User, bool) {
	a.refresh()
	_, role, ok := a.credential(ss.via, ss.user.Name)
	if !ok || !hmac.Equal([]byte(a.seal(ss.via, ss.user.Name, ss.id)), []byte(ss.seal)) {
		return User{}, false
	}
	return User{Name: ss.user.Name, Role: role}, true
}
