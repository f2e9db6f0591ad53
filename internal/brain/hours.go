package brain

import (
	"strconv"
	"strings"
	"time"
)

// Schedule is a human_override's weekly opening hours in one time zone.
type Schedule struct {
	Location *time.Location
	Hours    []Interval
}

// Interval is an opening window on one weekday, in minutes since local midnight: [Since, Until).
type Interval struct {
	Day   time.Weekday
	Since int
	Until int // 24*60 means end of day
}

// Contains reports whether t falls in one of the schedule's windows, read on
// the wall clock of the schedule's time zone (so DST shifts are followed).
func (s *Schedule) Contains(t time.Time) bool {
	if s == nil {
		return false
	}
	local := t.In(s.Location)
	minute := local.Hour()*60 + local.Minute()
	for _, iv := range s.Hours {
		if iv.Day == local.Weekday() && minute >= iv.Since && minute < iv.Until {
			return true
		}
	}
	return false
}

func weekday(s string) (time.Weekday, bool) {
	for d, name := range [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"} {
		if s == name {
			return time.Weekday(d), true
		}
	}
	return 0, false
}

func (c *checker) schedule(path string, v any) *Schedule {
	obj := c.object(path, v, []string{"hours", "timezone"}, []string{"hours"})
	if obj == nil {
		return nil
	}
	s := &Schedule{Location: time.UTC}
	if v, ok := obj["timezone"]; ok {
		p := join(path, "timezone")
		name := c.str(p, v, true)
		if name != "" {
			loc, err := time.LoadLocation(name)
			if err != nil {
				c.fail(p, "unknown time zone %q", name)
			} else {
				s.Location = loc
			}
		}
	}
	raw, ok := obj["hours"]
	if !ok {
		return s
	}
	hp := join(path, "hours")
	for i, item := range c.array(hp, raw, 0) {
		p := index(hp, i)
		h := c.object(p, item, []string{"day", "since", "until"}, []string{"day"})
		if h == nil {
			continue
		}
		iv := Interval{Until: 24 * 60}
		if raw, ok := h["day"]; ok {
			d, valid := weekday(c.str(join(p, "day"), raw, true))
			if !valid {
				c.fail(join(p, "day"), "must be one of mon, tue, wed, thu, fri, sat, sun")
			}
			iv.Day = d
		}
		okSince, okUntil := true, true
		if raw, ok := h["since"]; ok {
			iv.Since, okSince = c.clock(join(p, "since"), raw, false)
		}
		if raw, ok := h["until"]; ok {
			iv.Until, okUntil = c.clock(join(p, "until"), raw, true)
		}
		if okSince && okUntil && iv.Until <= iv.Since {
			c.fail(join(p, "until"), "must be after since (split windows that cross midnight over two days)")
		}
		s.Hours = append(s.Hours, iv)
	}
	return s
}

// clock parses "H:MM" or "HH:MM" into minutes since midnight; "24:00" only when endOfDay.
func (c *checker) clock(path string, v any, endOfDay bool) (int, bool) {
	s := c.str(path, v, true)
	hh, mm, found := strings.Cut(s, ":")
	h, errH := strconv.Atoi(hh)
	m, errM := strconv.Atoi(mm)
	valid := found && len(hh) >= 1 && len(hh) <= 2 && len(mm) == 2 && errH == nil && errM == nil &&
		h >= 0 && m >= 0 && m < 60 && (h < 24 || (endOfDay && h == 24 && m == 0))
	if !valid {
		c.fail(path, "must be a time of day like 9:30 or 18:00")
		return 0, false
	}
	return h*60 + m, true
}
