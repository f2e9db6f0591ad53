package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"switchboard/internal/brain"
	"switchboard/internal/core"
	"switchboard/internal/hours"
	"switchboard/internal/store"
)

// Built-in bots: a bot user with a brain (an AIDA manifest, see package
// brain) that the bot runner answers customers with. The manifest is
// validated here, so no surface can store one that does not parse.

// BotCapacity is the max_chats_count of a bot with a brain. Such a bot
// accepts chats so that a human agent can transfer a conversation back to it
// (Transfer to an agent needs a free slot); one bot serves many
// conversations, hence the large number.
const BotCapacity = 100000

// Settings written by the first-run demo.
const (
	SettingDemoBotID   = "demo.bot_id"
	SettingDemoWSToken = "demo.ws_token" // the demo bot's websocket token, in clear: a demo-only convenience
)

// NewBot describes a bot to create with CreateBot.
type NewBot struct {
	Name     string
	ClientID string // API client that owns the bot, may be empty
	WSToken  string // chatbot websocket access token; empty: none
	// Manifest, when set, gives the bot a brain (validated with brain.Parse).
	Manifest []byte
	// HandoffGroup is where the brain's human handoffs go; nil: not set.
	HandoffGroup *int64
}

// CreateBot stores a bot and, with a manifest, its brain, in one
// transaction. An invalid manifest fails with *brain.ValidationError.
func (h *Hub) CreateBot(ctx context.Context, nb NewBot) (core.User, error) {
	u := core.User{ID: core.NewID(), Kind: core.KindBot, Name: strings.TrimSpace(nb.Name), ClientID: strings.TrimSpace(nb.ClientID),
		Status: core.StatusNotAccepting, MaxChats: core.DefaultMaxChats, Data: map[string]any{}, CreatedAt: h.Now()}
	if u.Name == "" {
		return u, core.Errorf(core.EInvalid, "name is required")
	}
	if utf8.RuneCountInString(u.Name) > MaxNameLength {
		return u, core.Errorf(core.EInvalid, "name is longer than %d characters", MaxNameLength)
	}
	if nb.WSToken != "" {
		u.Data[core.DataWSTokenHash] = HashSecret(nb.WSToken)
	}
	if nb.Manifest != nil {
		if _, err := brain.Parse(nb.Manifest); err != nil {
			return u, err
		}
		u.Status, u.MaxChats = core.StatusAccepting, BotCapacity
	}
	_, err := h.write(ctx, "", func(c store.Conn) ([]core.Change, error) {
		if err := c.InsertUser(ctx, u); err != nil {
			return nil, err
		}
		if nb.Manifest == nil {
			return nil, nil
		}
		return nil, putBrain(ctx, c, store.BotBrain{BotID: u.ID, Manifest: nb.Manifest, HandoffGroup: store.NoHandoffGroup, UpdatedAt: u.CreatedAt}, nb.HandoffGroup)
	})
	return u, err
}

// SetBotBrain gives a bot a brain or replaces it. handoffGroup nil keeps
// the current handoff group. The bot is made to accept chats with
// BotCapacity slots (see BotCapacity). An invalid manifest fails with
// *brain.ValidationError and changes nothing.
func (h *Hub) SetBotBrain(ctx context.Context, botID string, manifest []byte, handoffGroup *int64) (store.BotBrain, error) {
	if _, err := brain.Parse(manifest); err != nil {
		return store.BotBrain{}, err
	}
	b := store.BotBrain{BotID: botID, Manifest: manifest, HandoffGroup: store.NoHandoffGroup, UpdatedAt: h.Now()}
	_, err := h.write(ctx, "", func(c store.Conn) ([]core.Change, error) {
		u, err := c.User(ctx, botID)
		if err != nil {
			return nil, err
		}
		if u.Kind != core.KindBot {
			return nil, core.Errorf(core.ENotFound, "bot not found")
		}
		if old, err := c.BotBrain(ctx, botID); err == nil {
			b.HandoffGroup = old.HandoffGroup
		} else if !core.IsCode(err, core.ENotFound) {
			return nil, err
		}
		if u.Status != core.StatusAccepting || u.MaxChats < BotCapacity {
			u.Status, u.MaxChats = core.StatusAccepting, BotCapacity
			if err := c.UpdateUser(ctx, u); err != nil {
				return nil, err
			}
		}
		if handoffGroup != nil {
			b.HandoffGroup = *handoffGroup
		}
		return nil, putBrain(ctx, c, b, handoffGroup)
	})
	if err != nil {
		return store.BotBrain{}, err
	}
	return b, nil
}

