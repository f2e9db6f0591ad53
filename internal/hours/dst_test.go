package hours

import (
	"testing"
	"time"
)

// sundayCalendar is open on Sundays only, from start to end, in zone.
func sundayCalendar(tb testing.TB, zone string, start, end Clock) *Calendar {
	tb.Helper()
	return MustNew(tb, Config{
		Project:  "fp",
		Country:  "us",
		TimeZone: zone,
		Hours:    []Interval{{Day: Weekday(time.Sunday), Start: start, End: end}},
	})
}

func TestIntervalsAcrossDaylightSavingTransitions(t *testing.T) {
	tests := []struct {
		name         string
		zone         string
		start, end   Clock
		day          string // local date, a Sunday
		opens, close string // expected instants, UTC
		length       time.Duration
	}{
		{"new york spring forward shortens a span over the gap", "America/New_York", NewClock(1, 0), NewClock(4, 0),
			"2026-03-08", "2026-03-08 06:00", "2026-03-08 08:00", 2 * time.Hour},
		{"new york fall back lengthens a span over the repeated hour", "America/New_York", NewClock(1, 0), NewClock(4, 0),
			"2026-11-01", "2026-11-01 05:00", "2026-11-01 09:00", 4 * time.Hour},
		{"new york opening inside the gap opens when the gap ends", "America/New_York", NewClock(2, 30), NewClock(5, 0),
			"2026-03-08", "2026-03-08 07:00", "2026-03-08 09:00", 2 * time.Hour},
		{"new york opening in the repeated hour opens at its first occurrence", "America/New_York", NewClock(1, 30), NewClock(5, 0),
			"2026-11-01", "2026-11-01 05:30", "2026-11-01 10:00", 4*time.Hour + 30*time.Minute},
		{"new york closing in the repeated hour closes at its first occurrence", "America/New_York", NewClock(0, 0), NewClock(1, 30),
			"2026-11-01", "2026-11-01 04:00", "2026-11-01 05:30", 90 * time.Minute},
		{"berlin spring forward", "Europe/Berlin", NewClock(1, 0), NewClock(4, 0),
			"2026-03-29", "2026-03-29 00:00", "2026-03-29 02:00", 2 * time.Hour},
		{"berlin fall back", "Europe/Berlin", NewClock(1, 0), NewClock(4, 0),
			"2026-10-25", "2026-10-24 23:00", "2026-10-25 03:00", 4 * time.Hour},
		{"berlin closing at midnight on the fall-back day", "Europe/Berlin", NewClock(20, 0), NewClock(24, 0),
			"2026-10-25", "2026-10-25 19:00", "2026-10-25 23:00", 4 * time.Hour},
		{"guatemala has no transition", "America/Guatemala", NewClock(1, 0), NewClock(4, 0),
			"2026-03-08", "2026-03-08 07:00", "2026-03-08 10:00", 3 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cal := sundayCalendar(t, tt.zone, tt.start, tt.end)
			opens, closes := MustUTC(t, tt.opens), MustUTC(t, tt.close)
			if got := closes.Sub(opens); got != tt.length {
				t.Fatalf("fixture: span is %v, want %v", got, tt.length)
			}
			checks := []struct {
				at   time.Time
				open bool
			}{
				{opens.Add(-time.Minute), false},
				{opens, true},
				{opens.Add(tt.length / 2), true},
				{closes.Add(-time.Minute), true},
				{closes, false},
			}
			for _, c := range checks {
				if got := cal.IsOpen(c.at); got != c.open {
					t.Errorf("IsOpen(%s, local %s) = %v, want %v", c.at.UTC().Format(time.DateTime), c.at.In(cal.Location()).Format(time.DateTime+" MST"), got, c.open)
				}
			}
			// Every minute between opening and closing is open: the span is contiguous.
			for at := opens; at.Before(closes); at = at.Add(time.Minute) {
				if !cal.IsOpen(at) {
					t.Fatalf("closed at %s inside the span", at.In(cal.Location()).Format(time.DateTime+" MST"))
				}
			}
			localMidnight := MustLocal(t, tt.zone, tt.day+" 00:00")
			if got, ok := cal.NextOpen(localMidnight.Add(-time.Hour)); !ok || !got.Equal(opens) {
				t.Errorf("NextOpen = %v, %v; want %v", got.UTC(), ok, opens)
			}
		})
	}
}

func TestIntervalInsideTheSpringForwardGapNeverOpens(t *testing.T) {
	cal := sundayCalendar(t, "America/New_York", NewClock(2, 15), NewClock(2, 45))
	for at := MustUTC(t, "2026-03-08 05:00"); at.Before(MustUTC(t, "2026-03-08 12:00")); at = at.Add(time.Minute) {
		if cal.IsOpen(at) {
			t.Fatalf("open at %s", at.In(cal.Location()))
		}
	}
	// The next Sunday the interval exists again.
	got, ok := cal.NextOpen(MustUTC(t, "2026-03-08 05:00"))
	if want := MustLocal(t, "America/New_York", "2026-03-15 02:15"); !ok || !got.Equal(want) {
		t.Errorf("NextOpen = %v, %v; want %v", got, ok, want)
	}
}

func TestStatusDuringTheRepeatedHour(t *testing.T) {
	cal := sundayCalendar(t, "America/New_York", NewClock(1, 0), NewClock(4, 0))
	// 06:30 UTC is 01:30 EST, the second time the clock reads 01:30.
	st := cal.Status(MustUTC(t, "2026-11-01 06:30"))
	want := DayStatus{
		TimeZone: "America/New_York", StartDate: "2026-11-01", EndDate: "2026-11-01",
		StartTime: "01:00", EndTime: "04:00", IsRegistrationAvailable: true,
		DayType: WorkingDay, DayName: "Sunday",
	}
	if st != want {
		t.Errorf("\n got %+v\nwant %+v", st, want)
	}
}
