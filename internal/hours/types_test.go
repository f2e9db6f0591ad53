package hours

import (
	"strings"
	"testing"
	"time"
)

func TestParseClock(t *testing.T) {
	tests := []struct {
		in      string
		want    Clock
		wantErr string
	}{
		{"8:00", NewClock(8, 0), ""},
		{"08:05", NewClock(8, 5), ""},
		{" 17:30 ", NewClock(17, 30), ""},
		{"0:00", 0, ""},
		{"24:00", minutesPerDay, ""},
		{"24:01", 0, "hour out of range"},
		{"25:00", 0, "hour out of range"},
		{"12:60", 0, "minute out of range"},
		{"8", 0, "want H:MM"},
		{"8:0", 0, "want H:MM"},
		{"8:00pm", 0, "want H:MM"},
		{"-1:00", 0, "want H:MM"},
		{"", 0, "want H:MM"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseClock(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ParseClock(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseClock(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	if d, err := ParseDate("2028-02-29"); err != nil || d != (Date{2028, 2, 29}) {
		t.Errorf("leap day: %v, %v", d, err)
	}
	for _, bad := range []string{"2026-02-29", "2026-13-01", "26-01-01", "2026/01/01", "01-02-2026", ""} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) succeeded", bad)
		}
	}
}

func TestParseDateTime(t *testing.T) {
	tests := []struct {
		in       string
		endOfDay bool
		want     string
	}{
		{"2026-05-04T14:00", false, "2026-05-04T14:00"},
		{"2026-05-04 9:30", false, "2026-05-04T09:30"},
		{"2026-05-04", false, "2026-05-04T00:00"},
		{"2026-05-04", true, "2026-05-04T24:00"},
	}
	for _, tt := range tests {
		got, err := ParseDateTime(tt.in, tt.endOfDay)
		if err != nil || got.String() != tt.want {
			t.Errorf("ParseDateTime(%q, %v) = %v, %v; want %s", tt.in, tt.endOfDay, got, err, tt.want)
		}
	}
	if _, err := ParseDateTime("2026-05-04T25:00", false); err == nil {
		t.Error("accepted 25:00")
	}
}

func TestParseWeekday(t *testing.T) {
	for in, want := range map[string]time.Weekday{"monday": time.Monday, "Sunday": time.Sunday, "SAT": time.Saturday, "wed": time.Wednesday} {
		if got, err := ParseWeekday(in); err != nil || got != Weekday(want) {
			t.Errorf("ParseWeekday(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"lunes", "mo", "", "mondays"} {
		if _, err := ParseWeekday(bad); err == nil {
			t.Errorf("ParseWeekday(%q) succeeded", bad)
		}
	}
}

func TestDateArithmetic(t *testing.T) {
	d := Date{2026, 2, 28}
	if got := d.AddDays(1); got != (Date{2026, 3, 1}) {
		t.Errorf("AddDays(1) = %v", got)
	}
	if d.Weekday() != Weekday(time.Saturday) {
		t.Errorf("weekday = %v", d.Weekday())
	}
	if !d.Before(Date{2026, 3, 1}) || d.Compare(d) != 0 {
		t.Error("comparison is wrong")
	}
}
