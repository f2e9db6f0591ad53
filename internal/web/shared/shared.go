// Package shared embeds the static assets every Switchboard page uses (the
// project's own Phoenix channels client and a base stylesheet) and serves
// them under /assets/shared/.
package shared

import (
	"embed"
	"io/fs"
	"net/http"
)

// Prefix is the URL path the assets are served under.
const Prefix = "/assets/shared/"

//go:embed static
var static embed.FS

// FS returns the embedded assets (phoenix-client.js, base.css).
func FS() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the directory is embedded above; this cannot fail
	}
	return sub
}

// Handler serves the assets; mount it at Prefix.
func Handler() http.Handler {
	files := http.StripPrefix(Prefix, http.FileServerFS(FS()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == Prefix {
			http.NotFound(w, r) // no directory listing
			return
		}
		h := w.Header()
		// Assets change with the binary; revalidate cheaply instead of caching for long.
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}

// Routes mounts the assets on mux.
func Routes(mux *http.ServeMux) {
	mux.Handle("GET "+Prefix, Handler())
}
