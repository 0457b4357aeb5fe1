package assign

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/openmoove/omq/openmoove"
)

// Role is a professional role of POST /clients/, named as its JSON field
// without "_email".
type Role string

// The roles a creation can name.
const (
	EstateAgent    Role = "estate_agent"
	Conveyancer    Role = "conveyancer"
	MortgageBroker Role = "mortgage_broker"
	Auctioneer     Role = "auctioneer"
)

// Roles lists every role in the order of the API's fields.
var Roles = []Role{EstateAgent, Conveyancer, MortgageBroker, Auctioneer}

// Field returns a pointer to the role's email field of req.
func (r Role) Field(req *openmoove.CreateClientRequest) *string {
	switch r {
	case EstateAgent:
		return &req.EstateAgentEmail
	case Conveyancer:
		return &req.ConveyancerEmail
	case MortgageBroker:
		return &req.MortgageBrokerEmail
	case Auctioneer:
		return &req.AuctioneerEmail
	}
	panic("assign: unknown role " + string(r))
}

// Candidates are the professionals (emails) that may take each role, in
// order of preference when loads are equal.
type Candidates struct {
	EstateAgent    []string `yaml:"estate_agent,omitempty" json:"estate_agent,omitempty"`
	Conveyancer    []string `yaml:"conveyancer,omitempty" json:"conveyancer,omitempty"`
	MortgageBroker []string `yaml:"mortgage_broker,omitempty" json:"mortgage_broker,omitempty"`
	Auctioneer     []string `yaml:"auctioneer,omitempty" json:"auctioneer,omitempty"`
}

// For returns the candidates for role r.
func (c Candidates) For(r Role) []string {
	switch r {
	case EstateAgent:
		return c.EstateAgent
	case Conveyancer:
		return c.Conveyancer
	case MortgageBroker:
		return c.MortgageBroker
	case Auctioneer:
		return c.Auctioneer
	}
	return nil
}

// Rule gives candidates to creations in some postcode areas and sale
// methods.
type Rule struct {
	// PostcodeAreas are the leading letters of the postcode ("SW" of
	// "SW1A 1AA", "M" of "M1 2AB"), upper case. Empty matches every area.
	PostcodeAreas []string `yaml:"postcode_areas,omitempty" json:"postcode_areas,omitempty"`
	// SaleMethods are openmoove sale methods; empty matches every method.
	SaleMethods []string `yaml:"sale_methods,omitempty" json:"sale_methods,omitempty"`
	Candidates  `yaml:",inline" json:",inline"`
}

// Table is the assignment table: rules in order, then the default. The zero
// Table assigns nobody.
type Table struct {
	Default Candidates `yaml:"default" json:"default"`
	Rules   []Rule     `yaml:"rules,omitempty" json:"rules,omitempty"`
}

// ErrInvalidTable is wrapped by every error of Load and Validate.
var ErrInvalidTable = errors.New("assign: invalid assignment table")

