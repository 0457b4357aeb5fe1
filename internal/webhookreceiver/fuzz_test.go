package webhookreceiver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/openmoove/omq/streams"
)

// FuzzVerify holds the verifier to accepting exactly Sign(secret, body):
// the one header OpenMoove sends (hex in either case, spaces around it
// trimmed), under any configured secret, and nothing the fuzzer mutates —
// another body, another secret, another header.
func FuzzVerify(f *testing.F) {
	body := `{"event":"property.milestone.updated","timestamp":"2024-01-15T10:30:00Z","data":{"property_id":1}}`
	f.Add("whsec_test", []byte(body), Sign("whsec_test", []byte(body)))
	f.Add("whsec_test", []byte(body), Sign("whsec_old", []byte(body)))
	f.Add("", []byte{}, "sha256=")
	f.Add("s", []byte("x"), " sha256="+strings.Repeat("A", 64)+" ")
	f.Fuzz(func(t *testing.T, secret string, body []byte, header string) {
		secrets := [][]byte{[]byte("another secret"), []byte(secret)}
		good := Sign(secret, body)
		if err := Verify(secrets, body, good); err != nil {
			t.Fatalf("Sign(secret, body) refused: %v", err)
		}
		if err := Verify(secrets, append(body, 'x'), good); !errors.Is(err, ErrWrongSignature) {
			t.Fatalf("a signature accepted for another body: %v", err)
		}
		if secret != "another secret" {
			if err := Verify(secrets[:1], body, good); !errors.Is(err, ErrWrongSignature) {
				t.Fatalf("a signature accepted under another secret: %v", err)
			}
		}
		err := Verify(secrets, body, header)
		if want := signs(secrets, body, header); (err == nil) != want {
			t.Fatalf("Verify(%q) = %v, want accepted=%v", header, err, want)
		}
		if err != nil && !errors.Is(err, ErrMissingSignature) && !errors.Is(err, ErrMalformedSignature) && !errors.Is(err, ErrWrongSignature) {
			t.Fatalf("an error that is none of the three reasons: %v", err)
		}
	})
}

// signs is the verifier's contract written out the long way: "sha256="
// then the HMAC-SHA256 of body under one of secrets as 64 hex digits.
func signs(secrets [][]byte, body []byte, header string) bool {
	hexSum, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return false
	}
	for _, s := range secrets {
		mac := hmac.New(sha256.New, s)
		mac.Write(body)
		if strings.ToLower(hexSum) == hex.EncodeToString(mac.Sum(nil)) {
			return true
		}
	}
	return false
}

// FuzzEventOf: a webhook's event name becomes the tail of its subject, so
// whatever eventOf accepts must make a literal subject under
// <prefix>.webhooks — no wildcard, no empty token, no whitespace.
func FuzzEventOf(f *testing.F) {
	f.Add([]byte(`{"event":"property.milestone.updated","data":{}}`))
	f.Add([]byte(`{"event":"property.created"}`))
	f.Add([]byte(`{"event":"a.*"}`))
	f.Add([]byte(`{"event":"a..b"}`))
	f.Add([]byte(`{"event":">"}`))
	f.Add([]byte(`{"Event":"property.updated","event":"x y"}`))
	top := streams.New("openmoove")
	f.Fuzz(func(t *testing.T, body []byte) {
		event, err := eventOf(body)
		if err != nil {
			return
		}
		subject := top.WebhookSubject(event)
		if err := streams.CheckLiteralSubject(subject); err != nil {
			t.Fatalf("event %q: %v", event, err)
		}
		if len(event) > 128 {
			t.Fatalf("event name of %d bytes accepted", len(event))
		}
	})
}
