package hours

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

const (
	fileNamePrefix = "working-hours-"
	fileNameSuffix = ".toml"
)

// CountryFromFileName extracts the lowercase country code from "working-hours-<cc>.toml".
func CountryFromFileName(name string) (string, error) {
	base := filepath.Base(name)
	cc, ok := strings.CutPrefix(strings.ToLower(base), fileNamePrefix)
	if ok {
		cc, ok = strings.CutSuffix(cc, fileNameSuffix)
	}
	if !ok || !validCountry(cc) {
		return "", fmt.Errorf("hours: file name %q: want %s<cc>%s with a 2- or 3-letter country code: %w",
			base, fileNamePrefix, fileNameSuffix, ErrInvalid)
	}
	return cc, nil
}

// ParseDayStatusTOML imports a Day Status file (working-hours-<cc>.toml) as the
// calendar of project and country. An empty country is taken from the file when
// it holds exactly one country table.
func ParseDayStatusTOML(r io.Reader, project, country string) (*Calendar, error) {
	root, err := parseTOML(r)
	if err != nil {
		return nil, err
	}
	country = strings.ToLower(strings.TrimSpace(country))
	key, err := countryKey(root, country)
	if err != nil {
		return nil, err
	}
	tbl, ok := root.values[key].(*tomlTable)
	if !ok {
		return nil, &ParseError{Line: root.lines[key], Msg: fmt.Sprintf("%q must be a table like [%s]", key, key)}
	}
	cfg := Config{Project: project, Country: strings.ToLower(key)}
	if err := readCountry(tbl, key, &cfg); err != nil {
		return nil, err
	}
	return New(cfg)
}

// countryKey finds the top-level key of the country table and rejects anything else at the top.
func countryKey(root *tomlTable, country string) (string, error) {
	if country == "" {
		if len(root.order) != 1 {
			return "", &ParseError{Line: 1, Msg: fmt.Sprintf("want exactly one country table, found %d top-level keys", len(root.order))}
		}
		return root.order[0], nil
	}
	found := ""
	for _, k := range root.order {
		if strings.EqualFold(k, country) {
			found = k
			continue
		}
		return "", &ParseError{Line: root.lines[k], Msg: fmt.Sprintf("unexpected top-level key %q; the file is for country %q", k, country)}
	}
	if found == "" {
		return "", &ParseError{Line: 1, Msg: fmt.Sprintf("no [%s] table for country %q", country, country)}
	}
	return found, nil
}

// readCountry maps the [cc] table onto cfg.
func readCountry(t *tomlTable, name string, cfg *Config) error {
	if err := onlyKeys(t, name, "time_zone", "workingDayMessage", "outOfHoursMessage", "holidayMessage", "days"); err != nil {
		return err
	}
	if _, ok := t.values["time_zone"]; !ok {
		return &ParseError{Line: t.line, Msg: fmt.Sprintf("[%s]: time_zone is required", name)}
	}
	for _, f := range []stringField{
		{"time_zone", &cfg.TimeZone},
		{"workingDayMessage", &cfg.WorkingDayMessage},
		{"outOfHoursMessage", &cfg.ClosedMessage},
		{"holidayMessage", &cfg.HolidayMessage},
	} {
		if _, err := optString(t, f.key, f.dst); err != nil {
			return err
		}
	}
	v, ok := t.values["days"]
	if !ok {
		return nil
	}
	days, ok := v.(*tomlTable)
	if !ok {
		return &ParseError{Line: t.lines["days"], Msg: fmt.Sprintf("%s.days must be a table", name)}
	}
	name += ".days"
	if err := onlyKeys(days, name, "workingDays", "holidays"); err != nil {
		return err
	}
	working, err := tableArray(days, name, "workingDays")
	if err != nil {
		return err
	}
	for _, w := range working {
		iv, err := readWorkingDay(w, name+".workingDays")
		if err != nil {
			return err
		}
		cfg.Hours = append(cfg.Hours, iv)
	}
	holidays, err := tableArray(days, name, "holidays")
	if err != nil {
		return err
	}
	for _, h := range holidays {
		hol, skip, err := readHoliday(h, name+".holidays")
		if err != nil {
			return err
		}
		if !skip {
			cfg.Holidays = append(cfg.Holidays, hol)
		}
	}
	return nil
}

