package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"switchboard/internal/hours"
)

// runHoursImport imports Day Status TOML files (working-hours-<cc>.toml) as
// the calendars of one project, replacing calendars of the same country.
func runHoursImport(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "hours import", "Import Day Status files (working-hours-<cc>.toml) as business-hours calendars of a project:\n"+
		"  switchboard hours import -project P FILE…\n"+
		"The country comes from each file's name. Every file is checked before any is stored.\n"+
		"Prints {\"project\":…,\"calendars\":[{\"country\",\"time_zone\",\"file\"}…]}.")
	project := fs.String("project", "", "the project the calendars belong to (required)")
	db := dbFlag(fs, env)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(env.Stdout, "Usage: switchboard %s -project P FILE…\n\n%s\n\nFlags:\n", fs.name, fs.descr)
			fs.SetOutput(env.Stdout)
			fs.PrintDefaults()
			return err
		}
		return usageError{err.Error()}
	}
	if strings.TrimSpace(*project) == "" {
		return usageError{"-project is required"}
	}
	files := fs.Args()
	if len(files) == 0 {
		return usageError{"name at least one working-hours-<cc>.toml file"}
	}
	cals := make([]*hours.Calendar, 0, len(files))
	seen := map[string]string{}
	for _, name := range files {
		cc, err := hours.CountryFromFileName(name)
		if err != nil {
			return err
		}
		if prev, dup := seen[cc]; dup {
			return fmt.Errorf("%s and %s are both country %q", prev, name, cc)
		}
		seen[cc] = name
		cal, err := importFile(name, *project, cc)
		if err != nil {
			return err
		}
		cals = append(cals, cal)
	}
	h, done, err := openHub(ctx, *db)
	if err != nil {
		return err
	}
	defer done()
	out := make([]map[string]string, 0, len(cals))
	for i, cal := range cals {
		if err := h.PutCalendar(ctx, cal); err != nil {
			return fmt.Errorf("store %s: %w", files[i], err)
		}
		out = append(out, map[string]string{"country": cal.Country(), "time_zone": cal.Config().TimeZone, "file": files[i]})
	}
	return printJSON(env, map[string]any{"project": strings.TrimSpace(*project), "calendars": out})
}

func importFile(name, project, country string) (*hours.Calendar, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cal, err := hours.ParseDayStatusTOML(f, project, country)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return cal, nil
}
