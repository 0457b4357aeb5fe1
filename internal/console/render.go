package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds one template set per page: the layout, the shared partials
// (_*.html) and the page's own file, which defines "title" and "content".
type pages struct {
	m map[string]*template.Template
}

func parsePages() (*pages, error) {
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{m: map[string]*template.Template{}}
	for _, f := range files {
		base := path.Base(f)
		if base == "layout.html" || strings.HasPrefix(base, "_") {
			continue
		}
		name := strings.TrimSuffix(base, ".html")
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html", f)
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", base, err)
		}
		p.m[name] = t
	}
	return p, nil
}

// Page is what the layout gets: the page's own data is .Data.
type Page struct {
	Name      string
	User      User
	CSRF      string
	Anonymous bool
	Data      any
}

// render writes the page name (templates/<name>.html) inside the layout.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	s.renderStatus(w, r, http.StatusOK, name, data)
}

// renderStatus is render with another status code.
func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, code int, name string, data any) {
	s.execute(w, r, code, name, "layout", data)
}

// renderPart writes only the template block of page name: what an htmx
// request swaps into the page.
func (s *Server) renderPart(w http.ResponseWriter, r *http.Request, name, block string, data any) {
	s.execute(w, r, http.StatusOK, name, block, data)
}

func (s *Server) execute(w http.ResponseWriter, r *http.Request, code int, name, block string, data any) {
	t, ok := s.pages.m[name]
	if !ok {
		s.log.Error("console: no such template", "page", name)
		http.Error(w, "no such page template: "+name, http.StatusInternalServerError)
		return
	}
	p := Page{Name: name, Data: data, Anonymous: s.auth.anonymous()}
	if ss := current(r); ss != nil {
		p.User, p.CSRF = ss.user, ss.csrf
	}
	var buf bytes.Buffer // a template error must not leave half a page
	if err := t.ExecuteTemplate(&buf, block, p); err != nil {
		s.log.Error("console: render", "page", name, "error", err)
		http.Error(w, "the page could not be drawn; the log has why", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

type failData struct {
	Code    int
	Message string
}

// fail answers an error as a page (or, to htmx, as the text to show).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(msg))
		return
	}
	s.renderStatus(w, r, code, "error", failData{Code: code, Message: msg})
}

func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The assets change only with the binary.
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

var funcs = template.FuncMap{
	"clock": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"ago":   ago,
	"bytes": humanBytes,
	"pct":   func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) },
	"pctw":  func(f float64) string { return fmt.Sprintf("%.0f", min(100, max(0, 100*f))) },
	"secs":  func(f float64) string { return (time.Duration(f) * time.Second).String() },
	// slug makes a state a CSS class: "not queued" would be two.
	"slug": func(s string) string { return strings.ReplaceAll(s, " ", "-") },
	"deref": func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	},
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Since(t).Round(time.Second)
	if d < 0 {
		return "in " + (-d).String()
	}
	return d.String() + " ago"
}

func humanBytes(n any) string {
	var v float64
	switch x := n.(type) {
	case uint64:
		v = float64(x)
	case int64:
		v = float64(x)
	case int:
		v = float64(x)
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f %s", v, units[i])
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}
