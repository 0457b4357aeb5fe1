package imports

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/openmoove/omq/assign"
	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/openmoove"
)

// Row is one creation of an import file.
type Row struct {
	Line     int // 1-based line of the file
	Creation events.CreateProperty
	// Fields are the row's problems, in the API's words; nil when valid.
	Fields map[string][]string
}

// Valid reports whether the row passed validation and may be queued.
func (r Row) Valid() bool { return len(r.Fields) == 0 }

// Problems renders the field errors on one line, fields sorted.
func (r Row) Problems() string {
	return strings.TrimPrefix((&openmoove.ValidationError{Fields: r.Fields}).Error(), "openmoove: invalid create request: ")
}

// File is an import file as read: its name and the identity the IMPORTS
// bucket records it under.
type File struct {
	// Name is the file's base name (never its directory).
	Name string
	// ID is the first 16 bytes of the SHA-256 of its content, in hex: the
	// same file imported again is the same import.
	ID     string
	Format string
}

// Load reads an import file completed as the worker will complete it: the
// --assignments table's fills, then --default-estate-agent-email. omq
// import queues what it reads; omq import status checks it.
func Load(cfg *config.Config, path, format string) (File, []Row, error) {
	table, err := assign.Load(cfg.Assignments)
	if err != nil {
		return File{}, nil, usage(err)
	}
	return Read(path, format, table.EdgeFill(cfg.DefaultEstateAgentEmail))
}

// Read reads every row of a CSV or JSON-lines file, validates each (with
// fill, as the worker will complete it) and gives each valid row its
// request_id: its request_id or external_id column, else a hash of the
// row, so the same file always yields the same ids.
func Read(path, format string, fill events.Fill) (File, []Row, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return File{}, nil, usageErrorf("%v; give a CSV or JSON-lines file", err)
	}
	if format == "" || format == "auto" {
		format = sniffFormat(path, b)
	}
	sum := sha256.Sum256(b)
	f := File{Name: filepath.Base(path), ID: hex.EncodeToString(sum[:16]), Format: format}
	rows, err := Parse(b, format, fill)
	return f, rows, err
}

// Parse is Read once the file is read and its format known.
func Parse(b []byte, format string, fill events.Fill) ([]Row, error) {
	var rows []Row
	var err error
	switch format {
	case "csv":
		rows, err = readCSV(b)
	case "jsonl":
		rows, err = readJSONL(b)
	default:
		return nil, usageErrorf("--format %q: want auto, csv or jsonl", format)
	}
	if err != nil {
		return nil, err
	}
	for i := range rows {
		r := &rows[i]
		if r.Valid() {
			if err := r.Creation.Validate(fill); err != nil {
				r.Fields = openmoove.FieldErrorsOf(err)
				if r.Fields == nil {
					r.Fields = map[string][]string{openmoove.NonFieldErrors: {err.Error()}}
				}
				continue
			}
			if r.Creation.RequestID == "" {
				r.Creation.RequestID = rowHash(r.Creation)
			}
		}
	}
	return rows, nil
}

func sniffFormat(path string, b []byte) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return "csv"
	case ".jsonl", ".ndjson", ".json":
		return "jsonl"
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		return "jsonl"
	}
	return "csv"
}

// rowHash is the request_id of a row without one: "row-" and 32 hex digits
// of the SHA-256 of its normalised JSON.
func rowHash(c events.CreateProperty) string {
	c.RequestID = ""
	b, _ := c.Marshal()
	sum := sha256.Sum256(b)
	return "row-" + hex.EncodeToString(sum[:16])
}

func readCSV(b []byte) ([]Row, error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		line := 1
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			line, err = pe.StartLine, pe.Err
		} else if errors.Is(err, io.EOF) {
			err = errors.New("the file is empty")
		}
		return nil, usageErrorf("CSV line %d, the header: %v; the first row names the columns (%s)", line, err, strings.Join(events.CreateFieldNames, ", "))
	}
	headerLine, _ := r.FieldPos(0)
	cols := make([]string, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if h == "external_id" {
			h = "request_id"
		}
		if !slices.Contains(events.CreateFieldNames, h) {
			return nil, usageErrorf("CSV line %d, the header: column %d %q is not a field of POST /clients/; accepted: %s (and external_id)", headerLine, i+1, header[i], strings.Join(events.CreateFieldNames, ", "))
		}
		cols[i] = h
	}
	var rows []Row
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				rows = append(rows, Row{Line: pe.StartLine, Fields: map[string][]string{openmoove.NonFieldErrors: {"CSV: " + pe.Err.Error()}}})
				continue
			}
			return nil, err
		}
		// FieldPos is only defined for a record Read returned without error:
		// after a parse error it panics.
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		row := Row{Line: line}
		if len(rec) != len(cols) {
			row.Fields = map[string][]string{openmoove.NonFieldErrors: {fmt.Sprintf("%d cells, the header has %d", len(rec), len(cols))}}
		} else {
			for i, v := range rec {
				if !utf8.ValidString(v) {
					// A file saved as Latin-1 or Windows-1252: its "£" or
					// "é" would reach the API as U+FFFD.
					row.Fields = map[string][]string{cols[i]: {"Not UTF-8 text: save the file as CSV UTF-8."}}
					break
				}
				if v = strings.TrimSpace(v); v != "" {
					_ = row.Creation.SetField(cols[i], v)
				}
			}
		}
		rows = append(rows, row)
	}
}

// MaxJSONLLine is the longest line of a JSON-lines import.
const MaxJSONLLine = 4 << 20

func readJSONL(b []byte) ([]Row, error) {
	var rows []Row
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), MaxJSONLLine)
	line := 1
	for ; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		c, err := events.DecodeCreateProperty(externalID(text))
		row := Row{Line: line, Creation: c}
		if err != nil {
			row.Fields = openmoove.FieldErrorsOf(err)
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		return nil, usageErrorf("JSON-lines line %d: %v; a line holds one creation of at most %d MiB", line, err, MaxJSONLLine>>20)
	}
	return rows, nil
}

// externalID renames an "external_id" key to "request_id" when the object
// has no request_id.
func externalID(b []byte) []byte {
	if !bytes.Contains(b, []byte(`"external_id"`)) {
		return b
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return b
	}
	if _, ok := m["request_id"]; ok {
		return b
	}
	m["request_id"] = m["external_id"]
	delete(m, "external_id")
	out, err := json.Marshal(m)
	if err != nil {
		return b
	}
	return out
}

// usageError marks a problem with the file or the flags (exit status 2 in
// omq) without adding to the message.
type usageError struct{ err error }

func (u usageError) Error() string        { return u.err.Error() }
func (u usageError) Unwrap() error        { return u.err }
func (u usageError) Is(target error) bool { return target == config.ErrUsage }

func usage(err error) error { return usageError{err} }

func usageErrorf(format string, args ...any) error { return usage(fmt.Errorf(format, args...)) }
