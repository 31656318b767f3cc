package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/gorilla/mux"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/internal/server"
	"github.com/zoomacom/crieur/outbox"
	"github.com/zoomacom/crieur/store"
)

// publishInterval is how often due publications are looked for; a tip
// whose time has come goes out within this delay.
const publishInterval = time.Second

// watchContent re-reads the content folder when it changes, logging the
// problems of the new version; broken files are skipped, the others keep
// their schedule. File-system events tell of a change at once (see
// eventSettler for when it is read); polling every ContentPoll, with a
// change read once unchanged for ContentSettle, stays as the safety net
// and is all there is when events are unavailable.
func (a *App) watchContent(ctx context.Context, bot *server.Bot) {
	if a.cfg.ContentDir == "" {
		return // the embedded example never changes
	}
	l := contentLoop{a: a, bot: bot, reported: map[string]bool{}}
	for _, p := range bot.Folder().Problems {
		l.reported[p.Error()] = true
	}
	st := settler{loaded: a.loadedFP, settle: a.cfg.ContentSettle}
	ev := eventSettler{quiet: contentQuiet, settle: a.cfg.ContentSettle}
	fp := func() string { return fingerprint(bot.Content) }
	opened := l.rewatch(false)
	defer func() { l.w.close() }()
	ticker := time.NewTicker(a.cfg.ContentPoll)
	defer ticker.Stop()
	check := time.NewTimer(time.Hour)
	check.Stop()
	defer check.Stop()
	// changed notes an event (or lost events) and arms the check when
	// this begins a wait; later events only push the wait back.
	changed := func(inPlace bool) {
		waiting := ev.active
		ev.event(time.Now(), inPlace, fp)
		if !waiting {
			check.Reset(ev.wait(time.Now()))
		}
	}
	if opened {
		// What changed between New's reading and the watch is told by
		// no event: check once (the window is a few milliseconds, so the
		// quiet period rather than the settle of a write in place).
		changed(false)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if l.rewatch(false) {
				changed(true) // what changed while unwatched is unknown
			}
			if f := fp(); st.ready(f, time.Now()) {
				l.load(ctx)
			}
		case e, ok := <-l.w.events():
			if !ok {
				l.unwatch(errWatcherClosed)
				continue
			}
			// A watched folder created, removed or replaced: watch
			// anew, and wait as for a file written in place, since what
			// lands in a new folder before its watch goes unseen.
			folder := l.w.touchesWatch(e)
			if folder {
				l.rewatch(true)
			}
			changed(folder || writtenInPlace(e))
		case err, ok := <-l.w.errs():
			switch {
			case ok && errors.Is(err, fsnotify.ErrEventOverflow):
				changed(true) // what changed is unknown: the safe wait
			case ok:
				l.unwatch(err)
			default:
				l.unwatch(errWatcherClosed)
			}
		case <-check.C:
			now := time.Now()
			if d := ev.wait(now); d != 0 {
				if d > 0 {
					check.Reset(d)
				}
				continue
			}
			f := fp()
			if !ev.settled(f, now) {
				check.Reset(ev.wait(now))
				continue
			}
			if f != st.loaded {
				st.loaded, st.pending = f, ""
				l.load(ctx)
			}
		}
	}
}

// errWatcherClosed is why events stopped when the watcher closed itself.
var errWatcherClosed = errors.New("file-system watcher closed")

// contentLoop is the state watchContent keeps besides when to read.
type contentLoop struct {
	a        *App
	bot      *server.Bot
	reported map[string]bool // problems already logged
	w        *dirWatcher     // nil: polling only
	failing  bool            // watching failed and was logged
}

