package console

import "net/http"

// deadLetterRoutes registers the dead-letter pages and actions. This file
// and every deadletter* file and template belong to the dead-letter pages.
func (s *Server) deadLetterRoutes(mux *http.ServeMux) {}
