package openmoove

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Decimal is a money amount as the API sends it. The reference shows numbers
// (0); Django REST Framework often renders decimals as strings ("0.00"), so
// both decode. It encodes as a JSON number.
type Decimal string

// Float returns the amount as a float64 (0 for an empty Decimal).
func (d Decimal) Float() float64 {
	f, _ := strconv.ParseFloat(string(d), 64)
	return f
}

// MarshalJSON encodes d as a JSON number.
func (d Decimal) MarshalJSON() ([]byte, error) {
	if d == "" {
		return []byte("0"), nil
	}
	if _, err := strconv.ParseFloat(string(d), 64); err != nil {
		return nil, fmt.Errorf("openmoove: decimal %q is not a number", string(d))
	}
	return []byte(d), nil
}

// UnmarshalJSON accepts a JSON number, a numeric string or null.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	s, err := flexString(b)
	if err != nil {
		return fmt.Errorf("openmoove: decimal: %w", err)
	}
	*d = Decimal(s)
	return nil
}

// flexString reads a JSON string, number or null as a string. Ids and amounts
// whose type the reference leaves open go through it.
func flexString(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return "", nil
	case len(b) > 0 && b[0] == '"':
		var s string
		err := json.Unmarshal(b, &s)
		return s, err
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return "", err
		}
		return n.String(), nil
	}
}
