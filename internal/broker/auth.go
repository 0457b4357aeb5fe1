package broker

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/nats-io/nats.go"
)

// DefaultUser is the user name of the credentials omq generates for its
// embedded server.
const DefaultUser = "omq"

// PasswordFile is the name, inside the data directory, of the file that
// holds the generated password of the embedded server's DefaultUser.
const PasswordFile = "nats-password"

// Credentials are the one user and password the embedded server accepts.
// They print and log with the password redacted.
type Credentials struct {
	User     string
	Password string
}

// Options are the nats.go options that present c.
func (c Credentials) Options() []nats.Option {
	return []nats.Option{nats.UserInfo(c.User, c.Password)}
}

func (c Credentials) String() string       { return "user=" + c.User + " password=[redacted]" }
func (c Credentials) GoString() string     { return "broker.Credentials{" + c.String() + "}" }
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

func (c Credentials) empty() bool { return c.User == "" && c.Password == "" }

// PasswordPath is where the generated password of a data directory lives.
func PasswordPath(dataDir string) string { return filepath.Join(dataDir, PasswordFile) }

// EnsurePassword returns the generated credentials kept in dataDir,
// creating them on first use: the directory with mode 0700 if it does not
// exist, the file with mode 0600. A file that others may read is narrowed
// to 0600 with a warning, since anyone who reads it controls omq's queues.
func EnsurePassword(dataDir string, log *slog.Logger) (Credentials, error) {
	path := PasswordPath(dataDir)
	c, err := ReadPassword(dataDir)
	if err == nil {
		return c, narrowMode(path, log)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return Credentials{}, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return Credentials{}, fmt.Errorf("broker: create --data-dir %s: %w; set --data-dir to a directory omq may write", dataDir, err)
	}
	if err := createPassword(path); err != nil {
		return Credentials{}, err
	}
	// Read back what is on disk: a second process that won the race to
	// create the file decides the password.
	return ReadPassword(dataDir)
}

// ReadPassword reads the generated credentials of dataDir, for a process
// (omq publish, omq status, …) that connects to a running omq. The error
// wraps fs.ErrNotExist when omq run has never started there.
func ReadPassword(dataDir string) (Credentials, error) {
	path := PasswordPath(dataDir)
	b, err := os.ReadFile(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("broker: NATS credentials %s: %w", path, err)
	}
	pw := strings.TrimSpace(string(b))
	if pw == "" {
		return Credentials{}, fmt.Errorf("broker: NATS credentials %s are empty; delete the file and restart omq run to generate new ones", path)
	}
	return Credentials{User: DefaultUser, Password: pw}, nil
}

// createPassword writes a fresh password to a temporary file and links it
// into place, so no reader ever sees a half-written file and an existing
// password is never replaced.
func createPassword(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".nats-password-*") // mode 0600
	if err != nil {
		return fmt.Errorf("broker: create NATS credentials in %s: %w; set --data-dir to a directory omq may write", filepath.Dir(path), err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(randomPassword() + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp.Name(), path)
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("broker: write NATS credentials %s: %w", path, err)
	}
	return nil
}

func narrowMode(path string, log *slog.Logger) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("broker: NATS credentials %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("broker: NATS credentials %s are readable by others (mode %s) and cannot be narrowed: %w; chmod 600 it", path, fi.Mode().Perm(), err)
	}
	if log != nil {
		log.Warn("NATS credentials file was readable by others; narrowed to 0600", "file", path, "was", fi.Mode().Perm().String())
	}
	return nil
}

// randomPassword is 256 bits from crypto/rand, URL-safe so it survives a
// shell, a URL and a config file unquoted.
func randomPassword() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}
