// Package cli implements the switchboard command line: serve, migrate and
// the create commands operators run before any API works. Each create
// command prints exactly one JSON object on stdout.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
)

// Env is what a command reads from its surroundings.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// command is one sub-command (or a group of them, like "token create").
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env Env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the server", runServe},
		{"migrate", "apply database migrations and exit", runMigrate},
		{"token create", "create an API token for a client", runTokenCreate},
		{"person create", "create a person (live agent, thread member, agent owner) and its token", runPersonCreate},
		{"group create", "create a group (department) of agents", runGroupCreate},
		{"bot create", "create a bot: reachable on the chatbot websocket, with an optional AIDA manifest brain", runBotCreate},
		{"app create", "create a MeWe personal_agent app (api key, webhook URL, permissions)", runAppCreate},
		{"app rotate-key", "give a MeWe app a new api key", runAppRotateKey},
		{"hours import", "import Day Status files (working-hours-<cc>.toml) as business-hours calendars", runHoursImport},
	}
}

// usageError is a mistake in the command line (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		printUsage(env.Stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(args) < len(words) || strings.Join(args[:len(words)], " ") != c.name {
			continue
		}
		err := c.run(ctx, env, args[len(words):])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		default:
			fmt.Fprintf(env.Stderr, "switchboard %s: %s\n", c.name, oneLine(err.Error()))
			var ue usageError
			if errors.As(err, &ue) {
				return 2
			}
			return 1
		}
	}
	fmt.Fprintf(env.Stderr, "switchboard: unknown command %q (run 'switchboard -h' for the list)\n", strings.Join(args, " "))
	return 2
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Switchboard connects end users, bots and live agents: one server speaking the AIDA chatbot")
	fmt.Fprintln(w, "websocket, the chat.io Configuration and Agent APIs, MeWe personal agents and the Live Agents mediator.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: switchboard COMMAND [flags]   (switchboard COMMAND -h for a command's flags)")
	fmt.Fprintln(w)
	cs := commands()
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].name == "serve" && cs[j].name != "serve" })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-15s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Every command that touches the database takes -db (sqlite:PATH or postgres://…) and honours SWITCHBOARD_DB.")
}

// flags is a command's flag set with its description.
type flags struct {
	*flag.FlagSet
	env         Env
	name, descr string
}

// newFlags returns a flag set whose -h prints the command's description and
// flags to stdout and whose errors come back as one line.
func newFlags(env Env, name, description string) *flags {
	fs := flag.NewFlagSet("switchboard "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // parse prints usage for -h only
	return &flags{FlagSet: fs, env: env, name: name, descr: description}
}

// parse parses args; -h prints usage and returns flag.ErrHelp; other
// problems, and stray arguments, become usage errors.
func parse(fs *flags, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(fs.env.Stdout, "Usage: switchboard %s [flags]\n\n%s\n\nFlags:\n", fs.name, fs.descr)
			fs.SetOutput(fs.env.Stdout)
			fs.PrintDefaults()
			fs.SetOutput(io.Discard)
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// dbFlag adds -db with SWITCHBOARD_DB as its default.
func dbFlag(fs *flags, env Env) *string {
	def := env.Getenv("SWITCHBOARD_DB")
	if def == "" {
		def = "sqlite:switchboard.db"
	}
	return fs.String("db", def, "database URL: sqlite:PATH or postgres://… (env SWITCHBOARD_DB)")
}

// printJSON writes v as one JSON object line on stdout.
func printJSON(env Env, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(env.Stdout, string(b))
	return err
}

// newLogger logs JSON, or text when stderr is a terminal.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Sprintf("unknown log level %q (want debug, info, warn or error)", level)}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "auto":
		if f, ok := w.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				return slog.New(slog.NewTextHandler(w, opts)), nil
			}
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Sprintf("unknown log format %q (want auto, text or json)", format)}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
