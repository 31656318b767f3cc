package content

import (
	"bytes"
	"image"
	"image/png"
	"testing"
	"testing/fstest"
	"time"
)

// pngBytes encodes a real w×h PNG, so image checks decode real data.
func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const goodProfile = `username: zoomacom-tips
name: "Zoomacom — astuces libres"
summary: Des **astuces** libres.
avatar: media/avatar.png
fields:
  - name: Site
    value: https://www.zoomacom.org
  - name: Blog
    value: "[le blog](https://blog.zoomacom.org)"
schedule:
  tips: ["tue 10:00", "fri 17:30"]
  repeat_after: 60d
followers:
  approval: manual
blocklist: [Spam.Example, "https://bad.example/users/bob"]
pinned: Bonjour !
`

// folderFS builds a content folder with a valid profile, an avatar and
// the given extra files.
func folderFS(t testing.TB, files map[string]string) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{
		"bot.yaml":         {Data: []byte(goodProfile)},
		"media/avatar.png": {Data: pngBytes(t, 4, 3)},
		"media/photo.png":  {Data: pngBytes(t, 40, 30)},
	}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return fsys
}

func paris(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustProfile(t testing.TB) *Profile {
	t.Helper()
	p, err := LoadProfile(folderFS(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
