package openmoove_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/openmoove"
)

func TestNormalizeUKPhone(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"+447700900123": "+447700900123", "07700900123": "+447700900123", "447700900123": "+447700900123",
		"07700 900 123": "+447700900123", "+44 (0)7700 900123": "+447700900123", "0044 7700 900123": "+447700900123",
		"020 7946 0018": "+442079460018", "+33 1 23 45 67 89": "+33123456789",
	} {
		got, err := openmoove.NormalizeUKPhone(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "12345", "077009001", "+44770090012345", "phone", "00447700", "+0123456789"} {
		_, err := openmoove.NormalizeUKPhone(in)
		require.ErrorIs(t, err, openmoove.ErrInvalidPhone, in)
	}
}

func TestValidateCreate(t *testing.T) {
	t.Parallel()
	valid := func() *openmoove.CreateClientRequest {
		return &openmoove.CreateClientRequest{FirstName: " Jane ", LastName: "Doe", Email: "jane@example.com",
			PhoneNumber: "07700 900001", PropertyAddress: "1 Lane", PropertyPostcode: "sw1a1aa",
			EstateAgentEmail: "a@example.com"}
	}
	tests := []struct {
		name   string
		mod    func(r *openmoove.CreateClientRequest)
		fields map[string][]string
	}{
		{"valid", func(*openmoove.CreateClientRequest) {}, nil},
		{"required", func(r *openmoove.CreateClientRequest) { r.LastName = "  " },
			map[string][]string{"last_name": {openmoove.MsgRequired}}},
		{"email", func(r *openmoove.CreateClientRequest) { r.Email = "jane@" },
			map[string][]string{"email": {openmoove.MsgInvalidEmail}}},
		{"professional email", func(r *openmoove.CreateClientRequest) { r.ConveyancerEmail = "nope" },
			map[string][]string{"conveyancer_email": {openmoove.MsgInvalidEmail}}},
		{"phone", func(r *openmoove.CreateClientRequest) { r.PhoneNumber = "555" },
			map[string][]string{"phone_number": {openmoove.MsgInvalidPhone}}},
		{"postcode format", func(r *openmoove.CreateClientRequest) { r.PropertyPostcode = "12345" },
			map[string][]string{"property_postcode": {openmoove.MsgInvalidPostcode}}},
		{"postcode too long", func(r *openmoove.CreateClientRequest) { r.PropertyPostcode = "SW1A 1AA EXTRA" },
			map[string][]string{"property_postcode": {openmoove.MsgPostcodeTooLong}}},
		{"no professional", func(r *openmoove.CreateClientRequest) { r.EstateAgentEmail = "" },
			map[string][]string{openmoove.NonFieldErrors: {openmoove.MsgProfessionalNeeded}}},
		{"auction needs auctioneer", func(r *openmoove.CreateClientRequest) { r.SaleMethod = openmoove.SaleSecureSale },
			map[string][]string{openmoove.NonFieldErrors: {openmoove.MsgAuctioneerNeeded}}},
		{"sale method", func(r *openmoove.CreateClientRequest) { r.SaleMethod = "barter" },
			map[string][]string{"sale_method": {`"barter" is not a valid choice.`}}},
		{"product", func(r *openmoove.CreateClientRequest) { r.Products = []string{"gold-pack"} },
			map[string][]string{"products": {"Object with slug=gold-pack does not exist."}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := valid()
			tt.mod(r)
			err := openmoove.ValidateCreate(r)
			if tt.fields == nil {
				require.NoError(t, err)
				require.Equal(t, "Jane", r.FirstName)
				require.Equal(t, "+447700900001", r.PhoneNumber)
				require.Equal(t, "SW1A 1AA", r.PropertyPostcode)
				return
			}
			var v *openmoove.ValidationError
			require.ErrorAs(t, err, &v)
			require.Equal(t, tt.fields, v.Fields)
			require.Equal(t, failure.Permanent, failure.KindOf(err))
			require.True(t, strings.HasPrefix(err.Error(), "openmoove: invalid create request: "), err.Error())
		})
	}
}
