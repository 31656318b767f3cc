package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/store"
)

// AdminSocket is the file name of the admin socket in the data directory.
// The staff commands (queue, followers, deliveries) talk to the running
// daemon through it, since bbolt lets one process at a time write.
const AdminSocket = "admin.sock"

// QueueItem is one upcoming publication, as `crieur queue` prints it.
type QueueItem struct {
	At time.Time `json:"at"`
	// When is At written in the bot's timezone, as staff think of it.
	When  string `json:"when"`
	Kind  string `json:"kind"`
	Post  string `json:"post"`
	First string `json:"firstLine"`
	Due   bool   `json:"due"`
	// Next is a tip marked `next: true`, put before the rotation.
	Next bool `json:"next,omitempty"`
}

// FollowerItem is one follower as `crieur followers` lists it.
type FollowerItem struct {
	Actor      string    `json:"actor"`
	State      string    `json:"state"`
	Inbox      string    `json:"inbox"`
	FollowedAt time.Time `json:"followedAt"`
	NoBot      bool      `json:"noBot,omitempty"`
}

// ErrNotFollower means the actor named is not a (pending) follower.
var ErrNotFollower = errors.New("not a follower")

// AdminError is the body of an admin socket answer that is not 200 OK.
// Code names the errors a staff command must tell apart: a status alone
// cannot say them, since 404 is also what a daemon answers for a route it
// does not have (an older crieur than the command's).
type AdminError struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"`
}

// CodeNotFollower is the AdminError code of ErrNotFollower.
const CodeNotFollower = "not-follower"

// Queue lists the next n publications of the (first) bot.
func (a *App) Queue(n int) ([]QueueItem, error) {
	name := a.bots.Names()[0]
	b, _ := a.bots.Get(name)
	plan, err := a.publisher.Plan(name, n)
	if err != nil {
		return nil, err
	}
	folder := b.Folder()
	now := a.cfg.Now()
	out := make([]QueueItem, 0, len(plan))
	for _, p := range plan {
		item := QueueItem{At: p.At, Kind: string(p.Kind), Post: p.PostID, Due: !p.At.After(now)}
		loc := time.UTC
		if folder.Profile != nil && folder.Profile.Location != nil {
			loc = folder.Profile.Location
		}
		item.When = p.At.In(loc).Format("Mon 2006-01-02 15:04 MST")
		if post := folder.Post(p.PostID); post != nil {
			item.First = firstLine(post.NoteMarkdown(p.Kind, p.At))
			item.Next = post.Next && p.Kind == content.PubTip
		}
		out = append(out, item)
	}
	return out, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	s = strings.ReplaceAll(s, "**", "")
	s = strings.Trim(s, "\\ ")
	return content.ShortenWords(s, 70)
}

// Followers lists the (first) bot's followers, pending ones included.
func (a *App) Followers() ([]FollowerItem, error) {
	name := a.bots.Names()[0]
	list, err := a.db.AllFollowers(name)
	if err != nil {
		return nil, err
	}
	out := make([]FollowerItem, 0, len(list))
	for _, f := range list {
		st := string(f.State)
		if st == "" {
			st = string(content.FollowerAccepted)
		}
		out = append(out, FollowerItem{Actor: f.ActorID, State: st, Inbox: f.DeliveryInbox(), FollowedAt: f.FollowedAt, NoBot: f.NoBot})
	}
	return out, nil
}

// Decide approves (accept=true) or rejects a follower: the Accept or
// Reject is queued to their inbox, and a rejected follower is removed.
func (a *App) Decide(actor string, accept bool) error {
	name := a.bots.Names()[0]
	f, ok, err := a.db.Follower(name, actor)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: %w", actor, ErrNotFollower)
	}
	follow := &federation.Incoming{ID: f.FollowID, Type: "Follow", Actor: f.ActorID, ObjectID: a.urls.Actor(name)}
	var tok [16]byte
	_, _ = rand.Read(tok[:])
	id := a.urls.NewActivityID(name, hex.EncodeToString(tok[:]))
	var activity []byte
	if accept {
		activity, err = federation.AcceptFollow(a.urls, name, id, follow)
	} else {
		activity, err = federation.RejectFollow(a.urls, name, id, follow)
	}
	if err != nil {
		return err
	}
	if accept {
		if err := a.db.AcceptFollower(name, f, id, activity, a.cfg.Now()); err != nil {
			return err
		}
		a.deliver.Wake()
		return nil
	}
	if _, err := a.db.RemoveFollower(name, actor); err != nil {
		return err
	}
	return a.deliver.Enqueue(context.Background(), name, id, activity, []string{f.Inbox})
}

// Deliveries summarises what became of each activity's deliveries, the
// answers to follows summed per day (sumFollowAnswers).
func (a *App) Deliveries() ([]store.ActivityStats, error) {
	stats, err := a.db.DeliveryStats(a.bots.Names()[0])
	return sumFollowAnswers(stats), err
}

// adminHandler serves the staff commands on the admin socket.
func (a *App) adminHandler() http.Handler {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, v any, err error) {
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			status, body := http.StatusInternalServerError, AdminError{Error: err.Error()}
			if errors.Is(err, ErrNotFollower) {
				status, body.Code = http.StatusNotFound, CodeNotFollower
			}
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(body)
			return
		}
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /queue", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if n <= 0 || n > 1000 {
			n = 10
		}
		items, err := a.Queue(n)
		reply(w, items, err)
	})
	mux.HandleFunc("GET /followers", func(w http.ResponseWriter, _ *http.Request) {
		items, err := a.Followers()
		reply(w, items, err)
	})
	mux.HandleFunc("GET "+FollowerListPath, a.serveFollowerList(reply))
	mux.HandleFunc("POST /followers/{decision}", func(w http.ResponseWriter, r *http.Request) {
		d := r.PathValue("decision")
		if d != "approve" && d != "reject" {
			http.NotFound(w, r)
			return
		}
		err := a.Decide(r.URL.Query().Get("actor"), d == "approve")
		reply(w, map[string]string{"result": d + "d"}, err)
	})
	mux.HandleFunc("GET /backup", a.serveBackup)
	mux.HandleFunc("POST /doctor", a.serveDoctor)
	mux.HandleFunc("GET /deliveries", func(w http.ResponseWriter, _ *http.Request) {
		stats, err := a.Deliveries()
		reply(w, stats, err)
	})
	a.staffRoutes(mux, reply)
	a.conversationRoutes(mux, reply)
	return mux
}

// listenAdmin opens the admin socket, owner-only (or group too, with
// Config.AdminSocketGroup), replacing a stale one left by a crash (the
// database lock proves no other daemon runs).
func (a *App) listenAdmin() (net.Listener, error) {
	path := filepath.Join(a.cfg.DataDir, AdminSocket)
	_ = os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	mode := os.FileMode(0o600)
	if a.cfg.AdminSocketGroup {
		mode = 0o660
		if st, err := os.Stat(a.cfg.DataDir); err == nil && st.Mode().Perm()&0o010 == 0 {
			a.log.Warn("the admin socket is open to the group, but the group cannot enter the data directory: make it 0750",
				"data", a.cfg.DataDir, "mode", st.Mode().Perm().String())
		}
	}
	if err := os.Chmod(path, mode); err != nil {
		l.Close()
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	return l, nil
}
