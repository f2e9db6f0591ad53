package hub

import (
	"context"
	"net/url"
	"strings"

	"switchboard/internal/core"
	"switchboard/internal/store"
)

// MeWe apps own personal agents: an agent is a bot whose OwnerID is the
// person who registered it and whose ClientID is its app's id.

// AppTypePersonalAgent is the one app type Switchboard serves.
const AppTypePersonalAgent = "personal_agent"

// App permissions.
const (
	PermUserChats   = "user_chats"   // read the threads its agents sit in
	PermPostContent = "post_content" // post messages there
)

// NewAppKey returns a new random api key for an app.
func NewAppKey() string { return core.NewSecret("mewe_") }

// CreateApp validates and stores an app. ID and APIKey are generated when
// empty (a caller that registers the app's webhook subscription first
// chooses them).
func (h *Hub) CreateApp(ctx context.Context, a store.MeWeApp) (store.MeWeApp, error) {
	var err error
	if a.Name, err = cleanName(a.Name, "app name"); err != nil {
		return a, err
	}
	if a.Type == "" {
		a.Type = AppTypePersonalAgent
	}
	if a.Type != AppTypePersonalAgent {
		return a, core.Errorf(core.EInvalid, "unknown app type %q (want %s)", a.Type, AppTypePersonalAgent)
	}
	if u, err := url.Parse(a.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return a, core.Errorf(core.EInvalid, "webhook url must be an absolute http or https URL")
	}
	perms := []string{}
	for _, p := range a.Permissions {
		p = strings.TrimSpace(p)
		switch p {
		case "":
			continue
		case PermUserChats, PermPostContent:
			perms = append(perms, p)
		default:
			return a, core.Errorf(core.EInvalid, "unknown permission %q (want %s or %s)", p, PermUserChats, PermPostContent)
		}
	}
	a.Permissions = perms
	if a.ID == "" {
		a.ID = core.NewID()
	}
	if a.APIKey == "" {
		a.APIKey = NewAppKey()
	}
	a.CreatedAt = h.Now()
	a.UpdatedAt = a.CreatedAt
	_, err = h.write(ctx, "", func(c store.Conn) ([]core.Change, error) {
		return nil, c.InsertMeWeApp(ctx, a)
	})
	return a, err
}

// RotateAppKey replaces an app's api key with key (a new one when empty).
func (h *Hub) RotateAppKey(ctx context.Context, appID, key string) (store.MeWeApp, error) {
	if key == "" {
		key = NewAppKey()
	}
	var a store.MeWeApp
	_, err := h.write(ctx, "", func(c store.Conn) ([]core.Change, error) {
		if err := c.SetMeWeAppKey(ctx, appID, key, h.Now()); err != nil {
			return nil, err
		}
		var err error
		a, err = c.MeWeApp(ctx, appID)
		return nil, err
	})
	return a, err
}

// App loads an app.
func (h *Hub) App(ctx context.Context, id string) (store.MeWeApp, error) {
	return h.store.Read().MeWeApp(ctx, id)
}

// UseSignature records a signed request's signature; it fails with
// unauthorized when the app used it before (a replay). Signatures of
// requests timed before pruneBefore (unix seconds) are forgotten: the
// caller rejects such requests by their timestamp anyway.
func (h *Hub) UseSignature(ctx context.Context, appID, signature string, ts, pruneBefore int64) error {
	_, err := h.write(ctx, "", func(c store.Conn) ([]core.Change, error) {
		fresh, err := c.InsertMeWeSignature(ctx, appID, signature, ts)
		if err != nil {
			return nil, err
		}
		if !fresh {
			return nil, core.Errorf(core.EUnauthorized, "signature already used")
		}
		_, err = c.PruneMeWeSignatures(ctx, pruneBefore)
		return nil, err
	})
	return err
}

