package hours

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// minutesPerDay is the largest Clock value; it is only valid as an end.
const minutesPerDay = 24 * 60

// Clock is a wall-clock time of day in minutes after midnight, 00:00 to 24:00.
type Clock int

// NewClock returns the Clock for hour:minute; it does not validate.
func NewClock(hour, minute int) Clock { return Clock(hour*60 + minute) }

// ParseClock parses "H:MM" or "HH:MM" (24-hour); "24:00" is accepted.
func ParseClock(s string) (Clock, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 || !allDigits(h) || !allDigits(m) {
		return 0, fmt.Errorf("time %q: want H:MM or HH:MM", s)
	}
	hour, _ := strconv.Atoi(h)
	minute, _ := strconv.Atoi(m)
	switch {
	case minute > 59:
		return 0, fmt.Errorf("time %q: minute out of range", s)
	case hour > 24 || (hour == 24 && minute != 0):
		return 0, fmt.Errorf("time %q: hour out of range (latest is 24:00)", s)
	}
	return NewClock(hour, minute), nil
}

// String formats the clock as "HH:MM".
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// MarshalText encodes the clock as "HH:MM".
func (c Clock) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText decodes "H:MM" or "HH:MM".
func (c *Clock) UnmarshalText(b []byte) error {
	v, err := ParseClock(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Date is a civil calendar date without a time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses "YYYY-MM-DD" and rejects impossible dates such as 2026-02-30.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return Date{}, fmt.Errorf("date %q: want a real date as YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// DateOf returns the date t shows in its own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// String formats the date as "YYYY-MM-DD"; the zero Date is "".
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// AddDays returns the date n days after d.
func (d Date) AddDays(n int) Date { return DateOf(d.midnight().AddDate(0, 0, n)) }

// Before reports whether d is earlier than e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int { return d.midnight().Compare(e.midnight()) }

// Weekday returns the day of the week of d.
func (d Date) Weekday() Weekday { return Weekday(d.midnight().Weekday()) }

// midnight is d at 00:00 UTC, used as a naive wall-clock reading.
func (d Date) midnight() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// MarshalText encodes the date as "YYYY-MM-DD" (empty for the zero Date).
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText decodes "YYYY-MM-DD"; an empty string is the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// DateTime is a wall-clock moment: a civil date and a time of day, without a zone.
type DateTime struct {
	Date  Date
	Clock Clock
}

// ParseDateTime parses "YYYY-MM-DDTHH:MM" (a space may replace the T) or a bare
// "YYYY-MM-DD", which means 00:00 of that day, or 24:00 when endOfDay is set.
func ParseDateTime(s string, endOfDay bool) (DateTime, error) {
	s = strings.TrimSpace(s)
	ds, cs, hasClock := strings.Cut(strings.Replace(s, " ", "T", 1), "T")
	d, err := ParseDate(ds)
	if err != nil {
		return DateTime{}, err
	}
	if !hasClock {
		if endOfDay {
			return DateTime{d, minutesPerDay}, nil
		}
		return DateTime{d, 0}, nil
	}
	c, err := ParseClock(cs)
	if err != nil {
		return DateTime{}, err
	}
	return DateTime{d, c}, nil
}

// String formats the moment as "YYYY-MM-DDTHH:MM".
func (dt DateTime) String() string { return dt.Date.String() + "T" + dt.Clock.String() }

// Compare returns -1, 0 or +1 as dt is before, equal to or after other.
func (dt DateTime) Compare(other DateTime) int { return dt.naive().Compare(other.naive()) }

// naive is the wall-clock reading as a UTC time; 24:00 becomes the next day's 00:00.
func (dt DateTime) naive() time.Time {
	return dt.Date.midnight().Add(time.Duration(dt.Clock) * time.Minute)
}

// MarshalText encodes the moment as "YYYY-MM-DDTHH:MM".
func (dt DateTime) MarshalText() ([]byte, error) { return []byte(dt.String()), nil }

// UnmarshalText decodes "YYYY-MM-DDTHH:MM" or a bare date (00:00).
func (dt *DateTime) UnmarshalText(b []byte) error {
	v, err := ParseDateTime(string(b), false)
	if err != nil {
		return err
	}
	*dt = v
	return nil
}

// Weekday is a day of the week; it encodes as a lowercase English name ("monday").
type Weekday time.Weekday

// ParseWeekday parses an English day name or its three-letter abbreviation, in any case.
func ParseWeekday(s string) (Weekday, error) {
	want := strings.ToLower(strings.TrimSpace(s))
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if want == name || (len(want) == 3 && want == name[:3]) {
			return Weekday(d), nil
		}
	}
	return 0, fmt.Errorf("day %q: want an English day name such as monday", s)
}

// String returns the capitalised English name, e.g. "Monday".
func (w Weekday) String() string { return time.Weekday(w).String() }

// MarshalText encodes the day as its lowercase English name.
func (w Weekday) MarshalText() ([]byte, error) {
	if w < Weekday(time.Sunday) || w > Weekday(time.Saturday) {
		return nil, fmt.Errorf("weekday %d out of range", int(w))
	}
	return []byte(strings.ToLower(w.String())), nil
}

// UnmarshalText decodes an English day name.
func (w *Weekday) UnmarshalText(b []byte) error {
	v, err := ParseWeekday(string(b))
	if err != nil {
		return err
	}
	*w = v
	return nil
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
