package broker_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/openmoove/omq/internal/broker"
	"github.com/openmoove/omq/internal/natstest"
)

// TestEmbeddedRequiresCredentials: before auth, anyone who reached the port
// could purge the dead letters; now only the one user gets in.
func TestEmbeddedRequiresCredentials(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t, natstest.Listen())
	creds := s.Credentials()
	for name, opts := range map[string][]nats.Option{
		"no credentials":  nil,
		"wrong password":  {nats.UserInfo(creds.User, creds.Password+"x")},
		"wrong user":      {nats.UserInfo("admin", creds.Password)},
		"a token instead": {nats.Token(creds.Password)},
	} {
		nc, err := natsConnect(s.URL, append(opts, nats.MaxReconnects(0))...)
		if err == nil {
			nc.Close()
			t.Errorf("%s: connected, want refused", name)
			continue
		}
		if !errors.Is(err, nats.ErrAuthorization) && !strings.Contains(strings.ToLower(err.Error()), "authorization") {
			t.Errorf("%s: %v, want an authorization error", name, err)
		}
	}
	nc, err := natsConnect(s.URL, s.ClientOptions()...)
	if err != nil {
		t.Fatalf("with the server's credentials: %v", err)
	}
	nc.Close()
}

func TestEmbeddedUsesGivenCredentials(t *testing.T) {
	t.Parallel()
	given := broker.Credentials{User: "ops", Password: "a-long-password-of-the-operator"}
	e, err := broker.StartEmbedded(broker.EmbeddedOptions{StoreDir: t.TempDir(), Listen: "127.0.0.1:0", Credentials: given})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	nc, err := natsConnect(e.ClientURL(), nats.UserInfo("ops", "a-long-password-of-the-operator"))
	if err != nil {
		t.Fatalf("with the given credentials: %v", err)
	}
	nc.Close()
	if nc, err := natsConnect(e.ClientURL(), nats.UserInfo(broker.DefaultUser, given.Password), nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Error("the default user got in although other credentials were given")
	}
}

func TestEmbeddedRefusesHalfCredentials(t *testing.T) {
	t.Parallel()
	for _, c := range []broker.Credentials{{User: "ops"}, {Password: "p"}} {
		e, err := broker.StartEmbedded(broker.EmbeddedOptions{StoreDir: t.TempDir(), Credentials: c})
		if err == nil {
			_ = e.Shutdown(context.Background())
			t.Errorf("%v: started, want an error", c)
			continue
		}
		if !strings.Contains(err.Error(), "--nats-user") {
			t.Errorf("%v: %v, want it to name --nats-user", c, err)
		}
	}
}

func TestEnsurePasswordCreatesPrivateFileAndReusesIt(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "omq-data")
	first, err := broker.EnsurePassword(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.User != broker.DefaultUser || len(first.Password) < 40 {
		t.Fatalf("generated %q with a %d-character password, want user %q and at least 40 characters", first.User, len(first.Password), broker.DefaultUser)
	}
	requireMode(t, dir, 0o700)
	requireMode(t, broker.PasswordPath(dir), 0o600)

	again, err := broker.EnsurePassword(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Error("a second start generated a new password; clients that read the first would be locked out")
	}
	read, err := broker.ReadPassword(dir)
	if err != nil || read != first {
		t.Errorf("ReadPassword = %v, %v; want what EnsurePassword created", read, err)
	}
	if other, _ := broker.EnsurePassword(t.TempDir(), nil); other.Password == first.Password {
		t.Error("two data directories got the same password")
	}
}

func TestEnsurePasswordNarrowsALooseFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(broker.PasswordPath(dir), []byte("kept-password\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(broker.PasswordPath(dir), 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	var logs bytes.Buffer
	c, err := broker.EnsurePassword(dir, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Password != "kept-password" {
		t.Errorf("password %q, want the one on disk", c.Password)
	}
	requireMode(t, broker.PasswordPath(dir), 0o600)
	if !strings.Contains(logs.String(), "level=WARN") || strings.Contains(logs.String(), "kept-password") {
		t.Errorf("want one WARN without the password, got %q", logs.String())
	}
}

func TestReadPasswordSaysWhatIsMissing(t *testing.T) {
	t.Parallel()
	_, err := broker.ReadPassword(t.TempDir())
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
}

func TestCredentialsNeverPrintThePassword(t *testing.T) {
	t.Parallel()
	c := broker.Credentials{User: "omq", Password: "SECRET_pw"}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "creds", c)
	for _, s := range []string{c.String(), logs.String(), fmtAll(c)} {
		if strings.Contains(s, "SECRET_pw") {
			t.Errorf("password shown in %q", s)
		}
	}
}

func requireMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %s, want %s", path, got, want)
	}
}
