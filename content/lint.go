package content

import (
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The checks here find what is legal but almost certainly a mistake: the
// bot would silently ignore a file, or publish a placeholder. They are
// warnings: the posts concerned still go out.

// rootName reports the files and folders expected at the content
// folder's root; anything else is reported when it looks like a post or a
// posts folder.
func rootName(name string) bool {
	switch name {
	case ProfileFile, "tips", "events", "media":
		return true
	}
	return false
}

// postLike reports extensions of files that staff meant as posts.
func postLike(ext string) bool {
	switch strings.ToLower(ext) {
	case ".md", ".markdown", ".mdown", ".mkd", ".txt", ".text", "":
		return true
	}
	return false
}

// folderTypo maps a misspelt or translated posts folder to the right one,
// "" when name does not look like one.
func folderTypo(name string) string {
	n := strings.ToLower(strings.TrimSuffix(name, "/"))
	n = strings.NewReplacer("é", "e", "è", "e", "ê", "e").Replace(n)
	switch n {
	case "tips", "tip", "astuces", "astuce", "conseils", "conseil", "trucs", "tipps":
		return "tips"
	case "events", "event", "evenements", "evenement", "evenemnts", "evenments", "evts", "agenda", "evenmts":
		return "events"
	}
	if editDistance(n, "events") <= 2 {
		return "events"
	}
	if editDistance(n, "tips") <= 1 {
		return "tips"
	}
	return ""
}

// lintFiles reports files and folders that Load will ignore although they
// look like posts: a tip saved as .MD, .markdown or .txt, a post at the
// root, a folder named evenements/.
func lintFiles(fsys fs.FS) Problems {
	var probs Problems
	root, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil
	}
	for _, e := range root {
		name := e.Name()
		if strings.HasPrefix(name, ".") || rootName(name) {
			continue
		}
		if e.IsDir() {
			if right := folderTypo(name); right != "" {
				probs = append(probs, Warningf(name+"/", 0, "this folder is not read, so its files are never published; did you mean %s/? Move the files there", right))
			}
			continue
		}
		ext := strings.ToLower(path.Ext(name))
		base := strings.ToUpper(strings.TrimSuffix(name, path.Ext(name)))
		if base == "README" || base == "LISEZMOI" || base == "LICENSE" || base == "LICENCE" || base == "CHANGELOG" {
			continue
		}
		if ext == ".md" || ext == ".markdown" {
			probs = append(probs, Warningf(name, 0, "files at the root of the folder are not published; move it into tips/ (a tip) or events/ (an event)"))
		}
	}
	for _, dir := range postDirs() {
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") || strings.HasSuffix(name, ".md") {
				continue
			}
			ext := path.Ext(name)
			if !postLike(ext) {
				continue
			}
			probs = append(probs, Warningf(path.Join(dir, name), 0, "ignored: only files ending in .md (lowercase) are read; rename it %s", path.Join(dir, strings.TrimSuffix(name, ext)+".md")))
		}
	}
	return probs
}

// placeholderRE matches values left as in a template: "<name>", TODO,
// "à compléter", "...".
var placeholderRE = regexp.MustCompile(`(?i)(<[\p{L} _'’-]+>|^\s*(todo|tbd|fixme|xxx+|à compléter|a completer|à définir|a definir|à venir|\.\.\.|…|\?+)\s*$)`)

// lintValues reports placeholders and values left empty in bot.yaml and
// in every post's front matter: `address: ""` passes the parser but
// announces an AssoCamp nobody can find.
func lintValues(fsys fs.FS) Problems {
	var probs Problems
	files := []string{ProfileFile}
	for _, dir := range postDirs() {
		entries, _ := fs.ReadDir(fsys, dir)
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".md") && !strings.HasPrefix(e.Name(), ".") {
				files = append(files, path.Join(dir, e.Name()))
			}
		}
	}
	for _, file := range files {
		// Through readRegular, like Load: a FIFO, a device or a huge file
		// is reported by Load, never read here.
		limit := int64(MaxPostFileSize)
		if file == ProfileFile {
			limit = MaxProfileFileSize
		}
		src, err := readRegular(fsys, file, limit)
		if err != nil {
			continue
		}
		front, offset := src, 0
		if file != ProfileFile {
			var ferr error
			front, _, _, ferr = splitFrontMatter(src)
			if ferr != nil {
				continue
			}
			offset = 1
		}
		var doc yaml.Node
		if yaml.Unmarshal(front, &doc) != nil || len(doc.Content) == 0 {
			continue // Load reports the syntax error
		}
		walkValues(doc.Content[0], "", func(key string, v *yaml.Node) {
			switch {
			case v.Kind != yaml.ScalarNode:
			case v.Tag == "!!null" || (v.Tag == "!!str" && strings.TrimSpace(v.Value) == ""):
				if optionalEmpty(lastKey(key)) || reportedEmpty(lastKey(key)) {
					return
				}
				probs = append(probs, Warningf(file, v.Line+offset, "%s is empty; fill it in, or remove the line if it does not apply", key))
			case v.Tag == "!!str" && placeholderRE.MatchString(v.Value):
				probs = append(probs, Warningf(file, v.Line+offset, "%s looks like a placeholder (%q); replace it with the real value", key, v.Value))
			}
		})
	}
	return probs
}

