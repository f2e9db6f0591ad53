// Package chatio is the chat.io-compatible surface: the Configuration API
// (bot agents and webhooks), the Agent API's Web API (what bots and the
// console need), and the webhook translator that turns hub changes into
// chat.io pushes. It translates only; the hub decides and stores, and the
// webhook engine delivers.
package chatio

import (
	"log/slog"
	"net/http"

	"switchboard/internal/hub"
	"switchboard/internal/webhook"
)

// Surface serves the chat.io Configuration and Agent APIs.
type Surface struct {
	hub *hub.Hub
	wh  *webhook.Engine
	log *slog.Logger
}

// New returns the surface over a hub and the webhook engine.
func New(h *hub.Hub, wh *webhook.Engine, log *slog.Logger) *Surface {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Surface{hub: h, wh: wh, log: log}
}

// Routes mounts both APIs. Unknown endpoints under /configuration/ and
// /agent/ answer in the chat.io error shape.
func (s *Surface) Routes(mux *http.ServeMux) {
	// Configuration API v0.3 and v0.4 (identical); the unversioned path is the latest.
	for _, v := range []string{"v0.3", "v0.4", ""} {
		base := "/configuration/"
		if v != "" {
			base += v + "/"
		}
		for path, h := range s.configEndpoints() {
			mux.HandleFunc("POST "+base+path, h)
		}
	}
	for _, v := range []string{"v0.3", "v0.4"} {
		mux.HandleFunc("POST /agent/"+v+"/action/{action}", s.agentAction)
	}
	mux.HandleFunc("/configuration/", s.unknown)
	mux.HandleFunc("/agent/", s.unknown)
}

func (s *Surface) configEndpoints() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"agents/create_bot_agent":      s.createBotAgent,
		"agents/update_bot_agent":      s.updateBotAgent,
		"agents/remove_bot_agent":      s.removeBotAgent,
		"agents/get_bot_agents":        s.getBotAgents,
		"agents/get_bot_agent_details": s.getBotAgentDetails,
		"webhooks/register_webhook":    s.registerWebhook,
		"webhooks/get_webhooks_config": s.getWebhooksConfig,
		"webhooks/unregister_webhook":  s.unregisterWebhook,
	}
}

// unknown answers paths and methods no endpoint serves.
func (s *Surface) unknown(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, typeValidation, "method not allowed; every endpoint takes POST")
		return
	}
	writeError(w, http.StatusNotFound, typeNotFound, "unknown endpoint "+r.URL.Path)
}
