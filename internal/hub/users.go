package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"switchboard/internal/core"
	"switchboard/internal/store"
)

// MaxNameLength bounds user and group names.
const MaxNameLength = 200

// CreateUser validates and stores a new user with its group memberships.
func (h *Hub) CreateUser(ctx context.Context, u core.User, groups []core.Membership) (core.User, error) {
	if !u.Kind.Valid() {
		return u, core.Errorf(core.EInvalid, "unknown user kind %q", u.Kind)
	}
	u.Name = strings.TrimSpace(u.Name)
	if u.Kind != core.KindCustomer && u.Name == "" {
		return u, core.Errorf(core.EInvalid, "name is required")
	}
	if utf8.RuneCountInString(u.Name) > MaxNameLength {
		return u, core.Errorf(core.EInvalid, "name is longer than %d characters", MaxNameLength)
	}
	if u.MaxChats == 0 {
		u.MaxChats = core.DefaultMaxChats
	}
	if u.MaxChats < 0 {
		return u, core.Errorf(core.EInvalid, "max_chats_count must not be negative")
	}
	if u.Status == "" {
		u.Status = core.StatusNotAccepting
	}
	if !u.Status.Valid() {
		return u, core.Errorf(core.EInvalid, "unknown routing status %q", u.Status)
	}
	if u.ID == "" {
		u.ID = core.NewID()
	}
	u.CreatedAt = h.Now()
	_, err := h.write(ctx, "", func(c store.Conn) ([]core.Change, error) {
		if err := c.InsertUser(ctx, u); err != nil {
			return nil, err
		}
		return nil, h.setMemberships(ctx, c, u.ID, groups)
	})
	return u, err
}

// UpdateUser writes a user's mutable fields and, when groups is not nil,
// replaces its memberships.
func (h *Hub) UpdateUser(ctx context.Context, u core.User, groups []core.Membership) (core.User, error) {
	if u.MaxChats < 0 {
		return u, core.Errorf(core.EInvalid, "max_chats_count must not be negative")
	}
	if !u.Status.Valid() {
		return u, core.Errorf(core.EInvalid, "unknown routing status %q", u.Status)
	}
	_, err := h.write(ctx, "", func(c store.Conn) ([]core.Change, error) {
		if err := c.UpdateUser(ctx, u); err != nil {
			return nil, err
		}
		if groups == nil {
			return nil, nil
		}
		if err := c.ClearMemberships(ctx, u.ID); err != nil {
			return nil, err
		}
		return nil, h.setMemberships(ctx, c, u.ID, groups)
	})
	if err == nil && u.Status == core.StatusAccepting {
		h.drainAgent(ctx, u.ID) // capacity or groups may have grown
	}
	return u, err
}

