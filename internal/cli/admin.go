package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"switchboard/internal/brain"
	"switchboard/internal/bus"
	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/store"
)

// openHub opens and migrates the database for a one-shot command.
func openHub(ctx context.Context, dbURL string) (*hub.Hub, func(), error) {
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return nil, nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, nil, err
	}
	return hub.New(st, bus.NewLocal(), hub.Options{}), func() { st.Close() }, nil
}

func runMigrate(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "migrate", "Apply every pending database migration and exit. `serve` does the same on start.")
	db := dbFlag(fs, env)
	if err := parse(fs, args); err != nil {
		return err
	}
	st, err := store.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	if applied == nil {
		applied = []int{}
	}
	return printJSON(env, map[string]any{"applied": applied, "engine": st.Engine()})
}

func runTokenCreate(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "token create", "Create an API token. The token is shown once; only its hash is stored.\nPrints {\"token\":…,\"client_id\":…,\"scopes\":[…]}.")
	clientID := fs.String("client-id", "", "the API client the token acts for; it owns the bots it creates (required)")
	scopes := fs.String("scopes", "", "comma-separated scopes, e.g. agents-bot--my:rw,webhooks--my:rw")
	db := dbFlag(fs, env)
	if err := parse(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*clientID) == "" {
		return usageError{"-client-id is required"}
	}
	h, done, err := openHub(ctx, *db)
	if err != nil {
		return err
	}
	defer done()
	secret, tok, err := h.CreateToken(ctx, *clientID, "", strings.Split(*scopes, ","))
	if err != nil {
		return err
	}
	if tok.Scopes == nil {
		tok.Scopes = []string{}
	}
	return printJSON(env, map[string]any{"token": secret, "client_id": tok.ClientID, "scopes": tok.Scopes})
}

// groupFlags collects repeated -group ID[:priority] flags.
type groupFlags []core.Membership

func (g *groupFlags) String() string { return fmt.Sprint(*g) }

func (g *groupFlags) Set(v string) error {
	idText, prio, _ := strings.Cut(v, ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id < 0 {
		return fmt.Errorf("group %q: want ID or ID:priority (first, normal, last)", v)
	}
	p := core.Priority(prio)
	if p == "" {
		p = core.PriorityNormal
	}
	if !p.Valid() {
		return fmt.Errorf("group %q: priority must be first, normal or last", v)
	}
	*g = append(*g, core.Membership{GroupID: id, Priority: p})
	return nil
}

func runPersonCreate(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "person create", "Create a person: a human with an account (live agent, thread member, owner of personal agents)\nand a bearer token for it. Prints {\"person_id\":…,\"token\":…}.")
	name := fs.String("name", "", "display name (required)")
	email := fs.String("email", "", "e-mail address")
	maxChats := fs.Int("max-chats", core.DefaultMaxChats, "how many chats routing may give this person at once")
	var groups groupFlags
	fs.Var(&groups, "group", "group membership ID[:priority], priority first|normal|last; repeatable")
	db := dbFlag(fs, env)
	if err := parse(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return usageError{"-name is required"}
	}
	if *maxChats < 0 {
		return usageError{"-max-chats must not be negative"}
	}
	h, done, err := openHub(ctx, *db)
	if err != nil {
		return err
	}
	defer done()
	u, err := h.CreateUser(ctx, core.User{Kind: core.KindPerson, Name: *name, Email: *email, MaxChats: *maxChats}, groups)
	if err != nil {
		return err
	}
	secret, _, err := h.CreateToken(ctx, u.ID, u.ID, nil)
	if err != nil {
		return err
	}
	return printJSON(env, map[string]any{"person_id": u.ID, "token": secret})
}

func runGroupCreate(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "group create", "Create a group (department) of agents. Group ids are small integers; group 0 always exists.\nPrints {\"group_id\":N}.")
	name := fs.String("name", "", "unique group name, e.g. GTM_HIV_GENERAL (required)")
	project := fs.String("project", "", "project the group serves (business hours are per project and country)")
	country := fs.String("country", "", "country code of the group's calendar, e.g. GT")
	db := dbFlag(fs, env)
	if err := parse(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return usageError{"-name is required"}
	}
	h, done, err := openHub(ctx, *db)
	if err != nil {
		return err
	}
	defer done()
	g, err := h.CreateGroup(ctx, core.Group{Name: *name, Project: *project, Country: *country})
	if err != nil {
		return err
	}
	return printJSON(env, map[string]any{"group_id": g.ID})
}

func runBotCreate(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "bot create", "Create a bot. With -ws-token it is reachable on the chatbot websocket as topic bot:<bot_id>,\njoined with {\"access_token\": TOKEN}. With -manifest it is a built-in bot answering with that AIDA\nmanifest (docs/BOTS.md); an invalid manifest is refused with every problem by JSON path.\nPrints {\"bot_id\":…,\"ws_token\":…}.")
	name := fs.String("name", "", "bot name (required)")
	wsToken := fs.String("ws-token", "", "access token websocket clients join with (chosen by the operator)")
	clientID := fs.String("client-id", "", "API client that owns the bot (its chat.io token may manage it)")
	manifestFile := fs.String("manifest", "", "AIDA manifest (JSON file) that gives the bot a brain")
	handoff := fs.Int64("handoff-group", -1, "group the manifest's human_override hands chats to (default group 0); needs -manifest")
	db := dbFlag(fs, env)
	if err := parse(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return usageError{"-name is required"}
	}
	nb := hub.NewBot{Name: *name, ClientID: *clientID, WSToken: *wsToken}
	if *handoff >= 0 {
		if *manifestFile == "" {
			return usageError{"-handoff-group needs -manifest"}
		}
		nb.HandoffGroup = handoff
	}
	if *manifestFile != "" {
		b, err := os.ReadFile(*manifestFile)
		if err != nil {
			return fmt.Errorf("read manifest: %w", err)
		}
		if _, err := brain.Parse(b); err != nil {
			return manifestError(*manifestFile, err)
		}
		nb.Manifest = b
	}
	h, done, err := openHub(ctx, *db)
	if err != nil {
		return err
	}
	defer done()
	u, err := h.CreateBot(ctx, nb)
	if err != nil {
		return manifestError(*manifestFile, err)
	}
	return printJSON(env, map[string]any{"bot_id": u.ID, "ws_token": *wsToken})
}

// manifestError lists a manifest's problems, each with its JSON path, on
// one line; other errors pass through.
func manifestError(file string, err error) error {
	var ve *brain.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	parts := make([]string, len(ve.Errors))
	for i, fe := range ve.Errors {
		parts[i] = fe.String()
	}
	return fmt.Errorf("manifest %s is not valid (%d problem(s)): %s", file, len(parts), strings.Join(parts, "; "))
}
