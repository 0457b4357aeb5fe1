//go:build ignore

// gen_create_property writes create_property.schema.json. Its patterns
// spell out, character by character, what openmoove.ValidateCreate accepts
// after trimming and normalising (a UK phone in any of its spellings, a
// postcode in any case with spaces anywhere); written by hand they would
// drift. Run `go generate ./events/schema` after changing those rules.
package main

import (
	"encoding/json"
	"log"
	"os"
	"regexp"
	"strings"

	"github.com/openmoove/omq/openmoove"
)

// ws is every rune unicode.IsSpace accepts (strings.TrimSpace and
// strings.Fields cut them), written as the characters themselves so the
// class means the same in ECMA-262 and Go (RE2) regular expressions.
const ws = "[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"

var nonWS = "[^" + ws[1:]

// email is openmoove's address pattern without its anchors.
const email = `[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+`

func trimmed(core string) string { return "^" + ws + "*" + core + ws + "*$" }

func alt(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = regexp.QuoteMeta(w)
	}
	return "(?:" + strings.Join(q, "|") + ")"
}

func str(pattern, desc string) map[string]any {
	m := map[string]any{"type": "string", "pattern": pattern}
	if desc != "" {
		m["description"] = desc
	}
	return m
}

func nullable(m map[string]any) map[string]any {
	m["type"] = []string{"string", "null"}
	return m
}

// emailSchema is a trimmed address of at most 254 characters; optional
// admits a blank string (no address).
func emailSchema(optional bool, desc string) map[string]any {
	core, length := email, nonWS+"{1,254}"
	if optional {
		core, length = "(?:"+core+")?", "(?:"+length+")?"
	}
	m := map[string]any{"type": "string", "description": desc,
		"allOf": []any{map[string]any{"pattern": trimmed(core)}, map[string]any{"pattern": trimmed(length)}}}
	if optional {
		return nullable(m)
	}
	return m
}

func main() {
	required := []string{"first_name", "last_name", "email", "phone_number", "property_address", "property_postcode"}
	pros := []string{"estate_agent_email", "conveyancer_email", "mortgage_broker_email", "auctioneer_email"}
	nonBlank := nonWS
	props := map[string]any{
		"first_name":       str(nonBlank, "Required; not blank."),
		"last_name":        str(nonBlank, "Required; not blank."),
		"property_address": str(nonBlank, "Required; not blank."),
		"email":            emailSchema(false, "The mover's address; required. Spaces around it are trimmed."),
		"phone_number":     str(trimmed(phone()), phoneDesc),
		"property_postcode": str(trimmed(postcode()),
			"A UK postcode, in any case and with spaces anywhere (sw1a1aa is stored as SW1A 1AA)."),
		"sale_method": nullable(str(trimmed(alt(openmoove.SaleMethods)+"?"),
			"One of "+strings.Join(openmoove.SaleMethods, ", ")+"; absent or blank is standard. An auction needs auctioneer_email.")),
		"products": map[string]any{"type": []string{"array", "null"}, "description": "Product slugs bought with the property.",
			"items": str(trimmed(alt(openmoove.KnownProducts)), "")},
		"request_id": nullable(str(`^[A-Za-z0-9._:@=+/-]{0,128}$`,
			"The idempotency key: two creations with the same request_id create at most one property. Empty or null: omq generates one.")),
	}
	anyPro := make([]any, len(pros))
	for i, p := range pros {
		props[p] = emailSchema(true, "A professional's address; blank means none.")
		anyPro[i] = present(p)
	}
	schema := map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  "https://github.com/openmoove/omq/events/schema/create_property.schema.json",
		"title":                "omq property creation",
		"description":          description,
		"type":                 "object",
		"additionalProperties": false,
		"required":             required,
		"properties":           props,
		"anyOf":                anyPro,
		"if": map[string]any{"required": []string{"sale_method"},
			"properties": map[string]any{"sale_method": str(trimmed(alt(auctions())), "")}},
		"then": present("auctioneer_email"),
	}
	b, err := json.MarshalIndent(schema, "", "  ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("create_property.schema.json", append(b, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
}

