package aida

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"strings"

	"switchboard/internal/api/respond"
	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/phoenix"
)

// Join admits a client to bot:<bot_id> when params carry the bot's access token.
func (s *Surface) Join(ctx context.Context, ch *phoenix.Channel, params json.RawMessage) (any, error) {
	botID, ok := strings.CutPrefix(ch.Topic(), "bot:")
	if !ok || !isID(botID) {
		return nil, replyErr(reasonUnauthorized)
	}
	var p struct {
		AccessToken *string `json:"access_token"`
	}
	if err := respond.DecodeBytes(params, &p); err != nil || p.AccessToken == nil {
		return nil, replyErr(reasonUnauthorized)
	}
	bot, err := s.hub.User(ctx, botID)
	if core.IsCode(err, core.ENotFound) {
		return nil, replyErr(reasonUnauthorized)
	}
	if err != nil {
		return nil, err // join crashed, logged by phoenix
	}
	want, _ := bot.Data[core.DataWSTokenHash].(string)
	got := hub.HashSecret(*p.AccessToken)
	if bot.Kind != core.KindBot || want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return nil, replyErr(reasonUnauthorized)
	}
	s.rememberBot(botID)
	return nil, nil
}

// Leave forgets which sessions the channel used (DeliverSession).
func (s *Surface) Leave(ch *phoenix.Channel) {
	if s.watchers != nil {
		s.watchers.dropChannel(ch)
	}
}

// HandleIn handles the AIDA client events. Errors are replies, never channel
// crashes: one channel carries every session of a bot, so one bad push must
// not interrupt the others.
func (s *Surface) HandleIn(ctx context.Context, ch *phoenix.Channel, event string, payload json.RawMessage) (any, error) {
	botID := strings.TrimPrefix(ch.Topic(), "bot:")
	switch event {
	case "new_session":
		return s.newSession(ctx, ch, botID, payload)
	case "put_data":
		return s.putData(ctx, ch, botID, payload)
	case "delete_session":
		return s.deleteSession(ctx, botID, payload)
	case "utb_msg":
		return s.utbMsg(ctx, ch, botID, payload)
	case "utb_img":
		return s.utbImg(ctx, ch, botID, payload)
	case "get_history": // widget extension (widget_ext.go)
		return s.getHistory(ctx, ch, botID, payload)
	case "typing": // widget extension (widget_ext.go)
		return s.typing(ctx, ch, botID, payload)
	}
	return nil, &phoenix.ReplyError{Reason: reasonUnknownEvent, Fields: map[string]any{"event": event}}
}

// in is every field an AIDA client event may carry.
type in struct {
	Session *string         `json:"session"`
	Text    *string         `json:"text"`
	Image   *string         `json:"image"`
	Data    json.RawMessage `json:"data"`
}

func decode(payload json.RawMessage, need ...string) (in, error) {
	var p in
	if err := respond.DecodeBytes(payload, &p); err != nil {
		return p, invalid(strings.Replace(core.ErrorMessage(err), "request body", "payload", 1))
	}
	for _, f := range need {
		var missing bool
		switch f {
		case "session":
			missing = p.Session == nil
		case "text":
			missing = p.Text == nil
		case "image":
			missing = p.Image == nil
		case "data":
			missing = len(p.Data) == 0 || string(p.Data) == "null"
		}
		if missing {
			return p, invalid(f + " is required")
		}
	}
	return p, nil
}

// object decodes an optional data field, which must be a JSON object.
func object(raw json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return nil, invalid("data must be an object")
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, invalid("data must be an object")
	}
	return m, nil
}

func (s *Surface) newSession(ctx context.Context, ch *phoenix.Channel, botID string, payload json.RawMessage) (any, error) {
	p, err := decode(payload)
	if err != nil {
		return nil, err
	}
	data, err := object(p.Data)
	if err != nil {
		return nil, err
	}
	chat, customer, err := s.hub.StartSession(ctx, botID, data)
	if err != nil {
		return nil, s.hubError("new_session", err)
	}
	s.sessions.put(chat.ID, session{bot: botID, customer: customer})
	s.watch(chat.ID, ch)
	return map[string]string{"session": chat.ID}, nil
}