// RegisterAgent creates a personal agent of an app for its owner, with the
// personal chat thread of the two, in one transaction.
func (h *Hub) RegisterAgent(ctx context.Context, ownerID, appID, name string) (core.User, core.Chat, error) {
	name, err := cleanName(name, "name")
	if err != nil {
		return core.User{}, core.Chat{}, err
	}
	now := h.Now()
	chat := core.Chat{ID: core.NewID(), GroupID: core.DefaultGroupID, CreatedAt: now}
	thread := core.Thread{ID: core.NewID(), ChatID: chat.ID, Active: true, CreatedAt: now}
	chat.ActiveThreadID = thread.ID
	agent := core.User{ID: core.NewID(), Kind: core.KindBot, Name: name, OwnerID: ownerID, ClientID: appID,
		Status: core.StatusNotAccepting, MaxChats: core.DefaultMaxChats, CreatedAt: now,
		Data: map[string]any{DataPersonalChat: chat.ID}}
	chat.Properties = core.Properties{ThreadNS: {"kind": ThreadKindPersonal, "name": name, "agent_id": agent.ID}}
	_, err = h.write(ctx, chat.ID, func(c store.Conn) ([]core.Change, error) {
		if _, err := person(ctx, c, ownerID, "owner"); err != nil {
			return nil, core.Errorf(core.EForbidden, "only persons own agents")
		}
		if _, err := c.MeWeApp(ctx, appID); err != nil {
			if core.IsCode(err, core.ENotFound) {
				return nil, core.Errorf(core.EInvalid, "app %s does not exist", appID)
			}
			return nil, err
		}
		if err := c.InsertUser(ctx, agent); err != nil {
			return nil, err
		}
		if err := c.InsertChat(ctx, chat); err != nil {
			return nil, err
		}
		if err := c.InsertThread(ctx, thread); err != nil {
			return nil, err
		}
		for _, p := range []core.Participant{
			{ChatID: chat.ID, UserID: ownerID, Kind: core.KindPerson, JoinedAt: now},
			{ChatID: chat.ID, UserID: agent.ID, Kind: core.KindBot, JoinedAt: now},
		} {
			if err := c.JoinChat(ctx, p); err != nil {
				return nil, err
			}
		}
		return []core.Change{{Kind: core.ChangeChatStarted, ChatID: chat.ID, ThreadID: thread.ID, UserIDs: []string{ownerID, agent.ID}}}, nil
	})
	if err != nil {
		return core.User{}, core.Chat{}, err
	}
	return agent, chat, nil
}

// ownedAgent loads a personal agent of owner; other users are not found.
func ownedAgent(ctx context.Context, c store.Conn, ownerID, agentID string) (core.User, error) {
	u, err := c.User(ctx, agentID)
	if err != nil && !core.IsCode(err, core.ENotFound) {
		return u, err
	}
	if err != nil || !IsPersonalAgent(u) || u.OwnerID != ownerID {
		return core.User{}, core.Errorf(core.ENotFound, "agent not found")
	}
	return u, nil
}

// OwnedAgent loads one of owner's personal agents.
func (h *Hub) OwnedAgent(ctx context.Context, ownerID, agentID string) (core.User, error) {
	return ownedAgent(ctx, h.store.Read(), ownerID, agentID)
}

// AgentsOf returns a person's personal agents, oldest first.
func (h *Hub) AgentsOf(ctx context.Context, ownerID string) ([]core.User, error) {
	us, err := h.store.Read().ListUsers(ctx, store.UserFilter{Kind: core.KindBot, OwnerID: ownerID})
	if err != nil {
		return nil, err
	}
	out := []core.User{}
	for _, u := range us {
		if IsPersonalAgent(u) {
			out = append(out, u)
		}
	}
	return out, nil
}

// UnregisterAgent takes an agent out of every thread (its personal chat
// thread last) and deletes it, in one transaction.
func (h *Hub) UnregisterAgent(ctx context.Context, ownerID, agentID string) error {
	a, err := h.OwnedAgent(ctx, ownerID, agentID)
	if err != nil {
		return err
	}
	personal, _ := a.Data[DataPersonalChat].(string)
	_, err = h.write(ctx, personal, func(c store.Conn) ([]core.Change, error) {
		if _, err := ownedAgent(ctx, c, ownerID, agentID); err != nil {
			return nil, err
		}
		ids, err := c.ChatsOfUser(ctx, agentID, 100000)
		if err != nil {
			return nil, err
		}
		ids = append(ids, personal) // last, whether or not it was listed
		var changes []core.Change
		now := h.Now().UnixMicro()
		for i, id := range ids {
			if id == personal && i != len(ids)-1 {
				continue
			}
			ch, err := c.LockChat(ctx, id)
			if err != nil {
				return nil, err
			}
			left, err := c.LeaveChat(ctx, id, agentID, now)
			if err != nil {
				return nil, err
			}
			if left {
				changes = append(changes, core.Change{Kind: core.ChangeUsersRemoved, ChatID: id, ThreadID: ch.ActiveThreadID, UserIDs: []string{agentID}})
			}
		}
		return changes, c.DeleteUser(ctx, agentID, now)
	})
	return err
}

