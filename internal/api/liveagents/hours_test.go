package liveagents_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"switchboard/internal/core"
	"switchboard/internal/hours"
	"switchboard/internal/store/storetest"
)

// TestRegisterRefusedOutsideHoursAndOnHolidays: closed → 403 with the day's
// message, and no contact, chat or desk call.
func TestRegisterRefusedOutsideHoursAndOnHolidays(t *testing.T) {
	f := newFixture(t, storetest.Engines()[0], "builtin")
	for _, tc := range []struct {
		name, at, msg string
	}{
		{"saturday afternoon", "2026-03-14T19:00:00Z", "Nuestro horario es de lunes a viernes de 8:00 a 17:00."}, // 13:00 local
		{"before opening", "2026-03-10T13:59:00Z", "Nuestro horario es de lunes a viernes de 8:00 a 17:00."},     // 07:59 local
		{"sunday", "2026-03-15T16:00:00Z", "Nuestro horario es de lunes a viernes de 8:00 a 17:00."},
		{"holiday", "2026-09-15T16:00:00Z", "Hoy es feriado nacional."}, // a Tuesday, 10:00 local
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.clock.set(mustTime(t, tc.at))
			code, env, _ := f.call("POST", "/live-agents/registerClient", register(contactUUID, "Maria"))
			if code != http.StatusForbidden || env.StatusCode != 403 || env.Status != "error" || env.Msg != tc.msg {
				t.Fatalf("HTTP %d %+v; want 403 %q", code, env, tc.msg)
			}
			if _, err := f.a.Hub.LiveContact(context.Background(), contactUUID); !core.IsCode(err, core.ENotFound) {
				t.Fatalf("a refused registration stored the contact: %v", err)
			}
		})
	}
	f.clock.set(mustTime(t, "2026-03-10T22:59:00Z")) // 16:59 local: open
	f.ok("POST", "/live-agents/registerClient", register(contactUUID, "Maria"))
}

type dayStatusBody struct {
	StatusCode int    `json:"status_code"`
	Status     string `json:"status"`
	hours.DayStatus
}

// TestDayStatusAcrossDST reads the day status of a New York calendar around
// both 2026 transitions: 9:00-17:00 local stays 9:00-17:00 local whatever
// the UTC offset, and the Sunday interval spanning the spring-forward gap
// is an hour shorter.
func TestDayStatusAcrossDST(t *testing.T) {
	f := newFixture(t, storetest.Engines()[0], "builtin")
	cfg := hours.Config{Project: "hiv", Country: "us", TimeZone: "America/New_York",
		WorkingDayMessage: "open", ClosedMessage: "closed"}
	for d := time.Monday; d <= time.Friday; d++ {
		cfg.Hours = append(cfg.Hours, hours.Interval{Day: hours.Weekday(d), Start: hours.NewClock(9, 0), End: hours.NewClock(17, 0)})
	}
	cfg.Hours = append(cfg.Hours, hours.Interval{Day: hours.Weekday(time.Sunday), Start: hours.NewClock(1, 0), End: hours.NewClock(4, 0)})
	cal, err := hours.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.a.Hub.PutCalendar(context.Background(), cal); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at        string
		open      bool
		day, date string
	}{
		{"2026-03-06T13:30:00Z", false, "Friday", "2026-03-06"}, // 08:30 EST
		{"2026-03-06T14:30:00Z", true, "Friday", "2026-03-06"},  // 09:30 EST
		{"2026-03-08T06:30:00Z", true, "Sunday", "2026-03-08"},  // 01:30 EST, before the gap
		{"2026-03-08T07:30:00Z", true, "Sunday", "2026-03-08"},  // 03:30 EDT, after the gap
		{"2026-03-08T08:30:00Z", false, "Sunday", "2026-03-08"}, // 04:30 EDT
		{"2026-03-09T12:30:00Z", false, "Monday", "2026-03-09"}, // 08:30 EDT
		{"2026-03-09T13:30:00Z", true, "Monday", "2026-03-09"},  // 09:30 EDT
		{"2026-03-09T21:30:00Z", false, "Monday", "2026-03-09"}, // 17:30 EDT
		{"2026-10-30T13:30:00Z", true, "Friday", "2026-10-30"},  // 09:30 EDT
		{"2026-11-02T13:30:00Z", false, "Monday", "2026-11-02"}, // 08:30 EST
		{"2026-11-02T14:30:00Z", true, "Monday", "2026-11-02"},  // 09:30 EST
		{"2026-11-02T22:30:00Z", false, "Monday", "2026-11-02"}, // 17:30 EST
	} {
		f.clock.set(mustTime(t, tc.at))
		code, _, raw := f.call("GET", "/live-agents/project/HIV/country/US/day-status", nil)
		var st dayStatusBody
		if err := json.Unmarshal(raw, &st); err != nil || code != http.StatusOK {
			t.Fatalf("%s: HTTP %d %s", tc.at, code, raw)
		}
		if st.StatusCode != 200 || st.Status != "success" || st.TimeZone != "America/New_York" || st.DayType != hours.WorkingDay ||
			st.IsRegistrationAvailable != tc.open || st.DayName != tc.day || st.StartDate != tc.date {
			t.Errorf("%s: %s", tc.at, raw)
		}
		want := "closed"
		if tc.open {
			want = "open"
		}
		if st.Message != want {
			t.Errorf("%s: message %q, want %q", tc.at, st.Message, want)
		}
	}
	// The day-status answer carries every documented field.
	_, _, raw := f.call("GET", "/live-agents/project/hiv/country/us/day-status", nil)
	for _, k := range []string{"time_zone", "start_date", "end_date", "start_time", "end_time", "is_registration_available", "day_type", "day_name", "message"} {
		if !strings.Contains(string(raw), `"`+k+`"`) {
			t.Errorf("day status lacks %s: %s", k, raw)
		}
	}
}

// TestDayStatusHoliday reports the holiday, its dates and message.
func TestDayStatusHoliday(t *testing.T) {
	f := newFixture(t, storetest.Engines()[0], "builtin")
	f.clock.set(mustTime(t, "2026-09-15T16:00:00Z"))
	_, _, raw := f.call("GET", "/live-agents/project/hiv/country/gt/day-status", nil)
	var st dayStatusBody
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	if st.DayType != hours.HolidayDay || st.IsRegistrationAvailable || st.Message != "Hoy es feriado nacional." ||
		st.StartDate != "2026-09-15" || st.EndDate != "2026-09-15" || st.DayName != "Día de la Independencia" {
		t.Fatalf("%s", raw)
	}
}