// optionalEmpty reports keys that may be written empty on purpose.
func optionalEmpty(key string) bool {
	switch key {
	case "reminders", "tags", "replaces", "images", "fields", "blocklist", "pinned", "summary":
		return true
	}
	return false
}

// reportedEmpty reports keys that Load already refuses empty, with an
// error: a warning on top would say the same thing twice.
func reportedEmpty(key string) bool {
	return key == "alt"
}

func lastKey(key string) string {
	if i := strings.LastIndexAny(key, ".]"); i >= 0 && key[i] == '.' {
		return key[i+1:]
	}
	return key
}

// walkValues calls fn for every value under n, with its path ("location.address",
// "images[0].alt").
func walkValues(n *yaml.Node, key string, fn func(key string, v *yaml.Node)) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if key != "" {
				k = key + "." + k
			}
			walkValues(n.Content[i+1], k, fn)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			walkValues(c, key+"["+strconv.Itoa(i)+"]", fn)
		}
	default:
		fn(key, n)
	}
}

// editDistance is the Levenshtein distance, for short folder names.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}

// CheckHistory reports what only the bot's publication history reveals:
// a post whose publish_at (or announce_at) is past but was never
// published goes out at once, not at that date; a file whose text was
// already published under another name is a renamed file, published again
// (and the old one retracted). fsys locates the lines.
func CheckHistory(fsys fs.FS, f *Folder, h History, now time.Time) Problems {
	published := map[string]bool{}
	for key := range h.Published {
		id, _, _ := strings.Cut(key, "#")
		published[id] = true
	}
	byHash := map[string]string{}
	for id, hash := range h.Hashes {
		if prev, ok := byHash[hash]; !ok || id < prev {
			byHash[hash] = id
		}
	}
	var probs Problems
	for _, p := range f.Posts {
		if p.Draft || p.Deleted || published[p.ID] {
			continue
		}
		if old, ok := byHash[p.Hash]; ok && old != p.ID {
			probs = append(probs, Warningf(p.File, 0, "this text was already published as %s.md: a renamed file is published again as a new post (and the old one is retracted); give the file back its name %s.md", old, path.Base(old)))
			continue
		}
		if p.Event != nil && !p.Event.Cancelled && !p.Event.End.After(now) {
			// Never announced and already over: the bot never announces a
			// past event, so a wrong year (January's workshop written
			// in December with this year) would go unnoticed.
			probs = append(probs, Warningf(p.File, fileKeyLine(fsys, p.File, "end"), "this event ended (%s) and was never announced: the bot never announces a past event; check its dates (the year?)", p.Event.End.In(p.tz).Format("2006-01-02 15:04 MST")))
			continue
		}
		at, key := p.PublishAt, "publish_at"
		if p.Event != nil && p.PublishAt.IsZero() {
			at, key = p.Event.AnnounceAt, "announce_at"
		}
		if !at.IsZero() && at.Before(now) {
			probs = append(probs, Warningf(p.File, fileKeyLine(fsys, p.File, key), "%s is past (%s) and this post was never published: it goes out as soon as the bot sees it; set a future date, or remove the line to take the next free slot", key, at.In(p.tz).Format("2006-01-02 15:04 MST")))
		}
	}
	probs.Sort()
	return probs
}

// PastDates lists the posts whose publish_at is past, for when the
// history is unknown: they go out at once unless they were published.
func PastDates(f *Folder, now time.Time) []string {
	var out []string
	for _, p := range f.Posts {
		if !p.Draft && !p.Deleted && !p.PublishAt.IsZero() && p.PublishAt.Before(now) {
			out = append(out, p.File)
		}
	}
	sort.Strings(out)
	return out
}

// fileKeyLine is the line of "key:" in a post's front matter, 0 if absent.
func fileKeyLine(fsys fs.FS, file, key string) int {
	src, err := readRegular(fsys, file, MaxPostFileSize)
	if err != nil {
		return 0
	}
	for i, l := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(l, key+":") {
			return i + 1
		}
	}
	return 0
}
