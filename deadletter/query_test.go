package deadletter_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/deadletter"
)

const phoneRefused = "400 Bad Request: phone_number: Invalid phone number format"

// letter writes a dead letter of eventType with body and err.
func (b *bundle) letter(t *testing.T, seq uint64, eventType, body, err string) uint64 {
	t.Helper()
	subj := b.top.EventSubject(eventType)
	if eventType == "create_property" {
		subj = b.top.CreatePropertySubject()
	}
	return b.write(t, deadletter.Failed{
		Subject: subj, Data: []byte(body), Header: nats.Header{jetstream.MsgIDHeader: {fmt.Sprintf("m-%d", seq)}},
		Stream: b.top.EventsStream(), Seq: seq, Deliveries: 1, Kind: "permanent", Error: err, Worker: "milestones",
	})
}

func TestPageWalksEveryLetterOnceWithAStableCursor(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var all []uint64
	for i := range 25 {
		all = append(all, b.letter(t, uint64(i+1), "offer_accepted", `{"type":"offer_accepted","transaction_id":"T-1"}`, "boom"))
	}
	var seen []uint64
	f := deadletter.Filter{}
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatalf("more than 3 pages of 10 for 25 letters: %v", seen)
		}
		p, err := b.store.Page(b.ctx, f, 10)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, ids(p.Letters)...)
		if pages == 0 {
			// A letter replayed between pages must not shift the next one.
			if _, err := b.store.Delete(b.ctx, all[3]); err != nil {
				t.Fatal(err)
			}
		}
		if p.Next == 0 {
			break
		}
		f.After = p.Next
	}
	if !slices.Equal(seen, all) {
		t.Fatalf("pages gave %v, want every id once, in order: %v", seen, all)
	}
	if _, err := b.store.Page(b.ctx, deadletter.Filter{}, deadletter.MaxPageSize+1); err == nil {
		t.Fatal("a page above MaxPageSize was accepted")
	}
}

func TestFilterByBodyStatusTransactionAndType(t *testing.T) {
	t.Parallel()
	b := setup(t)
	alice := b.letter(t, 1, "create_property",
		`{"request_id":"r-1","first_name":"Alice","phone_number":"0113 496 0000","address":{"postcode":"LS1 4AP"}}`,
		"openmoove: POST /clients/: "+phoneRefused)
	bob := b.letter(t, 2, "create_property",
		`{"request_id":"r-2","first_name":"Bob","phone_number":"+447700900123","address":{"postcode":"M1 1AA"}}`,
		"openmoove: POST /clients/: 503 Service Unavailable")
	ev := b.letter(t, 3, "offer_accepted", `{"type":"offer_accepted","transaction_id":"T-42","n":7}`,
		"openmoove: PATCH /milestones/9/: 404 Not Found: Not found.")
	cases := []struct {
		name string
		f    deadletter.Filter
		want []uint64
	}{
		{"body string", deadletter.Filter{Body: []deadletter.BodyMatch{{Path: "first_name", Value: "Alice"}}}, []uint64{alice}},
		{"body dotted path", deadletter.Filter{Body: []deadletter.BodyMatch{{Path: "address.postcode", Value: "M1 1AA"}}}, []uint64{bob}},
		{"body number", deadletter.Filter{Body: []deadletter.BodyMatch{{Path: "n", Value: "7"}}}, []uint64{ev}},
		{"body missing field", deadletter.Filter{Body: []deadletter.BodyMatch{{Path: "address.city", Value: "Leeds"}}}, nil},
		{"body all must hold", deadletter.Filter{Body: []deadletter.BodyMatch{{Path: "first_name", Value: "Alice"}, {Path: "request_id", Value: "r-2"}}}, nil},
		{"status 400", deadletter.Filter{Status: 400}, []uint64{alice}},
		{"status 404", deadletter.Filter{Status: 404}, []uint64{ev}},
		{"transaction", deadletter.Filter{TransactionID: "T-42"}, []uint64{ev}},
		{"type", deadletter.Filter{Type: "create_property"}, []uint64{alice, bob}},
		{"reason", deadletter.Filter{Reason: phoneRefused}, []uint64{alice}},
		{"through", deadletter.Filter{Through: bob}, []uint64{alice, bob}},
	}
	for _, c := range cases {
		ls, err := b.store.List(b.ctx, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.Equal(ids(ls), c.want) {
			t.Errorf("%s: got %v, want %v", c.name, ids(ls), c.want)
		}
	}
	for _, bad := range []deadletter.Filter{{Status: 99}, {Type: "events.x"}, {Body: []deadletter.BodyMatch{{Path: "a..b"}}}, {After: 5, Through: 5}} {
		var fe *deadletter.FilterError
		if err := bad.Validate(); !errors.As(err, &fe) {
			t.Errorf("%+v: Validate = %v, want a *FilterError", bad, err)
		}
	}
}

func TestGroupsByReasonSelectTheirLetters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var phone []uint64
	for i := range 5 {
		// Each call names its own path and id; the reason is the same.
		err := fmt.Sprintf("openmoove: PATCH /milestones/%d/: %s", 100+i, phoneRefused)
		phone = append(phone, b.letter(t, uint64(i+1), "offer_accepted", `{"type":"offer_accepted","transaction_id":"T-1"}`, err))
	}
	other := b.letter(t, 9, "offer_accepted", `{"type":"offer_accepted","transaction_id":"T-2"}`,
		"openmoove: GET /properties/8f14e45f-ceea-4672-9c6f-1d2e3c4b5a69/milestones/: 404 Not Found")
	gs, err := b.store.Groups(b.ctx, deadletter.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 2 || gs[0].Reason != phoneRefused || gs[0].Count != 5 || gs[0].Example != phone[0] ||
		gs[1].Reason != "404 Not Found" || gs[1].Count != 1 {
		t.Fatalf("groups %+v", gs)
	}
	ls, err := b.store.List(b.ctx, deadletter.Filter{Reason: gs[0].Reason})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(ls), phone) {
		t.Fatalf("the group's filter selects %v, want %v (not %d)", ids(ls), phone, other)
	}
	n, last, err := b.store.Count(b.ctx, deadletter.Filter{Reason: gs[0].Reason})
	if err != nil || n != 5 || last != phone[4] {
		t.Fatalf("Count = %d, %d, %v; want 5, %d", n, last, err, phone[4])
	}
}

