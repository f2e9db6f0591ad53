package app

import (
	"context"
	"errors"

	"switchboard/internal/api/console"
	webconsole "switchboard/internal/web/console"
)

// wireConsole wires the live-agent console and admin pages into the app:
// the live channel agent:<person_id> on the shared Phoenix server, the
// console API (/console/api/…, /admin/v1/groups…) and the pages.
func (a *App) wireConsole(ctx context.Context) error {
	if a.Phoenix == nil {
		return errors.New("console: the Phoenix socket server is not wired")
	}
	live := console.NewLive(a.Hub, a.log.With("surface", "console"))
	a.Phoenix.Handle(console.TopicPrefix+"*", live)
	stop := a.Bus.SubscribeAll("console", live.OnChange)
	a.OnShutdown(func(ctx context.Context) error { stop(); return live.Close(ctx) })

	api := console.New(a.Hub, console.Config{}, a.log.With("surface", "console"))
	api.Routes(a.mux)
	a.LimitBody(console.FilesPath, api.MaxUploadBody())
	webconsole.Routes(a.mux)
	return nil
}
