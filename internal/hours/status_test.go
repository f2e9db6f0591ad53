package hours

import (
	"testing"
	"time"
)

func TestStatusOnOrdinaryDays(t *testing.T) {
	cal := MustNew(t, guatemalaConfig())
	const (
		open   = "An agent will answer shortly."
		closed = "We are closed; we open Monday to Friday 8:00-12:00 and 13:00-17:00."
	)
	tests := []struct {
		name                 string
		local                string
		open                 bool
		startTime, endTime   string
		dayName, wantMessage string
	}{
		{"before opening", "2026-03-09 07:59", false, "08:00", "12:00", "Monday", closed},
		{"opening minute is open", "2026-03-09 08:00", true, "08:00", "12:00", "Monday", open},
		{"last minute of the morning shift", "2026-03-09 11:59", true, "08:00", "12:00", "Monday", open},
		{"lunch break reports the afternoon shift", "2026-03-09 12:00", false, "13:00", "17:00", "Monday", closed},
		{"afternoon shift opens", "2026-03-09 13:00", true, "13:00", "17:00", "Monday", open},
		{"closing minute is closed", "2026-03-09 17:00", false, "13:00", "17:00", "Monday", closed},
		{"late evening reports the last shift", "2026-03-09 23:59", false, "13:00", "17:00", "Monday", closed},
		{"sunday has no hours", "2026-03-08 10:00", false, "", "", "Sunday", closed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := MustLocal(t, "America/Guatemala", tt.local)
			st := cal.Status(now)
			want := DayStatus{
				TimeZone:                "America/Guatemala",
				StartDate:               tt.local[:10],
				EndDate:                 tt.local[:10],
				StartTime:               tt.startTime,
				EndTime:                 tt.endTime,
				IsRegistrationAvailable: tt.open,
				DayType:                 WorkingDay,
				DayName:                 tt.dayName,
				Message:                 tt.wantMessage,
			}
			if st != want {
				t.Errorf("Status(%s)\n got %+v\nwant %+v", tt.local, st, want)
			}
			if got := cal.IsOpen(now); got != tt.open {
				t.Errorf("IsOpen(%s) = %v, want %v", tt.local, got, tt.open)
			}
		})
	}
}

func TestStatusUsesTheCalendarZoneNotTheCallers(t *testing.T) {
	cal := MustNew(t, guatemalaConfig())
	// 14:30 UTC is 08:30 in Guatemala (UTC-6, no DST).
	now := MustUTC(t, "2026-03-09 14:30")
	if !cal.IsOpen(now) || !cal.IsOpen(now.In(time.FixedZone("far east", 12*3600))) {
		t.Fatal("08:30 local time should be open whatever zone now is expressed in")
	}
}

func TestStatusOnHolidays(t *testing.T) {
	cal := MustNew(t, guatemalaConfig())
	tests := []struct {
		name  string
		local string
		want  DayStatus
	}{
		{"first day of a range during opening hours", "2026-04-02 10:00", DayStatus{
			StartDate: "2026-04-02", EndDate: "2026-04-03", DayName: "Semana Santa", Message: "Closed for Holy Week.",
		}},
		{"last day of a range", "2026-04-03 23:59", DayStatus{
			StartDate: "2026-04-02", EndDate: "2026-04-03", DayName: "Semana Santa", Message: "Closed for Holy Week.",
		}},
		{"single day without a message uses the default", "2026-09-15 09:00", DayStatus{
			StartDate: "2026-09-15", EndDate: "2026-09-15", DayName: "Independence Day", Message: "Today is a holiday.",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want.TimeZone = "America/Guatemala"
			tt.want.DayType = HolidayDay
			tt.want.StartTime, tt.want.EndTime = "00:00", "24:00"
			if got := cal.Status(MustLocal(t, "America/Guatemala", tt.local)); got != tt.want {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	t.Run("the day after a range is a working day again", func(t *testing.T) {
		st := cal.Status(MustLocal(t, "America/Guatemala", "2026-04-06 09:00"))
		if st.DayType != WorkingDay || !st.IsRegistrationAvailable {
			t.Errorf("got %+v", st)
		}
	})
}

func TestStatusDuringAClosure(t *testing.T) {
	cal := MustNew(t, guatemalaConfig())
	tests := []struct {
		local   string
		open    bool
		message string
	}{
		{"2026-05-04 13:59", true, "An agent will answer shortly."},
		{"2026-05-04 14:00", false, "Staff training."},
		{"2026-05-04 15:59", false, "Staff training."},
		{"2026-05-04 16:00", true, "An agent will answer shortly."},
	}
	for _, tt := range tests {
		t.Run(tt.local, func(t *testing.T) {
			st := cal.Status(MustLocal(t, "America/Guatemala", tt.local))
			if st.IsRegistrationAvailable != tt.open || st.Message != tt.message || st.DayType != WorkingDay {
				t.Errorf("got %+v, want open=%v message %q", st, tt.open, tt.message)
			}
			if !tt.open && (st.StartTime != "14:00" || st.EndTime != "16:00" || st.StartDate != "2026-05-04") {
				t.Errorf("closure range not reported: %+v", st)
			}
		})
	}
}

func TestNextOpen(t *testing.T) {
	cal := MustNew(t, guatemalaConfig())
	const zone = "America/Guatemala"
	tests := []struct {
		name, from, want string
	}{
		{"open now is now", "2026-03-09 09:15", "2026-03-09 09:15"},
		{"lunch break", "2026-03-09 12:30", "2026-03-09 13:00"},
		{"early morning", "2026-03-10 03:00", "2026-03-10 08:00"},
		{"across a weekend", "2026-03-13 17:30", "2026-03-16 08:00"},
		{"across a holiday range and a weekend", "2026-04-01 17:00", "2026-04-06 08:00"},
		{"from inside a holiday", "2026-04-02 10:00", "2026-04-06 08:00"},
		{"from inside a closure", "2026-05-04 14:30", "2026-05-04 16:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := cal.NextOpen(MustLocal(t, zone, tt.from))
			want := MustLocal(t, zone, tt.want)
			if !ok || !got.Equal(want) {
				t.Errorf("NextOpen(%s) = %v, %v; want %v", tt.from, got.In(want.Location()), ok, want)
			}
		})
	}
}

func TestNextOpenFollowsChainedClosures(t *testing.T) {
	cfg := guatemalaConfig()
	cfg.Closures = []Closure{
		{Start: DateTime{Date{2026, 5, 4}, 0}, End: DateTime{Date{2026, 5, 4}, NewClock(12, 30)}},
		{Start: DateTime{Date{2026, 5, 4}, NewClock(12, 0)}, End: DateTime{Date{2026, 5, 5}, NewClock(9, 0)}},
	}
	cal := MustNew(t, cfg)
	got, ok := cal.NextOpen(MustLocal(t, "America/Guatemala", "2026-05-04 07:00"))
	if want := MustLocal(t, "America/Guatemala", "2026-05-05 09:00"); !ok || !got.Equal(want) {
		t.Errorf("NextOpen = %v, %v; want %v", got, ok, want)
	}
}

func TestNextOpenWithoutHoursReportsFalse(t *testing.T) {
	cfg := guatemalaConfig()
	cfg.Hours = nil
	cal := MustNew(t, cfg)
	if got, ok := cal.NextOpen(MustUTC(t, "2026-03-09 12:00")); ok {
		t.Errorf("NextOpen = %v, true; want false", got)
	}
}
