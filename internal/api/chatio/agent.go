package chatio

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"switchboard/internal/api/respond"
	"switchboard/internal/core"
)

// Agent API permission families (Agent API v0.4 "Permissions").
const (
	scopeChats        = "chats"
	scopeConversation = "chats.conversation"
	scopeMeta         = "chats.meta"
	scopeAgents       = "agents"
)

// call is one Agent API request: who asks, as whom, with what payload.
type call struct {
	tok     core.Token
	actor   core.User // the bot named by author_id, or the token's person
	payload json.RawMessage
}

type actionFunc func(ctx context.Context, c *call) (any, error)

func (s *Surface) actions() map[string]actionFunc {
	return map[string]actionFunc{
		"send_event":                    s.sendEvent,
		"start_chat":                    s.startChat,
		"join_chat":                     s.joinChat,
		"remove_from_chat":              s.removeFromChat,
		"close_thread":                  s.closeThread,
		"update_chat_properties":        s.updateChatProperties,
		"update_chat_thread_properties": s.updateThreadProperties,
		"update_last_seen_timestamp":    s.updateLastSeen,
		"send_typing_indicator":         s.sendTyping,
		"get_chat_threads":              s.getChatThreads,
		"get_filtered_chats":            s.getFilteredChats,
		"list_chats":                    s.getFilteredChats,
		"transfer_chat":                 s.transferChat,
		"update_agent":                  s.updateAgent,
		"take_chat":                     s.takeChat, // extension
		"get_queue":                     s.getQueue, // extension
	}
}

// agentAction serves POST /agent/<version>/action/<action>.
func (s *Surface) agentAction(w http.ResponseWriter, r *http.Request) {
	tok, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	fn, ok := s.actions()[r.PathValue("action")]
	if !ok {
		writeError(w, http.StatusNotFound, typeNotFound, "unknown action "+r.PathValue("action"))
		return
	}
	body, err := readBody(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	payload, author, err := unwrap(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if h := r.Header.Get("X-Author-Id"); h != "" {
		if author != "" && author != h {
			s.fail(w, r, invalid("author_id and X-Author-Id differ"))
			return
		}
		author = h
	}
	ctx := r.Context()
	actor, err := s.actor(ctx, tok, author)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := fn(ctx, &call{tok: tok, actor: actor, payload: payload})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if out == nil {
		out = struct{}{}
	}
	respond.JSON(w, http.StatusOK, out)
}

// unwrap accepts {"payload": {...}, "author_id": "..."} and the bare payload
// (LiveChat v3.1+); an empty body is an empty payload.
func unwrap(body []byte) (json.RawMessage, string, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return json.RawMessage("{}"), "", nil
	}
	var top map[string]json.RawMessage
	if err := respond.DecodeBytes(body, &top); err != nil {
		return nil, "", err
	}
	if top == nil {
		return nil, "", invalid("request body must be a JSON object")
	}
	var author string
	if raw, ok := top["author_id"]; ok {
		if err := json.Unmarshal(raw, &author); err != nil {
			return nil, "", invalid("author_id must be a string")
		}
	}
	if raw, ok := top["payload"]; ok {
		if t := bytes.TrimSpace(raw); string(t) == "null" {
			return json.RawMessage("{}"), author, nil
		} else if len(t) == 0 || t[0] != '{' {
			return nil, "", invalid("payload must be an object")
		}
		return raw, author, nil
	}
	return body, author, nil
}

// actor resolves who acts: a bot of the token's application named by
// author_id, or the person the token belongs to.
func (s *Surface) actor(ctx context.Context, tok core.Token, author string) (core.User, error) {
	if author == "" {
		if tok.UserID == "" {
			return core.User{}, invalid("author_id is required: this token acts for no agent (send the bot agent's id in author_id or X-Author-Id)")
		}
		u, err := s.hub.User(ctx, tok.UserID)
		if err != nil {
			if core.IsCode(err, core.ENotFound) {
				return core.User{}, forbidden("the token's user no longer exists")
			}
			return core.User{}, err
		}
		if u.Kind == core.KindCustomer {
			return core.User{}, forbidden("the Agent API is for agents; this token belongs to a customer")
		}
		return u, nil
	}
	u, err := s.hub.User(ctx, author)
	if err != nil && !core.IsCode(err, core.ENotFound) {
		return core.User{}, err
	}
	if err != nil || u.Kind != core.KindBot || u.ClientID == "" || u.ClientID != tok.ClientID {
		return core.User{}, forbidden("author_id is not a bot agent of this application")
	}
	return u, nil
}

// decode reads the payload into v.
func (c *call) decode(v any) error {
	if err := respond.DecodeBytes(c.payload, v); err != nil {
		return invalid("%s", replacePrefix(core.ErrorMessage(err)))
	}
	return nil
}

func replacePrefix(msg string) string {
	const p = "request body"
	if len(msg) >= len(p) && msg[:len(p)] == p {
		return "payload" + msg[len(p):]
	}
	return msg
}

// chat loads a chat the actor may touch with scopes family:access: any chat
// with the --all scope, chats it is present in with --my.
func (s *Surface) chat(ctx context.Context, c *call, chatID, family, access string) (core.Chat, error) {
	if chatID == "" {
		return core.Chat{}, invalid("chat_id is required")
	}
	rc := reachOf(c.tok, family, access)
	if rc == reachNone {
		return core.Chat{}, needScope(family, access)
	}
	ch, err := s.hub.Chat(ctx, chatID)
	if err != nil {
		return core.Chat{}, err
	}
	if rc == reachMy {
		present, err := s.present(ctx, chatID, c.actor.ID)
		if err != nil {
			return core.Chat{}, err
		}
		if !present {
			return core.Chat{}, forbidden("the agent is not in this chat; %s--all:%s is required", family, access)
		}
	}
	return ch, nil
}

func (s *Surface) present(ctx context.Context, chatID, userID string) (bool, error) {
	p, err := s.hub.Store().Read().Participant(ctx, chatID, userID)
	if core.IsCode(err, core.ENotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return p.Present(), nil
}

// anyReach is the widest reach of several families.
func anyReach(tok core.Token, access string, families ...string) reach {
	best := reachNone
	for _, f := range families {
		if r := reachOf(tok, f, access); r > best {
			best = r
		}
	}
	return best
}
