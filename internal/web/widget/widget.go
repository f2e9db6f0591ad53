// Package widget serves the customer chat widget: the page at / (a chat
// with one bot over the AIDA websocket surface), its assets under
// /assets/widget/, and the embeddable loader /widget.js that other sites
// include to show the page in an iframe.
package widget

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
)

// AssetsPrefix is the URL path of the widget's own assets.
const AssetsPrefix = "/assets/widget/"

//go:embed static templates
var files embed.FS

// DemoBot returns the bot the page at / chats with when no bot is given (the
// first-run demo's); ok is false when there is none.
type DemoBot func(ctx context.Context) (botID, wsToken string, ok bool, err error)

// Config configures the widget.
type Config struct {
	// DemoBot, when set, gives the bot of / without query parameters.
	DemoBot DemoBot
}

// Server serves the widget.
type Server struct {
	cfg    Config
	log    *slog.Logger
	page   *template.Template
	help   *template.Template
	assets http.Handler
}

// New returns the widget server.
func New(cfg Config, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	page, err := template.ParseFS(files, "templates/index.html")
	if err != nil {
		return nil, fmt.Errorf("widget: parse page: %w", err)
	}
	help, err := template.ParseFS(files, "templates/help.html")
	if err != nil {
		return nil, fmt.Errorf("widget: parse help: %w", err)
	}
	static, err := fs.Sub(files, "static")
	if err != nil {
		return nil, fmt.Errorf("widget: assets: %w", err)
	}
	return &Server{cfg: cfg, log: log, page: page, help: help,
		assets: http.StripPrefix(AssetsPrefix, http.FileServerFS(static))}, nil
}

// Routes mounts the page, the loader and the assets on mux.
func (s *Server) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("GET /widget.js", s.loader)
	mux.HandleFunc("GET "+AssetsPrefix, s.asset)
}

// pageData is what the page template needs.
type pageData struct {
	Bot, Token string
	Embed      bool
}

// index serves the chat page for ?bot=&token=, the demo bot without
// parameters, or a page explaining the parameters.
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := pageData{Bot: q.Get("bot"), Token: q.Get("token"), Embed: q.Get("embed") == "1"}
	if d.Bot == "" && d.Token == "" && s.cfg.DemoBot != nil {
		bot, token, ok, err := s.cfg.DemoBot(r.Context())
		if err != nil {
			s.log.Error("widget: demo bot", "err", err)
		}
		if ok {
			d.Bot, d.Token = bot, token
		}
	}
	if d.Bot == "" || d.Token == "" {
		s.render(w, s.help, http.StatusOK, d)
		return
	}
	s.render(w, s.page, http.StatusOK, d)
}

func (s *Server) render(w http.ResponseWriter, t *template.Template, status int, d pageData) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		s.log.Error("widget: render", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store") // the page carries the bot's token
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	// Any site may frame the page (that is what /widget.js does); scripts,
	// styles and connections stay on this origin.
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'self'; frame-ancestors *")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// loader serves the embeddable script; other sites load it cross-origin.
func (s *Server) loader(w http.ResponseWriter, r *http.Request) {
	r2 := r.Clone(r.Context())
	r2.URL.Path = AssetsPrefix + "loader.js"
	w.Header().Set("Access-Control-Allow-Origin", "*")
	s.asset(w, r2)
}

func (s *Server) asset(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == AssetsPrefix {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	s.assets.ServeHTTP(w, r)
}
