package hours

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrInvalid is matched (errors.Is) by every validation and import error of this package.
var ErrInvalid = errors.New("invalid business hours")

// FieldError is a validation error about one field of a Config.
type FieldError struct {
	Field string // path of the field, e.g. "hours[2]" or "time_zone"
	Msg   string
}

// Error returns "hours: <field>: <msg>".
func (e *FieldError) Error() string { return "hours: " + e.Field + ": " + e.Msg }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// Config is the plain, JSON-serialisable form of a calendar (admin API and storage).
type Config struct {
	Project           string     `json:"project"`
	Country           string     `json:"country"`
	TimeZone          string     `json:"time_zone"`
	Hours             []Interval `json:"hours"`
	Holidays          []Holiday  `json:"holidays"`
	Closures          []Closure  `json:"closures"`
	WorkingDayMessage string     `json:"working_day_message"`
	ClosedMessage     string     `json:"closed_message"`
	HolidayMessage    string     `json:"holiday_message"`
}

// Interval is an opening interval [Start, End) on a weekday, in local wall-clock time.
type Interval struct {
	Day   Weekday `json:"day"`
	Start Clock   `json:"start"`
	End   Clock   `json:"end"`
}

// String formats the interval as "Monday 08:00-12:00".
func (iv Interval) String() string { return fmt.Sprintf("%s %s-%s", iv.Day, iv.Start, iv.End) }

// Holiday closes whole days from Start to End inclusive; a zero End means Start only.
type Holiday struct {
	Name    string `json:"name"`
	Start   Date   `json:"start"`
	End     Date   `json:"end"`
	Message string `json:"message"`
}

// contains reports whether d falls within the holiday.
func (h Holiday) contains(d Date) bool { return !d.Before(h.Start) && !h.End.Before(d) }

// Closure is a one-off closure over the local wall-clock range [Start, End).
// In JSON a bare date is accepted: as start it means 00:00, as end 24:00 of that day.
type Closure struct {
	Start   DateTime `json:"start"`
	End     DateTime `json:"end"`
	Message string   `json:"message"`
}

