package sandbox

import (
	"fmt"
	"time"

	"github.com/openmoove/omq/openmoove"
)

// seedDemo creates n demo properties for the demo partner: sale methods in
// turn, created 0, 10, 20… days ago with 0–3 milestones completed, so some
// are on track and some overdue.
func (s *Server) seedDemo(n int) []string {
	methods := openmoove.SaleMethods
	postcodes := []string{"SW1A 1AA", "M1 2AB", "B1 1AA"}
	partner := s.cfg.demoPartner()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	ids := make([]string, 0, n)
	for i := range n {
		req := openmoove.CreateClientRequest{
			FirstName: "Demo", LastName: fmt.Sprintf("Seller %d", i+1),
			Email:            fmt.Sprintf("test+demo%d@example.com", i+1),
			PhoneNumber:      fmt.Sprintf("+4477009000%02d", i%10+1),
			PropertyAddress:  fmt.Sprintf("%d High Street, London", i+1),
			PropertyPostcode: postcodes[i%len(postcodes)],
			EstateAgentEmail: "agent@example.com", ConveyancerEmail: "conveyancer@example.com",
			SaleMethod: methods[i%len(methods)], Products: []string{openmoove.ProductMooveReadyPack},
		}
		if openmoove.IsAuction(req.SaleMethod) {
			req.AuctioneerEmail = "auctioneer@example.com"
		}
		created := now.Add(-time.Duration(i%5) * 10 * day)
		p := s.createLocked(partner, req, created)
		for j := range min(i%4, len(p.milestones)) {
			at := created.Add(time.Duration(j+1) * day)
			p.milestones[j].completedAt = &at
		}
		ids = append(ids, p.txID)
	}
	return ids
}