// putBrain checks the handoff group and stores the brain.
func putBrain(ctx context.Context, c store.Conn, b store.BotBrain, handoffGroup *int64) error {
	if handoffGroup != nil {
		if _, err := c.Group(ctx, *handoffGroup); err != nil {
			if core.IsCode(err, core.ENotFound) {
				return core.Errorf(core.EInvalid, "handoff group %d does not exist", *handoffGroup)
			}
			return err
		}
		b.HandoffGroup = *handoffGroup
	}
	return c.PutBotBrain(ctx, b)
}

// BotBrain loads a bot's brain (not_found when it has none).
func (h *Hub) BotBrain(ctx context.Context, botID string) (store.BotBrain, error) {
	return h.store.Read().BotBrain(ctx, botID)
}

// Bots returns every bot, oldest first, and which of them have a brain.
func (h *Hub) Bots(ctx context.Context) ([]core.User, map[string]bool, error) {
	r := h.store.Read()
	bots, err := r.ListUsers(ctx, store.UserFilter{Kind: core.KindBot})
	if err != nil {
		return nil, nil, err
	}
	brains, err := r.BotBrainIDs(ctx)
	if err != nil {
		return nil, nil, err
	}
	return bots, brains, nil
}

// BotReply appends a bot's answer to a chat (opening a thread when none is
// active) and merges data into the chat's session data, in one transaction,
// so an answer and the conversation state it leads to are stored together.
// The bot must be a present participant.
func (h *Hub) BotReply(ctx context.Context, chatID, botID string, texts []string, data map[string]any) ([]core.Event, error) {
	es := make([]core.Event, 0, len(texts))
	for _, t := range texts {
		if strings.TrimSpace(t) == "" {
			continue // an empty localized text: nothing to say
		}
		e := core.Event{Type: core.EventMessage, AuthorID: botID, Text: t}
		if err := validateEvent(&e); err != nil {
			return nil, err
		}
		es = append(es, e)
	}
	var out []core.Event
	_, err := h.write(ctx, chatID, func(c store.Conn) ([]core.Change, error) {
		ch, err := c.LockChat(ctx, chatID)
		if err != nil {
			return nil, err
		}
		if ch.Deleted {
			return nil, core.Errorf(core.ENotFound, "chat not found")
		}
		if p, err := c.Participant(ctx, chatID, botID); err != nil || !p.Present() {
			if err != nil && !core.IsCode(err, core.ENotFound) {
				return nil, err
			}
			return nil, core.Errorf(core.EForbidden, "the bot is not a participant of this chat")
		}
		var changes []core.Change
		if len(es) > 0 {
			last, active, err := c.ReserveSeq(ctx, chatID, len(es))
			if err != nil {
				return nil, err
			}
			kind := core.ChangeEvents
			if active == "" {
				t := core.Thread{ID: core.NewID(), ChatID: chatID, Active: true, GroupID: ch.GroupID, CreatedAt: h.Now()}
				if err := c.InsertThread(ctx, t); err != nil {
					return nil, err
				}
				if err := c.SetActiveThread(ctx, chatID, t.ID); err != nil {
					return nil, err
				}
				active, kind = t.ID, core.ChangeThreadOpened
			}
			if out, err = h.appendEvents(ctx, c, chatID, active, es, last-int64(len(es))); err != nil {
				return nil, err
			}
			changes = append(changes, core.Change{Kind: kind, ChatID: chatID, ThreadID: active, Events: out})
		}
		if len(data) > 0 {
			if ch.Data == nil {
				ch.Data = map[string]any{}
			}
			for k, v := range data {
				ch.Data[k] = v
			}
			if err := c.SetChatData(ctx, chatID, ch.Data); err != nil {
				return nil, err
			}
			changes = append(changes, core.Change{Kind: core.ChangeChatData, ChatID: chatID})
		}
		return changes, nil
	})
	return out, err
}