// UnmarshalJSON decodes a closure, reading a bare end date as the end of that day.
func (c *Closure) UnmarshalJSON(b []byte) error {
	var raw struct {
		Start   string `json:"start"`
		End     string `json:"end"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	start, err := ParseDateTime(raw.Start, false)
	if err != nil {
		return fmt.Errorf("closure start: %w", err)
	}
	end, err := ParseDateTime(raw.End, true)
	if err != nil {
		return fmt.Errorf("closure end: %w", err)
	}
	*c = Closure{Start: start, End: end, Message: raw.Message}
	return nil
}

// Calendar is a validated, immutable business-hours calendar for one project and country.
// It is safe for concurrent use; build one with New or by unmarshalling JSON.
type Calendar struct {
	cfg   Config
	loc   *time.Location
	byDay [7][]Interval // sorted by start
}

// New validates cfg and returns its calendar; all problems are reported together.
func New(cfg Config) (*Calendar, error) {
	cfg = normalize(cfg)
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if cfg.Project == "" {
		fail("project", "is required")
	}
	if !validCountry(cfg.Country) {
		fail("country", "%q is not a 2- or 3-letter country code", cfg.Country)
	}
	var loc *time.Location
	switch cfg.TimeZone {
	case "":
		fail("time_zone", "is required")
	case "Local":
		fail("time_zone", `"Local" depends on the machine; name an IANA zone`)
	default:
		var err error
		if loc, err = time.LoadLocation(cfg.TimeZone); err != nil {
			fail("time_zone", "unknown time zone %q", cfg.TimeZone)
		}
	}

	c := &Calendar{cfg: cfg, loc: loc}
	for i, iv := range cfg.Hours {
		field := fmt.Sprintf("hours[%d]", i)
		switch {
		case iv.Day < Weekday(time.Sunday) || iv.Day > Weekday(time.Saturday):
			fail(field, "day %d out of range", int(iv.Day))
			continue
		case iv.Start < 0 || iv.End < 0 || iv.Start > minutesPerDay || iv.End > minutesPerDay:
			fail(field, "%s: times must lie between 00:00 and 24:00", iv)
			continue
		case iv.End <= iv.Start:
			fail(field, "%s: end is not after start (split an interval that crosses midnight in two)", iv)
			continue
		}
		c.byDay[iv.Day] = append(c.byDay[iv.Day], iv)
	}
	for _, day := range c.byDay {
		for i := 1; i < len(day); i++ {
			if day[i].Start < day[i-1].End {
				fail("hours", "%s overlaps %s", day[i], day[i-1])
			}
		}
	}
	for i, h := range cfg.Holidays {
		field := fmt.Sprintf("holidays[%d]", i)
		switch {
		case h.Start.IsZero():
			fail(field, "%q: start date is required", h.Name)
		case h.End.Before(h.Start):
			fail(field, "%q: end date %s is before start date %s", h.Name, h.End, h.Start)
		}
	}
	for i := 1; i < len(cfg.Holidays); i++ {
		a, b := cfg.Holidays[i-1], cfg.Holidays[i]
		if !a.End.Before(b.Start) && !a.Start.IsZero() {
			fail("holidays", "%q (%s) overlaps %q (%s)", b.Name, b.Start, a.Name, a.Start)
		}
	}
	for i, cl := range cfg.Closures {
		if cl.Start.Date.IsZero() || cl.End.Date.IsZero() {
			fail(fmt.Sprintf("closures[%d]", i), "start and end are required")
		} else if cl.End.Compare(cl.Start) <= 0 {
			fail(fmt.Sprintf("closures[%d]", i), "end %s is not after start %s", cl.End, cl.Start)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// normalize trims names, lowercases the country, fills single-day holidays and sorts
// every list, so that equal calendars have equal Configs.
func normalize(cfg Config) Config {
	cfg.Project = strings.TrimSpace(cfg.Project)
	cfg.Country = strings.ToLower(strings.TrimSpace(cfg.Country))
	cfg.TimeZone = strings.TrimSpace(cfg.TimeZone)
	cfg.Hours = append([]Interval{}, cfg.Hours...)
	slices.SortStableFunc(cfg.Hours, func(a, b Interval) int {
		// Week order starts on Monday, as people read a timetable.
		return cmp.Or(cmp.Compare((a.Day+6)%7, (b.Day+6)%7), cmp.Compare(a.Start, b.Start), cmp.Compare(a.End, b.End))
	})
	cfg.Holidays = append([]Holiday{}, cfg.Holidays...)
	for i := range cfg.Holidays {
		if cfg.Holidays[i].End.IsZero() {
			cfg.Holidays[i].End = cfg.Holidays[i].Start
		}
	}
	slices.SortStableFunc(cfg.Holidays, func(a, b Holiday) int { return a.Start.Compare(b.Start) })
	cfg.Closures = append([]Closure{}, cfg.Closures...)
	slices.SortStableFunc(cfg.Closures, func(a, b Closure) int { return a.Start.Compare(b.Start) })
	return cfg
}

func validCountry(cc string) bool {
	if len(cc) < 2 || len(cc) > 3 {
		return false
	}
	for _, r := range cc {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return true
}

// Config returns a copy of the calendar's normalised configuration.
func (c *Calendar) Config() Config {
	cfg := c.cfg
	cfg.Hours = slices.Clone(cfg.Hours)
	cfg.Holidays = slices.Clone(cfg.Holidays)
	cfg.Closures = slices.Clone(cfg.Closures)
	return cfg
}

// Project returns the project the calendar belongs to.
func (c *Calendar) Project() string { return c.cfg.Project }

// Country returns the lowercase country code of the calendar.
func (c *Calendar) Country() string { return c.cfg.Country }

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// MarshalJSON encodes the calendar as its Config.
func (c *Calendar) MarshalJSON() ([]byte, error) { return json.Marshal(c.cfg) }

// UnmarshalJSON decodes a Config and validates it as New does.
func (c *Calendar) UnmarshalJSON(b []byte) error {
	var cfg Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("hours: decode calendar: %w", err)
	}
	cal, err := New(cfg)
	if err != nil {
		return err
	}
	*c = *cal
	return nil
}
