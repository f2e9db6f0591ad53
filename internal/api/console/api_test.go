package console_test

import (
	"bytes"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func TestAdminGroups(t *testing.T) {
	w := newWorld(t)
	a := w.app
	t.Run("authentication and scope", func(t *testing.T) {
		for _, tc := range []struct {
			token string
			code  int
		}{{"", 401}, {"sb_unknown", 401}, {w.annToken, 403}} {
			code, out := doJSON(t, a, http.MethodGet, "/admin/v1/groups", tc.token, nil)
			if code != tc.code || errCode(out) == "" {
				t.Errorf("token %q: %d %v, want %d", tc.token, code, out, tc.code)
			}
		}
	})
	t.Run("create and list", func(t *testing.T) {
		code, out := doJSON(t, a, http.MethodPost, "/admin/v1/groups", w.adminToken, map[string]any{"name": "Billing", "project": "psi", "country": "gt"})
		if code != http.StatusCreated || out["name"] != "Billing" || out["country"] != "GT" {
			t.Fatalf("create = %d %v", code, out)
		}
		id := out["id"].(float64)
		code, out = doJSON(t, a, http.MethodGet, "/admin/v1/groups", w.adminToken, nil)
		if code != http.StatusOK {
			t.Fatalf("list = %d %v", code, out)
		}
		groups := out["groups"].([]any)
		names := []string{}
		for _, g := range groups {
			names = append(names, g.(map[string]any)["name"].(string))
		}
		if got := strings.Join(names, ","); !strings.Contains(got, "Support") || !strings.Contains(got, "Billing") {
			t.Fatalf("groups = %s", got)
		}
		support := groups[1].(map[string]any) // group 0 is the default group
		if m := support["members"].([]any); len(m) != 1 || m[0].(map[string]any)["agent_id"] != w.ann.ID {
			t.Fatalf("Support members = %v", support["members"])
		}
		code, out = doJSON(t, a, http.MethodPut, "/admin/v1/groups/"+ftoa(id)+"/members/"+w.bob.ID, w.adminToken, map[string]any{"priority": "first"})
		if code != http.StatusOK || len(out["members"].([]any)) != 1 {
			t.Fatalf("put member = %d %v", code, out)
		}
	})
	t.Run("bad input changes nothing", func(t *testing.T) {
		for _, tc := range []struct {
			method, path string
			body         any
			code         int
		}{
			{http.MethodPost, "/admin/v1/groups", map[string]any{"name": ""}, 400},
			{http.MethodPost, "/admin/v1/groups", map[string]any{"name": 5}, 400},
			{http.MethodPost, "/admin/v1/groups", map[string]any{"name": "Support"}, 409},
			{http.MethodGet, "/admin/v1/groups/999", nil, 404},
			{http.MethodGet, "/admin/v1/groups/x", nil, 404},
			{http.MethodPut, "/admin/v1/groups/1/members/nobody", nil, 404},
			{http.MethodPut, "/admin/v1/groups/1/members/" + w.cust.ID, nil, 400},
			{http.MethodPut, "/admin/v1/groups/1/members/" + w.bob.ID, map[string]any{"priority": "urgent"}, 400},
		} {
			code, out := doJSON(t, a, tc.method, tc.path, w.adminToken, tc.body)
			if code != tc.code || errCode(out) == "" {
				t.Errorf("%s %s %v = %d %v, want %d", tc.method, tc.path, tc.body, code, out, tc.code)
			}
		}
		_, out := doJSON(t, a, http.MethodGet, "/admin/v1/groups", w.adminToken, nil)
		if n := len(out["groups"].([]any)); n != 4 {
			t.Fatalf("%d groups after bad requests, want 4", n)
		}
	})
}

func ftoa(f float64) string { return strconv.FormatInt(int64(f), 10) }

func TestMeAndDirectory(t *testing.T) {
	w := newWorld(t)
	code, out := doJSON(t, w.app, http.MethodGet, "/console/api/me", w.annToken, nil)
	if code != http.StatusOK || out["agent"].(map[string]any)["id"] != w.ann.ID || out["admin"] != false {
		t.Fatalf("me = %d %v", code, out)
	}
	if g := out["groups"].([]any); len(g) != 1 || g[0].(map[string]any)["name"] != "Support" {
		t.Fatalf("me groups = %v", out["groups"])
	}
	for _, tok := range []string{w.adminToken, w.custToken} {
		if code, out := doJSON(t, w.app, http.MethodGet, "/console/api/me", tok, nil); code != http.StatusForbidden {
			t.Errorf("me with a token of no person = %d %v", code, out)
		}
	}
	if code, _ := doJSON(t, w.app, http.MethodGet, "/console/api/me", "", nil); code != http.StatusUnauthorized {
		t.Errorf("me without a token = %d", code)
	}
	code, out = doJSON(t, w.app, http.MethodGet, "/console/api/directory", w.annToken, nil)
	if code != http.StatusOK {
		t.Fatalf("directory = %d %v", code, out)
	}
	var names []string
	for _, a := range out["agents"].([]any) {
		names = append(names, a.(map[string]any)["name"].(string))
	}
	if strings.Join(names, ",") != "Ann,Bob" || len(out["groups"].([]any)) != 3 {
		t.Fatalf("directory = %v", out)
	}
}

func upload(t *testing.T, w *world, token, chatID, name string, data []byte) (int, map[string]any) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = fw.Write(data)
	_ = mw.Close()
	return do(t, w.app, http.MethodPost, "/console/api/files?chat_id="+chatID, token, mw.FormDataContentType(), &body)
}

func TestAgentFileUpload(t *testing.T) {
	w := newWorld(t)
	chatID, _ := w.chat(t, w.group.ID, "here is my problem")
	var img bytes.Buffer
	_ = png.Encode(&img, image.NewRGBA(image.Rect(0, 0, 3, 2)))
	code, out := upload(t, w, w.annToken, chatID, "../shot.png", img.Bytes())
	if code != http.StatusCreated || out["content_type"] != "image/png" || out["name"] != "shot.png" || out["width"] != float64(3) {
		t.Fatalf("upload = %d %v", code, out)
	}
	resp, err := http.Get(w.app.URL() + out["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("GET %s = %d %s", out["url"], resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// The page then sends the file event with the Agent API.
	code, out = agentAPI(t, w.app, w.annToken, "send_event", map[string]any{"chat_id": chatID, "event": map[string]any{
		"type": "file", "url": out["url"], "name": out["name"], "content_type": out["content_type"], "size": out["size"]}})
	if code != http.StatusOK {
		t.Fatalf("send_event file = %d %v", code, out)
	}
	for _, tc := range []struct {
		name, token, chat string
		data              []byte
		code              int
	}{
		{"not in the chat", w.bobToken, chatID, img.Bytes(), 403},
		{"html", w.annToken, chatID, []byte("<html><script>alert(1)</script></html>"), 415},
		{"empty", w.annToken, chatID, nil, 400},
		{"unknown chat", w.annToken, "nochat", img.Bytes(), 404},
		{"no chat id", w.annToken, "", img.Bytes(), 400},
		{"no person", w.adminToken, chatID, img.Bytes(), 403},
	} {
		if code, out := upload(t, w, tc.token, tc.chat, "x", tc.data); code != tc.code {
			t.Errorf("%s: %d %v, want %d", tc.name, code, out, tc.code)
		}
	}
}