func (h *Hub) setMemberships(ctx context.Context, c store.Conn, userID string, groups []core.Membership) error {
	for _, m := range groups {
		if m.Priority == "" {
			m.Priority = core.PriorityNormal
		}
		if !m.Priority.Valid() {
			return core.Errorf(core.EInvalid, "unknown priority %q (want first, normal or last)", m.Priority)
		}
		if _, err := c.Group(ctx, m.GroupID); err != nil {
			if core.IsCode(err, core.ENotFound) {
				return core.Errorf(core.EInvalid, "group %d does not exist", m.GroupID)
			}
			return err
		}
		m.UserID = userID
		if err := c.SetMembership(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// DeleteUser removes a user from groups and marks it deleted.
func (h *Hub) DeleteUser(ctx context.Context, id string) error {
	_, err := h.write(ctx, "", func(c store.Conn) ([]core.Change, error) {
		return nil, c.DeleteUser(ctx, id, h.Now().UnixMicro())
	})
	return err
}

// SetAgentStatus changes an agent's routing status.
func (h *Hub) SetAgentStatus(ctx context.Context, userID string, status core.RoutingStatus) error {
	if !status.Valid() {
		return core.Errorf(core.EInvalid, "unknown routing status %q", status)
	}
	_, err := h.write(ctx, "", func(c store.Conn) ([]core.Change, error) {
		u, err := c.User(ctx, userID)
		if err != nil {
			return nil, err
		}
		u.Status = status
		if err := c.UpdateUser(ctx, u); err != nil {
			return nil, err
		}
		return []core.Change{{Kind: core.ChangeAgentStatus, UserIDs: []string{userID}}}, nil
	})
	if err == nil && status == core.StatusAccepting {
		h.drainAgent(ctx, userID) // an agent who starts accepting takes queued chats
	}
	return err
}

// User loads a user.
func (h *Hub) User(ctx context.Context, id string) (core.User, error) {
	return h.store.Read().User(ctx, id)
}

// CreateToken makes a credential for an API client (and optionally a
// person) and returns its secret, which is stored only as a hash.
func (h *Hub) CreateToken(ctx context.Context, clientID, userID string, scopes []string) (string, core.Token, error) {
	clientID = strings.TrimSpace(clientID)
	if clientID == "" {
		return "", core.Token{}, core.Errorf(core.EInvalid, "client id is required")
	}
	clean := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if s = strings.TrimSpace(s); s != "" {
			if strings.ContainsAny(s, ", ") {
				return "", core.Token{}, core.Errorf(core.EInvalid, "scope %q has a comma or a space", s)
			}
			clean = append(clean, s)
		}
	}
	secret := core.NewSecret("sb_")
	t := core.Token{ID: core.NewID(), ClientID: clientID, UserID: userID, Scopes: clean, CreatedAt: h.Now()}
	_, err := h.write(ctx, "", func(c store.Conn) ([]core.Change, error) {
		if userID != "" {
			if _, err := c.User(ctx, userID); err != nil {
				return nil, err
			}
		}
		return nil, c.InsertToken(ctx, t, HashSecret(secret))
	})
	return secret, t, err
}

// Authenticate returns the token whose secret is given.
func (h *Hub) Authenticate(ctx context.Context, secret string) (core.Token, error) {
	if secret == "" {
		return core.Token{}, core.Errorf(core.EUnauthorized, "missing token")
	}
	return h.store.Read().TokenByHash(ctx, HashSecret(secret))
}

// HashSecret is the stored form of a token secret. Secrets carry 256 random
// bits, so a plain SHA-256 is enough (no password stretching needed).
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateGroup stores a group with the next free small-integer id.
func (h *Hub) CreateGroup(ctx context.Context, g core.Group) (core.Group, error) {
	g.Name = strings.TrimSpace(g.Name)
	if g.Name == "" {
		return g, core.Errorf(core.EInvalid, "group name is required")
	}
	if utf8.RuneCountInString(g.Name) > MaxNameLength {
		return g, core.Errorf(core.EInvalid, "group name is longer than %d characters", MaxNameLength)
	}
	g.Country = strings.ToUpper(strings.TrimSpace(g.Country))
	g.CreatedAt = h.Now()
	_, err := h.write(ctx, "", func(c store.Conn) ([]core.Change, error) {
		if _, err := c.GroupByName(ctx, g.Name); err == nil {
			return nil, core.Errorf(core.EConflict, "a group named %q exists", g.Name)
		} else if !core.IsCode(err, core.ENotFound) {
			return nil, err
		}
		var err error
		g, err = c.InsertGroup(ctx, g)
		return nil, err
	})
	return g, err
}

// SetMembership adds a user to a group (or changes its priority there).
func (h *Hub) SetMembership(ctx context.Context, m core.Membership) error {
	_, err := h.write(ctx, "", func(c store.Conn) ([]core.Change, error) {
		if _, err := c.User(ctx, m.UserID); err != nil {
			return nil, err
		}
		return nil, h.setMemberships(ctx, c, m.UserID, []core.Membership{m})
	})
	return err
}
