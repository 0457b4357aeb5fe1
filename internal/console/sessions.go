package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/streams"
)

// session is one login. It is kept in the SESSIONS bucket, so it outlives
// a restart and every replica of omq run or omq console behind one load
// balancer knows it; a logout on one ends it on all.
type session struct {
	id      string // the cookie's value; never stored, only its hash
	user    User
	via     string // how the user logged in: viaUsers, viaToken, viaAnonymous
	seal    string // binds it to the password or token it was made with (authenticator.seal)
	csrf    string
	created time.Time
	expires time.Time
}

// How a session's user was let in, so a later request checks the user
// against the same source: a users-file user named "token" is not the
// token's operator.
const (
	viaUsers     = "users"
	viaToken     = "token"
	viaAnonymous = "anonymous"
)

// record is a session as the bucket keeps it. Its key is the SHA-256 of
// the session id, so whoever can read the bucket cannot use a session;
// no password or hash is ever in it.
type record struct {
	User    string    `json:"user"`
	Role    Role      `json:"role"`
	Via     string    `json:"via"`
	Seal    string    `json:"seal"`
	CSRF    string    `json:"csrf"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
}

// errNoSession is a cookie that names no live session: never issued,
// logged out, or expired.
var errNoSession = errors.New("no such session")

// storeError is the sessions bucket out of reach: the console cannot tell
// whether anyone is logged in, so it lets no one in and says why.
type storeError struct{ err error }

func (e *storeError) Error() string { return "console sessions: " + e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// advice is what a person at the login page is told about a storeError;
// the error itself goes to the log.
func (e *storeError) advice() string {
	if errors.Is(e.err, jetstream.ErrBucketNotFound) {
		return "The console cannot log anyone in: the bucket it keeps logins in does not exist yet. Run omq streams apply (or start omq run once), then reload."
	}
	return "The console cannot reach NATS, where it keeps logins, so it cannot log anyone in now. Check that NATS (omq run, or the server of --nats-url) is up, then reload."
}

type sessions struct {
	js     jetstream.JetStream
	bucket string
	// now decides expiry; the bucket's per-key TTL only collects what
	// expired, a little later.
	now func() time.Time
	ttl time.Duration

	mu sync.Mutex
	kv jetstream.KeyValue // opened on first use: NATS may be down at New
}

const (
	// storeTimeout bounds one read or write of the bucket, so a page
	// answers while NATS elects a leader or is gone.
	storeTimeout = 5 * time.Second
	// gcAfter is how long past its expiry a session's key stays: the clock
	// decides, the TTL only collects.
	gcAfter = time.Minute
)

func newSessions(js jetstream.JetStream, top streams.Topology, now func() time.Time, ttl time.Duration) *sessions {
	if ttl <= 0 {
		ttl = 12 * time.Hour
	}
	return &sessions{js: js, bucket: top.WithDefaults().SessionsBucket(), now: now, ttl: ttl}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionKey is the bucket key of a session id: its SHA-256 in hex. Any
// cookie value becomes a valid key, so a forged cookie is only a miss.
func sessionKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// store returns the bucket with a context bounded by storeTimeout. It
// fails at once when the connection is down rather than waiting out the
// timeout behind nats.go's reconnect buffer.
func (ss *sessions) store(ctx context.Context) (jetstream.KeyValue, context.Context, context.CancelFunc, error) {
	if nc := ss.js.Conn(); nc != nil && !nc.IsConnected() {
		return nil, nil, nil, &storeError{fmt.Errorf("not connected to NATS (connection %s)", nc.Status())}
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.kv == nil {
		kv, err := ss.js.KeyValue(ctx, ss.bucket)
		if err != nil {
			cancel()
			return nil, nil, nil, &storeError{fmt.Errorf("bucket %s: %w", ss.bucket, err)}
		}
		ss.kv = kv
	}
	return ss.kv, ctx, cancel, nil
}

// check says whether logins can be kept now, for the login page.
func (ss *sessions) check(ctx context.Context) error {
	_, _, cancel, err := ss.store(ctx)
	if cancel != nil {
		cancel()
	}
	return err
}

// create saves a new session of u; seal is authenticator.seal of its id.
func (ss *sessions) create(ctx context.Context, u User, via string, seal func(id string) string) (*session, error) {
	kv, ctx, cancel, err := ss.store(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	now := ss.now()
	s := &session{id: randomToken(), user: u, via: via, csrf: randomToken(), created: now, expires: now.Add(ss.ttl)}
	s.seal = seal(s.id)
	b, err := json.Marshal(record{User: u.Name, Role: u.Role, Via: via, Seal: s.seal, CSRF: s.csrf, Created: s.created, Expires: s.expires})
	if err != nil {
		return nil, err
	}
	if _, err := kv.Create(ctx, sessionKey(s.id), b, jetstream.KeyTTL(ss.ttl+gcAfter)); err != nil {
		return nil, &storeError{fmt.Errorf("save a login: %w", err)}
	}
	return s, nil
}

// get returns the live session of id: errNoSession when there is none or
// it has expired, a *storeError when the bucket cannot be read.
func (ss *sessions) get(ctx context.Context, id string) (*session, error) {
	if id == "" {
		return nil, errNoSession
	}
	kv, ctx, cancel, err := ss.store(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	key := sessionKey(id)
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, &storeError{fmt.Errorf("read a login: %w", err)}
	}
	var rec record
	if json.Unmarshal(e.Value(), &rec) != nil {
		return nil, errNoSession
	}
	if !ss.now().Before(rec.Expires) {
		_ = kv.Purge(ctx, key, jetstream.PurgeTTL(streams.SessionMarkerTTL)) // the TTL collects it if this fails
		return nil, errNoSession
	}
	return &session{id: id, user: User{Name: rec.User, Role: rec.Role}, via: rec.Via, seal: rec.Seal, csrf: rec.CSRF,
		created: rec.Created, expires: rec.Expires}, nil
}

// end removes the session of id from every replica. The purge marker
// carries a TTL too, so logouts leave nothing behind in the bucket.
func (ss *sessions) end(ctx context.Context, id string) error {
	kv, ctx, cancel, err := ss.store(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	if err := kv.Purge(ctx, sessionKey(id), jetstream.PurgeTTL(streams.SessionMarkerTTL)); err != nil {
		return &storeError{fmt.Errorf("end a login: %w", err)}
	}
	return nil
}