// BotHandoff hands a chat's active thread from a bot to a human group: the
// bot's own assignment, if it has one, is released, the chat moves to the
// group and the thread is routed there (queued when nobody is free). Unlike
// Transfer the bot stays a participant: a chatbot session keeps its bot, so
// the customer's client keeps receiving the human's messages and the bot can
// take over again when the human hands the chat back. A chat already served
// by someone else fails with conflict; one already queued stays queued.
func (h *Hub) BotHandoff(ctx context.Context, chatID, botID string, groupID int64) (RouteResult, error) {
	var res RouteResult
	var freed string
	_, err := h.write(ctx, chatID, func(c store.Conn) ([]core.Change, error) {
		ch, err := c.LockChat(ctx, chatID)
		if err != nil {
			return nil, err
		}
		if ch.Deleted {
			return nil, core.Errorf(core.ENotFound, "chat not found")
		}
		if ch.ActiveThreadID == "" {
			return nil, core.Errorf(core.EConflict, "chat has no active thread")
		}
		if _, err := c.Group(ctx, groupID); err != nil {
			if core.IsCode(err, core.ENotFound) {
				return nil, core.Errorf(core.EInvalid, "handoff group %d does not exist", groupID)
			}
			return nil, err
		}
		if pos, _, err := c.QueuePosition(ctx, ch.ActiveThreadID); err == nil {
			res = RouteResult{ThreadID: ch.ActiveThreadID, Queued: true, Position: pos, GroupID: ch.GroupID}
			return nil, nil // already waiting
		}
		var changes []core.Change
		if a, err := c.ActiveAssignment(ctx, ch.ActiveThreadID); err == nil {
			if a.AgentID != botID {
				return nil, core.Errorf(core.EConflict, "the chat is served by another agent")
			}
			if freed, changes, err = h.release(ctx, c, ch.ActiveThreadID, true); err != nil {
				return nil, err
			}
		} else if !core.IsCode(err, core.ENotFound) {
			return nil, err
		}
		if groupID != ch.GroupID {
			if err := c.SetChatGroup(ctx, chatID, groupID); err != nil {
				return nil, err
			}
		}
		var more []core.Change
		res, more, err = h.assignOrQueue(ctx, c, chatID, ch.ActiveThreadID, groupID, botID)
		if err != nil {
			return nil, err
		}
		return append(changes, more...), nil
	})
	if err != nil {
		return res, err
	}
	if freed != "" {
		h.drainAgent(ctx, freed)
	}
	return res, nil
}

// Setting loads a server setting (not_found when unset).
func (h *Hub) Setting(ctx context.Context, name string) (string, error) {
	return h.store.Read().Setting(ctx, name)
}

// DemoAgentScopes are the demo agent token's scopes: the Agent API on the
// agent's own chats (answer, transfer, close) and its own routing status.
func DemoAgentScopes() []string {
	return []string{"chats--my:rw", "chats.conversation--my:rw", "chats.meta--my:rw", "agents--my:rw"}
}

// DemoSpec is what the first-run demo creates.
type DemoSpec struct {
	GroupName string          // the human support group, e.g. "Support"; reused if it exists
	Calendar  *hours.Calendar // the group's calendar (its project and country become the group's)
	AgentName string          // the demo agent, accepting chats in the group
	BotName   string          // the demo bot, with Manifest as its brain and the group as handoff
	Manifest  []byte
}

