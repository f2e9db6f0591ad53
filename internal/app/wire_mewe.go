package app

import (
	"context"
	"time"

	"switchboard/internal/api/mewe"
)

// MeWeConfig configures the MeWe personal agents surface. Zero fields take
// the surface's defaults.
type MeWeConfig struct {
	MaxTextLength int           // characters of a message (default 10,000)
	ClockSkew     time.Duration // accepted |now - X-Timestamp| of signed requests (default 300s)
	MaxPhotoBytes int64         // largest agent photo (default 5 MiB)
}

// wireMeWe wires the MeWe personal agents surface into the app: its routes,
// the photo upload limit and the translator of its webhook events.
func (a *App) wireMeWe(ctx context.Context) error {
	c := a.cfg.MeWe
	s := mewe.New(a.Hub, mewe.Config{MaxTextLength: c.MaxTextLength, ClockSkew: c.ClockSkew, MaxPhotoBytes: c.MaxPhotoBytes, Now: a.cfg.Now},
		a.log.With("surface", "mewe"))
	s.Routes(a.mux)
	a.LimitBody(mewe.PhotoPathPrefix, s.MaxPhotoBody())
	a.Webhooks.RegisterTranslator("mewe", mewe.Translator())
	return nil
}
