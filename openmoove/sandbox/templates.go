package sandbox

import (
	"time"

	"github.com/openmoove/omq/openmoove"
)

// MilestoneTemplate is one milestone a new property gets.
type MilestoneTemplate struct {
	Name        string
	Description string
	AssignedTo  string        // the role expected to act: "estate_agent", "conveyancer", "auctioneer", "seller"
	DueAfter    time.Duration // due date = property creation + DueAfter
}

const day = 24 * time.Hour

// The spec's templates (an assumption from the vendor's examples). The
// standard template has the six named milestones plus two that the detail
// example's count of eight implies.
var (
	standardTemplate = []MilestoneTemplate{
		{openmoove.MilestoneInstruction, "Seller instructs the estate agent", "estate_agent", 3 * day},
		{openmoove.MilestoneLegalPack, "Conveyancer prepares the legal pack", "conveyancer", 14 * day},
		{openmoove.MilestoneMarketing, "Property listed for sale", "estate_agent", 21 * day},
		{openmoove.MilestoneOfferAcceptance, "Seller accepts an offer", "estate_agent", 49 * day},
		{"Searches and Enquiries", "Buyer's searches and enquiries answered", "conveyancer", 77 * day},
		{"Mortgage Offer", "Buyer's mortgage offer issued", "conveyancer", 91 * day},
		{openmoove.MilestoneExchange, "Contracts exchanged", "conveyancer", 105 * day},
		{openmoove.MilestoneCompletion, "Sale completes, keys released", "conveyancer", 119 * day},
	}
	auctionTemplate = []MilestoneTemplate{
		{openmoove.MilestoneInstruction, "Seller instructs the auctioneer", "auctioneer", 3 * day},
		{openmoove.MilestoneLegalPack, "Conveyancer prepares the legal pack", "conveyancer", 10 * day},
		{openmoove.MilestoneAuctionMarket, "Property marketed for auction", "auctioneer", 28 * day},
		{openmoove.MilestoneAuctionExchange, "Reservation paid, contracts exchanged", "conveyancer", 56 * day},
		{openmoove.MilestoneCompletion, "Sale completes, keys released", "conveyancer", 84 * day},
	}
)

// Template returns the milestones a property of the sale method gets (a
// copy): the auction template for modern_auction and secure_sale, the
// standard one otherwise.
func Template(saleMethod string) []MilestoneTemplate {
	t := standardTemplate
	if openmoove.IsAuction(saleMethod) {
		t = auctionTemplate
	}
	return append([]MilestoneTemplate(nil), t...)
}
