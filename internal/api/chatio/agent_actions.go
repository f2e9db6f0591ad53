package chatio

import (
	"context"
	"encoding/json"
	"time"

	"switchboard/internal/core"
	"switchboard/internal/hub"
)

func (s *Surface) sendEvent(ctx context.Context, c *call) (any, error) {
	var p struct {
		ChatID string   `json:"chat_id"`
		Event  *eventIn `json:"event"`
	}
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	if p.Event == nil {
		return nil, invalid("event is required")
	}
	ev, err := p.Event.toCore(c.actor.ID)
	if err != nil {
		return nil, err
	}
	if _, err := s.chat(ctx, c, p.ChatID, scopeConversation, write); err != nil {
		return nil, err
	}
	out, err := s.hub.SendEvent(ctx, p.ChatID, ev)
	if err != nil {
		return nil, err
	}
	return map[string]any{"thread_id": out.ThreadID, "event": EventOf(out)}, nil
}

func (s *Surface) startChat(ctx context.Context, c *call) (any, error) {
	var p struct {
		Chat struct {
			Properties json.RawMessage `json:"properties"`
			Thread     struct {
				Events     []eventIn       `json:"events"`
				Properties json.RawMessage `json:"properties"`
			} `json:"thread"`
			// Extensions: other participants (customers or agents) and the group.
			Users []struct {
				ID string `json:"id"`
			} `json:"users"`
			GroupID *int64 `json:"group_id"`
		} `json:"chat"`
	}
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	sc := hub.StartChat{Users: []string{c.actor.ID}, GroupID: core.DefaultGroupID}
	if p.Chat.GroupID != nil {
		sc.GroupID = *p.Chat.GroupID
	}
	var err error
	if sc.Properties, err = parseProps(p.Chat.Properties, "chat.properties"); err != nil {
		return nil, err
	}
	if sc.ThreadProperties, err = parseProps(p.Chat.Thread.Properties, "chat.thread.properties"); err != nil {
		return nil, err
	}
	for i, u := range p.Chat.Users {
		if u.ID == "" {
			return nil, invalid("chat.users[%d].id is required", i)
		}
		if _, err := s.hub.User(ctx, u.ID); err != nil {
			if core.IsCode(err, core.ENotFound) {
				return nil, invalid("chat.users[%d]: user %s does not exist", i, u.ID)
			}
			return nil, err
		}
		sc.Users = append(sc.Users, u.ID)
	}
	for _, e := range p.Chat.Thread.Events {
		ev, err := e.toCore(c.actor.ID)
		if err != nil {
			return nil, err
		}
		sc.Events = append(sc.Events, ev)
	}
	chat, thread, _, err := s.hub.StartChat(ctx, sc)
	if err != nil {
		return nil, err
	}
	// The new thread is routed like any other; a failure leaves it unrouted
	// but the chat exists, so the call still succeeds.
	if _, err := s.hub.Route(ctx, chat.ID); err != nil {
		s.log.Warn("chatio: route new chat", "chat", chat.ID, "err", err)
	}
	out, err := s.chatWithThread(ctx, chat.ID, thread.ID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"chat": out}, nil
}

// chatWithThread builds a Chat object with one thread and its events.
func (s *Surface) chatWithThread(ctx context.Context, chatID, threadID string) (Chat, error) {
	r := s.hub.Store().Read()
	ch, err := s.hub.Chat(ctx, chatID)
	if err != nil {
		return Chat{}, err
	}
	ms, err := r.ChatMembers(ctx, chatID)
	if err != nil {
		return Chat{}, err
	}
	t, err := r.Thread(ctx, threadID)
	if err != nil {
		return Chat{}, err
	}
	evs, err := r.ThreadEvents(ctx, threadID)
	if err != nil {
		return Chat{}, err
	}
	return Chat{ID: ch.ID, Users: usersOf(ms), Properties: objectProps(ch.Properties), Thread: threadOf(t, presentIDs(ms), evs)}, nil
}

type chatAgents struct {
	ChatID   string    `json:"chat_id"`
	AgentIDs *[]string `json:"agent_ids"`
}

// agents checks that ids name agents (persons or bots), not customers.
func (s *Surface) agents(ctx context.Context, ids []string) error {
	for _, id := range ids {
		u, err := s.hub.User(ctx, id)
		if core.IsCode(err, core.ENotFound) {
			return invalid("agent %s does not exist", id)
		}
		if err != nil {
			return err
		}
		if u.Kind == core.KindCustomer {
			return invalid("%s is a customer, not an agent", id)
		}
	}
	return nil
}

