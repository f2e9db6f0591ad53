package shared_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"switchboard/internal/web/shared"
)

func TestSharedAssetsAreServedWithTheirTypes(t *testing.T) {
	mux := http.NewServeMux()
	shared.Routes(mux)
	for _, tc := range []struct {
		path, ctype, contains string
		status                int
	}{
		{"/assets/shared/phoenix-client.js", "text/javascript", "export class Socket", http.StatusOK},
		{"/assets/shared/base.css", "text/css", "--sb-accent", http.StatusOK},
		{"/assets/shared/", "", "", http.StatusNotFound},
		{"/assets/shared/nope.js", "", "", http.StatusNotFound},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.status != http.StatusOK {
				return
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tc.ctype) {
				t.Errorf("Content-Type %q, want %s", ct, tc.ctype)
			}
			if !strings.Contains(rec.Body.String(), tc.contains) {
				t.Errorf("body lacks %q", tc.contains)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff header")
			}
		})
	}
}
