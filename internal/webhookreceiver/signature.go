package webhookreceiver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// SignatureHeader is the header OpenMoove signs webhooks in.
const SignatureHeader = "X-OpenMoove-Signature"

// Reasons a signature is refused; Verify wraps exactly one of them.
var (
	ErrMissingSignature   = errors.New("webhook: no X-OpenMoove-Signature header")
	ErrMalformedSignature = errors.New(`webhook: signature is not "sha256=" and 64 hex digits`)
	ErrWrongSignature     = errors.New("webhook: signature matches no configured secret")
)

const sigPrefix = "sha256="

// Verify checks header against body under each secret, in constant time for
// a given number of secrets: every secret is tried, whichever matches.
// It returns nil or one of ErrMissingSignature, ErrMalformedSignature and
// ErrWrongSignature. Neither the header nor a secret appears in the error.
func Verify(secrets [][]byte, body []byte, header string) error {
	header = strings.TrimSpace(header)
	if header == "" {
		return ErrMissingSignature
	}
	hexSum, ok := strings.CutPrefix(header, sigPrefix)
	if !ok || len(hexSum) != 2*sha256.Size {
		return ErrMalformedSignature
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return ErrMalformedSignature
	}
	match := 0
	for _, s := range secrets {
		mac := hmac.New(sha256.New, s)
		mac.Write(body)
		if hmac.Equal(mac.Sum(nil), got) {
			match = 1
		}
	}
	if match == 0 {
		return ErrWrongSignature
	}
	return nil
}

// Sign returns the X-OpenMoove-Signature value of body under secret, as
// OpenMoove computes it (for tests and for tools that replay a webhook).
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return sigPrefix + hex.EncodeToString(mac.Sum(nil))
}

// MsgID is the Nats-Msg-Id of a webhook body: its hex SHA-256, so the
// vendor's retries of the same body are duplicates.
func MsgID(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}
