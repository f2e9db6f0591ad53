package hours

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestNewRejectsInvalidConfigs(t *testing.T) {
	mon := Weekday(time.Monday)
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"unknown zone", func(c *Config) { c.TimeZone = "Mars/Olympus_Mons" }, `time_zone: unknown time zone "Mars/Olympus_Mons"`},
		{"missing zone", func(c *Config) { c.TimeZone = "" }, "time_zone: is required"},
		{"machine local zone", func(c *Config) { c.TimeZone = "Local" }, "depends on the machine"},
		{"missing project", func(c *Config) { c.Project = " " }, "project: is required"},
		{"bad country", func(c *Config) { c.Country = "g1" }, `country: "g1" is not a 2- or 3-letter country code`},
		{"end before start", func(c *Config) {
			c.Hours = []Interval{{Day: mon, Start: NewClock(17, 0), End: NewClock(8, 0)}}
		}, "Monday 17:00-08:00: end is not after start"},
		{"empty interval", func(c *Config) {
			c.Hours = []Interval{{Day: mon, Start: NewClock(8, 0), End: NewClock(8, 0)}}
		}, "end is not after start"},
		{"time past 24:00", func(c *Config) {
			c.Hours = []Interval{{Day: mon, Start: NewClock(8, 0), End: NewClock(25, 0)}}
		}, "between 00:00 and 24:00"},
		{"bad weekday", func(c *Config) { c.Hours = []Interval{{Day: 9, Start: 0, End: 60}} }, "day 9 out of range"},
		{"overlapping intervals", func(c *Config) {
			c.Hours = []Interval{
				{Day: mon, Start: NewClock(8, 0), End: NewClock(12, 0)},
				{Day: mon, Start: NewClock(11, 30), End: NewClock(14, 0)},
			}
		}, "hours: Monday 11:30-14:00 overlaps Monday 08:00-12:00"},
		{"holiday without a date", func(c *Config) { c.Holidays = []Holiday{{Name: "Mystery"}} }, `"Mystery": start date is required`},
		{"holiday ending before it starts", func(c *Config) {
			c.Holidays = []Holiday{{Name: "Backwards", Start: Date{2026, 5, 2}, End: Date{2026, 5, 1}}}
		}, "end date 2026-05-01 is before start date 2026-05-02"},
		{"overlapping holidays", func(c *Config) {
			c.Holidays = []Holiday{
				{Name: "A", Start: Date{2026, 12, 24}, End: Date{2026, 12, 26}},
				{Name: "B", Start: Date{2026, 12, 26}},
			}
		}, `"B" (2026-12-26) overlaps "A" (2026-12-24)`},
		{"closure ending before it starts", func(c *Config) {
			c.Closures = []Closure{{Start: DateTime{Date{2026, 5, 4}, 600}, End: DateTime{Date{2026, 5, 4}, 540}}}
		}, "closures[0]: end 2026-05-04T09:00 is not after start 2026-05-04T10:00"},
		{"closure without dates", func(c *Config) { c.Closures = []Closure{{Message: "?"}} }, "closures[0]: start and end are required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := guatemalaConfig()
			tt.change(&cfg)
			_, err := New(cfg)
			if err == nil {
				t.Fatalf("New succeeded, want error containing %q", tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := New(Config{Country: "x", TimeZone: "Nowhere/Town"})
	for _, want := range []string{"project", "country", "time_zone"} {
		if err == nil || !strings.Contains(err.Error(), want+":") {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}

func TestNewNormalises(t *testing.T) {
	cfg := guatemalaConfig()
	cfg.Hours = []Interval{
		{Day: Weekday(time.Sunday), Start: NewClock(9, 0), End: NewClock(10, 0)},
		{Day: Weekday(time.Monday), Start: NewClock(13, 0), End: NewClock(17, 0)},
		{Day: Weekday(time.Monday), Start: NewClock(8, 0), End: NewClock(12, 0)},
	}
	got := MustNew(t, cfg).Config()
	if got.Country != "gt" {
		t.Errorf("country = %q, want gt", got.Country)
	}
	var order []string
	for _, iv := range got.Hours {
		order = append(order, iv.String())
	}
	if want := "Monday 08:00-12:00,Monday 13:00-17:00,Sunday 09:00-10:00"; strings.Join(order, ",") != want {
		t.Errorf("hours order = %s, want %s", strings.Join(order, ","), want)
	}
	if h := got.Holidays[1]; h.End != h.Start {
		t.Errorf("single-day holiday end = %v, want its start", h.End)
	}
}

func TestConfigReturnsACopy(t *testing.T) {
	cal := MustNew(t, guatemalaConfig())
	cfg := cal.Config()
	cfg.Hours[0].End = NewClock(23, 0)
	cfg.Holidays[0].Message = "changed"
	if again := cal.Config(); again.Hours[0].End == NewClock(23, 0) || again.Holidays[0].Message == "changed" {
		t.Error("mutating Config() changed the calendar")
	}
}

func TestCalendarJSONRoundTrip(t *testing.T) {
	cal := MustNew(t, guatemalaConfig())
	first, err := json.Marshal(cal)
	if err != nil {
		t.Fatal(err)
	}
	var back Calendar
	if err := json.Unmarshal(first, &back); err != nil {
		t.Fatalf("unmarshal %s: %v", first, err)
	}
	if !reflect.DeepEqual(back.Config(), cal.Config()) {
		t.Errorf("round trip changed the config\n got %+v\nwant %+v", back.Config(), cal.Config())
	}
	second, err := json.Marshal(&back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("JSON differs after a round trip\n%s\n%s", first, second)
	}
	for _, want := range []string{`"time_zone":"America/Guatemala"`, `{"day":"monday","start":"08:00","end":"12:00"}`,
		`"start":"2026-04-02","end":"2026-04-03"`, `"start":"2026-05-04T14:00","end":"2026-05-04T16:00"`} {
		if !strings.Contains(string(first), want) {
			t.Errorf("JSON lacks %s:\n%s", want, first)
		}
	}
}

func TestCalendarJSONAcceptsShortForms(t *testing.T) {
	doc := `{"project":"fp","country":"gt","time_zone":"America/Guatemala",
		"hours":[{"day":"Tue","start":"8:00","end":"24:00"}],
		"holidays":[{"name":"Labour Day","start":"2026-05-01"}],
		"closures":[{"start":"2026-05-05","end":"2026-05-05","message":"Moving offices."}]}`
	var cal Calendar
	if err := json.Unmarshal([]byte(doc), &cal); err != nil {
		t.Fatal(err)
	}
	cfg := cal.Config()
	if cl := cfg.Closures[0]; cl.Start.String() != "2026-05-05T00:00" || cl.End.String() != "2026-05-05T24:00" {
		t.Errorf("bare closure dates = %s..%s, want the whole day", cl.Start, cl.End)
	}
	if h := cfg.Holidays[0]; h.End != (Date{2026, 5, 1}) {
		t.Errorf("holiday end = %v", h.End)
	}
	if st := cal.Status(MustLocal(t, "America/Guatemala", "2026-05-05 12:00")); st.IsRegistrationAvailable || st.Message != "Moving offices." {
		t.Errorf("whole-day closure not applied: %+v", st)
	}
	if !cal.IsOpen(MustLocal(t, "America/Guatemala", "2026-05-12 23:59")) {
		t.Error("an interval ending at 24:00 should be open at 23:59")
	}
}

func TestCalendarJSONRejectsInvalidInput(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"bad time", `{"project":"p","country":"gt","time_zone":"UTC","hours":[{"day":"monday","start":"8h","end":"9:00"}]}`, `time "8h"`},
		{"bad day", `{"project":"p","country":"gt","time_zone":"UTC","hours":[{"day":"funday","start":"8:00","end":"9:00"}]}`, `day "funday"`},
		{"bad date", `{"project":"p","country":"gt","time_zone":"UTC","holidays":[{"name":"x","start":"2026-02-30"}]}`, `date "2026-02-30"`},
		{"validation", `{"project":"p","country":"gt","time_zone":"Bad/Zone"}`, "unknown time zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cal Calendar
			err := json.Unmarshal([]byte(tt.doc), &cal)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
