package openmoove

import "time"

// Sale methods accepted in CreateClientRequest.SaleMethod.
const (
	SaleStandard      = "standard" // the default
	SaleModernAuction = "modern_auction"
	SaleSecureSale    = "secure_sale"
)

// SaleMethods lists the accepted sale methods.
var SaleMethods = []string{SaleStandard, SaleModernAuction, SaleSecureSale}

// IsAuction reports whether a sale method is an auction, which needs an
// auctioneer and gets the auction milestone template.
func IsAuction(saleMethod string) bool {
	return saleMethod == SaleModernAuction || saleMethod == SaleSecureSale
}

// CreateClientRequest is the body of POST /clients/, which creates the mover
// (client) and the property in one call. ValidateCreate checks it as the API
// would.
type CreateClientRequest struct {
	FirstName        string `json:"first_name"`
	LastName         string `json:"last_name"`
	Email            string `json:"email"`
	PhoneNumber      string `json:"phone_number"` // stored as E.164
	PropertyAddress  string `json:"property_address"`
	PropertyPostcode string `json:"property_postcode"` // UK, 10 characters at most

	// Professional emails: at least one is required.
	EstateAgentEmail    string `json:"estate_agent_email,omitempty"`
	ConveyancerEmail    string `json:"conveyancer_email,omitempty"`
	MortgageBrokerEmail string `json:"mortgage_broker_email,omitempty"`
	AuctioneerEmail     string `json:"auctioneer_email,omitempty"` // required for auctions

	SaleMethod string   `json:"sale_method,omitempty"` // SaleStandard when empty
	Products   []string `json:"products,omitempty"`    // product slugs
}

// Purchase is a product bought with a property.
type Purchase struct {
	ID            int64     `json:"id"`
	ProductName   string    `json:"product_name"`
	Amount        Decimal   `json:"amount"`
	PaymentTerms  string    `json:"payment_terms"`  // "net_30"
	PaymentStatus string    `json:"payment_status"` // "pending"
	PurchasedAt   time.Time `json:"purchased_at"`
}

// CreateClientResponse is the 201 answer of POST /clients/. Property carries
// the TransactionID every later call uses. A role id is set only for a
// professional the request named.
type CreateClientResponse struct {
	PropertyID       int64      `json:"property_id"`
	MoverID          int64      `json:"mover_id"`
	Message          string     `json:"message"` // "Client and property created successfully"
	Property         Property   `json:"property"`
	EstateAgentID    *int64     `json:"estate_agent_id,omitempty"`
	ConveyancerID    *int64     `json:"conveyancer_id,omitempty"`
	AuctioneerID     *int64     `json:"auctioneer_id,omitempty"`
	MortgageBrokerID *int64     `json:"mortgage_broker_id,omitempty"`
	Purchases        []Purchase `json:"purchases"`
	TotalAmount      Decimal    `json:"total_amount"`
}
