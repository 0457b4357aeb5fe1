package events

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/openmoove/omq/openmoove"
)

// MilestoneMap maps an event type to the names of the milestones it
// completes, candidates in order: the worker completes the first one the
// transaction has, so one row serves standard and auction templates.
type MilestoneMap map[string][]string

// DefaultMilestones is the table of the integration guide, with the auction
// templates' names as second candidates.
func DefaultMilestones() MilestoneMap {
	return MilestoneMap{
		TypeLegalPackCompleted: {openmoove.MilestoneLegalPack},
		TypePropertyListed:     {openmoove.MilestoneMarketing, openmoove.MilestoneAuctionMarket},
		TypeOfferAccepted:      {openmoove.MilestoneOfferAcceptance},
		TypeContractsExchanged: {openmoove.MilestoneExchange, openmoove.MilestoneAuctionExchange},
		TypeCompletionDateSet:  {openmoove.MilestoneCompletion},
	}
}

// Candidates returns the milestone names for an event type, and whether the
// type is mapped.
func (m MilestoneMap) Candidates(eventType string) ([]string, bool) {
	c, ok := m[eventType]
	return c, ok && len(c) > 0
}

// LoadMilestoneMap reads a YAML or JSON file of type → names (a list, or one
// name) and lays it over DefaultMilestones: types the file leaves out keep
// their defaults. Every key must be a known event type and every name
// non-empty. An empty path returns the defaults.
//
//	property_listed: ["Property Marketing", "Auction Marketing Period", "Listing"]
//	completion_date_set: Completion
func LoadMilestoneMap(path string) (MilestoneMap, error) {
	m := DefaultMilestones()
	if path == "" {
		return m, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("milestone map: %w; fix --milestone-map", err)
	}
	var raw map[string]yaml.Node
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("milestone map %s: %v; want type: [names…] per line", path, err)
	}
	for _, t := range slices.Sorted(maps.Keys(raw)) {
		node := raw[t]
		if !KnownType(t) {
			return nil, fmt.Errorf("milestone map %s: unknown event type %q: want one of %s", path, t, strings.Join(Types(), ", "))
		}
		var names []string
		if node.Kind == yaml.ScalarNode {
			names = []string{node.Value}
		} else if err := node.Decode(&names); err != nil {
			return nil, fmt.Errorf("milestone map %s: %s: want a milestone name or a list of names", path, t)
		}
		if len(names) == 0 || slices.ContainsFunc(names, func(n string) bool { return strings.TrimSpace(n) == "" }) {
			return nil, fmt.Errorf("milestone map %s: %s: want at least one non-empty milestone name", path, t)
		}
		m[t] = names
	}
	return m, nil
}
