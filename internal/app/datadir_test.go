package app_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/store"
)

// servedKey is the public key the app's actor document publishes.
func servedKey(t *testing.T, a *app.App) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, actorURL, nil)
	req.Header.Set("Accept", "application/activity+json")
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, req)
	var doc struct {
		PublicKey struct{ PublicKeyPem string } `json:"publicKey"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || doc.PublicKey.PublicKeyPem == "" {
		t.Fatalf("actor: %d %v %s", rec.Code, err, rec.Body)
	}
	return doc.PublicKey.PublicKeyPem
}

// TestConcurrentStartsKeepOneKey: two crieur starting at once on an empty
// data directory: one gets the directory (the database lock), the other
// is refused, and the survivor signs with the key saved on disk, so the
// next restart keeps every follower.
func TestConcurrentStartsKeepOneKey(t *testing.T) {
	data := t.TempDir()
	var wg sync.WaitGroup
	apps := make([]*app.App, 2)
	errs := make([]error, 2)
	for i := range apps {
		wg.Go(func() {
			apps[i], errs[i] = app.New(app.Config{BaseURL: baseURL, DataDir: data, Listen: "127.0.0.1:0", Now: time.Now})
		})
	}
	wg.Wait()
	var survivor *app.App
	for i, a := range apps {
		switch {
		case errs[i] == nil:
			if survivor != nil {
				t.Fatal("both starts got the data directory")
			}
			survivor = a
			defer a.Close()
		case !errors.Is(errs[i], store.ErrLocked):
			t.Fatalf("start %d: %v, want the lock refusal", i, errs[i])
		}
	}
	if survivor == nil {
		t.Fatalf("no start succeeded: %v", errs)
	}
	saved, err := federation.LoadKey(data, bot)
	if err != nil {
		t.Fatal(err)
	}
	want, err := federation.PublicKeyPEM(saved.Private)
	if err != nil {
		t.Fatal(err)
	}
	if got := servedKey(t, survivor); got != want {
		t.Fatal("the running bot publishes a key that is not the one saved in keys/")
	}
}

// TestReadOnlyCommandCreatesNothing: `crieur queue`, `followers` and
// `deliveries` on a data directory where crieur never ran say so, and
// create neither a key nor a database.
func TestReadOnlyCommandCreatesNothing(t *testing.T) {
	parent := t.TempDir()
	for _, data := range []string{filepath.Join(parent, "missing"), parent} {
		_, err := app.New(app.Config{BaseURL: baseURL, DataDir: data, Offline: true, ReadOnly: true})
		if !errors.Is(err, app.ErrNoData) {
			t.Fatalf("read-only open of %s: %v, want ErrNoData", data, err)
		}
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Fatalf("a read-only open created %v", left)
	}
}