func (s *Surface) joinChat(ctx context.Context, c *call) (any, error) {
	var p chatAgents
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	if p.ChatID == "" {
		return nil, invalid("chat_id is required")
	}
	if p.AgentIDs == nil || len(*p.AgentIDs) == 0 {
		return nil, invalid("agent_ids is required")
	}
	ids := *p.AgentIDs
	self := len(ids) == 1 && ids[0] == c.actor.ID
	// Joining oneself needs write access to conversations or meta data of
	// the chat; adding others, to meta data.
	families := []string{scopeMeta}
	if self {
		families = append(families, scopeConversation)
	}
	rc := anyReach(c.tok, write, families...)
	if rc == reachNone {
		return nil, needScope(scopeMeta, write)
	}
	ch, err := s.hub.Chat(ctx, p.ChatID)
	if err != nil {
		return nil, err
	}
	if err := s.agents(ctx, ids); err != nil {
		return nil, err
	}
	// An agent joining a chat that waits in its group's queue takes it.
	if self && ch.ActiveThreadID != "" {
		if _, qerr := s.hub.QueuePosition(ctx, p.ChatID); qerr == nil {
			if _, err := s.hub.TakeChat(ctx, c.actor.ID, p.ChatID); err != nil {
				return nil, err
			}
			return nil, nil
		}
	}
	if rc == reachMy {
		present, err := s.present(ctx, p.ChatID, c.actor.ID)
		if err != nil {
			return nil, err
		}
		if !present {
			return nil, forbidden("the agent is not in this chat; chats.meta--all:write is required")
		}
	}
	return nil, s.hub.AddUsers(ctx, p.ChatID, ids)
}

func (s *Surface) takeChat(ctx context.Context, c *call) (any, error) {
	var p struct {
		ChatID string `json:"chat_id"`
	}
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	if p.ChatID == "" {
		return nil, invalid("chat_id is required")
	}
	// A queued chat of the agent's groups counts as the agent's own; the hub
	// checks the group.
	if anyReach(c.tok, write, scopeMeta, scopeConversation) == reachNone {
		return nil, needScope(scopeMeta, write)
	}
	res, err := s.hub.TakeChat(ctx, c.actor.ID, p.ChatID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"thread_id": res.ThreadID}, nil
}