// rewatch opens the watcher when there is none (at start, after a
// failure) or when force or its watches no longer match the folders, and
// reports whether it opened one. A failure is logged once, until
// watching works again: the bot goes on polling.
func (l *contentLoop) rewatch(force bool) bool {
	if l.w != nil && !force && !l.w.stale() {
		return false
	}
	l.w.close()
	l.w = nil
	newWatcher := l.a.cfg.newWatcher
	if newWatcher == nil {
		if !fileEvents {
			return false
		}
		newWatcher = fsnotify.NewWatcher
	}
	w, err := openWatcher(l.a.cfg.ContentDir, newWatcher)
	if err != nil {
		l.unwatch(err)
		return false
	}
	if l.failing {
		l.a.log.Info("content folder: file-system events work again", "bot", l.bot.Username)
	}
	l.w, l.failing = w, false
	return true
}

// unwatch drops the watcher after err; polling goes on.
func (l *contentLoop) unwatch(err error) {
	l.w.close()
	l.w = nil
	if !l.failing {
		l.failing = true
		l.a.log.Warn("content folder: file-system events unavailable, changes are seen by polling only",
			"bot", l.bot.Username, "poll", l.a.cfg.ContentPoll.String(), "err", err)
	}
}

// load reads the content folder, logs its new problems, puts it in use
// and asks for a publish pass at once.
func (l *contentLoop) load(ctx context.Context) {
	a, bot := l.a, l.bot
	folder := content.Load(bot.Content)
	now := map[string]bool{}
	for _, p := range folder.Problems {
		now[p.Error()] = true
		if !l.reported[p.Error()] {
			a.log.Warn("content problem (file skipped until fixed)", "bot", bot.Username, "problem", p.Error())
		}
	}
	l.reported = now
	before, _ := federation.ActorDocument(a.urls, bot.Profile(), bot.PublicKeyPEM, bot.Published())
	bot.SetFolder(folder)
	a.announceProfile(ctx, bot, before)
	a.log.Info("content reloaded", "bot", bot.Username, "posts", len(folder.Posts), "problems", len(folder.Problems))
	a.publishNow()
}

// announceProfile sends an Update of the actor to the followers when a
// reload changed the profile (name, bio, avatar, fields...), so their
// servers show it now rather than at their next refresh.
func (a *App) announceProfile(ctx context.Context, bot *server.Bot, before []byte) {
	after, err := federation.ActorDocument(a.urls, bot.Profile(), bot.PublicKeyPEM, bot.Published())
	if err != nil || bytes.Equal(before, after) {
		return
	}
	actor, err := federation.Embedded(after)
	if err != nil {
		return
	}
	id := a.urls.NewActivityID(bot.Username, "profile-"+strconv.FormatInt(a.cfg.Now().UnixNano(), 36))
	activity := federation.Document{
		"id": id, "type": "Update", "actor": a.urls.Actor(bot.Username),
		"to": []string{federation.Public}, "cc": []string{a.urls.Followers(bot.Username)},
		"object": map[string]any(actor),
	}
	body, err := activity.Marshal()
	if err != nil {
		a.log.Error("encode profile update", "err", err)
		return
	}
	inboxes, err := a.db.DeliveryInboxes(bot.Username)
	if err != nil || len(inboxes) == 0 {
		return
	}
	if err := a.deliver.Enqueue(ctx, bot.Username, id, body, inboxes); err != nil {
		a.log.Error("queue profile update", "err", err)
		return
	}
	a.log.Info("profile changed: update sent to followers", "bot", bot.Username, "inboxes", len(inboxes))
}

// publishNow asks the publish loop for an immediate pass.
func (a *App) publishNow() {
	select {
	case a.publishWake <- struct{}{}:
	default:
	}
}

// publishLoop publishes what is due, for every bot, every second and
// whenever the content changes.
func (a *App) publishLoop(ctx context.Context) {
	ticker := time.NewTicker(publishInterval)
	defer ticker.Stop()
	streaks := map[string]*failStreak{}
	for {
		for _, name := range a.bots.Names() {
			a.publishPass(ctx, name, streaks)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-a.publishWake:
		}
	}
}

