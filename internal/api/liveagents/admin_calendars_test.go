package liveagents_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"switchboard/internal/store/storetest"
)

func TestCalendarAdminAPI(t *testing.T) {
	f := newFixture(t, storetest.Engines()[0], "builtin")
	ctx := context.Background()
	admin, _, err := f.a.Hub.CreateToken(ctx, "ops", "", []string{"admin"})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := f.a.Hub.CreateToken(ctx, "bot-dev", "", []string{"agents-bot--my:rw"})
	if err != nil {
		t.Fatal(err)
	}
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	hn := `{"time_zone":"America/Tegucigalpa","hours":[{"day":"monday","start":"8:00","end":"12:00"},{"day":"monday","start":"13:00","end":"17:00"}],
		"holidays":[{"name":"Semana Santa","start":"2026-04-01","end":"2026-04-03","message":"Cerrado"}],
		"closures":[{"start":"2026-03-16T08:00","end":"2026-03-16T10:00","message":"Capacitación"}],
		"working_day_message":"Hola","closed_message":"Cerrado ahora"}`
	for _, tc := range []struct {
		name, method, path, body string
		header                   []string
		code                     int
		want                     string
	}{
		{"no token", "GET", "/admin/v1/calendars", "", nil, 401, `"unauthorized"`},
		{"unknown token", "GET", "/admin/v1/calendars", "", bearer("sb_nope"), 401, `"unauthorized"`},
		{"not admin", "GET", "/admin/v1/calendars", "", bearer(other), 403, "admin scope"},
		{"invalid calendar", "PUT", "/admin/v1/calendars/fp/hn", `{"time_zone":"Mars/Olympus"}`, bearer(admin), 400, "unknown time zone"},
		{"overlap", "PUT", "/admin/v1/calendars/fp/hn", `{"time_zone":"UTC","hours":[{"day":"monday","start":"8:00","end":"12:00"},{"day":"monday","start":"11:00","end":"13:00"}]}`, bearer(admin), 400, "overlaps"},
		{"bad country", "PUT", "/admin/v1/calendars/fp/h1", `{"time_zone":"UTC"}`, bearer(admin), 400, "country"},
		{"put", "PUT", "/admin/v1/calendars/FP/HN", hn, bearer(admin), 200, `"country":"hn"`},
		{"get", "GET", "/admin/v1/calendars/fp/hn", "", bearer(admin), 200, `"closed_message":"Cerrado ahora"`},
		{"list", "GET", "/admin/v1/calendars", "", bearer(admin), 200, `"time_zone":"America/Tegucigalpa"`},
		{"status at", "GET", "/admin/v1/calendars/fp/hn/status?at=2026-03-16T15:30:00Z", "", bearer(admin), 200, `"message":"Capacitación"`},
		{"status bad at", "GET", "/admin/v1/calendars/fp/hn/status?at=yesterday", "", bearer(admin), 400, "RFC 3339"},
		{"delete", "DELETE", "/admin/v1/calendars/fp/hn", "", bearer(admin), 204, ""},
		{"get deleted", "GET", "/admin/v1/calendars/fp/hn", "", bearer(admin), 404, "no calendar"},
		{"delete again", "DELETE", "/admin/v1/calendars/fp/hn", "", bearer(admin), 404, "no calendar"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, f.a.URL()+tc.path, strings.NewReader(tc.body))
			for i := 0; i+1 < len(tc.header); i += 2 {
				req.Header.Set(tc.header[i], tc.header[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var raw json.RawMessage
			_ = json.NewDecoder(resp.Body).Decode(&raw)
			if resp.StatusCode != tc.code || !strings.Contains(string(raw), tc.want) {
				t.Fatalf("HTTP %d %s; want %d with %s", resp.StatusCode, raw, tc.code, tc.want)
			}
		})
	}
}
