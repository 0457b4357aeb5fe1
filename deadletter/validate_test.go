package deadletter_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/openmoove/omq/deadletter"
)

func TestValidators(t *testing.T) {
	t.Parallel()
	const good = `{"first_name":"Ann","last_name":"Lee","email":"ann@example.com","phone_number":"07700 900123","property_address":"1 High St","property_postcode":"SW1A 1AA","conveyancer_email":"c@example.com","request_id":"r-1"}`
	v := deadletter.DefaultValidators
	tests := []struct {
		subject, body string
		wantErr       string // "" for valid
	}{
		{"openmoove.commands.create_property", good, ""},
		{"openmoove.commands.create_property", strings.Replace(good, "07700 900123", "12", 1), "phone_number: Invalid phone number format"},
		{"openmoove.commands.bulk.create_property", strings.Replace(good, "07700 900123", "12", 1), "phone_number: Invalid phone number format"},
		{"openmoove.commands.create_property", `{"first_name": 3}`, "first_name must be string"},
		{"openmoove.commands.create_property", `[1]`, "must be a JSON object"},
		{"openmoove.commands.create_property", good + `{}`, "data after"},
		{"openmoove.events.offer_accepted", `{"type":"offer_accepted","transaction_id":"T-1"}`, ""},
		{"openmoove.events.offer_accepted", `{"type":"offer_accepted"}`, "transaction_id must be a non-empty string"},
		{"openmoove.events.offer_accepted", `{"type":1,"transaction_id":""}`, "type and transaction_id"},
		{"openmoove.events.offer_accepted", `{"type":`, "not well-formed JSON"},
		{"openmoove.webhooks.property.milestone.updated", `{"anything":true}`, ""},
		{"openmoove.webhooks.property.milestone.updated", `<html>`, "not well-formed JSON"},
		{"other.events.x", `{}`, ""}, // another prefix: JSON is enough
	}
	for _, tt := range tests {
		err := v.Validate("openmoove", tt.subject, []byte(tt.body))
		if tt.wantErr == "" && err != nil {
			t.Errorf("%s %s: %v, want valid", tt.subject, tt.body, err)
		}
		if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s %s: %v, want an error containing %q", tt.subject, tt.body, err, tt.wantErr)
		}
	}
}

func TestValidatorsMostSpecificWins(t *testing.T) {
	t.Parallel()
	special := errors.New("special")
	v := deadletter.Validators{
		"events.>":              func([]byte) error { return errors.New("general") },
		"events.offer_accepted": func([]byte) error { return special },
		"events.*":              func([]byte) error { return errors.New("star") },
	}
	if p, _ := v.For("openmoove", "openmoove.events.offer_accepted"); p != "events.offer_accepted" {
		t.Fatalf("pattern %q", p)
	}
	if err := v.Validate("openmoove", "openmoove.events.offer_accepted", nil); !errors.Is(err, special) {
		t.Fatalf("err %v", err)
	}
	if p, _ := v.For("openmoove", "openmoove.events.a.b"); p != "events.>" {
		t.Fatalf("pattern %q for a.b", p)
	}
}
