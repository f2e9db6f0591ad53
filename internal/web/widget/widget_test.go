package widget_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"switchboard/internal/web/widget"
)

func newMux(t *testing.T, demo widget.DemoBot) *http.ServeMux {
	t.Helper()
	s, err := widget.New(widget.Config{DemoBot: demo}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Routes(mux)
	return mux
}

func get(mux *http.ServeMux, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec
}

func TestIndexServesTheChatForTheGivenBot(t *testing.T) {
	mux := newMux(t, nil)
	rec := get(mux, `/?bot=b1&token=t"><script>x</script>`)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{`data-bot="b1"`, `id="sbw-log"`, `aria-live="polite"`, `<label for="sbw-input"`, `/assets/widget/widget.js`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(body, "<script>x</script>") {
		t.Error("the token is not escaped")
	}
	h := rec.Header()
	if h.Get("Cache-Control") != "no-store" || !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("headers %v", h)
	}
}

func TestIndexWithoutParamsUsesTheDemoBotOrExplains(t *testing.T) {
	demo := func(context.Context) (string, string, bool, error) { return "demo-bot", "demo-token", true, nil }
	for _, tc := range []struct {
		name string
		demo widget.DemoBot
		want string
	}{
		{"demo on", demo, `data-bot="demo-bot" data-token="demo-token"`},
		{"no demo configured", nil, "/?bot=BOT_ID&amp;token=WS_TOKEN"},
		{"demo deleted", func(context.Context) (string, string, bool, error) { return "", "", false, nil }, "/?bot=BOT_ID&amp;token=WS_TOKEN"},
		{"demo lookup failed", func(context.Context) (string, string, bool, error) { return "", "", false, errors.New("db down") }, "/?bot=BOT_ID&amp;token=WS_TOKEN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(newMux(t, tc.demo), "/")
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), tc.want) {
				t.Fatalf("status %d, body lacks %q:\n%s", rec.Code, tc.want, rec.Body)
			}
		})
	}
	// Only one of the two parameters: explained, not half-started.
	if rec := get(newMux(t, demo), "/?bot=x"); !strings.Contains(rec.Body.String(), "BOT_ID") {
		t.Error("/?bot=x without token did not explain the parameters")
	}
}

func TestLoaderAndAssetsAreServed(t *testing.T) {
	mux := newMux(t, nil)
	for _, tc := range []struct {
		path, ctype, contains string
		status                int
	}{
		{"/widget.js", "text/javascript", "data-bot and data-token are required", http.StatusOK},
		{"/assets/widget/widget.js", "text/javascript", "get_history", http.StatusOK},
		{"/assets/widget/widget.css", "text/css", ".sbw-log", http.StatusOK},
		{"/assets/widget/", "", "", http.StatusNotFound},
		{"/assets/widget/missing.js", "", "", http.StatusNotFound},
		{"/nope", "", "", http.StatusNotFound},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rec := get(mux, tc.path)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.status != http.StatusOK {
				return
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tc.ctype) {
				t.Errorf("Content-Type %q", ct)
			}
			if !strings.Contains(rec.Body.String(), tc.contains) {
				t.Errorf("body lacks %q", tc.contains)
			}
		})
	}
	if got := get(mux, "/widget.js").Header().Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("loader CORS %q", got)
	}
}

func TestWidgetScriptsNeverSetInnerHTML(t *testing.T) {
	mux := newMux(t, nil)
	for _, p := range []string{"/assets/widget/widget.js", "/widget.js"} {
		if strings.Contains(get(mux, p).Body.String(), "innerHTML") {
			t.Errorf("%s uses innerHTML; message text must go through textContent", p)
		}
	}
}
