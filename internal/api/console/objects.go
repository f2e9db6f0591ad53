package console

import (
	"encoding/json"

	"switchboard/internal/core"
)

// event is a pushed event in the shape of the chat.io Agent API's event
// object (docs/CHATIO.md), so the page renders pushed events and events read
// with get_chat_threads with one function.
type event struct {
	ID                string          `json:"id"`
	CustomID          string          `json:"custom_id,omitempty"`
	Order             int64           `json:"order"`
	Type              string          `json:"type"`
	AuthorID          string          `json:"author_id,omitempty"`
	Timestamp         int64           `json:"timestamp"`
	Text              string          `json:"text,omitempty"`
	Recipients        string          `json:"recipients"`
	SystemMessageType string          `json:"system_message_type,omitempty"`
	Content           json.RawMessage `json:"content,omitempty"`
	Fields            any             `json:"fields,omitempty"`
	Name              string          `json:"name,omitempty"`
	URL               string          `json:"url,omitempty"`
	ContentType       string          `json:"content_type,omitempty"`
	Size              int64           `json:"size,omitempty"`
	Width             int             `json:"width,omitempty"`
	Height            int             `json:"height,omitempty"`
}

func eventOf(e core.Event) event {
	out := event{
		ID: e.ID, CustomID: e.CustomID, Order: e.Seq, Type: string(e.Type), AuthorID: e.AuthorID,
		Text: e.Text, Recipients: e.Recipients, Content: e.Content,
	}
	if !e.CreatedAt.IsZero() {
		out.Timestamp = e.CreatedAt.Unix()
	}
	if len(e.Fields) > 0 {
		out.Fields = e.Fields
	}
	if out.Recipients == "" {
		out.Recipients = core.RecipientsAll
	}
	if e.Type == core.EventSystemMessage {
		out.SystemMessageType = e.SystemType
	}
	if f := e.File; f != nil {
		out.Name, out.URL, out.ContentType, out.Size, out.Width, out.Height = f.Name, f.URL, f.ContentType, f.Size, f.Width, f.Height
	}
	return out
}

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
