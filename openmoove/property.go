package openmoove

import (
	"encoding/json"
	"time"
)

// PropertySummary is one row of GET /properties/.
type PropertySummary struct {
	ID         int64     `json:"id"`
	Address    string    `json:"address"`
	Postcode   string    `json:"postcode"`
	UPRN       string    `json:"uprn"` // empty when the API has none (null)
	SaleMethod string    `json:"sale_method"`
	CreatedAt  time.Time `json:"created_at"`
}

// UnmarshalJSON tolerates a numeric or null uprn.
func (p *PropertySummary) UnmarshalJSON(b []byte) error {
	type plain PropertySummary
	var v struct {
		plain
		UPRN json.RawMessage `json:"uprn"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = PropertySummary(v.plain)
	if len(v.UPRN) > 0 {
		s, err := flexString(v.UPRN)
		if err != nil {
			return err
		}
		p.UPRN = s
	}
	return nil
}

// PropertyPage is one page of GET /properties/. Next and Previous are
// absolute URLs, empty at either end.
type PropertyPage struct {
	Count    int               `json:"count"`
	Next     string            `json:"next"`
	Previous string            `json:"previous"`
	Results  []PropertySummary `json:"results"`
}

// Property is the PDTF (Property Data Trust Framework) view of a property,
// from GET /properties/{uuid}/ and inside CreateClientResponse.
type Property struct {
	TransactionID string        `json:"transactionId"` // the UUID later calls use
	Status        string        `json:"status"`        // "For sale"
	Participants  []Participant `json:"participants"`
	PropertyPack  PropertyPack  `json:"propertyPack"`
	ExternalIDs   ExternalIDs   `json:"externalIds"`
}

// Participant is a person on the transaction.
type Participant struct {
	Name  PersonName `json:"name"`
	Email string     `json:"email"`
	Phone string     `json:"phone"`
	Role  string     `json:"role"` // "Seller", "Estate Agent", …
}

// PersonName is a PDTF name.
type PersonName struct {
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
}

// PropertyPack holds the PDTF property data the API fills.
type PropertyPack struct {
	PriceInformation PriceInformation `json:"priceInformation"`
	Address          Address          `json:"address"`
	// Ownership is passed through as sent; the reference does not pin it.
	Ownership json.RawMessage `json:"ownership,omitempty"`
}

// PriceInformation says how the property is sold.
type PriceInformation struct {
	Disposal string `json:"disposal"` // "Modern Method of Auction" for auctions
}

// Address is a PDTF address.
type Address struct {
	BuildingNumber string `json:"buildingNumber"`
	Street         string `json:"street"`
	Line1          string `json:"line1"`
	Postcode       string `json:"postcode"`
	CountryCode    string `json:"countryCode"` // "GBR"
}

// ExternalIDs are the property's ids in other systems.
type ExternalIDs struct {
	OpenMoove string `json:"openmoove"` // the numeric property id, as text
}

// UnmarshalJSON tolerates a numeric or textual openmoove id.
func (e *ExternalIDs) UnmarshalJSON(b []byte) error {
	var v struct {
		OpenMoove json.RawMessage `json:"openmoove"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	s, err := flexString(v.OpenMoove)
	e.OpenMoove = s
	return err
}

// PropertyDetail is the answer of GET /properties/{id}/detail/.
type PropertyDetail struct {
	ID                  int64  `json:"id"`
	Address             string `json:"address"`
	Postcode            string `json:"postcode"`
	Seller              Seller `json:"seller"`
	Team                Team   `json:"team"`
	MilestonesCount     int    `json:"milestones_count"`
	CompletedMilestones int    `json:"completed_milestones"`
}

// Seller is the mover selling the property.
type Seller struct {
	ID          int64  `json:"id"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	Email       string `json:"email"`
	PhoneNumber string `json:"phone_number"`
}

// Team is the property's professionals; a role nobody holds is nil.
type Team struct {
	EstateAgent *TeamMember `json:"estate_agent"`
	Conveyancer *TeamMember `json:"conveyancer"`
	Auctioneer  *TeamMember `json:"auctioneer"`
}

// Team member statuses.
const (
	MemberInvited = "invited"
	MemberActive  = "active"
)

// TeamMember is one professional. The shape is an assumption of the spec.
type TeamMember struct {
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Status    string    `json:"status"` // MemberInvited or MemberActive
	InvitedAt time.Time `json:"invited_at"`
}