// AddAgentToThread adds an owner's agent to a group thread the owner is a
// member of.
func (h *Hub) AddAgentToThread(ctx context.Context, ownerID, agentID, chatID string) error {
	_, err := h.write(ctx, chatID, func(c store.Conn) ([]core.Change, error) {
		if _, err := ownedAgent(ctx, c, ownerID, agentID); err != nil {
			return nil, err
		}
		ch, info, err := lockMembersThread(ctx, c, chatID)
		if err != nil {
			return nil, err
		}
		if info.Kind == ThreadKindPersonal {
			return nil, core.Errorf(core.EForbidden, "a personal chat thread holds only its agent and owner")
		}
		if ok, err := isMember(ctx, c, chatID, ownerID); err != nil {
			return nil, err
		} else if !ok {
			return nil, core.Errorf(core.EForbidden, "the owner is not a member of this thread")
		}
		if ok, err := isMember(ctx, c, chatID, agentID); err != nil {
			return nil, err
		} else if ok {
			return nil, core.Errorf(core.EConflict, "the agent is already in this thread")
		}
		if err := c.JoinChat(ctx, core.Participant{ChatID: chatID, UserID: agentID, Kind: core.KindBot, JoinedAt: h.Now()}); err != nil {
			return nil, err
		}
		return []core.Change{{Kind: core.ChangeUsersAdded, ChatID: chatID, ThreadID: ch.ActiveThreadID, UserIDs: []string{agentID}}}, nil
	})
	return err
}

// RemoveAgentFromThread takes an owner's agent out of a group thread.
func (h *Hub) RemoveAgentFromThread(ctx context.Context, ownerID, agentID, chatID string) error {
	_, err := h.write(ctx, chatID, func(c store.Conn) ([]core.Change, error) {
		if _, err := ownedAgent(ctx, c, ownerID, agentID); err != nil {
			return nil, err
		}
		ch, info, err := lockMembersThread(ctx, c, chatID)
		if err != nil {
			return nil, err
		}
		if info.Kind == ThreadKindPersonal {
			return nil, core.Errorf(core.EForbidden, "an agent leaves its personal chat thread only when it is deleted")
		}
		left, err := c.LeaveChat(ctx, chatID, agentID, h.Now().UnixMicro())
		if err != nil {
			return nil, err
		}
		if !left {
			return nil, core.Errorf(core.ENotFound, "the agent is not in this thread")
		}
		return []core.Change{{Kind: core.ChangeUsersRemoved, ChatID: chatID, ThreadID: ch.ActiveThreadID, UserIDs: []string{agentID}}}, nil
	})
	return err
}

// SetAgentPhoto stores an image as an agent's photo, replacing the previous
// one; the agent's Avatar becomes the image id.
func (h *Hub) SetAgentPhoto(ctx context.Context, ownerID, agentID string, img store.Image) (store.Image, error) {
	img.ID, img.BotID, img.ChatID, img.CreatedAt = core.NewID(), agentID, "", h.Now()
	_, err := h.write(ctx, "", func(c store.Conn) ([]core.Change, error) {
		a, err := ownedAgent(ctx, c, ownerID, agentID)
		if err != nil {
			return nil, err
		}
		if err := c.InsertImage(ctx, img); err != nil {
			return nil, err
		}
		if a.Avatar != "" {
			if err := c.DeleteImage(ctx, a.Avatar); err != nil {
				return nil, err
			}
		}
		a.Avatar = img.ID
		return nil, c.UpdateUser(ctx, a)
	})
	return img, err
}

// AgentPhoto loads an agent's photo.
func (h *Hub) AgentPhoto(ctx context.Context, agentID string) (store.Image, error) {
	r := h.store.Read()
	a, err := r.User(ctx, agentID)
	if err != nil {
		return store.Image{}, err
	}
	if !IsPersonalAgent(a) || a.Avatar == "" {
		return store.Image{}, core.Errorf(core.ENotFound, "the agent has no photo")
	}
	return r.Image(ctx, a.Avatar)
}
