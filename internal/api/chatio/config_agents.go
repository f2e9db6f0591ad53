package chatio

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"

	"switchboard/internal/api/respond"
	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/store"
	"switchboard/internal/webhook"
)

// Keys of a chat.io bot's Data besides core.DataWSTokenHash.
const (
	// DataWSToken keeps the websocket access token retrievable, because
	// get_bot_agent_details returns it (the CLI path stores only the hash).
	DataWSToken = "chatio_ws_token"
	// DataWebhookID is the id of the bot's webhook subscription.
	DataWebhookID = "chatio_webhook_id"
)

// MaxAccessTokenLength bounds the websocket extension's access token.
const MaxAccessTokenLength = 512

const scopeBots = "agents-bot"

// botRequest is the body of create_bot_agent and update_bot_agent.
type botRequest struct {
	ID            *string         `json:"id"`
	Name          *string         `json:"name"`
	Avatar        *string         `json:"avatar"`
	Status        *string         `json:"status"`
	MaxChatsCount *int            `json:"max_chats_count"`
	Groups        *[]groupRequest `json:"groups"`
	Webhooks      json.RawMessage `json:"webhooks"`
	Websocket     *struct {
		AccessToken *string `json:"access_token"`
	} `json:"websocket"`
}

type groupRequest struct {
	ID       *int64  `json:"id"`
	Priority *string `json:"priority"`
}

// botWebhooks is a bot's "webhooks" object.
type botWebhooks struct {
	URL       string          `json:"url"`
	SecretKey string          `json:"secret_key"`
	Actions   []webhookAction `json:"actions"`
}

type webhookAction struct {
	Name    string          `json:"name"`
	Filters json.RawMessage `json:"filters,omitempty"`
}

// validated is a bot request checked against everything the surface can
// check before changing state.
type validated struct {
	memberships []core.Membership // nil: unchanged (update) or default (create)
	webhooks    *botWebhooks      // nil: unchanged
	dropHooks   bool              // "webhooks": null on update
	wsToken     *string
}

func (s *Surface) validateBot(ctx context.Context, req botRequest, u *core.User, creating bool) (validated, error) {
	var v validated
	if req.Name != nil {
		name := strings.TrimSpace(*req.Name)
		if name == "" {
			return v, invalid("name must not be empty")
		}
		u.Name = name
	} else if creating {
		return v, invalid("name is required")
	}
	if req.Avatar != nil {
		if len(*req.Avatar) > webhook.MaxURLLength {
			return v, invalid("avatar is longer than %d characters", webhook.MaxURLLength)
		}
		u.Avatar = *req.Avatar
	}
	if req.Status != nil {
		st := core.RoutingStatus(*req.Status)
		if !st.Valid() {
			return v, invalid("status must be \"accepting chats\", \"not accepting chats\" or \"offline\"")
		}
		u.Status = st
	} else if creating {
		return v, invalid("status is required")
	}
	if req.MaxChatsCount != nil {
		if *req.MaxChatsCount < 0 {
			return v, invalid("max_chats_count must not be negative")
		}
		u.MaxChats = *req.MaxChatsCount
		if creating && u.MaxChats == 0 {
			u.MaxChats = core.DefaultMaxChats
		}
	}
	if req.Groups != nil {
		v.memberships = []core.Membership{}
		seen := map[int64]bool{}
		r := s.hub.Store().Read()
		for i, g := range *req.Groups {
			if g.ID == nil {
				return v, invalid("groups[%d].id is required", i)
			}
			if *g.ID < 0 {
				return v, invalid("groups[%d].id must not be negative", i)
			}
			if g.Priority == nil {
				return v, invalid("groups[%d].priority is required", i)
			}
			p := core.Priority(*g.Priority)
			if !p.Valid() {
				return v, invalid("groups[%d].priority must be first, normal or last", i)
			}
			if seen[*g.ID] {
				return v, invalid("group %d is listed twice", *g.ID)
			}
			seen[*g.ID] = true
			if _, err := r.Group(ctx, *g.ID); err != nil {
				if core.IsCode(err, core.ENotFound) {
					return v, invalid("group %d does not exist", *g.ID)
				}
				return v, err
			}
			v.memberships = append(v.memberships, core.Membership{GroupID: *g.ID, Priority: p})
		}
	}
	switch raw := bytes.TrimSpace(req.Webhooks); {
	case len(raw) == 0:
	case string(raw) == "null":
		if creating {
			break
		}
		v.dropHooks = true
	default:
		var wh botWebhooks
		if err := respond.DecodeBytes(raw, &wh); err != nil {
			return v, invalid("webhooks: %s", core.ErrorMessage(err))
		}
		if strings.TrimSpace(wh.URL) == "" {
			return v, invalid("webhooks.url is required")
		}
		if wh.SecretKey == "" {
			return v, invalid("webhooks.secret_key is required")
		}
		if len(wh.Actions) == 0 {
			return v, invalid("webhooks.actions is required")
		}
		for i, a := range wh.Actions {
			if a.Name == "" {
				return v, invalid("webhooks.actions[%d].name is required", i)
			}
		}
		v.webhooks = &wh
	}
	if req.Websocket != nil {
		t := req.Websocket.AccessToken
		if t == nil || *t == "" {
			return v, invalid("websocket.access_token is required")
		}
		if len(*t) > MaxAccessTokenLength {
			return v, invalid("websocket.access_token is longer than %d characters", MaxAccessTokenLength)
		}
		v.wsToken = t
	}
	if utf8.RuneCountInString(u.Name) > hub.MaxNameLength {
		return v, invalid("name is longer than %d characters", hub.MaxNameLength)
	}
	return v, nil
}

