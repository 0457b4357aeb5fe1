package openmoove

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/openmoove/omq/failure"
)

// Messages of the API's validation, in its own words, so a refusal by
// ValidateCreate reads like the API's 400.
const (
	MsgRequired           = "This field is required."
	MsgInvalidPhone       = "Invalid phone number format"
	MsgInvalidEmail       = "Enter a valid email address"
	MsgInvalidPostcode    = "Enter a valid UK postcode."
	MsgPostcodeTooLong    = "Ensure this field has no more than 10 characters."
	MsgProfessionalNeeded = "At least one professional email must be provided"
	MsgAuctioneerNeeded   = "auctioneer_email is required for auction sale methods"
)

// MaxPostcodeLen is the longest property_postcode the API stores.
const MaxPostcodeLen = 10

// ErrInvalidPhone is returned by NormalizeUKPhone.
var ErrInvalidPhone = errors.New(MsgInvalidPhone)

// ValidationError lists what ValidateCreate refused, field by field, in the
// API's words; request-wide errors are under NonFieldErrors. Its kind is
// Permanent: the same payload will never pass.
type ValidationError struct {
	Fields map[string][]string
}

// Error reads like "invalid create request: email: Enter a valid email
// address; At least one professional email must be provided".
func (v *ValidationError) Error() string {
	return "openmoove: invalid create request: " + strings.Join(formatFields(v.Fields), "; ")
}

// FailureKind implements failure.Classified.
func (v *ValidationError) FailureKind() failure.Kind { return failure.Permanent }

func (v *ValidationError) add(field, msg string) {
	if v.Fields == nil {
		v.Fields = map[string][]string{}
	}
	v.Fields[field] = append(v.Fields[field], msg)
}

var (
	emailRE    = regexp.MustCompile(`^[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$`)
	postcodeRE = regexp.MustCompile(`^(GIR 0AA|[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][ABD-HJLNP-UW-Z]{2})$`)
	phoneJunk  = strings.NewReplacer(" ", "", "-", "", ".", "", "(0)", "", "(", "", ")", "")
)

// ValidateCreate checks req as POST /clients/ would and normalises it in
// place: every field trimmed, the phone in E.164, the postcode upper-case
// with one space before its inward code, emails trimmed. It returns nil or a
// *ValidationError.
func ValidateCreate(req *CreateClientRequest) error {
	v := &ValidationError{}
	for _, f := range []*string{&req.FirstName, &req.LastName, &req.Email, &req.PhoneNumber,
		&req.PropertyAddress, &req.PropertyPostcode, &req.EstateAgentEmail, &req.ConveyancerEmail,
		&req.MortgageBrokerEmail, &req.AuctioneerEmail, &req.SaleMethod} {
		*f = strings.TrimSpace(*f)
	}
	required := []struct {
		name string
		val  string
	}{
		{"first_name", req.FirstName}, {"last_name", req.LastName}, {"email", req.Email},
		{"phone_number", req.PhoneNumber}, {"property_address", req.PropertyAddress},
		{"property_postcode", req.PropertyPostcode},
	}
	for _, r := range required {
		if r.val == "" {
			v.add(r.name, MsgRequired)
		}
	}
	if req.Email != "" && !ValidEmail(req.Email) {
		v.add("email", MsgInvalidEmail)
	}
	if req.PhoneNumber != "" {
		if p, err := NormalizeUKPhone(req.PhoneNumber); err != nil {
			v.add("phone_number", MsgInvalidPhone)
		} else {
			req.PhoneNumber = p
		}
	}
	if req.PropertyPostcode != "" {
		validatePostcode(v, req)
	}
	validateProfessionals(v, req)
	validateSale(v, req)
	if len(v.Fields) > 0 {
		return v
	}
	return nil
}

func validatePostcode(v *ValidationError, req *CreateClientRequest) {
	pc := NormalizePostcode(req.PropertyPostcode)
	switch {
	case len(pc) > MaxPostcodeLen:
		v.add("property_postcode", MsgPostcodeTooLong)
	case !postcodeRE.MatchString(pc):
		v.add("property_postcode", MsgInvalidPostcode)
	default:
		req.PropertyPostcode = pc
	}
}

func validateProfessionals(v *ValidationError, req *CreateClientRequest) {
	pros := []struct {
		name string
		val  string
	}{
		{"estate_agent_email", req.EstateAgentEmail}, {"conveyancer_email", req.ConveyancerEmail},
		{"mortgage_broker_email", req.MortgageBrokerEmail}, {"auctioneer_email", req.AuctioneerEmail},
	}
	given := false
	for _, p := range pros {
		if p.val == "" {
			continue
		}
		given = true
		if !ValidEmail(p.val) {
			v.add(p.name, MsgInvalidEmail)
		}
	}
	if !given {
		v.add(NonFieldErrors, MsgProfessionalNeeded)
	}
}

func validateSale(v *ValidationError, req *CreateClientRequest) {
	if req.SaleMethod != "" && !slices.Contains(SaleMethods, req.SaleMethod) {
		v.add("sale_method", fmt.Sprintf("%q is not a valid choice.", req.SaleMethod))
	}
	if IsAuction(req.SaleMethod) && req.AuctioneerEmail == "" {
		v.add(NonFieldErrors, MsgAuctioneerNeeded)
	}
	for _, p := range req.Products {
		if !slices.Contains(KnownProducts, strings.TrimSpace(p)) {
			v.add("products", fmt.Sprintf("Object with slug=%s does not exist.", p))
		}
	}
}

// ValidEmail reports whether s looks like an address the API accepts.
func ValidEmail(s string) bool {
	return len(s) <= 254 && emailRE.MatchString(s)
}

// NormalizePostcode upper-cases a postcode and puts exactly one space before
// its last three characters ("sw1a1aa" → "SW1A 1AA"). It does not validate.
func NormalizePostcode(s string) string {
	s = strings.ToUpper(strings.Join(strings.Fields(s), ""))
	if len(s) < 5 || len(s) > 8 {
		return s
	}
	return s[:len(s)-3] + " " + s[len(s)-3:]
}

// NormalizeUKPhone returns a phone number in E.164. It accepts the UK forms
// the API accepts (07700900123, 447700900123, +447700900123, 0044…,
// "+44 (0)7700 900123", spaces and dashes anywhere) and any other
// international number written with its "+" country code. Otherwise it
// returns ErrInvalidPhone.
func NormalizeUKPhone(s string) (string, error) {
	d := phoneJunk.Replace(strings.TrimSpace(s))
	switch {
	case strings.HasPrefix(d, "+44"):
		d = d[3:]
	case strings.HasPrefix(d, "0044"):
		d = d[4:]
	case strings.HasPrefix(d, "44") && len(d) >= 11:
		d = d[2:]
	case strings.HasPrefix(d, "+"):
		return internationalPhone(d)
	case strings.HasPrefix(d, "0") && !strings.HasPrefix(d, "00"):
		d = d[1:]
	default:
		return "", ErrInvalidPhone
	}
	d = strings.TrimPrefix(d, "0") // "+440770…" is a common slip
	if !allDigits(d) || len(d) < 9 || len(d) > 10 || d[0] == '0' {
		return "", ErrInvalidPhone
	}
	return "+44" + d, nil
}

func internationalPhone(d string) (string, error) {
	n := d[1:]
	if !allDigits(n) || len(n) < 8 || len(n) > 15 || n[0] == '0' {
		return "", ErrInvalidPhone
	}
	return d, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
