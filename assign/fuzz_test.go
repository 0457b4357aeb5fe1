package assign_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/openmoove/omq/assign"
	"github.com/openmoove/omq/streams"
)

// FuzzParseTable holds the --assignments parser to: an accepted table is
// valid, survives a YAML round trip unchanged, and every professional's
// load key is a literal KV key (it is the tail of a LEDGER subject).
func FuzzParseTable(f *testing.F) {
	f.Add([]byte("default:\n  estate_agent: [lettings@agency.example]\nrules:\n  - postcode_areas: [SW, w, EC]\n    sale_methods: [modern_auction, secure_sale]\n    auctioneer: [A@auctions.example, b@auctions.example]\n"))
	f.Add([]byte("default: {}\n"))
	f.Add([]byte("rules:\n  - postcode_areas: [SW1]\n"))
	f.Add([]byte("default:\n  estate_agent: [\"a b@example.com\"]\n  surveyor: [s@example.com]\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		tab, err := assign.Parse(raw)
		if err != nil {
			if !strings.HasPrefix(err.Error(), assign.ErrInvalidTable.Error()) {
				t.Fatalf("an error that does not say what it is about: %v", err)
			}
			return
		}
		if err := tab.Validate(); err != nil {
			t.Fatalf("Parse accepted what Validate refuses: %v", err)
		}
		for _, email := range tab.Professionals() {
			if err := streams.CheckLiteralSubject("$KV.OPENMOOVE_LEDGER." + assign.LoadKey(email)); err != nil {
				t.Fatalf("professional %q: %v", email, err)
			}
		}
		first, err := yaml.Marshal(tab)
		if err != nil {
			t.Fatalf("accepted, but does not marshal: %v", err)
		}
		back, err := assign.Parse(first)
		if err != nil {
			t.Fatalf("%s: marshalled table refused: %v", first, err)
		}
		a, _ := json.Marshal(tab)
		b, _ := json.Marshal(back)
		if !bytes.Equal(a, b) {
			t.Fatalf("round trip changed the table:\n%s\n%s", a, b)
		}
		if second, _ := yaml.Marshal(back); !bytes.Equal(first, second) {
			t.Fatalf("second marshal differs:\n%s\n%s", first, second)
		}
	})
}