// Demo is what CreateDemo made. The secrets are shown once.
type Demo struct {
	GroupID    int64
	AgentID    string
	AgentToken string
	BotID      string
	WSToken    string
}

// CreateDemo creates the first-run demo in one transaction when the
// database has no users at all and no demo was ever created; otherwise it
// creates nothing and returns false. Two nodes starting on one empty
// database create one demo between them.
func (h *Hub) CreateDemo(ctx context.Context, s DemoSpec) (Demo, bool, error) {
	if _, err := brain.Parse(s.Manifest); err != nil {
		return Demo{}, false, fmt.Errorf("hub: demo manifest: %w", err)
	}
	if s.Calendar == nil {
		return Demo{}, false, core.Errorf(core.EInvalid, "demo calendar is required")
	}
	calJSON, err := json.Marshal(s.Calendar)
	if err != nil {
		return Demo{}, false, fmt.Errorf("hub: encode calendar: %w", err)
	}
	now := h.Now()
	d := Demo{AgentID: core.NewID(), AgentToken: core.NewSecret("sb_"), BotID: core.NewID(), WSToken: core.NewSecret("ws_")}
	created := false
	_, err = h.write(ctx, "", func(c store.Conn) ([]core.Change, error) {
		created = false
		if has, err := c.HasUsers(ctx); err != nil || has {
			return nil, err
		}
		if ok, err := c.InsertSetting(ctx, SettingDemoBotID, d.BotID, now); err != nil || !ok {
			return nil, err // a demo exists (or another node is creating it)
		}
		if _, err := c.InsertSetting(ctx, SettingDemoWSToken, d.WSToken, now); err != nil {
			return nil, err
		}
		g, err := c.GroupByName(ctx, s.GroupName)
		if core.IsCode(err, core.ENotFound) {
			g, err = c.InsertGroup(ctx, core.Group{Name: s.GroupName, Project: s.Calendar.Project(), Country: strings.ToUpper(s.Calendar.Country()), CreatedAt: now})
		}
		if err != nil {
			return nil, err
		}
		d.GroupID = g.ID
		if _, err := c.Calendar(ctx, g.Project, g.Country); core.IsCode(err, core.ENotFound) && g.Project != "" && g.Country != "" {
			if err := c.PutCalendar(ctx, store.StoredCalendar{Project: g.Project, Country: g.Country, Config: calJSON, UpdatedAt: now}); err != nil {
				return nil, err
			}
		} else if err != nil && !core.IsCode(err, core.ENotFound) {
			return nil, err
		}
		agent := core.User{ID: d.AgentID, Kind: core.KindPerson, Name: s.AgentName, Status: core.StatusAccepting, MaxChats: core.DefaultMaxChats, CreatedAt: now}
		if err := c.InsertUser(ctx, agent); err != nil {
			return nil, err
		}
		if err := c.SetMembership(ctx, core.Membership{GroupID: g.ID, UserID: agent.ID, Priority: core.PriorityNormal}); err != nil {
			return nil, err
		}
		tok := core.Token{ID: core.NewID(), ClientID: agent.ID, UserID: agent.ID, Scopes: DemoAgentScopes(), CreatedAt: now}
		if err := c.InsertToken(ctx, tok, HashSecret(d.AgentToken)); err != nil {
			return nil, err
		}
		bot := core.User{ID: d.BotID, Kind: core.KindBot, Name: s.BotName, Status: core.StatusAccepting, MaxChats: BotCapacity,
			Data: map[string]any{core.DataWSTokenHash: HashSecret(d.WSToken)}, CreatedAt: now}
		if err := c.InsertUser(ctx, bot); err != nil {
			return nil, err
		}
		if err := c.PutBotBrain(ctx, store.BotBrain{BotID: bot.ID, Manifest: s.Manifest, HandoffGroup: g.ID, UpdatedAt: now}); err != nil {
			return nil, err
		}
		created = true
		return nil, nil
	})
	if err != nil || !created {
		return Demo{}, false, err
	}
	return d, true, nil
}
