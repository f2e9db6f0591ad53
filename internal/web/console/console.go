// Package console embeds the live-agent console and the admin pages (plain
// HTML, CSS and JS modules, no framework, no third-party code) and serves
// them: the pages at /console and /console/admin, their assets under
// /assets/console/. The pages talk to the chat.io Agent API, the console
// API (internal/api/console) and the admin API with the person's bearer
// token, and listen on the Phoenix socket with /assets/shared/phoenix-client.js.
package console

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var files embed.FS

// AssetsPrefix is where the console's JS and CSS are served.
const AssetsPrefix = "/assets/console/"

// Routes mounts the pages and their assets on mux.
func Routes(mux *http.ServeMux) {
	static, err := fs.Sub(files, "static")
	if err != nil {
		panic("console: embedded files: " + err.Error()) // cannot happen: the directory is embedded
	}
	assets := http.StripPrefix(AssetsPrefix, http.FileServerFS(static))
	mux.Handle("GET "+AssetsPrefix, headers(assets))
	mux.Handle("GET /console", page(static, "index.html"))
	mux.Handle("GET /console/{$}", http.RedirectHandler("/console", http.StatusMovedPermanently))
	mux.Handle("GET /console/admin", page(static, "admin.html"))
}

// page serves one HTML file.
func page(static fs.FS, name string) http.Handler {
	return headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := fs.ReadFile(static, name)
		if err != nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(body)
	}))
}

// headers adds the security headers of every console response: no framing,
// no sniffing, scripts and connections from this origin only.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-cache")
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.ServeHTTP(w, r)
	})
}
