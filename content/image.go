package content

import (
	"errors"
	"image"
	_ "image/gif"  // registered for image.DecodeConfig
	_ "image/jpeg" // registered for image.DecodeConfig
	_ "image/png"  // registered for image.DecodeConfig
	"io/fs"
	"path"
	"strings"

	_ "golang.org/x/image/webp" // registered for image.DecodeConfig
)

// MaxImageSize is the largest image file accepted: Mastodon refuses remote
// media over 10 MiB (larger ones would show as broken links).
const MaxImageSize = 10 << 20

// checkImage validates an image referenced by the content folder and reads
// its type and dimensions. The returned message, when its Format is not
// empty, explains the problem and its fix (a Text, so that check translates it).
func checkImage(fsys fs.FS, file string) (Image, Text) {
	img := Image{File: file}
	clean := strings.TrimPrefix(file, "./")
	if clean == "" {
		return img, Textf(`file is missing; add "file: media/<name>.png"`)
	}
	if !fs.ValidPath(clean) || path.Clean(clean) != clean {
		return img, Textf("file %q must be a path inside the content folder, like media/photo.png (no \"..\" or leading \"/\")", file)
	}
	img.File = clean
	st, err := fs.Stat(fsys, clean)
	if err != nil && !errors.Is(err, ErrOutside) {
		return img, Textf("file %q not found; put the image in the content folder or fix the path (paths start from the folder root, e.g. media/photo.png)", file)
	}
	if err == nil && st.IsDir() {
		return img, Textf("file %q is a folder; name an image file", file)
	}
	if err == nil && st.Size() > MaxImageSize {
		return img, Textf("file %q is %.1f MiB; shrink it to 10 MiB or less", file, float64(st.Size())/(1<<20))
	}
	// The same checks as serving it: an image that would not be served
	// must not be announced.
	f, st, err := OpenMedia(fsys, clean)
	if err != nil {
		return img, Textf("file %q: %s", file, fileText(err))
	}
	defer f.Close()
	img.Size = st.Size()
	cfg, format, err := image.DecodeConfig(f)
	if err != nil {
		return img, Textf("file %q is not a PNG, JPEG, GIF or WebP image; convert it to one of these", file)
	}
	img.MediaType = "image/" + format
	img.Width, img.Height = cfg.Width, cfg.Height
	return img, Text{}
}
