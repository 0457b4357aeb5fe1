package sandbox

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/openmoove/omq/openmoove"
)

// property is the sandbox's record of one property; guarded by Server.mu.
type property struct {
	id         int64
	txID       string
	partner    string
	moverID    int64
	req        openmoove.CreateClientRequest
	createdAt  time.Time
	roleIDs    map[string]int64 // "estate_agent" → id
	purchases  []openmoove.Purchase
	milestones []*milestone
}

type milestone struct {
	tmpl        MilestoneTemplate
	id          int64
	order       int
	due         time.Time
	completedAt *time.Time
}

func (m *milestone) view(now time.Time) openmoove.Milestone {
	return openmoove.Milestone{
		ID: m.id, Name: m.tmpl.Name, Description: m.tmpl.Description, Order: m.order,
		Completed: m.completedAt != nil, CompletedAt: m.completedAt, DueDate: m.due,
		IsOverdue: m.completedAt == nil && now.After(m.due),
	}
}

func (m *milestone) current(now time.Time) openmoove.CurrentMilestone {
	days := int(math.Floor(m.due.Sub(now).Hours() / 24))
	prio := "low"
	switch {
	case days <= 2:
		prio = "high"
	case days <= 7:
		prio = "medium"
	}
	return openmoove.CurrentMilestone{Milestone: m.view(now), DaysUntilDue: days, AssignedTo: m.tmpl.AssignedTo, Priority: prio}
}

func (p *property) saleMethod() string {
	if p.req.SaleMethod == "" {
		return openmoove.SaleStandard
	}
	return p.req.SaleMethod
}

// professionals lists the roles given at creation, in a fixed order.
func (p *property) professionals() []struct{ role, email string } {
	all := []struct{ role, email string }{
		{"estate_agent", p.req.EstateAgentEmail}, {"conveyancer", p.req.ConveyancerEmail},
		{"auctioneer", p.req.AuctioneerEmail}, {"mortgage_broker", p.req.MortgageBrokerEmail},
	}
	out := all[:0]
	for _, r := range all {
		if r.email != "" {
			out = append(out, r)
		}
	}
	return out
}

func (p *property) pdtf() openmoove.Property {
	disposal := "Private Treaty"
	if openmoove.IsAuction(p.req.SaleMethod) {
		disposal = "Modern Method of Auction"
	}
	parts := []openmoove.Participant{{
		Name:  openmoove.PersonName{FirstName: p.req.FirstName, LastName: p.req.LastName},
		Email: p.req.Email, Phone: p.req.PhoneNumber, Role: "Seller",
	}}
	for _, r := range p.professionals() {
		parts = append(parts, openmoove.Participant{Email: r.email, Role: roleTitle(r.role)})
	}
	line1, _, _ := strings.Cut(p.req.PropertyAddress, ",")
	number, street := splitBuilding(line1)
	return openmoove.Property{
		TransactionID: p.txID,
		Status:        "For sale",
		Participants:  parts,
		PropertyPack: openmoove.PropertyPack{
			PriceInformation: openmoove.PriceInformation{Disposal: disposal},
			Address: openmoove.Address{BuildingNumber: number, Street: street, Line1: strings.TrimSpace(line1),
				Postcode: p.req.PropertyPostcode, CountryCode: "GBR"},
			Ownership: []byte(`{"ownershipsToBeTransferred":[{"ownershipType":"Freehold"}]}`),
		},
		ExternalIDs: openmoove.ExternalIDs{OpenMoove: strconv.FormatInt(p.id, 10)},
	}
}

// splitBuilding splits "123 High Street" into "123" and "High Street".
func splitBuilding(line string) (number, street string) {
	line = strings.TrimSpace(line)
	n, rest, ok := strings.Cut(line, " ")
	if ok && n != "" && unicode.IsDigit(rune(n[0])) {
		return n, strings.TrimSpace(rest)
	}
	return "", line
}

func roleTitle(role string) string {
	words := strings.Split(role, "_")
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

func (p *property) summary() openmoove.PropertySummary {
	return openmoove.PropertySummary{ID: p.id, Address: p.req.PropertyAddress, Postcode: p.req.PropertyPostcode,
		UPRN: strconv.FormatInt(100000000000+p.id, 10), SaleMethod: p.saleMethod(), CreatedAt: p.createdAt}
}

func (p *property) detail() openmoove.PropertyDetail {
	d := openmoove.PropertyDetail{
		ID: p.id, Address: p.req.PropertyAddress, Postcode: p.req.PropertyPostcode,
		Seller: openmoove.Seller{ID: p.moverID, FirstName: p.req.FirstName, LastName: p.req.LastName,
			Email: p.req.Email, PhoneNumber: p.req.PhoneNumber},
		MilestonesCount: len(p.milestones),
	}
	member := func(email string) *openmoove.TeamMember {
		if email == "" {
			return nil
		}
		local, _, _ := strings.Cut(email, "@")
		return &openmoove.TeamMember{Email: email, Name: local, Status: openmoove.MemberInvited, InvitedAt: p.createdAt}
	}
	d.Team = openmoove.Team{EstateAgent: member(p.req.EstateAgentEmail), Conveyancer: member(p.req.ConveyancerEmail),
		Auctioneer: member(p.req.AuctioneerEmail)}
	for _, m := range p.milestones {
		if m.completedAt != nil {
			d.CompletedMilestones++
		}
	}
	return d
}

func (p *property) createResponse() openmoove.CreateClientResponse {
	r := openmoove.CreateClientResponse{
		PropertyID: p.id, MoverID: p.moverID, Message: "Client and property created successfully",
		Property: p.pdtf(), Purchases: p.purchases, TotalAmount: "0",
	}
	for role, id := range p.roleIDs {
		id := id
		switch role {
		case "estate_agent":
			r.EstateAgentID = &id
		case "conveyancer":
			r.ConveyancerID = &id
		case "auctioneer":
			r.AuctioneerID = &id
		case "mortgage_broker":
			r.MortgageBrokerID = &id
		}
	}
	if r.Purchases == nil {
		r.Purchases = []openmoove.Purchase{}
	}
	return r
}

func (p *property) milestoneViews(now time.Time) []openmoove.Milestone {
	out := make([]openmoove.Milestone, len(p.milestones))
	for i, m := range p.milestones {
		out[i] = m.view(now)
	}
	return out
}

func (p *property) milestoneByName(name string) *milestone {
	for _, m := range p.milestones {
		if strings.EqualFold(m.tmpl.Name, name) {
			return m
		}
	}
	return nil
}

func (p *property) milestoneByID(id int64) *milestone {
	for _, m := range p.milestones {
		if m.id == id {
			return m
		}
	}
	return nil
}