// Load reads a table from a YAML file. An empty path returns the zero Table.
// Unknown keys, bad emails, unknown sale methods and malformed areas are
// errors naming the place.
func Load(path string) (*Table, error) {
	if path == "" {
		return &Table{}, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v (set --assignments to a readable YAML file)", ErrInvalidTable, err)
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Parse reads a table from YAML (strict: unknown keys are errors) and
// validates it.
func Parse(b []byte) (*Table, error) {
	var t Table
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %v", ErrInvalidTable, err)
	}
	t.normalise()
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return &t, nil
}

func (t *Table) normalise() {
	clean := func(c *Candidates) {
		for _, r := range Roles {
			list := c.listPtr(r)
			for i, e := range *list {
				(*list)[i] = strings.ToLower(strings.TrimSpace(e))
			}
		}
	}
	clean(&t.Default)
	for i := range t.Rules {
		r := &t.Rules[i]
		clean(&r.Candidates)
		for j, a := range r.PostcodeAreas {
			r.PostcodeAreas[j] = strings.ToUpper(strings.TrimSpace(a))
		}
		for j, m := range r.SaleMethods {
			r.SaleMethods[j] = strings.TrimSpace(m)
		}
	}
}

func (c *Candidates) listPtr(r Role) *[]string {
	switch r {
	case EstateAgent:
		return &c.EstateAgent
	case Conveyancer:
		return &c.Conveyancer
	case MortgageBroker:
		return &c.MortgageBroker
	default:
		return &c.Auctioneer
	}
}

// Validate names the first unusable entry.
func (t *Table) Validate() error {
	if err := t.Default.validate("default"); err != nil {
		return err
	}
	for i, r := range t.Rules {
		where := fmt.Sprintf("rules[%d]", i)
		for _, a := range r.PostcodeAreas {
			if !validArea(a) {
				return fmt.Errorf("%w: %s.postcode_areas: %q is not a postcode area (one or two letters, such as SW or M)", ErrInvalidTable, where, a)
			}
		}
		for _, m := range r.SaleMethods {
			if !slices.Contains(openmoove.SaleMethods, m) {
				return fmt.Errorf("%w: %s.sale_methods: %q is not one of %s", ErrInvalidTable, where, m, strings.Join(openmoove.SaleMethods, ", "))
			}
		}
		if err := r.Candidates.validate(where); err != nil {
			return err
		}
	}
	return nil
}

func (c Candidates) validate(where string) error {
	for _, r := range Roles {
		for _, e := range c.For(r) {
			if !openmoove.ValidEmail(e) {
				return fmt.Errorf("%w: %s.%s: %q is not an email address", ErrInvalidTable, where, r, e)
			}
		}
	}
	return nil
}

func validArea(a string) bool {
	if len(a) < 1 || len(a) > 2 {
		return false
	}
	for _, r := range a {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// Area returns the postcode area of a postcode: its leading letters, upper
// case ("SW" of "sw1a 1aa", "M" of "M1 2AB"); "" when it starts otherwise.
func Area(postcode string) string {
	p := strings.ToUpper(strings.TrimSpace(postcode))
	n := 0
	for n < len(p) && n < 2 && p[n] >= 'A' && p[n] <= 'Z' {
		n++
	}
	return p[:n]
}

// Empty reports whether the table assigns nobody.
func (t *Table) Empty() bool {
	if t == nil {
		return true
	}
	for _, r := range Roles {
		if len(t.Default.For(r)) > 0 {
			return false
		}
	}
	for _, rule := range t.Rules {
		for _, r := range Roles {
			if len(rule.For(r)) > 0 {
				return false
			}
		}
	}
	return true
}

// CandidatesFor returns the candidates for role in a creation with the
// postcode and sale method: the first matching rule that lists some for
// the role, else the default's. Nil when there are none.
func (t *Table) CandidatesFor(role Role, postcode, saleMethod string) []string {
	if t == nil {
		return nil
	}
	if saleMethod == "" {
		saleMethod = openmoove.SaleStandard
	}
	area := Area(postcode)
	for _, r := range t.Rules {
		if len(r.PostcodeAreas) > 0 && !slices.Contains(r.PostcodeAreas, area) {
			continue
		}
		if len(r.SaleMethods) > 0 && !slices.Contains(r.SaleMethods, saleMethod) {
			continue
		}
		if c := r.For(role); len(c) > 0 {
			return c
		}
	}
	return t.Default.For(role)
}

// Prospective fills every role req lacks with the role's first candidate,
// as a stand-in for the worker's pick: edges validate the result to know
// whether the API will accept the creation. It is an events.Fill.
func (t *Table) Prospective(req *openmoove.CreateClientRequest) {
	for _, r := range Roles {
		f := r.Field(req)
		if strings.TrimSpace(*f) != "" {
			continue
		}
		if c := t.CandidatesFor(r, req.PropertyPostcode, strings.TrimSpace(req.SaleMethod)); len(c) > 0 {
			*f = c[0]
		}
	}
}

// EdgeFill returns what edges validate with (an events.Fill): the table's
// Prospective picks, then defaultEstateAgent when the creation still names
// no professional — what the property worker will add.
func (t *Table) EdgeFill(defaultEstateAgent string) func(*openmoove.CreateClientRequest) {
	return func(req *openmoove.CreateClientRequest) {
		t.Prospective(req)
		if defaultEstateAgent == "" {
			return
		}
		for _, r := range Roles {
			if strings.TrimSpace(*r.Field(req)) != "" {
				return
			}
		}
		req.EstateAgentEmail = defaultEstateAgent
	}
}
