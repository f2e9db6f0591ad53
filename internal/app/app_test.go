package app_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"switchboard/internal/app"
	"switchboard/internal/apptest"
)

func TestServerAnswersHealthReadinessAndMetrics(t *testing.T) {
	a := apptest.Start(t, app.Config{})
	for _, tc := range []struct{ path, want string }{
		{"/healthz", `"ok"`},
		{"/readyz", `"ok"`},
		{"/metrics", "switchboard_http_requests_total"},
	} {
		// /metrics shows the requests made before it.
		res, err := http.Get(a.URL() + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(body), tc.want) {
			t.Fatalf("%s: %d %s", tc.path, res.StatusCode, body)
		}
	}
}

func TestReadinessFailsWhenStoreIsGone(t *testing.T) {
	a := apptest.Start(t, app.Config{})
	a.Store.Close()
	res, err := http.Get(a.URL() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with a closed store: %d, want 503", res.StatusCode)
	}
}

func TestSecondServerOnTakenPortSaysSo(t *testing.T) {
	a := apptest.Start(t, app.Config{})
	b, err := app.New(context.Background(), app.Config{Addr: a.Addr(), DB: "sqlite:" + t.TempDir() + "/b.db"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = b.Start()
	if err == nil || !strings.Contains(err.Error(), "cannot listen on "+a.Addr()) || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("err = %v; want a cannot-listen error naming the address", err)
	}
}
