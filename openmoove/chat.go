package openmoove

import "encoding/json"

// ChatPage is the answer of GET /properties/{uuid}/chat/. The API does not
// implement chat yet: Results is empty and Message says so.
type ChatPage struct {
	Count    int               `json:"count"`
	Next     string            `json:"next"`
	Previous string            `json:"previous"`
	Results  []json.RawMessage `json:"results"`
	Message  string            `json:"message"`
}

// ChatSummary is the answer of GET /properties/{uuid}/chat/summary/ (a mock
// on the API's side today).
type ChatSummary struct {
	Summaries []DaySummary `json:"summaries"`
	Message   string       `json:"message"`
}

// DaySummary summarises one day of chat.
type DaySummary struct {
	Date    string `json:"date"` // "2024-01-15"
	Summary string `json:"summary"`
}
