// Package openmoove is omq's client for the OpenMoove Partner API v1: typed
// calls for every endpoint, one error type that says what kind of failure
// happened, and a validator that refuses a bad property before it is queued.
//
// The contract is ../shared/spec/openmoove-partner-api.md. Package
// openmoove/sandbox serves the same API in memory for tests and laptops.
//
// # Creating a client
//
//	c, err := openmoove.New(openmoove.Config{
//		BaseURL: openmoove.StagingURL, // or a sandbox's URL()
//		APIKey:  os.Getenv("OMQ_OPENMOOVE_API_KEY"),
//	})
//
// Every Config field but APIKey has a default (WithDefaults); Validate names
// the field at fault. Requests carry X-API-KEY, Content-Type:
// application/json and User-Agent: omq/<Version>, over a keep-alive
// transport; each attempt is bounded by Config.Timeout (10s) and by the
// caller's ctx.
//
// # Calls
//
// One method per endpoint, each making exactly one HTTP attempt:
//
//	Products(ctx)                          GET   /products/
//	CreateClient(ctx, req)                 POST  /clients/
//	ListProperties(ctx, page, pageSize)    GET   /properties/?page=&page_size=
//	AllProperties(ctx, pageSize)           every page, as an iter.Seq2
//	Property(ctx, id)                      GET   /properties/{id}/        (PDTF)
//	PropertyDetail(ctx, id)                GET   /properties/{id}/detail/
//	Milestones(ctx, id)                    GET   /properties/{id}/milestones/
//	CurrentMilestone(ctx, id)              GET   /properties/{id}/milestones/current/
//	Chat(ctx, id, page, pageSize)          GET   /properties/{id}/chat/
//	ChatSummary(ctx, id)                   GET   /properties/{id}/chat/summary/
//	UpdateMilestone(ctx, id, mid, req)     PATCH /properties/{id}/milestones/{mid}/ (assumed)
//
// A property id is the transaction UUID (CreateClientResponse.Property.
// TransactionID) or the numeric property id. Iterating all properties:
//
//	for p, err := range c.AllProperties(ctx, 100) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(p.ID, p.Address)
//	}
//
// # Errors
//
// Every failed call returns an *Error with the method, path, HTTP status,
// Detail, FieldErrors and a failure.Kind, and reads like
//
//	openmoove: POST /clients/: 400 Bad Request: phone_number: Invalid phone number format
//
// The kinds (package failure) decide what the worker loop does:
//
//	400, 403, 404, 405          Permanent  never retry the same payload
//	429                         Throttled  wait Error.Wait, then retry
//	401                         Systemic   the key is wrong: pause everything
//	5xx, timeout, no connection Transient  retry with backoff
//
// FieldErrors is filled from every 400 shape the API sends: {"detail",
// "field_errors":{…}}, plain {"field":["msg"]}, and {"non_field_errors":[…]}
// (kept under NonFieldErrors), bounded whatever the body: 300 characters
// of detail, 10 fields ("and K more fields" after), 3 messages of 200
// characters each. A 429's wait is Retry-After, else X-RateLimit-Reset
// minus now, else the number in "Expected available in N seconds", at most
// 24 hours. IsNotFound, IsForbidden, IsUnauthorized, IsBadRequest,
// IsThrottled and StatusOf read an error chain. An API without the milestone
// update endpoint answers 405, which errors.Is(err, ErrUpdateUnsupported)
// detects: run the milestone worker in notify-only mode there.
//
// Methods never retry. CLI commands that make a few calls can wrap them in
// Retry, which backs off on Transient errors, waits as told on Throttled ones
// and stops at once on Permanent and Systemic ones:
//
//	err := openmoove.Retry(ctx, func(ctx context.Context) error {
//		_, err := c.Products(ctx)
//		return err
//	})
//
// # Rate limits and the shared budget
//
// Config.BeforeRequest runs before every attempt with a RequestInfo (method,
// path, whether it is a mutation); omq's shared API budget plugs in there and
// may refuse, in which case nothing is sent and its error is returned.
// Config.OnRateLimit receives the X-RateLimit-* headers of every answer,
// errors included, to correct that budget.
//
// # The API's clock
//
// OpenMoove stamps due dates, is_overdue, invited_at and webhook timestamps
// with its own clock. Client.Now is that clock: the local clock plus the
// offset the Date header (RFC 7231 IMF-fixdate) of the latest answer gave,
// whatever its status, kept in whole seconds since Date has no finer
// resolution; before any answer it is the local clock. ClockOffset says how
// far ahead (or, negative, behind) the API is. Judge the API's times
// against Now, not time.Now, and a skewed local clock changes nothing. The
// sandbox's Date follows its clock, AdvanceClock included.
//
// # Validation before queueing
//
// ValidateCreate mirrors the API's rules for POST /clients/ and answers in
// its words ("This field is required.", "Invalid phone number format",
// "Enter a valid email address", "At least one professional email must be
// provided", "auctioneer_email is required for auction sale methods", UK
// postcode of at most 10 characters, known sale method and product slugs).
// It trims the request and normalises the phone to E.164 and the postcode in
// place, and returns a *ValidationError (kind Permanent):
//
//	if err := openmoove.ValidateCreate(&req); err != nil {
//		return err // refuse the upstream system now; never queue it
//	}
//
// NormalizeUKPhone turns 07700900123, 447700900123 and +44 7700 900123 into
// +447700900123.
//
// # Secrets
//
// The API key is sent only in the X-API-KEY header, and only to the
// configured base URL (the iterator follows page numbers, not the answer's
// absolute links). Config and Client print and log it redacted
// (String, Format, LogValue), and no error message carries it.
package openmoove
