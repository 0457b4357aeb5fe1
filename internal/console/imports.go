package console

import "net/http"

// imports will show omq import status per file and row.
func (s *Server) imports(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "imports", nil)
}