// subscriptionOf builds a bot's webhook subscription. Each action gets a
// chat_member_ids filter naming the bot, which is what limits a bot's
// webhooks to its chats; the caller's filters may therefore not use
// chat_member_ids themselves.
func subscriptionOf(botID string, wh botWebhooks) (webhook.Subscription, error) {
	sub := webhook.Subscription{OwnerKind: OwnerBot, OwnerID: botID, URL: wh.URL, Scheme: webhook.SchemeChatio, Secret: wh.SecretKey, Ordered: true}
	for i, a := range wh.Actions {
		f, err := botFilters(botID, a.Filters)
		if err != nil {
			return sub, invalid("webhooks.actions[%d].filters: %s", i, core.ErrorMessage(err))
		}
		sub.Actions = append(sub.Actions, webhook.Action{Name: a.Name, Filters: f})
	}
	return sub, nil
}

func botFilters(botID string, raw json.RawMessage) (json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if t := bytes.TrimSpace(raw); len(t) > 0 && string(t) != "null" {
		if err := json.Unmarshal(t, &m); err != nil {
			return nil, invalid("must be an object")
		}
	}
	if _, ok := m[string(webhook.FilterChatMemberIDs)]; ok {
		return nil, invalid("chat_member_ids is not available in a bot's webhooks, which cover the chats the bot is in")
	}
	member, err := json.Marshal(map[string][]string{"agents_any": {botID}})
	if err != nil {
		return nil, err
	}
	m[string(webhook.FilterChatMemberIDs)] = member
	return json.Marshal(m)
}

// publicFilters removes the filter botFilters added.
func publicFilters(raw json.RawMessage) json.RawMessage {
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil
	}
	delete(m, string(webhook.FilterChatMemberIDs))
	if len(m) == 0 {
		return nil
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return out
}

