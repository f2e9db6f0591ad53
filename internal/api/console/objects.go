package console

import (
	"switchboard/internal/core"
)

// routingStatus spells a status as the Agent API's update_agent takes it.
func routingStatus(s core.RoutingStatus) string {
	switch s {
	case core.StatusAccepting:
		return "accepting_chats"
	case core.StatusNotAccepting:
		return "not_accepting_chats"
	}
	return "offline"
}
