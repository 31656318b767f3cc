package content

import (
	"errors"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Folder is a loaded content folder: the profile, the valid posts and the
// problems found. Broken files are left out and reported, never fatal.
type Folder struct {
	// Profile is nil when bot.yaml is missing or broken.
	Profile *Profile
	// Posts are the valid posts, sorted by ID.
	Posts []*Post
	// Problems lists everything wrong, sorted by file and line.
	Problems Problems
}

// Post returns the post with that ID, or nil.
func (f *Folder) Post(id string) *Post {
	i := sort.Search(len(f.Posts), func(i int) bool { return f.Posts[i].ID >= id })
	if i < len(f.Posts) && f.Posts[i].ID == id {
		return f.Posts[i]
	}
	return nil
}

// postDirs are the folders holding posts.
func postDirs() []string { return []string{"tips", "events"} }

// Load reads a content folder: bot.yaml and the posts in tips/ and events/.
// It never fails as a whole: each broken file is reported in Problems and
// skipped, so one typo never stops the other posts. Without a valid
// profile, posts are still parsed with the default language and timezone,
// so staff see all problems at once.
func Load(fsys fs.FS) *Folder {
	f := &Folder{}
	prof, err := LoadProfile(fsys)
	if err != nil {
		f.Problems = append(f.Problems, asProblems(err)...)
	} else {
		f.Profile = prof
	}
	for _, dir := range postDirs() {
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			if !isNotExist(err) {
				f.Problems = append(f.Problems, Problemf(dir, 0, "cannot read the folder: %v", err))
			}
			continue
		}
		for _, e := range entries {
			name := path.Join(dir, e.Name())
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") || !strings.HasSuffix(e.Name(), ".md") {
				// READMEs and editor files beside posts are not posts;
				// a folder inside tips/ is probably a mistake.
				if e.IsDir() {
					f.Problems = append(f.Problems, Problemf(name, 0, "sub-folders are not read; move the posts directly into %s/", dir))
				}
				continue
			}
			// Type from the listing: a pipe or device is never opened
			// (readRegular checks again, following links that stay in
			// the folder).
			if t := e.Type(); t&^fs.ModeSymlink != 0 {
				f.Problems = append(f.Problems, fileProblemAt(name, specialFile{mode: t}))
				continue
			}
			src, err := readRegular(fsys, name, MaxPostFileSize)
			if err != nil {
				f.Problems = append(f.Problems, fileProblemAt(name, err))
				continue
			}
			p, probs := ParsePost(fsys, name, src, prof)
			f.Problems = append(f.Problems, probs...)
			if p != nil {
				f.Posts = append(f.Posts, p)
			}
		}
	}
	sort.Slice(f.Posts, func(i, j int) bool { return f.Posts[i].ID < f.Posts[j].ID })
	f.Problems.Sort()
	return f
}

func asProblems(err error) Problems {
	var ps Problems
	if errors.As(err, &ps) {
		return ps
	}
	return Problems{{File: ProfileFile, Message: err.Error()}}
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// Check validates a content folder for staff: everything Load reports,
// plus what is legal for one file but wrong for the folder (two files with
// the same ID once case is ignored, which breaks on case-insensitive disks;
// tips and events without any post), and the warnings of lint.go (files
// that will be ignored, placeholders). It returns nil when all is well.
func Check(fsys fs.FS) Problems {
	f := Load(fsys)
	probs := append(Problems(nil), f.Problems...)
	seen := map[string]string{}
	for _, dir := range postDirs() {
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".md") {
				continue
			}
			name := path.Join(dir, e.Name())
			k := strings.ToLower(strings.TrimSuffix(name, ".md"))
			if other, dup := seen[k]; dup {
				probs = append(probs, Problemf(name, 0, "same name as %s except for case; rename one of them", other))
				continue
			}
			seen[k] = name
		}
	}
	probs = append(probs, checkMedia(fsys)...)
	for _, p := range f.Posts {
		probs = append(probs, swallowedProblems(p)...)
	}
	if f.Profile != nil {
		tips := 0
		for _, p := range f.Posts {
			if p.Kind == KindTip && !p.Draft && !p.Deleted && p.PublishAt.IsZero() {
				tips++
			}
		}
		if tips > 0 && len(f.Profile.Schedule.Tips) == 0 {
			probs = append(probs, Problemf(ProfileFile, 0, "%d tips wait for a weekly slot but schedule.tips is empty; add slots like [\"tue 10:00\"]", tips))
		}
	}
	probs = append(probs, lintFiles(fsys)...)
	probs = append(probs, lintValues(fsys)...)
	probs.Sort()
	if len(probs) == 0 {
		return nil
	}
	return probs
}

// MediaDir is the folder whose files are served as they are.
const MediaDir = "media"

// checkMedia reports the files of media/ that the media route refuses to
// serve: links, special files, files over MaxMediaSize, and SVG images
// (a script inside one would run on the bot's own site).
func checkMedia(fsys fs.FS) Problems {
	var probs Problems
	_ = fs.WalkDir(fsys, MediaDir, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			if !isNotExist(err) {
				probs = append(probs, fileProblemAt(name, err))
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		f, _, err := OpenMedia(fsys, name)
		if err != nil {
			probs = append(probs, fileProblemAt(name, err))
			return nil
		}
		f.Close()
		if strings.EqualFold(path.Ext(name), ".svg") {
			probs = append(probs, Problemf(name, 0, "SVG images are not served (a script inside one would run on the bot's site); convert it to PNG"))
		}
		return nil
	})
	return probs
}
