package openmoove

import "time"

// Milestone is one step of a transaction.
type Milestone struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Order       int        `json:"order"`
	Completed   bool       `json:"completed"`
	CompletedAt *time.Time `json:"completed_at"` // nil until completed
	DueDate     time.Time  `json:"due_date"`     // zero when the API sends null
	IsOverdue   bool       `json:"is_overdue"`
}

// CurrentMilestone is the answer of GET /properties/{uuid}/milestones/current/:
// the first incomplete milestone and how pressing it is.
type CurrentMilestone struct {
	Milestone
	DaysUntilDue int    `json:"days_until_due"` // negative when overdue
	AssignedTo   string `json:"assigned_to"`    // the role expected to act
	Priority     string `json:"priority"`       // "high", "medium" or "low"
}

// UpdateMilestoneRequest is the body of the assumed
// PATCH /properties/{uuid}/milestones/{id}/.
type UpdateMilestoneRequest struct {
	Completed   bool       `json:"completed"`
	CompletedAt *time.Time `json:"completed_at,omitempty"` // the server's now when nil
}

// Milestone names of the templates (see the spec). Events map to them.
const (
	MilestoneInstruction     = "Instruction"
	MilestoneLegalPack       = "Legal Pack Preparation"
	MilestoneMarketing       = "Property Marketing"
	MilestoneOfferAcceptance = "Offer Acceptance"
	MilestoneExchange        = "Exchange of Contracts"
	MilestoneCompletion      = "Completion"
	MilestoneAuctionMarket   = "Auction Marketing Period"
	MilestoneAuctionExchange = "Auction Exchange"
)
