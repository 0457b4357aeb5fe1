// Package assign picks the professionals of a property creation that names
// none for a role: the integration guide's "smart assignment", done with
// omq's own numbers instead of an extra API call.
//
// The table (Table, loaded from the YAML file named by --assignments) maps a
// postcode area and a sale method to candidate professionals per role, with
// a default for everything the rules do not cover:
//
//	default:
//	  estate_agent: [lettings@agency.example]
//	rules:
//	  - postcode_areas: [SW, W, EC]          # empty: every area
//	    sale_methods: [modern_auction, secure_sale]   # empty: every method
//	    auctioneer: [a@auctions.example, b@auctions.example, c@auctions.example]
//
// For each role a creation lacks, the first matching rule that lists
// candidates for that role supplies them, else the default does. The
// Assigner picks the least loaded candidate (ties go to the first listed),
// where the load is omq's own count of the open properties it created with
// that professional, kept in the LEDGER bucket under "load.<email>" keys so
// every replica shares it. A pick reserves its slot with a compare-and-set,
// so concurrent creations spread out instead of piling on one candidate;
// Release gives the slot back when the API refused the creation.
//
// Edges (publisher, CLI, HTTP ingest) use Table.Prospective to validate what
// the worker will send — an auction without an auctioneer is accepted only
// when the table can supply one — but only the property worker assigns.
package assign
