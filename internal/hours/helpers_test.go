package hours

import (
	"testing"
	"time"
	_ "time/tzdata"
)

// MustNew builds a calendar or fails the test.
func MustNew(tb testing.TB, cfg Config) *Calendar {
	tb.Helper()
	c, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return c
}

// MustLocal parses "2006-01-02 15:04" in zone.
func MustLocal(tb testing.TB, zone, s string) time.Time {
	tb.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		tb.Fatal(err)
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// MustUTC parses "2006-01-02 15:04" in UTC.
func MustUTC(tb testing.TB, s string) time.Time {
	tb.Helper()
	return MustLocal(tb, "UTC", s)
}

// weekdays returns intervals from start to end on Monday to Friday.
func weekdays(start, end Clock) []Interval {
	var out []Interval
	for d := time.Monday; d <= time.Friday; d++ {
		out = append(out, Interval{Day: Weekday(d), Start: start, End: end})
	}
	return out
}

// guatemalaConfig is an office with a lunch break, closed at weekends.
func guatemalaConfig() Config {
	hours := append(weekdays(NewClock(8, 0), NewClock(12, 0)), weekdays(NewClock(13, 0), NewClock(17, 0))...)
	return Config{
		Project:           "hiv",
		Country:           "GT",
		TimeZone:          "America/Guatemala",
		Hours:             hours,
		WorkingDayMessage: "An agent will answer shortly.",
		ClosedMessage:     "We are closed; we open Monday to Friday 8:00-12:00 and 13:00-17:00.",
		HolidayMessage:    "Today is a holiday.",
		Holidays: []Holiday{
			{Name: "Semana Santa", Start: Date{2026, 4, 2}, End: Date{2026, 4, 3}, Message: "Closed for Holy Week."},
			{Name: "Independence Day", Start: Date{2026, 9, 15}},
		},
		Closures: []Closure{
			{Start: DateTime{Date{2026, 5, 4}, NewClock(14, 0)}, End: DateTime{Date{2026, 5, 4}, NewClock(16, 0)}, Message: "Staff training."},
		},
	}
}
