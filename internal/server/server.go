package server

import (
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/inbox"
	"github.com/zoomacom/crieur/store"
	"github.com/zoomacom/crieur/web"
)

// Server answers every HTTP request crieur serves.
type Server struct {
	URLs    federation.URLs
	Bots    *Bots
	DB      *store.DB
	Inbox   *inbox.Inbox
	Pages   *web.Pages
	Version string
	// Metrics serves /metrics (Prometheus); nil answers 404.
	Metrics http.Handler
	// Featured lists a bot's pinned objects (encoded), newest first.
	Featured func(bot string) []json.RawMessage
	// ObjectPage renders a browser page for one of our objects; nil falls
	// back to the JSON.
	ObjectPage func(w http.ResponseWriter, r *http.Request, objectID string, object []byte)
	// Extra lets other packages add routes (e.g. event .ics files).
	Extra func(r *mux.Router)
	// Upcoming lists a bot's announced events that have not ended, soonest
	// first, for its profile and calendar feed; nil lists none.
	Upcoming func(bot string) []Upcoming
	// Now is the clock (the calendar's DTSTAMP); nil is time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Routes is the HTTP handler of the whole server.
func (s *Server) Routes() http.Handler {
	r := mux.NewRouter()
	r.HandleFunc("/healthz", s.healthz).Methods(http.MethodGet, http.MethodHead)
	if s.Metrics != nil {
		r.Handle("/metrics", s.Metrics).Methods(http.MethodGet)
	}
	r.HandleFunc("/.well-known/webfinger", s.webfinger).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/.well-known/host-meta", s.hostMeta).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/.well-known/nodeinfo", s.nodeInfoLinks).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/nodeinfo/{version:2\\.[01]}", s.nodeInfo).Methods(http.MethodGet, http.MethodHead)

	inboxHandler := s.Inbox.Handler(func(r *http.Request) string { return mux.Vars(r)["bot"] })
	r.Handle("/inbox", inboxHandler).Methods(http.MethodPost)
	r.Handle("/users/{bot}/inbox", inboxHandler).Methods(http.MethodPost)

	r.HandleFunc("/", s.home).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/favicon.ico", s.favicon).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(web.StylesheetPath, s.stylesheet).Methods(http.MethodGet, http.MethodHead)
	// The feeds before /@{bot}, whose {bot} would match "name.rss".
	r.HandleFunc("/@{bot}.rss", s.rssFeed).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/@{bot}.ics", s.calendarFeed).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/users/{bot}", s.actor).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/@{bot}", s.profilePage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/users/{bot}/followers", s.followers).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/users/{bot}/following", s.following).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/users/{bot}/outbox", s.outbox).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/users/{bot}/collections/featured", s.featured).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/media/{bot}/{file:.+}", s.media).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/tags/{tag}", s.tagPage).Methods(http.MethodGet, http.MethodHead)
	if s.Extra != nil {
		s.Extra(r)
	}
	// Every other GET under /users/BOT/ may be one of our objects (posts,
	// events, activities), served as stored.
	r.PathPrefix("/users/{bot}/").HandlerFunc(s.object).Methods(http.MethodGet, http.MethodHead)
	r.NotFoundHandler = http.HandlerFunc(s.notFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	})
	return PageHeaders(r)
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) webfinger(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	name, err := s.URLs.ParseResource(r.URL.Query().Get("resource"))
	switch {
	case errors.Is(err, federation.ErrNoSuchUser):
		http.Error(w, "no such user", http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if _, ok := s.Bots.Get(name); !ok {
		http.Error(w, "no such user", http.StatusNotFound)
		return
	}
	body, err := federation.WebFinger(s.URLs, name)
	s.write(w, federation.JRDContentType, body, err)
}

func (s *Server) hostMeta(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	s.write(w, "application/xrd+xml; charset=utf-8", federation.HostMeta(s.URLs), nil)
}

func (s *Server) nodeInfoLinks(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	body, err := federation.NodeInfoLinks(s.URLs)
	s.write(w, "application/json", body, err)
}

func (s *Server) nodeInfo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	version := mux.Vars(r)["version"]
	usage := federation.NodeInfoUsage{Users: len(s.Bots.Names())}
	for _, name := range s.Bots.Names() {
		n, err := s.DB.CountPublished(name)
		if err != nil {
			s.fail(w, "count posts", err)
			return
		}
		usage.LocalPosts += n
	}
	// One bot: the site is that bot, and its name is what people know.
	nodeName := ""
	if names := s.Bots.Names(); len(names) == 1 {
		if b, ok := s.Bots.Get(names[0]); ok {
			nodeName = b.Profile().Name
		}
	}
	body, err := federation.NodeInfo(version, s.Version, nodeName, usage)
	s.write(w, federation.NodeInfoContentType(version), body, err)
}

// bot returns the bot named in the route or answers 404.
func (s *Server) bot(w http.ResponseWriter, r *http.Request) (*Bot, bool) {
	b, ok := s.Bots.Get(mux.Vars(r)["bot"])
	if ok {
		return b, true
	}
	if WantsHTML(r) {
		s.notFound(w, r)
	} else {
		http.Error(w, "no such user", http.StatusNotFound)
	}
	return b, ok
}

func (s *Server) actor(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bot(w, r)
	if !ok {
		return
	}
	if WantsHTML(r) {
		http.Redirect(w, r, s.URLs.Profile(b.Username), http.StatusSeeOther)
		return
	}
	body, err := federation.ActorDocument(s.URLs, b.Profile(), b.PublicKeyPEM, b.Published())
	s.writeAS(w, body, err)
}

func (s *Server) profilePage(w http.ResponseWriter, r *http.Request) {
	if b, ok := s.bot(w, r); ok {
		s.profile(w, r, b)
	}
}

// profile serves the profile page of b (JSON clients are sent to the
// actor): pinned posts first, upcoming events, feeds.
func (s *Server) profile(w http.ResponseWriter, r *http.Request, b *Bot) {
	if !WantsHTML(r) && WantsActivityJSON(r) {
		http.Redirect(w, r, s.URLs.Actor(b.Username), http.StatusSeeOther)
		return
	}
	p := b.Profile()
	followers, err := s.DB.CountFollowers(b.Username, content.FollowerAccepted)
	if err != nil {
		s.fail(w, "count followers", err)
		return
	}
	data := web.Profile{
		Name: p.Name, Handle: s.URLs.Handle(b.Username), ActorURL: s.URLs.Actor(b.Username),
		Summary: template.HTML(p.SummaryHTML), Followers: followers, Language: p.Language, Location: p.Location,
	}
	if p.Avatar != "" {
		data.Avatar = s.URLs.Media(b.Username, p.Avatar)
	}
	if p.Header != "" {
		data.Header = s.URLs.Media(b.Username, p.Header)
	}
	for _, f := range p.Fields {
		data.Fields = append(data.Fields, web.ProfileField{Name: f.Name, Value: template.HTML(f.ValueHTML)})
	}
	data.Posts = s.pinnedPosts(b.Username)
	for _, ps := range s.recentPosts(b.Username, 20) {
		if !slices.ContainsFunc(data.Posts, func(p web.PostSummary) bool { return p.URL == ps.URL }) {
			data.Posts = append(data.Posts, ps)
		}
	}
	data.Events = s.upcomingEvents(b)
	data.Feeds = s.feedLinks(b.Username)
	body, err := s.Pages.RenderProfile(data)
	s.write(w, "text/html; charset=utf-8", body, err)
}

// recentPosts reads the newest Create activities of the outbox for the
// profile page.
func (s *Server) recentPosts(bot string, n int) []web.PostSummary {
	posts, _ := s.postsTagged(bot, "", n, n)
	return posts
}

// postsTagged reads up to n posts among the newest scan of the outbox,
// those with hashtag tag only when tag is not empty. spelling is the tag
// as the newest matching post writes it (#AssoCamp for /tags/assocamp).
func (s *Server) postsTagged(bot, tag string, n, scan int) (out []web.PostSummary, spelling string) {
	acts, _, err := s.DB.Outbox(bot, 0, scan)
	if err != nil {
		s.log().Error("read outbox", "bot", bot, "err", err)
		return nil, ""
	}
	for _, raw := range acts {
		var a struct {
			Object struct {
				ID        string `json:"id"`
				URL       any    `json:"url"`
				Content   string `json:"content"`
				Published string `json:"published"`
				Tag       []struct {
					Type, Name string
				} `json:"tag"`
			} `json:"object"`
		}
		if json.Unmarshal(raw, &a) != nil || a.Object.ID == "" {
			continue
		}
		if tag != "" {
			i := slices.IndexFunc(a.Object.Tag, func(t struct{ Type, Name string }) bool {
				return t.Type == "Hashtag" && strings.EqualFold(strings.TrimPrefix(t.Name, "#"), tag)
			})
			if i < 0 {
				continue
			}
			if spelling == "" {
				spelling = strings.TrimPrefix(a.Object.Tag[i].Name, "#")
			}
		}
		if len(out) == n {
			break
		}
		ps := web.PostSummary{URL: a.Object.ID, Content: template.HTML(a.Object.Content)}
		ps.Published, _ = parseTime(a.Object.Published)
		out = append(out, ps)
	}
	return out, spelling
}

// tagPage lists the recent posts carrying a hashtag: the page the
// hashtag links of our posts point to.
func (s *Server) tagPage(w http.ResponseWriter, r *http.Request) {
	tag := mux.Vars(r)["tag"]
	if len(tag) > 100 {
		s.notFound(w, r)
		return
	}
	data := web.TagPage{Tag: tag}
	spelled := false
	for _, name := range s.Bots.Names() {
		posts, spelling := s.postsTagged(name, tag, 40, 500)
		data.Posts = append(data.Posts, posts...)
		if spelling != "" && !spelled {
			// The address is lower case (Tag URLs are); the page shows
			// the tag as the posts write it.
			data.Tag, spelled = spelling, true
		}
		if data.Handle == "" {
			b, _ := s.Bots.Get(name)
			data.Handle, data.Profile, data.Language = s.URLs.Handle(name), s.URLs.Profile(name), b.Profile().Language
			data.Location = b.Profile().Location
		}
	}
	body, err := s.Pages.RenderTag(data)
	s.write(w, "text/html; charset=utf-8", body, err)
}

// page reads ?page=N; 0 means the collection itself was asked for.
func page(r *http.Request) (int, bool) {
	v := r.URL.Query().Get("page")
	if v == "" {
		return 0, true
	}
	if v == "true" { // Mastodon's first-page form
		return 1, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1_000_000 {
		return 0, false
	}
	return n, true
}

func (s *Server) followers(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bot(w, r)
	if !ok {
		return
	}
	n, ok := page(r)
	if !ok {
		http.Error(w, "bad page", http.StatusBadRequest)
		return
	}
	total, err := s.DB.CountFollowers(b.Username, content.FollowerAccepted)
	if err != nil {
		s.fail(w, "count followers", err)
		return
	}
	id := s.URLs.Followers(b.Username)
	if n == 0 {
		body, err := federation.OrderedCollection(id, total)
		s.writeAS(w, body, err)
		return
	}
	list, err := s.DB.ListFollowersIn(b.Username, content.FollowerAccepted, (n-1)*federation.PageSize, federation.PageSize)
	if err != nil {
		s.fail(w, "list followers", err)
		return
	}
	ids := make([]string, 0, len(list))
	for _, f := range list {
		ids = append(ids, f.ActorID)
	}
	body, err := federation.OrderedCollectionPage(id, n, total, federation.IDList(ids))
	s.writeAS(w, body, err)
}

func (s *Server) following(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bot(w, r)
	if !ok {
		return
	}
	s.staticCollection(w, r, s.URLs.Following(b.Username), nil)
}

func (s *Server) featured(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bot(w, r)
	if !ok {
		return
	}
	var items []json.RawMessage
	if s.Featured != nil {
		items = s.Featured(b.Username)
	}
	s.staticCollection(w, r, s.URLs.Featured(b.Username), items)
}

// staticCollection serves a short collection whose items fit one page.
func (s *Server) staticCollection(w http.ResponseWriter, r *http.Request, id string, items []json.RawMessage) {
	n, ok := page(r)
	if !ok || n > 1 {
		http.Error(w, "bad page", http.StatusBadRequest)
		return
	}
	if n == 0 {
		body, err := federation.OrderedCollection(id, len(items))
		s.writeAS(w, body, err)
		return
	}
	body, err := federation.OrderedCollectionPage(id, 1, len(items), items)
	s.writeAS(w, body, err)
}

func (s *Server) outbox(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bot(w, r)
	if !ok {
		return
	}
	n, ok := page(r)
	if !ok {
		http.Error(w, "bad page", http.StatusBadRequest)
		return
	}
	id := s.URLs.Outbox(b.Username)
	offset := 0
	if n > 0 {
		offset = (n - 1) * federation.PageSize
	}
	acts, total, err := s.DB.Outbox(b.Username, offset, federation.PageSize)
	if err != nil {
		s.fail(w, "read outbox", err)
		return
	}
	if n == 0 {
		body, err := federation.OrderedCollection(id, total)
		s.writeAS(w, body, err)
		return
	}
	items := make([]json.RawMessage, 0, len(acts))
	for _, a := range acts {
		items = append(items, federation.StripContext(a))
	}
	body, err := federation.OrderedCollectionPage(id, n, total, items)
	s.writeAS(w, body, err)
}

// object serves one of our stored objects: the same JSON as delivered, a
// Tombstone with 410 once deleted, or a page for browsers.
func (s *Server) object(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.bot(w, r); !ok {
		return
	}
	id := s.URLs.Base() + r.URL.EscapedPath()
	obj, ok, err := s.DB.Object(id)
	if err != nil {
		s.fail(w, "read object", err)
		return
	}
	if !ok {
		if !s.reactionCollection(w, id) {
			s.notFound(w, r)
		}
		return
	}
	gone := isTombstone(obj)
	if !gone {
		if obj, err = s.withReactions(id, obj); err != nil {
			s.fail(w, "read reactions", err)
			return
		}
	}
	if WantsHTML(r) && s.ObjectPage != nil {
		s.ObjectPage(w, r, id, obj)
		return
	}
	w.Header().Set("Content-Type", federation.ContentType)
	w.Header().Set("Vary", "Accept")
	if gone {
		w.WriteHeader(http.StatusGone)
	}
	_, _ = w.Write(obj)
}

func isTombstone(obj []byte) bool {
	var probe struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(obj, &probe) == nil && probe.Type == "Tombstone"
}

// media serves images of a bot's content folder: its avatar and header and
// anything under media/, nothing else (bot.yaml and drafts stay private).
func (s *Server) media(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bot(w, r)
	if !ok {
		return
	}
	file := mux.Vars(r)["file"]
	p := b.Profile()
	if !fs.ValidPath(file) || (!strings.HasPrefix(file, "media/") && file != p.Avatar && file != p.Header) {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	ct := mime.TypeByExtension(path.Ext(file))
	// SVG may carry script that would run on our origin: never served.
	if !strings.HasPrefix(ct, "image/") || strings.HasPrefix(ct, "image/svg") {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	// OpenMedia refuses links, pipes, devices and files over the cap, so a
	// pushed symlink cannot publish the key and a huge file is streamed
	// by ServeContent, never read whole.
	f, st, err := content.OpenMedia(b.Content, file)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.log().Warn("media file refused", "file", strconv.Quote(file), "err", err)
		}
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	if rs, ok := f.(io.ReadSeeker); ok {
		http.ServeContent(w, r, "", st.ModTime(), rs)
		return
	}
	w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
	_, _ = io.Copy(w, io.LimitReader(f, st.Size()))
}

func (s *Server) writeAS(w http.ResponseWriter, body []byte, err error) {
	w.Header().Set("Vary", "Accept")
	s.write(w, federation.ContentType, body, err)
}

func (s *Server) write(w http.ResponseWriter, contentType string, body []byte, err error) {
	if err != nil {
		s.fail(w, "render "+contentType, err)
		return
	}
	w.Header().Set("Content-Type", contentType)
	_, _ = w.Write(body)
}

// fail logs the cause and gives the client no internal detail.
func (s *Server) fail(w http.ResponseWriter, what string, err error) {
	s.log().Error(what, "err", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}