const description = "A queued property creation, published on <prefix>.commands.create_property or POSTed to /v1/properties: " +
	"the body of OpenMoove's POST /clients/ plus an optional request_id. Strings are trimmed before they are checked. " +
	"At least one professional address is required, and auctioneer_email for an auction sale method. " +
	"events.DecodeCreateProperty followed by Validate(nil) accepts exactly what this schema accepts. " +
	"A deployment may fill a missing professional (--default-estate-agent-email, --assignments) before it checks; " +
	"this schema is the strict form, without that help."

const phoneDesc = "A UK number (07700 900123, +44 7700 900123, +44 (0)7700 900123, 0044…, 447700…) " +
	"or any international number with its + country code (8 to 15 digits). Spaces, dots, dashes and brackets are ignored, " +
	"and a \"(0)\" is dropped wherever it stands; stored as E.164."

// present says field is given: a string with something besides spaces.
func present(field string) map[string]any {
	return map[string]any{"required": []string{field},
		"properties": map[string]any{field: map[string]any{"type": "string", "pattern": nonWS}}}
}

func auctions() []string {
	var out []string
	for _, m := range openmoove.SaleMethods {
		if openmoove.IsAuction(m) {
			out = append(out, m)
		}
	}
	return out
}

// postcode matches what NormalizePostcode turns into a valid postcode: it
// drops every space and upper-cases (ı and ſ become I and S).
func postcode() string {
	w := ws + "*"
	letter := "[A-Za-z\u0131\u017f]"
	inward := "[ABD-HJLNP-UW-Zabd-hjlnp-uw-z\u017f]"
	seq := func(parts ...string) string { return strings.Join(parts, w) }
	gir := seq("[Gg]", `[Iiı]`, "[Rr]", "0", "[Aa]", "[Aa]")
	std := seq(letter, "(?:"+letter+w+")?"+"[0-9]", "(?:[A-Za-z0-9\u0131\u017f]"+w+")?"+"[0-9]", inward, inward)
	return "(?:" + gir + "|" + std + ")"
}

// phone matches what NormalizeUKPhone accepts. It drops every "(0)", then
// every space . - ( ): the digits left must read as a UK number or as +
// and 8 to 15 digits. The regular expression has no look-ahead (RE2 has
// none), so each ")" is attached to what stands before it, and a 0 right
// after a lone "(" may not be followed by ")": that would be a "(0)".
func phone() string {
	const (
		anyJunk = `(?:[ .-]\)*|\(0\)\)*|\(\)*)`
		noOpen  = `(?:[ .-]\)*|\(0\)\)*|\(\)+)`
	)
	digit := func(class string) string { return "(?:" + anyJunk + "*" + class + `\)*)` }
	zero := "(?:(?:" + anyJunk + "*" + noOpen + `)?0\)*|` + anyJunk + `*\(0)`
	d0 := "(?:" + digit("[1-9]") + "|" + zero + ")"
	d1 := digit("[1-9]")
	four := digit("4")
	plus := digit(`\+`)
	rep := func(s string, n string) string { return "(?:" + s + "){" + n + "}" }
	national := d1 + rep(d0, "8,9") // [1-9][0-9]{8,9}
	uk := zero + "?" + national     // a trunk 0 is dropped after 44
	alts := []string{
		plus + four + four + uk,                    // +44…
		zero + zero + four + four + uk,             // 0044…
		four + four + uk,                           // 44…, 11 digits or more
		plus + digit("[1-35-9]") + rep(d0, "7,14"), // +…, not +4
		plus + four + "(?:" + digit("[1-35-9]") + "|" + zero + ")" + rep(d0, "6,13"), // +4…, not +44
		zero + national, // 0…, not 00
	}
	return `\)*(?:` + strings.Join(alts, "|") + ")" + anyJunk + "*"
}
