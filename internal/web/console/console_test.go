package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"switchboard/internal/web/console"
)

func get(t *testing.T, h http.Handler, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	resp := rec.Result()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestPagesAndAssetsAreServedWithTheirHeaders(t *testing.T) {
	mux := http.NewServeMux()
	console.Routes(mux)
	for _, tc := range []struct {
		path, ctype, contains string
	}{
		{"/console", "text/html", "Agent token"},
		{"/console/admin", "text/html", "Admin token"},
		{"/assets/console/console.js", "javascript", "agent:"},
		{"/assets/console/admin.js", "javascript", "/admin/v1/bots"},
		{"/assets/console/console.css", "text/css", ".history"},
	} {
		resp, body := get(t, mux, tc.path)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), tc.ctype) || !strings.Contains(body, tc.contains) {
			t.Errorf("GET %s = %d %s, body has %q: %v", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.contains, strings.Contains(body, tc.contains))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: security headers missing (CSP %q)", tc.path, csp)
		}
	}
	if resp, _ := get(t, mux, "/console/"); resp.StatusCode != http.StatusMovedPermanently {
		t.Errorf("GET /console/ = %d, want a redirect", resp.StatusCode)
	}
}

// The pages load only the project's own code: relative modules and the
// shared Phoenix client, never a third-party script or an inline one.
func TestNoThirdPartyOrInlineScripts(t *testing.T) {
	mux := http.NewServeMux()
	console.Routes(mux)
	imports := regexp.MustCompile(`(?m)^import .* from '([^']+)'`)
	for _, js := range []string{"console.js", "admin.js", "api.js", "dom.js"} {
		_, body := get(t, mux, "/assets/console/"+js)
		for _, m := range imports.FindAllStringSubmatch(body, -1) {
			if m[1] != "/assets/shared/phoenix-client.js" && !strings.HasPrefix(m[1], "./") {
				t.Errorf("%s imports %s", js, m[1])
			}
		}
		if strings.Contains(body, "innerHTML") {
			t.Errorf("%s uses innerHTML; user text must go through textContent", js)
		}
	}
	for _, page := range []string{"/console", "/console/admin"} {
		_, body := get(t, mux, page)
		for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1) {
			if !strings.Contains(m, `src="/assets/console/`) {
				t.Errorf("%s has a script that is not the console's own: %s", page, m)
			}
		}
		if strings.Contains(body, "style=") {
			t.Errorf("%s has an inline style (blocked by the CSP)", page)
		}
	}
}