func (s *Surface) removeFromChat(ctx context.Context, c *call) (any, error) {
	var p chatAgents
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	ids := []string{c.actor.ID}
	if p.AgentIDs != nil && len(*p.AgentIDs) > 0 {
		ids = *p.AgentIDs
	}
	self := len(ids) == 1 && ids[0] == c.actor.ID
	// Removing oneself needs conversation or meta write access; removing
	// others, meta.
	fam := scopeMeta
	if self && reachOf(c.tok, scopeMeta, write) == reachNone {
		fam = scopeConversation
	}
	if _, err := s.chat(ctx, c, p.ChatID, fam, write); err != nil {
		return nil, err
	}
	// Check every id before removing anyone.
	for _, id := range ids {
		pt, err := s.hub.Store().Read().Participant(ctx, p.ChatID, id)
		if core.IsCode(err, core.ENotFound) || (err == nil && !pt.Present()) {
			return nil, invalid("%s is not in this chat", id)
		}
		if err != nil {
			return nil, err
		}
		if pt.Kind == core.KindCustomer {
			return nil, forbidden("a customer cannot be removed from a chat")
		}
	}
	for _, id := range ids {
		if err := s.hub.RemoveUser(ctx, p.ChatID, id); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (s *Surface) closeThread(ctx context.Context, c *call) (any, error) {
	var p struct {
		ChatID string `json:"chat_id"`
	}
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	if _, err := s.chat(ctx, c, p.ChatID, scopeMeta, write); err != nil {
		return nil, err
	}
	_, err := s.hub.CloseThread(ctx, p.ChatID, c.actor.ID)
	return nil, err
}

func (s *Surface) updateChatProperties(ctx context.Context, c *call) (any, error) {
	var p struct {
		ChatID     string          `json:"chat_id"`
		Properties json.RawMessage `json:"properties"`
	}
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	props, err := parseProps(p.Properties, "properties")
	if err != nil {
		return nil, err
	}
	if props == nil {
		return nil, invalid("properties is required")
	}
	if _, err := s.chat(ctx, c, p.ChatID, scopeConversation, write); err != nil {
		return nil, err
	}
	return nil, s.hub.UpdateChatProperties(ctx, p.ChatID, props)
}

func (s *Surface) updateThreadProperties(ctx context.Context, c *call) (any, error) {
	var p struct {
		ChatID     string          `json:"chat_id"`
		ThreadID   string          `json:"thread_id"`
		Properties json.RawMessage `json:"properties"`
	}
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	if p.ThreadID == "" {
		return nil, invalid("thread_id is required")
	}
	props, err := parseProps(p.Properties, "properties")
	if err != nil {
		return nil, err
	}
	if props == nil {
		return nil, invalid("properties is required")
	}
	if _, err := s.chat(ctx, c, p.ChatID, scopeConversation, write); err != nil {
		return nil, err
	}
	return nil, s.hub.UpdateThreadProperties(ctx, p.ChatID, p.ThreadID, props)
}

func (s *Surface) updateLastSeen(ctx context.Context, c *call) (any, error) {
	var p struct {
		ChatID    string `json:"chat_id"`
		Timestamp *int64 `json:"timestamp"`
	}
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	if _, err := s.chat(ctx, c, p.ChatID, scopeChats, read); err != nil {
		return nil, err
	}
	var at time.Time
	if p.Timestamp != nil {
		if *p.Timestamp <= 0 {
			return nil, invalid("timestamp must be a positive unix time in seconds")
		}
		at = time.Unix(*p.Timestamp, 0)
	}
	stored, err := s.hub.SetLastSeen(ctx, p.ChatID, c.actor.ID, at)
	if err != nil {
		return nil, err
	}
	return map[string]int64{"timestamp": stored.Unix()}, nil
}

func (s *Surface) sendTyping(ctx context.Context, c *call) (any, error) {
	var p struct {
		ChatID     string `json:"chat_id"`
		Recipients string `json:"recipients"`
		IsTyping   *bool  `json:"is_typing"`
	}
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	if p.IsTyping == nil {
		return nil, invalid("is_typing is required")
	}
	if p.Recipients != "" && p.Recipients != core.RecipientsAll && p.Recipients != core.RecipientsAgents {
		return nil, invalid("recipients must be all or agents")
	}
	if _, err := s.chat(ctx, c, p.ChatID, scopeConversation, write); err != nil {
		return nil, err
	}
	// Typing indicators are RTM pushes only (no webhook in chat.io); over
	// the Web API the call is checked and acknowledged.
	return nil, nil
}

func (s *Surface) transferChat(ctx context.Context, c *call) (any, error) {
	var p struct {
		ChatID string `json:"chat_id"`
		ID     string `json:"id"` // LiveChat v3 spelling
		Target *struct {
			Type string            `json:"type"`
			IDs  []json.RawMessage `json:"ids"`
		} `json:"target"`
	}
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	if p.ChatID == "" {
		p.ChatID = p.ID
	}
	if p.Target == nil {
		return nil, invalid("target is required")
	}
	if len(p.Target.IDs) != 1 {
		return nil, invalid("target.ids must hold exactly one id")
	}
	var to hub.TransferTarget
	switch p.Target.Type {
	case "group":
		var g int64
		if err := json.Unmarshal(p.Target.IDs[0], &g); err != nil || g < 0 {
			return nil, invalid("target.ids[0] must be a group id (a non-negative integer)")
		}
		if _, err := s.hub.Store().Read().Group(ctx, g); err != nil {
			if core.IsCode(err, core.ENotFound) {
				return nil, invalid("group %d does not exist", g)
			}
			return nil, err
		}
		to.GroupID = &g
	case "agent":
		if err := json.Unmarshal(p.Target.IDs[0], &to.AgentID); err != nil || to.AgentID == "" {
			return nil, invalid("target.ids[0] must be an agent id")
		}
		if err := s.agents(ctx, []string{to.AgentID}); err != nil {
			return nil, err
		}
	default:
		return nil, invalid("target.type must be group or agent")
	}
	if _, err := s.chat(ctx, c, p.ChatID, scopeMeta, write); err != nil {
		return nil, err
	}
	res, err := s.hub.Transfer(ctx, p.ChatID, to)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"thread_id": res.ThreadID, "group_id": res.GroupID, "queued": res.Queued}
	if res.AgentID != "" {
		out["agent_id"] = res.AgentID
	}
	return out, nil
}

func (s *Surface) updateAgent(ctx context.Context, c *call) (any, error) {
	var p struct {
		AgentID       string  `json:"agent_id"`
		RoutingStatus *string `json:"routing_status"`
	}
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	target := c.actor.ID
	if p.AgentID != "" {
		target = p.AgentID
	}
	rc := reachOf(c.tok, scopeAgents, write)
	switch {
	case rc == reachNone:
		return nil, needScope(scopeAgents, write)
	case rc == reachMy && target != c.actor.ID:
		return nil, forbidden("agents--all:write is required to update another agent")
	}
	if err := s.agents(ctx, []string{target}); err != nil {
		if core.IsCode(err, core.EInvalid) {
			return nil, notFound("agent %s not found", target)
		}
		return nil, err
	}
	if p.RoutingStatus == nil {
		return nil, nil // nothing to change
	}
	var st core.RoutingStatus
	switch *p.RoutingStatus {
	case "accepting_chats":
		st = core.StatusAccepting
	case "not_accepting_chats":
		st = core.StatusNotAccepting
	case "offline": // extension: chat.io sets it on logout
		st = core.StatusOffline
	default:
		return nil, invalid("routing_status must be accepting_chats or not_accepting_chats")
	}
	return nil, s.hub.SetAgentStatus(ctx, target, st)
}
