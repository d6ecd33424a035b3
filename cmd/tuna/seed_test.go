package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tunapay/tuna/engine"
)

// tuna seed-sessions fills the session table serve opens with live payment
// sessions that have passed cp_auth and user_auth.
func TestSeedSessions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	var out, errb bytes.Buffer
	if code := run([]string{"seed-sessions", "--data", dir, "--sessions", "100", "--ttl", "30m"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "seeded 100 sessions in ") || !strings.Contains(out.String(), "table now 100 sessions") {
		t.Fatalf("stdout %q", out.String())
	}

	tid := firstTID(t, filepath.Join(dir, "sessions.db"))
	store, err := openSessions(config{Data: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Load(context.Background(), tid)
	if err != nil {
		t.Fatalf("Load %s: %v", tid, err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	if !engine.TIDPattern.MatchString(s.TID) || s.Protocol != "payment" || s.Version != 1 || s.Closed() {
		t.Fatalf("seeded session %+v", s)
	}
	if left := time.Until(s.ExpiresAt); left < 29*time.Minute || left > 30*time.Minute {
		t.Fatalf("expires in %v, want 30m", left)
	}
	for _, step := range []string{"cp_auth", "user_auth"} {
		if r := s.Steps[step]; r == nil || r.Result != engine.ResultSuccess || r.SuccessSeq == 0 {
			t.Fatalf("step %s: %+v", step, r)
		}
	}
	user, _ := s.Data["USER"].(map[string]any)
	if phone, _ := user["phone"].(string); !maskedPhone.MatchString(phone) || s.Data["CP"] == nil || s.Data["PRODUCT"] == nil {
		t.Fatalf("data %v: want CP, PRODUCT and USER with a masked phone", s.Data)
	}

	// More sessions go next to the ones there; bad flags are refused.
	out.Reset()
	if code := run([]string{"seed-sessions", "--data", dir, "--sessions", "5"}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "table now 105 sessions") {
		t.Fatalf("second seed: exit %d, %q, %s", code, out.String(), errb.String())
	}
	if code := run([]string{"seed-sessions", "--data", dir}, &out, &errb); code != 2 {
		t.Fatalf("without --sessions: exit %d, want 2", code)
	}
}

var maskedPhone = regexp.MustCompile(`^01[016789]\*{4}[0-9]{4}$`)

// firstTID reads the first key of the session table, with the file closed
// again before returning.
func firstTID(t *testing.T, path string) string {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tid string
	err = db.View(func(tx *bolt.Tx) error {
		k, _ := tx.Bucket([]byte("sessions")).Cursor().First()
		tid = string(k)
		return nil
	})
	if err != nil || tid == "" {
		t.Fatalf("no session in %s: %v", path, err)
	}
	return tid
}