func (s *Surface) createBotAgent(w http.ResponseWriter, r *http.Request) {
	tok, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	if reachOf(tok, scopeBots, write) == reachNone {
		s.fail(w, r, forbidden("insufficient scope: agents-bot--my:write is required"))
		return
	}
	var req botRequest
	if err := respond.Decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	u := core.User{ID: core.NewID(), Kind: core.KindBot, ClientID: tok.ClientID, MaxChats: core.DefaultMaxChats, Data: map[string]any{}}
	v, err := s.validateBot(ctx, req, &u, true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if v.memberships == nil {
		// chat.io: every agent belongs to group 0 by default.
		v.memberships = []core.Membership{{GroupID: core.DefaultGroupID, Priority: core.PriorityNormal}}
	}
	if v.wsToken != nil {
		u.Data[core.DataWSTokenHash] = hub.HashSecret(*v.wsToken)
		u.Data[DataWSToken] = *v.wsToken
	}
	var sub webhook.Subscription
	if v.webhooks != nil {
		if sub, err = subscriptionOf(u.ID, *v.webhooks); err != nil {
			s.fail(w, r, err)
			return
		}
		if sub, err = s.wh.CreateSubscription(ctx, sub); err != nil {
			s.fail(w, r, err)
			return
		}
		u.Data[DataWebhookID] = sub.ID
	}
	if _, err := s.hub.CreateUser(ctx, u, v.memberships); err != nil {
		s.undoSubscription(sub.ID)
		s.fail(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]string{"bot_agent_id": u.ID})
}

// undoSubscription deletes a subscription made for a request that failed
// afterwards (the webhook engine writes in its own transaction).
func (s *Surface) undoSubscription(id string) {
	if id == "" {
		return
	}
	if err := s.wh.DeleteSubscription(context.WithoutCancel(context.Background()), id); err != nil {
		s.log.Error("chatio: undo webhook subscription", "subscription", id, "err", err)
	}
}

// chatioBot loads a bot created for an API client and checks tok may act
// on it with reach rc.
func (s *Surface) chatioBot(ctx context.Context, tok core.Token, id string, rc reach) (core.User, error) {
	u, err := s.hub.User(ctx, id)
	if core.IsCode(err, core.ENotFound) || (err == nil && (u.Kind != core.KindBot || u.ClientID == "")) {
		return core.User{}, notFound("bot agent %s not found", id)
	}
	if err != nil {
		return core.User{}, err
	}
	if rc != reachAll && u.ClientID != tok.ClientID {
		return core.User{}, forbidden("bot agent %s belongs to another application; an --all scope is required", id)
	}
	return u, nil
}

func (s *Surface) updateBotAgent(w http.ResponseWriter, r *http.Request) {
	tok, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	rc := reachOf(tok, scopeBots, write)
	if rc == reachNone {
		s.fail(w, r, forbidden("insufficient scope: agents-bot--my:write is required"))
		return
	}
	var req botRequest
	if err := respond.Decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.ID == nil || *req.ID == "" {
		s.fail(w, r, invalid("id is required"))
		return
	}
	ctx := r.Context()
	u, err := s.chatioBot(ctx, tok, *req.ID, rc)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.validateBot(ctx, req, &u, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if u.Data == nil {
		u.Data = map[string]any{}
	}
	if v.wsToken != nil {
		u.Data[core.DataWSTokenHash] = hub.HashSecret(*v.wsToken)
		u.Data[DataWSToken] = *v.wsToken
	}
	oldID, _ := u.Data[DataWebhookID].(string)
	var created string
	var previous *webhook.Subscription
	if v.webhooks != nil {
		sub, err := subscriptionOf(u.ID, *v.webhooks)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if old, err := s.wh.Subscription(ctx, oldID); oldID != "" && err == nil {
			sub.ID = oldID
			if _, err := s.wh.UpdateSubscription(ctx, sub); err != nil {
				s.fail(w, r, err)
				return
			}
			previous = &old
		} else {
			if sub, err = s.wh.CreateSubscription(ctx, sub); err != nil {
				s.fail(w, r, err)
				return
			}
			created = sub.ID
			u.Data[DataWebhookID] = sub.ID
		}
	}
	if v.dropHooks {
		delete(u.Data, DataWebhookID)
	}
	if _, err := s.hub.UpdateUser(ctx, u, v.memberships); err != nil {
		s.undoSubscription(created)
		if previous != nil {
			if _, uerr := s.wh.UpdateSubscription(context.WithoutCancel(ctx), *previous); uerr != nil {
				s.log.Error("chatio: restore webhook subscription", "subscription", previous.ID, "err", uerr)
			}
		}
		s.fail(w, r, err)
		return
	}
	if v.dropHooks && oldID != "" {
		if err := s.wh.DeleteSubscription(ctx, oldID); err != nil && !core.IsCode(err, core.ENotFound) {
			s.fail(w, r, err)
			return
		}
	}
	respond.JSON(w, http.StatusOK, struct{}{})
}

// botIDRequest is the body of remove_bot_agent and get_bot_agent_details.
type botIDRequest struct {
	BotAgentID *string `json:"bot_agent_id"`
}

func (s *Surface) botFromRequest(w http.ResponseWriter, r *http.Request, access string) (core.Token, core.User, bool) {
	tok, ok := s.authenticate(w, r)
	if !ok {
		return tok, core.User{}, false
	}
	rc := reachOf(tok, scopeBots, access)
	if rc == reachNone {
		s.fail(w, r, needScope(scopeBots, access))
		return tok, core.User{}, false
	}
	var req botIDRequest
	if err := respond.Decode(r, &req); err != nil {
		s.fail(w, r, err)
		return tok, core.User{}, false
	}
	if req.BotAgentID == nil || *req.BotAgentID == "" {
		s.fail(w, r, invalid("bot_agent_id is required"))
		return tok, core.User{}, false
	}
	u, err := s.chatioBot(r.Context(), tok, *req.BotAgentID, rc)
	if err != nil {
		s.fail(w, r, err)
		return tok, core.User{}, false
	}
	return tok, u, true
}

func (s *Surface) removeBotAgent(w http.ResponseWriter, r *http.Request) {
	_, u, ok := s.botFromRequest(w, r, write)
	if !ok {
		return
	}
	ctx := r.Context()
	// Webhooks first: a bot left without them is better than webhooks
	// still firing for a removed bot.
	if id, _ := u.Data[DataWebhookID].(string); id != "" {
		if err := s.wh.DeleteSubscription(ctx, id); err != nil && !core.IsCode(err, core.ENotFound) {
			s.fail(w, r, err)
			return
		}
	}
	if err := s.hub.DeleteUser(ctx, u.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, struct{}{})
}

// botSummary is an item of get_bot_agents.
type botSummary struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Avatar string `json:"avatar"`
	Status string `json:"status"`
}

func (s *Surface) getBotAgents(w http.ResponseWriter, r *http.Request) {
	tok, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	rc := reachOf(tok, scopeBots, read)
	if rc == reachNone {
		s.fail(w, r, needScope(scopeBots, read))
		return
	}
	var req struct {
		All *bool `json:"all"`
	}
	if err := decodeOptional(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	all := req.All != nil && *req.All
	if all && rc != reachAll {
		s.fail(w, r, forbidden("insufficient scope: agents-bot--all:read is required for all bot agents"))
		return
	}
	f := store.UserFilter{Kind: core.KindBot, ClientID: tok.ClientID}
	if all {
		f.ClientID = ""
	}
	users, err := s.hub.Store().Read().ListUsers(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []botSummary{}
	for _, u := range users {
		if u.ClientID == "" {
			continue // not a chat.io bot (an operator's or a person's)
		}
		out = append(out, botSummary{ID: u.ID, Name: u.Name, Avatar: u.Avatar, Status: string(u.Status)})
	}
	respond.JSON(w, http.StatusOK, map[string]any{"bot_agents": out})
}

// botDetails is get_bot_agent_details' bot_agent.
type botDetails struct {
	ID            string        `json:"id"`
	Name          string        `json:"name"`
	Avatar        string        `json:"avatar"`
	Status        string        `json:"status"`
	Application   application   `json:"application"`
	MaxChatsCount int           `json:"max_chats_count"`
	Groups        []groupOut    `json:"groups"`
	Webhooks      *botWebhooks  `json:"webhooks,omitempty"`
	Websocket     *websocketOut `json:"websocket,omitempty"`
}

type application struct {
	ClientID string `json:"client_id"`
}

type groupOut struct {
	ID       int64  `json:"id"`
	Priority string `json:"priority"`
}

type websocketOut struct {
	AccessToken string `json:"access_token"`
}

func (s *Surface) getBotAgentDetails(w http.ResponseWriter, r *http.Request) {
	_, u, ok := s.botFromRequest(w, r, read)
	if !ok {
		return
	}
	ctx := r.Context()
	ms, err := s.hub.Store().Read().Memberships(ctx, u.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := botDetails{ID: u.ID, Name: u.Name, Avatar: u.Avatar, Status: string(u.Status), Application: application{u.ClientID},
		MaxChatsCount: u.MaxChats, Groups: []groupOut{}}
	for _, m := range ms {
		d.Groups = append(d.Groups, groupOut{ID: m.GroupID, Priority: string(m.Priority)})
	}
	if id, _ := u.Data[DataWebhookID].(string); id != "" {
		sub, err := s.wh.Subscription(ctx, id)
		if err != nil && !core.IsCode(err, core.ENotFound) {
			s.fail(w, r, err)
			return
		}
		if err == nil {
			wh := &botWebhooks{URL: sub.URL, SecretKey: sub.Secret, Actions: []webhookAction{}}
			for _, a := range sub.Actions {
				wh.Actions = append(wh.Actions, webhookAction{Name: a.Name, Filters: publicFilters(a.Filters)})
			}
			d.Webhooks = wh
		}
	}
	if t, _ := u.Data[DataWSToken].(string); t != "" {
		d.Websocket = &websocketOut{AccessToken: t}
	}
	respond.JSON(w, http.StatusOK, map[string]any{"bot_agent": d})
}

// decodeOptional decodes a JSON object body; an empty body is {}.
func decodeOptional(r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return respond.DecodeBytes(body, v)
}
