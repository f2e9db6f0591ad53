package hours

import (
	"time"
)

// DayType says whether the local day is an ordinary day or a holiday.
type DayType string

// Day types, as the day-status endpoint reports them.
const (
	WorkingDay DayType = "workingday"
	HolidayDay DayType = "holiday"
)

// DayStatus is everything the day-status endpoint reports about one moment.
type DayStatus struct {
	TimeZone                string  `json:"time_zone"`
	StartDate               string  `json:"start_date"`
	EndDate                 string  `json:"end_date"`
	StartTime               string  `json:"start_time"`
	EndTime                 string  `json:"end_time"`
	IsRegistrationAvailable bool    `json:"is_registration_available"`
	DayType                 DayType `json:"day_type"`
	DayName                 string  `json:"day_name"`
	Message                 string  `json:"message"`
}

// searchDays bounds how far ahead NextOpen looks before giving up.
const searchDays = 2 * 366

// Status describes the calendar at the instant now (see the package doc for the rules).
func (c *Calendar) Status(now time.Time) DayStatus {
	today := DateOf(now.In(c.loc))
	st := DayStatus{
		TimeZone:  c.cfg.TimeZone,
		StartDate: today.String(),
		EndDate:   today.String(),
		DayType:   WorkingDay,
		DayName:   today.Weekday().String(),
	}
	if h, ok := c.holidayOn(today); ok {
		st.DayType = HolidayDay
		if h.Name != "" {
			st.DayName = h.Name
		}
		st.StartDate, st.EndDate = h.Start.String(), h.End.String()
		st.StartTime, st.EndTime = Clock(0).String(), Clock(minutesPerDay).String()
		st.Message = firstNonEmpty(h.Message, c.cfg.HolidayMessage, c.cfg.ClosedMessage)
		return st
	}
	if cl, ok := c.closureAt(now); ok {
		st.StartDate, st.StartTime = cl.Start.Date.String(), cl.Start.Clock.String()
		st.EndDate, st.EndTime = cl.End.Date.String(), cl.End.Clock.String()
		st.Message = firstNonEmpty(cl.Message, c.cfg.ClosedMessage)
		return st
	}
	if iv, open, ok := c.relevantInterval(today, now); ok {
		st.StartTime, st.EndTime = iv.Start.String(), iv.End.String()
		st.IsRegistrationAvailable = open
	}
	if st.IsRegistrationAvailable {
		st.Message = c.cfg.WorkingDayMessage
	} else {
		st.Message = c.cfg.ClosedMessage
	}
	return st
}

// IsOpen reports whether registration is available at the instant now.
func (c *Calendar) IsOpen(now time.Time) bool {
	return c.Status(now).IsRegistrationAvailable
}

// NextOpen returns the first instant at or after now when the calendar is open,
// or false when it stays closed for the next two years.
func (c *Calendar) NextOpen(now time.Time) (time.Time, bool) {
	start := DateOf(now.In(c.loc)).AddDays(-1)
	for i := range searchDays {
		day := start.AddDays(i)
		if _, ok := c.holidayOn(day); ok {
			continue
		}
		for _, iv := range c.byDay[day.Weekday()] {
			from, until := c.span(day, iv)
			if !until.After(now) {
				continue
			}
			t := later(from, now)
			t = c.skipClosures(t)
			// The candidate must still be open and on a non-holiday local date.
			if t.Before(until) && c.IsOpen(t) {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// relevantInterval picks the interval of today to report: the one containing now,
// else the next one later today, else today's last one.
func (c *Calendar) relevantInterval(today Date, now time.Time) (iv Interval, open bool, ok bool) {
	// Yesterday's and tomorrow's intervals only matter around odd midnight transitions.
	for _, day := range []Date{today.AddDays(-1), today, today.AddDays(1)} {
		for _, iv := range c.byDay[day.Weekday()] {
			from, until := c.span(day, iv)
			if !now.Before(from) && now.Before(until) {
				return iv, true, true
			}
		}
	}
	intervals := c.byDay[today.Weekday()]
	for _, iv := range intervals {
		if from, _ := c.span(today, iv); from.After(now) {
			return iv, false, true
		}
	}
	if len(intervals) == 0 {
		return Interval{}, false, false
	}
	return intervals[len(intervals)-1], false, true
}

// holidayOn returns the holiday covering the local date d.
func (c *Calendar) holidayOn(d Date) (Holiday, bool) {
	for _, h := range c.cfg.Holidays {
		if h.contains(d) {
			return h, true
		}
	}
	return Holiday{}, false
}

// closureAt returns the one-off closure in force at the instant t.
func (c *Calendar) closureAt(t time.Time) (Closure, bool) {
	for _, cl := range c.cfg.Closures {
		if !t.Before(c.resolve(cl.Start)) && t.Before(c.resolve(cl.End)) {
			return cl, true
		}
	}
	return Closure{}, false
}

// skipClosures moves t past every closure it falls in, following chained closures.
func (c *Calendar) skipClosures(t time.Time) time.Time {
	for range len(c.cfg.Closures) + 1 {
		cl, ok := c.closureAt(t)
		if !ok {
			break
		}
		t = c.resolve(cl.End)
	}
	return t
}

// span returns the instants [from, until) of interval iv on the local date day.
func (c *Calendar) span(day Date, iv Interval) (from, until time.Time) {
	return c.resolve(DateTime{day, iv.Start}), c.resolve(DateTime{day, iv.End})
}

// resolve maps a wall-clock reading to an instant in the calendar's zone: the
// earliest instant whose local reading is at or after it. A reading in a
// spring-forward gap becomes the moment the gap ends; a reading repeated by a
// fall-back becomes its first occurrence.
func (c *Calendar) resolve(dt DateTime) time.Time {
	wall := dt.naive()
	// Zone offsets lie within ±14h, so the answer lies within a day of wall read as UTC.
	t := wall.Add(-26 * time.Hour)
	for range 64 { // a day holds far fewer zone changes; the bound only guards the loop
		local := t.In(c.loc)
		_, offset := local.Zone()
		start, end := local.ZoneBounds()
		u := wall.Add(-time.Duration(offset) * time.Second)
		switch {
		case !start.IsZero() && u.Before(start):
			// Earlier periods did not contain the reading: it falls in a gap before this one.
			return start
		case end.IsZero() || u.Before(end):
			return u
		}
		t = end
	}
	return wall
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