// publishPass runs one publish pass for bot unless a failure streak asks
// to wait; a failing store (disk full) is logged once per streak, not once
// per second, and the recovery once.
func (a *App) publishPass(ctx context.Context, bot string, streaks map[string]*failStreak) {
	s := streaks[bot]
	if s == nil {
		s = &failStreak{base: publishBackoffBase, max: publishBackoffMax}
		streaks[bot] = s
	}
	now := time.Now()
	if !s.due(now) {
		return
	}
	err := a.publisher.Tick(ctx, bot)
	switch {
	case ctx.Err() != nil:
	case err != nil:
		if s.failed(now) {
			a.log.Error("publish pass failed; retrying with backoff, logged again only once it works", "bot", bot, "err", err)
		}
	default:
		if n, since := s.succeeded(); n > 0 {
			a.log.Info("publishing works again", "bot", bot, "failed_passes", n, "since", since.UTC().Format(time.RFC3339))
		}
	}
}

// featured is the pinned collection: the introduction post and the next
// upcoming event, so a new follower's view of the profile is not empty.
func (a *App) featured(bot string) []json.RawMessage {
	var items []json.RawMessage
	pubs, err := a.db.Publications(bot)
	if err != nil {
		a.log.Error("read publications", "err", err)
		return nil
	}
	b, ok := a.bots.Get(bot)
	if !ok {
		return nil
	}
	folder := b.Folder()
	now := a.cfg.Now()
	var next *content.Post
	var nextObj string
	sort.SliceStable(pubs, func(i, j int) bool { return pubs[i].PublishedAt.After(pubs[j].PublishedAt) })
	for _, pub := range pubs {
		if pub.Deleted {
			continue
		}
		switch {
		case pub.Kind == outbox.KindIntro:
			if obj, ok, _ := a.db.Object(pub.ObjectID); ok {
				items = append(items, federation.StripContext(obj))
			}
		case content.PublicationKind(pub.Kind) == content.PubAnnounce:
			post := folder.Post(pub.PostID)
			if post == nil || post.Event == nil || post.Event.Cancelled || !post.Event.End.After(now) {
				continue
			}
			if next == nil || post.Event.Start.Before(next.Event.Start) {
				next, nextObj = post, pub.ObjectID
			}
		}
	}
	if next != nil {
		if obj, ok, _ := a.db.Object(nextObj); ok {
			items = append(items, federation.StripContext(obj))
		}
	}
	return items
}

// eventRoutes serves BASE/events/ID.ics, the calendar file of an event
// announced by a bot (ID is the token of its Event object).
func (a *App) eventRoutes(r *mux.Router) {
	r.HandleFunc("/events/{id}.ics", func(w http.ResponseWriter, req *http.Request) {
		id := mux.Vars(req)["id"]
		for _, name := range a.bots.Names() {
			eventID := a.urls.Actor(name) + "/events/" + id
			pub, ok := a.findByRelated(name, eventID)
			if !ok {
				continue
			}
			b, _ := a.bots.Get(name)
			post := b.Folder().Post(pub.PostID)
			if post == nil || post.Event == nil || pub.Deleted {
				http.Error(w, "gone", http.StatusGone)
				return
			}
			ics := content.EventICS(post, eventID, eventID, a.cfg.Now())
			w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="`+id+`.ics"`)
			_, _ = w.Write(ics)
			return
		}
		http.Error(w, "not found", http.StatusNotFound)
	}).Methods(http.MethodGet, http.MethodHead)
}

func (a *App) findByRelated(bot, objectID string) (pub store.Publication, ok bool) {
	pubs, err := a.db.Publications(bot)
	if err != nil {
		return pub, false
	}
	for _, p := range pubs {
		for _, r := range p.Related {
			if r == objectID {
				return p, true
			}
		}
	}
	return pub, false
}

// icsLink is the calendar file URL of an Event object id, "" otherwise.
func (a *App) icsLink(objectID string) string {
	for _, name := range a.bots.Names() {
		if tok, ok := strings.CutPrefix(objectID, a.urls.Actor(name)+"/events/"); ok {
			return a.urls.Base() + "/events/" + tok + ".ics"
		}
	}
	return ""
}