func TestReasonTakesOutWhatDiffersPerMessage(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"openmoove: POST /clients/: 400 Bad Request: " + phoneRefused[len("400 Bad Request: "):]: phoneRefused,
		"transaction T-1042 not found after 3 tries":                                             "transaction T-# not found after # tries",
		"openmoove: GET /properties/12/: timeout":                                                "timeout",
		"lookup 8F14E45F-CEEA-4672-9C6F-1D2E3C4B5A69 failed":                                     "lookup <id> failed",
		"  ": deadletter.NoReason,
	}
	for in, want := range cases {
		if got := deadletter.Reason(in); got != want {
			t.Errorf("Reason(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseBodyMatch(t *testing.T) {
	t.Parallel()
	m, err := deadletter.ParseBodyMatch(" address.postcode=LS1 4AP=x")
	if err != nil || m.Path != "address.postcode" || m.Value != "LS1 4AP=x" {
		t.Fatalf("ParseBodyMatch = %+v, %v", m, err)
	}
	for _, bad := range []string{"no-equals", "=value", "a..b=1"} {
		var fe *deadletter.FilterError
		if _, err := deadletter.ParseBodyMatch(bad); !errors.As(err, &fe) || fe.Field != "body" {
			t.Errorf("ParseBodyMatch(%q) = %v, want a body FilterError", bad, err)
		}
	}
}

func TestDiffShowsTheChangedFields(t *testing.T) {
	t.Parallel()
	old := []byte(`{"first_name":"Alice","phone_number":"0113 496 0000","email":"a@example.com"}`)
	edited := []byte(`{"first_name":"Alice","phone_number":"+441134960000","email":"a@example.com"}`)
	d := deadletter.Diff(old, edited)
	want := "-  \"phone_number\": \"0113 496 0000\",\n+  \"phone_number\": \"+441134960000\",\n"
	if got := deadletter.DiffText(d); got != want {
		t.Fatalf("DiffText = %q, want %q", got, want)
	}
	if kept := len(d) - 2; kept != 4 { // { first_name email }
		t.Fatalf("diff %v keeps %d lines, want 4", d, kept)
	}
	if deadletter.Changed(deadletter.Diff(old, old)) {
		t.Fatal("a body diffed with itself changed")
	}
	if !strings.Contains(deadletter.DiffText(deadletter.Diff([]byte("a\nb"), []byte("a\nc"))), "-b\n+c") {
		t.Fatal("non-JSON bodies are not diffed by line")
	}
}
