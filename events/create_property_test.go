package events_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/openmoove"
)

const validCreation = `{"first_name":"Jane","last_name":"Doe","email":"jane@example.com",
 "phone_number":"07700 900123","property_address":"1 High Street, London",
 "property_postcode":"sw1a1aa","estate_agent_email":"agent@example.com","request_id":"crm-42"}`

func TestDecodeCreatePropertyRejectsEveryBadField(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		body string
		want map[string]string // field → part of its message
	}{
		{"malformed", `{"first_name":`, map[string]string{openmoove.NonFieldErrors: "JSON parse error"}},
		{"not an object", `["a"]`, map[string]string{openmoove.NonFieldErrors: "JSON parse error"}},
		{"null", `null`, map[string]string{openmoove.NonFieldErrors: "expected a JSON object"}},
		{"two values", `{} {}`, map[string]string{openmoove.NonFieldErrors: "more than one value"}},
		{"wrong types", `{"first_name":1,"products":"moove-ready-pack","request_id":{}}`,
			map[string]string{"first_name": "expected string", "products": "expected array of strings", "request_id": "expected string"}},
		{"unknown field", `{"firstname":"Jane"}`, map[string]string{"firstname": "unknown field; accepted: first_name"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := events.DecodeCreateProperty([]byte(tc.body))
			var v *openmoove.ValidationError
			require.ErrorAs(t, err, &v)
			require.Equal(t, failure.Permanent, failure.KindOf(err))
			require.Len(t, v.Fields, len(tc.want), "fields: %v", v.Fields)
			for f, part := range tc.want {
				require.Contains(t, strings.Join(v.Fields[f], " "), part, "field %s", f)
			}
		})
	}
}

func TestDecodeCreatePropertyTakesNullAsAbsent(t *testing.T) {
	t.Parallel()
	c, err := events.DecodeCreateProperty([]byte(`{"first_name":null,"products":["moove-ready-pack"],"request_id":"r1"}`))
	require.NoError(t, err)
	require.Empty(t, c.FirstName)
	require.Equal(t, []string{"moove-ready-pack"}, c.Products)
	require.Equal(t, "r1", c.RequestID)
}

func TestValidateNormalisesAndRoundTrips(t *testing.T) {
	t.Parallel()
	c, err := events.DecodeCreateProperty([]byte(validCreation))
	require.NoError(t, err)
	require.NoError(t, c.Validate(nil))
	require.Equal(t, "+447700900123", c.PhoneNumber)
	require.Equal(t, "SW1A 1AA", c.PropertyPostcode)
	b, err := c.Marshal()
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	require.Equal(t, "crm-42", m["request_id"])
	require.Equal(t, "SW1A 1AA", m["property_postcode"])
	back, err := events.DecodeCreateProperty(b)
	require.NoError(t, err)
	require.Equal(t, c, back)
}

func TestValidateSpeaksTheAPIsWords(t *testing.T) {
	t.Parallel()
	c, err := events.DecodeCreateProperty([]byte(validCreation))
	require.NoError(t, err)
	c.SaleMethod = openmoove.SaleModernAuction
	c.RequestID = "has space"
	err = c.Validate(nil)
	var v *openmoove.ValidationError
	require.ErrorAs(t, err, &v)
	require.Equal(t, []string{openmoove.MsgAuctioneerNeeded}, v.Fields[openmoove.NonFieldErrors])
	require.Contains(t, v.Fields["request_id"][0], "letters, digits")
}

func TestValidateWithFillLeavesFilledFieldsToTheWorker(t *testing.T) {
	t.Parallel()
	c, err := events.DecodeCreateProperty([]byte(validCreation))
	require.NoError(t, err)
	c.SaleMethod = openmoove.SaleSecureSale
	fill := func(r *openmoove.CreateClientRequest) {
		if r.AuctioneerEmail == "" {
			r.AuctioneerEmail = "auctioneer@example.com"
		}
	}
	require.NoError(t, c.Validate(fill))
	require.Empty(t, c.AuctioneerEmail, "the worker assigns the auctioneer, not the edge")
	require.Equal(t, "agent@example.com", c.EstateAgentEmail)
}

func TestSetFieldSplitsProducts(t *testing.T) {
	t.Parallel()
	var c events.CreateProperty
	require.NoError(t, c.SetField("products", " moove-ready-pack ; other,,"))
	require.Equal(t, []string{"moove-ready-pack", "other"}, c.Products)
	require.NoError(t, c.SetField("property_postcode", "M1 2AB"))
	require.Equal(t, "M1 2AB", c.PropertyPostcode)
	err := c.SetField("nope", "x")
	require.Error(t, err)
	require.Contains(t, err.Error(), "accepted: first_name")
	require.False(t, errors.Is(err, nil))
}

func TestNewRequestIDIsUnique(t *testing.T) {
	t.Parallel()
	a, b := events.NewRequestID(), events.NewRequestID()
	require.NotEqual(t, a, b)
	require.True(t, strings.HasPrefix(a, "req_"))
	var c events.CreateProperty
	c.RequestID = a
	err := c.Validate(nil)
	require.NotContains(t, err.Error(), "request_id")
}
