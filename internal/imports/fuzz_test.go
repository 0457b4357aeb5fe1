package imports

import (
	"bytes"
	"reflect"
	"regexp"
	"testing"

	"github.com/openmoove/omq/assign"
	"github.com/openmoove/omq/events"
)

// Seeds beyond these are in testdata/fuzz/FuzzImportCSV and
// testdata/fuzz/FuzzImportJSONL (hostile and regression inputs).
const (
	seedCSV = "first_name,last_name,email,phone_number,property_address,property_postcode,estate_agent_email\n" +
		"Ada,Byron,ada@example.com,07700900001,\"7 Market Street, Manchester\",M1 2AB,agent@example.com\n"
	seedJSONL = `{"first_name":"Ada","last_name":"Byron","email":"ada@example.com","phone_number":"07700900001","property_address":"7 Market Street","property_postcode":"M1 2AB","external_id":"crm-1"}` + "\n"
)

func FuzzImportCSV(f *testing.F) {
	f.Add([]byte(seedCSV))
	f.Add([]byte("first_name\n\"open quote\n"))
	f.Fuzz(func(t *testing.T, b []byte) { checkImport(t, b, "csv") })
}

func FuzzImportJSONL(f *testing.F) {
	f.Add([]byte(seedJSONL))
	f.Add([]byte("{}\n\n[1]\n{\"first_name\":1}"))
	f.Fuzz(func(t *testing.T, b []byte) { checkImport(t, b, "jsonl") })
}

var lineNumber = regexp.MustCompile(`line \d+`)

// checkImport holds the import reader to its promise: rows or an error
// that names a line; every row on a line of the file, in order; every valid
// row valid again, with a usable request_id, and stable through JSON.
func checkImport(t *testing.T, b []byte, format string) {
	fill := (&assign.Table{}).EdgeFill("default-agent@example.com")
	rows, err := Parse(b, format, fill)
	if err != nil {
		if !lineNumber.MatchString(err.Error()) {
			t.Fatalf("the error names no line: %v", err)
		}
		return
	}
	lines := bytes.Count(b, []byte("\n")) + 1
	prev := 0
	for _, r := range rows {
		if r.Line <= prev || r.Line > lines {
			t.Fatalf("row on line %d after line %d; the file has %d lines", r.Line, prev, lines)
		}
		prev = r.Line
		if r.Valid() {
			checkValidRow(t, r, fill)
		}
	}
}

func checkValidRow(t *testing.T, r Row, fill events.Fill) {
	c := r.Creation
	if c.RequestID == "" || events.CheckRequestID(c.RequestID) != "" {
		t.Fatalf("line %d: unusable request_id %q", r.Line, c.RequestID)
	}
	again := c
	if err := again.Validate(fill); err != nil {
		t.Fatalf("line %d: accepted, yet invalid: %v", r.Line, err)
	}
	if !reflect.DeepEqual(again, c) {
		t.Fatalf("line %d: validating an accepted row changed it:\n%+v\n%+v", r.Line, c, again)
	}
	first, err := c.Marshal()
	if err != nil {
		t.Fatalf("line %d: marshal: %v", r.Line, err)
	}
	back, err := events.DecodeCreateProperty(first)
	if err != nil {
		t.Fatalf("line %d: %s does not decode: %v", r.Line, first, err)
	}
	second, _ := back.Marshal()
	if !bytes.Equal(first, second) {
		t.Fatalf("line %d: round trip changed the row:\n%s\n%s", r.Line, first, second)
	}
}