func (s *Surface) putData(ctx context.Context, ch *phoenix.Channel, botID string, payload json.RawMessage) (any, error) {
	p, err := decode(payload, "session", "data")
	if err != nil {
		return nil, err
	}
	data, err := object(p.Data)
	if err != nil {
		return nil, err
	}
	if _, err := s.lookup(ctx, botID, *p.Session); err != nil {
		return nil, err
	}
	if err := s.hub.MergeChatData(ctx, *p.Session, data); err != nil {
		return nil, s.sessionError(ctx, botID, *p.Session, "put_data", err)
	}
	s.watch(*p.Session, ch)
	return struct{}{}, nil
}

func (s *Surface) deleteSession(ctx context.Context, botID string, payload json.RawMessage) (any, error) {
	p, err := decode(payload, "session")
	if err != nil {
		return nil, err
	}
	if _, err := s.lookup(ctx, botID, *p.Session); err != nil {
		return nil, err
	}
	if err := s.hub.DeleteSession(ctx, *p.Session); err != nil {
		return nil, s.sessionError(ctx, botID, *p.Session, "delete_session", err)
	}
	return struct{}{}, nil
}

// utbMsg appends the customer's message. Success sends no reply, as in AIDA.
func (s *Surface) utbMsg(ctx context.Context, ch *phoenix.Channel, botID string, payload json.RawMessage) (any, error) {
	p, err := decode(payload, "session", "text")
	if err != nil {
		return nil, err
	}
	ss, err := s.lookup(ctx, botID, *p.Session)
	if err != nil {
		return nil, err
	}
	s.watch(*p.Session, ch)
	if _, err := s.hub.SendEvent(ctx, *p.Session, core.Event{Type: core.EventMessage, AuthorID: ss.customer, Text: *p.Text}); err != nil {
		return nil, s.sessionError(ctx, botID, *p.Session, "utb_msg", err)
	}
	return nil, nil
}

// utbImg appends the customer's image, which must have been uploaded for
// this bot and session. Success sends no reply, as in AIDA.
func (s *Surface) utbImg(ctx context.Context, ch *phoenix.Channel, botID string, payload json.RawMessage) (any, error) {
	p, err := decode(payload, "session", "image")
	if err != nil {
		return nil, err
	}
	ss, err := s.lookup(ctx, botID, *p.Session)
	if err != nil {
		return nil, err
	}
	if !isID(*p.Image) {
		return nil, replyErr(reasonInvalidImage)
	}
	img, size, err := s.hub.ImageInfo(ctx, *p.Image)
	if core.IsCode(err, core.ENotFound) || (err == nil && (img.BotID != botID || img.ChatID != *p.Session)) {
		return nil, replyErr(reasonInvalidImage)
	}
	if err != nil {
		return nil, s.hubError("utb_img", err)
	}
	s.watch(*p.Session, ch)
	file := &core.File{Name: img.ID, URL: imagePath(img.ID), ContentType: img.ContentType, Size: size, Width: img.Width, Height: img.Height}
	if _, err := s.hub.SendEvent(ctx, *p.Session, core.Event{Type: core.EventFile, AuthorID: ss.customer, File: file}); err != nil {
		return nil, s.sessionError(ctx, botID, *p.Session, "utb_img", err)
	}
	return nil, nil
}

func (s *Surface) watch(id string, ch *phoenix.Channel) {
	if s.watchers != nil {
		s.watchers.add(id, ch)
	}
}

// sessionError turns a hub error on a session that looked valid into a
// reply: the session may have been deleted meanwhile (another node), so the
// cache entry goes and the store says which.
func (s *Surface) sessionError(ctx context.Context, botID, id, event string, err error) error {
	switch core.ErrorCode(err) {
	case core.ENotFound, core.EForbidden:
		s.sessions.forget(id)
		if _, lerr := s.lookup(ctx, botID, id); lerr != nil {
			return lerr
		}
		return replyErr(reasonUnknownSession)
	}
	return s.hubError(event, err)
}

// hubError turns domain errors into replies; failures are logged and hidden.
func (s *Surface) hubError(event string, err error) error {
	switch core.ErrorCode(err) {
	case core.EInvalid, core.ETooLarge:
		return invalid(core.ErrorMessage(err))
	case core.ENotFound:
		return replyErr(reasonUnknownSession)
	}
	s.log.Error("aida: hub call failed", "event", event, "err", err)
	return replyErr(reasonUnavailable)
}
