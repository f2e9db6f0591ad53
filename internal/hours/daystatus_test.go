package hours

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func importFixture(tb testing.TB) *Calendar {
	tb.Helper()
	const name = "testdata/working-hours-gt.toml"
	f, err := os.Open(name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	cc, err := CountryFromFileName(name)
	if err != nil {
		tb.Fatal(err)
	}
	cal, err := ParseDayStatusTOML(f, "hiv", cc)
	if err != nil {
		tb.Fatalf("import %s: %v", name, err)
	}
	return cal
}

func TestParseDayStatusTOMLImportsARealisticFile(t *testing.T) {
	cal := importFixture(t)
	cfg := cal.Config()
	if cfg.Project != "hiv" || cfg.Country != "gt" || cfg.TimeZone != "Etc/GMT+6" {
		t.Errorf("identity = %q %q %q", cfg.Project, cfg.Country, cfg.TimeZone)
	}
	if len(cfg.Hours) != 7 || len(cfg.Holidays) != 3 {
		t.Fatalf("got %d intervals and %d holidays, want 7 and 3", len(cfg.Hours), len(cfg.Holidays))
	}
	if !strings.Contains(cfg.ClosedMessage, "sábados") || !strings.Contains(cfg.HolidayMessage, "próximo día hábil") {
		t.Errorf("messages not decoded: %q / %q", cfg.ClosedMessage, cfg.HolidayMessage)
	}

	const zone = "Etc/GMT+6"
	tests := []struct {
		local   string
		open    bool
		dayType DayType
		dayName string
		message string
	}{
		{"2026-03-09 12:29", true, WorkingDay, "Monday", "Hola, en un momento"},
		{"2026-03-09 13:00", false, WorkingDay, "Monday", "Nuestro horario"},
		{"2026-03-09 13:30", true, WorkingDay, "Monday", "Hola"},
		{"2026-03-13 16:00", false, WorkingDay, "Friday", "Nuestro horario"},
		{"2026-03-14 11:59", true, WorkingDay, "Saturday", "Hola"},
		{"2026-03-15 10:00", false, WorkingDay, "Sunday", "Nuestro horario"},
		{"2026-04-04 10:00", false, HolidayDay, "Semana Santa", "Cerrado por Semana Santa"},
		{"2026-09-15 10:00", false, HolidayDay, "Día de la Independencia", "Hoy es feriado"},
		{"2026-12-25 10:00", false, HolidayDay, "Friday", "Feliz Navidad."},
	}
	for _, tt := range tests {
		t.Run(tt.local, func(t *testing.T) {
			st := cal.Status(MustLocal(t, zone, tt.local))
			if st.IsRegistrationAvailable != tt.open || st.DayType != tt.dayType || st.DayName != tt.dayName ||
				!strings.HasPrefix(st.Message, tt.message) {
				t.Errorf("got %+v\nwant open=%v %s %q message starting %q", st, tt.open, tt.dayType, tt.dayName, tt.message)
			}
		})
	}
	next, ok := cal.NextOpen(MustLocal(t, zone, "2026-03-31 18:00"))
	if want := MustLocal(t, zone, "2026-04-06 08:00"); !ok || !next.Equal(want) {
		t.Errorf("NextOpen over Semana Santa = %v, %v; want %v", next, ok, want)
	}
}

func TestParseDayStatusTOMLTakesTheOnlyCountry(t *testing.T) {
	cal, err := ParseDayStatusTOML(strings.NewReader("[HN]\ntime_zone = 'America/Tegucigalpa'\n"), "fp", "")
	if err != nil {
		t.Fatal(err)
	}
	if cal.Country() != "hn" || cal.IsOpen(time.Date(2026, 3, 9, 15, 0, 0, 0, time.UTC)) {
		t.Errorf("country %q, or open without hours", cal.Country())
	}
}

func TestParseDayStatusTOMLErrors(t *testing.T) {
	const head = "[gt]\ntime_zone = 'America/Guatemala'\n"
	const day = "[[gt.days.workingDays]]\n"
	tests := []struct {
		name, doc string
		want      string
	}{
		{"syntax error", "[gt\n", "toml line 1"},
		{"wrong country", "[sv]\ntime_zone = 'UTC'\n", `toml line 1: unexpected top-level key "sv"`},
		{"no country table", "", `no [gt] table`},
		{"country is not a table", "gt = 1\n", `"gt" must be a table`},
		{"missing time zone", "[gt]\nworkingDayMessage = 'hi'\n", "time_zone is required"},
		{"unknown zone", "[gt]\ntime_zone = 'Central America'\n", `unknown time zone "Central America"`},
		{"time zone not a string", "[gt]\ntime_zone = 6\n", "toml line 2: time_zone must be a string"},
		{"unknown key", head + "workingDayMesage = 'typo'\n", `toml line 3: unknown key "workingDayMesage" in gt`},
		{"days not a table", head + "days = 1\n", "gt.days must be a table"},
		{"workingDays not an array of tables", head + "[gt.days.workingDays]\nday = 'monday'\n", "must be an array of tables"},
		{"unknown day", head + day + "day = 'lunes'\nstart_time = '8:00'\nend_time = '9:00'\n", `toml line 4: day "lunes"`},
		{"malformed time", head + day + "day = 'monday'\nstart_time = '8am'\nend_time = '9:00'\n", `toml line 5: start_time: time "8am"`},
		{"missing end time", head + day + "day = 'monday'\nstart_time = '8:00'\n", "toml line 3: [[gt.days.workingDays]]: end_time is required"},
		{"end before start", head + day + "day = 'monday'\nstart_time = '17:00'\nend_time = '8:00'\n", "toml line 6: Monday 17:00-08:00: end_time is not after start_time"},
		{"overlap", head + day + "day = 'monday'\nstart_time = '8:00'\nend_time = '12:00'\n" +
			day + "day = 'monday'\nstart_time = '11:00'\nend_time = '13:00'\n", "Monday 11:00-13:00 overlaps Monday 08:00-12:00"},
		{"bad holiday date", head + "[[gt.days.holidays]]\nday = 'x'\nstart_date = '25/12/2026'\n", `toml line 5: start_date: date "25/12/2026"`},
		{"holiday without a date", head + "[[gt.days.holidays]]\nday = 'Navidad'\n", `"Navidad": start_date is required`},
		{"holiday backwards", head + "[[gt.days.holidays]]\nday = 'x'\nstart_date = '2026-12-25'\nend_date = '2026-12-24'\n", "toml line 6: end_date 2026-12-24 is before"},
		{"holiday date wrong type", head + "[[gt.days.holidays]]\nday = 'x'\nstart_date = 20261225\n", "start_date must be a date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDayStatusTOML(strings.NewReader(tt.doc), "hiv", "gt")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", err)
			}
		})
	}
}

func TestCountryFromFileName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"working-hours-gt.toml", "gt"},
		{"/etc/switchboard/hiv/working-hours-GT.toml", "gt"},
		{"working-hours-hnd.toml", "hnd"},
		{"working-hours-.toml", ""},
		{"working-hours-g1.toml", ""},
		{"working-hours-gt.json", ""},
		{"hours-gt.toml", ""},
	}
	for _, tt := range tests {
		got, err := CountryFromFileName(tt.in)
		if got != tt.want || (tt.want == "") != (err != nil) {
			t.Errorf("CountryFromFileName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("error %v does not match ErrInvalid", err)
		}
	}
}