// readWorkingDay maps one [[cc.days.workingDays]] entry.
func readWorkingDay(t *tomlTable, name string) (Interval, error) {
	if err := onlyKeys(t, name, "day", "start_time", "end_time"); err != nil {
		return Interval{}, err
	}
	var day, start, end string
	for _, f := range []stringField{{"day", &day}, {"start_time", &start}, {"end_time", &end}} {
		found, err := optString(t, f.key, f.dst)
		if err != nil {
			return Interval{}, err
		}
		if !found || *f.dst == "" {
			return Interval{}, &ParseError{Line: t.line, Msg: fmt.Sprintf("[[%s]]: %s is required", name, f.key)}
		}
	}
	var iv Interval
	var err error
	if iv.Day, err = ParseWeekday(day); err != nil {
		return Interval{}, &ParseError{Line: t.lines["day"], Msg: err.Error()}
	}
	if iv.Start, err = ParseClock(start); err != nil {
		return Interval{}, &ParseError{Line: t.lines["start_time"], Msg: "start_time: " + err.Error()}
	}
	if iv.End, err = ParseClock(end); err != nil {
		return Interval{}, &ParseError{Line: t.lines["end_time"], Msg: "end_time: " + err.Error()}
	}
	if iv.End <= iv.Start {
		return Interval{}, &ParseError{Line: t.lines["end_time"], Msg: fmt.Sprintf("%s: end_time is not after start_time", iv)}
	}
	return iv, nil
}

// readHoliday maps one [[cc.days.holidays]] entry. "day" is the holiday's name,
// or its date when it looks like one and start_date is empty. An entry whose
// fields are all empty (the documented template) is skipped.
func readHoliday(t *tomlTable, name string) (h Holiday, skip bool, err error) {
	if err := onlyKeys(t, name, "day", "start_date", "end_date", "message"); err != nil {
		return Holiday{}, false, err
	}
	if _, err := optString(t, "day", &h.Name); err != nil {
		return Holiday{}, false, err
	}
	if _, err := optString(t, "message", &h.Message); err != nil {
		return Holiday{}, false, err
	}
	if h.Start, err = optDate(t, "start_date"); err != nil {
		return Holiday{}, false, err
	}
	if h.End, err = optDate(t, "end_date"); err != nil {
		return Holiday{}, false, err
	}
	if h.Start.IsZero() && h.Name != "" {
		if d, err := ParseDate(h.Name); err == nil {
			h.Start, h.Name = d, ""
		}
	}
	switch {
	case h == Holiday{}:
		return Holiday{}, true, nil
	case h.Start.IsZero():
		return Holiday{}, false, &ParseError{Line: t.line, Msg: fmt.Sprintf("[[%s]] %q: start_date is required", name, h.Name)}
	case !h.End.IsZero() && h.End.Before(h.Start):
		return Holiday{}, false, &ParseError{Line: t.lines["end_date"], Msg: fmt.Sprintf("end_date %s is before start_date %s", h.End, h.Start)}
	}
	return h, false, nil
}

// stringField names a string key and where to store it.
type stringField struct {
	key string
	dst *string
}

// onlyKeys rejects keys of t outside allowed, so that typos do not pass silently.
func onlyKeys(t *tomlTable, name string, allowed ...string) error {
	for _, k := range t.order {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return &ParseError{Line: t.lines[k], Msg: fmt.Sprintf("unknown key %q in %s (known: %s)", k, name, strings.Join(allowed, ", "))}
		}
	}
	return nil
}

// optString stores t[key] into dst when present; it must be a string.
func optString(t *tomlTable, key string, dst *string) (bool, error) {
	v, ok := t.values[key]
	if !ok {
		return false, nil
	}
	s, isString := v.(string)
	if !isString {
		return true, &ParseError{Line: t.lines[key], Msg: fmt.Sprintf("%s must be a string", key)}
	}
	*dst = s
	return true, nil
}

// optDate reads t[key] as a date string or TOML local date; empty means none.
func optDate(t *tomlTable, key string) (Date, error) {
	switch v := t.values[key].(type) {
	case nil:
		return Date{}, nil
	case Date:
		return v, nil
	case string:
		if strings.TrimSpace(v) == "" {
			return Date{}, nil
		}
		d, err := ParseDate(v)
		if err != nil {
			return Date{}, &ParseError{Line: t.lines[key], Msg: key + ": " + err.Error()}
		}
		return d, nil
	default:
		return Date{}, &ParseError{Line: t.lines[key], Msg: key + " must be a date YYYY-MM-DD"}
	}
}

// tableArray returns t[key] as an array of tables; a missing key is an empty list.
func tableArray(t *tomlTable, name, key string) ([]*tomlTable, error) {
	v, ok := t.values[key]
	if !ok {
		return nil, nil
	}
	tables, ok := v.([]*tomlTable)
	if !ok {
		return nil, &ParseError{Line: t.lines[key], Msg: fmt.Sprintf("%s.%s must be an array of tables [[%s.%s]]", name, key, name, key)}
	}
	return tables, nil
}
