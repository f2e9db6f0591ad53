package botrun

import (
	"context"
	_ "embed"
	"fmt"
	"net"
	"net/url"

	"switchboard/internal/hours"
	"switchboard/internal/hub"
)

//go:embed demo/manifest.json
var demoManifest []byte // read-only: DemoManifest hands out copies

// DemoManifest returns the sample manifest of the first-run demo bot.
func DemoManifest() []byte { return append([]byte(nil), demoManifest...) }

// Names of what the first-run demo creates.
const (
	DemoGroupName = "Support"
	DemoAgentName = "Demo Agent"
	DemoBotName   = "Switchboard Demo"
	DemoProject   = "demo"
	DemoCountry   = "ZZ" // ISO 3166 "unknown or unspecified"
)

// DemoCalendar is the demo support group's calendar: open every day,
// 00:00–24:00 UTC, so the handoff works whenever a newcomer tries it.
func DemoCalendar() (*hours.Calendar, error) {
	cfg := hours.Config{Project: DemoProject, Country: DemoCountry, TimeZone: "UTC",
		WorkingDayMessage: "An agent will answer shortly.", ClosedMessage: "The demo support team is closed."}
	for d := range 7 {
		cfg.Hours = append(cfg.Hours, hours.Interval{Day: hours.Weekday(d), Start: hours.NewClock(0, 0), End: hours.NewClock(24, 0)})
	}
	cal, err := hours.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("botrun: demo calendar: %w", err)
	}
	return cal, nil
}

// CreateDemo creates the first-run demo when the database has no users at
// all and no demo was made before: the Support group with an always-open
// calendar, a demo agent accepting chats there (with a token), and the
// demo bot with the sample manifest, handing off to Support. created is
// false when nothing was made.
func CreateDemo(ctx context.Context, h *hub.Hub) (d hub.Demo, created bool, err error) {
	cal, err := DemoCalendar()
	if err != nil {
		return hub.Demo{}, false, err
	}
	return h.CreateDemo(ctx, hub.DemoSpec{GroupName: DemoGroupName, Calendar: cal, AgentName: DemoAgentName,
		BotName: DemoBotName, Manifest: DemoManifest()})
}

// DemoBot returns the demo bot's id and websocket token, if a demo was
// created (ok false otherwise). The widget's start page uses it as its
// default bot.
func DemoBot(ctx context.Context, h *hub.Hub) (botID, wsToken string, ok bool, err error) {
	botID, err = h.Setting(ctx, hub.SettingDemoBotID)
	if err != nil {
		return "", "", false, ignoreNotFound(err)
	}
	wsToken, err = h.Setting(ctx, hub.SettingDemoWSToken)
	if err != nil {
		return "", "", false, ignoreNotFound(err)
	}
	if _, err := h.User(ctx, botID); err != nil {
		return "", "", false, ignoreNotFound(err) // the operator deleted it
	}
	return botID, wsToken, true, nil
}

// WidgetURL is the page a newcomer opens to chat with a bot.
func WidgetURL(base, botID, wsToken string) string {
	return base + "/?" + url.Values{"bot": {botID}, "token": {wsToken}}.Encode()
}

// ConsoleURL is the agents' console.
func ConsoleURL(base string) string { return base + "/console" }

// BaseURL turns a listen address into a URL a browser on this machine can
// open: an empty or wildcard host becomes localhost.
func BaseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
