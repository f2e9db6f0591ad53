package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHoursImportStoresDayStatusFilesAsCalendars(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "sb.db")
	src, err := os.ReadFile("../hours/testdata/working-hours-gt.toml")
	if err != nil {
		t.Fatal(err)
	}
	gt := filepath.Join(dir, "working-hours-gt.toml")
	if err := os.WriteFile(gt, src, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, map[string]string{"SWITCHBOARD_DB": db}, "hours", "import", "-project", "hiv", gt)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	got := decodeOne(t, out)
	cals := got["calendars"].([]any)
	if got["project"] != "hiv" || len(cals) != 1 || cals[0].(map[string]any)["country"] != "gt" || cals[0].(map[string]any)["time_zone"] != "Etc/GMT+6" {
		t.Fatalf("output = %s", out)
	}
	h, done, err := openHub(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	cal, err := h.Calendar(context.Background(), "HIV", "GT")
	if err != nil {
		t.Fatal(err)
	}
	// Tuesday 2026-03-10 10:00 in Guatemala is open.
	if !cal.IsOpen(time.Date(2026, 3, 10, 16, 0, 0, 0, time.UTC)) {
		t.Fatal("imported calendar is closed on a Tuesday morning")
	}

	bad := filepath.Join(dir, "hours.toml")
	if err := os.WriteFile(bad, src, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"hours", "import", gt}, 2, "-project is required"},
		{[]string{"hours", "import", "-project", "hiv"}, 2, "at least one"},
		{[]string{"hours", "import", "-project", "hiv", bad}, 1, "working-hours-"},
		{[]string{"hours", "import", "-project", "hiv", filepath.Join(dir, "working-hours-hn.toml")}, 1, "no such file"},
	} {
		code, _, errOut := run(t, map[string]string{"SWITCHBOARD_DB": db}, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want %d with %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}
