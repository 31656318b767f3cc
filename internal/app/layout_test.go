package app_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// screenshots keeps the layout tests' screenshots (PNG) in a directory, to
// look at them: go test ./internal/app -run TestLayout -screenshots /tmp/shots
var screenshots = flag.String("screenshots", "", "save the layout tests' screenshots (PNG) in this directory")

// browserTimeout bounds one browser session: starting Chromium on a busy
// CI machine can take a while, a page never should.
const browserTimeout = 3 * time.Minute

// layoutCheck runs in the page and lists what a reader would see broken:
// no main heading (or several), a horizontal scroll bar, text or images
// outside the window, text drawn
// over other text, images or stylesheets that did not load, and a phone layout that
// ignored the viewport (a 980 px page shrunk to fit). Boxes come from the
// browser's own layout (Range.getClientRects), line by line. It is a
// function of the window's width in CSS pixels: a phone that ignores the
// viewport widens window.innerWidth along with the layout, so only the
// width asked for shows the page was shrunk.
const layoutCheck = `((want) => {
  const problems = [];
  const vw = document.documentElement.clientWidth;
  if (vw !== want) problems.push("layout width " + vw + " px in a " + want + " px window (viewport ignored, or a vertical scroll bar that takes room)");
  const h1 = [...document.querySelectorAll("h1")].filter(h => h.getClientRects().length > 0);
  if (h1.length !== 1) problems.push("the page has " + h1.length + " visible h1 headings, want one");
  const sw = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
  if (sw > vw) problems.push("horizontal scroll: the page is " + sw + " px wide in a " + vw + " px window");
  const boxes = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.textContent.replace(/\s+/g, " ").trim();
    if (!text) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    for (const b of range.getClientRects()) {
      if (b.width < 1 || b.height < 1) continue;
      boxes.push({b, text: text.slice(0, 50)});
      if (b.left < -0.5 || b.right > vw + 0.5) problems.push("text outside the window: \"" + text.slice(0, 50) + "\" spans " + Math.round(b.left) + " to " + Math.round(b.right) + " px");
    }
  }
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i].b, c = boxes[j].b;
      const w = Math.min(a.right, c.right) - Math.max(a.left, c.left);
      const h = Math.min(a.bottom, c.bottom) - Math.max(a.top, c.top);
      // Glyph boxes of consecutive lines may touch; text drawn over text
      // covers a good part of the smaller line's height.
      if (w > 2 && h > 0.3 * Math.min(a.height, c.height)) {
        problems.push("overlapping text: \"" + boxes[i].text + "\" and \"" + boxes[j].text + "\"");
      }
    }
  }
  for (const link of document.querySelectorAll('link[rel="stylesheet"]')) {
    let rules = 0;
    try { rules = link.sheet ? link.sheet.cssRules.length : 0; } catch (e) {}
    if (rules === 0) problems.push("stylesheet not loaded: " + link.href);
  }
  for (const img of document.images) {
    const b = img.getBoundingClientRect();
    if (!img.complete || img.naturalWidth === 0) problems.push("image not loaded: " + img.currentSrc);
    if (b.left < -0.5 || b.right > vw + 0.5) problems.push("image outside the window: " + img.currentSrc + " spans " + Math.round(b.left) + " to " + Math.round(b.right) + " px");
  }
  return problems;
})`

// viewport is a window size the pages must work at.
type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

// viewports: a common phone (390 px wide, CSS pixels) and a laptop.
var viewports = []viewport{{"phone", 390, 844, true}, {"desktop", 1280, 900, false}}

// chromium finds the browser; a machine without it fails the test rather
// than skip it, so a CI that lost the install step cannot pass unseen.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CRIEUR_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is not installed: the layout tests need it. Install it (apt-get install -y chromium, as .ci/run does) or set CRIEUR_CHROMIUM to its path")
	return ""
}

// newBrowser starts a headless Chromium for the test; resolverRules maps
// host names to loopback addresses (the app's virtual host).
func newBrowser(t *testing.T, resolverRules string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("lang", "fr-FR"),
		chromedp.UserDataDir(t.TempDir()),
	}
	if resolverRules != "" {
		opts = append(opts, chromedp.Flag("host-resolver-rules", resolverRules))
	}
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return browser
}

// layout opens url at vp and returns the problems layoutCheck finds and a
// screenshot of the whole page (PNG).
func layout(ctx context.Context, url string, vp viewport) ([]string, []byte, error) {
	tab, cancel := chromedp.NewContext(ctx)
	defer cancel()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
	if vp.mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	if err := chromedp.Do(tab, chromedp.EmulateViewport(vp.width, vp.height, opts...), chromedp.Navigate(url)); err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", url, err)
	}
	// Web fonts and images are local, but let the load settle.
	if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`document.fonts.ready`, chromedp.EvalAwaitPromise)); err != nil {
		return nil, nil, fmt.Errorf("wait for fonts on %s: %w", url, err)
	}
	problems, err := chromedp.Run(tab, chromedp.Evaluate[[]string](fmt.Sprintf("%s(%d)", layoutCheck, vp.width)))
	if err != nil {
		return nil, nil, fmt.Errorf("check layout of %s: %w", url, err)
	}
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		return nil, nil, fmt.Errorf("screenshot %s: %w", url, err)
	}
	return problems, png, nil
}

// TestLayout opens the pages people land on in a real browser, at phone
// and laptop widths: the profile, a tip, an event, a hashtag and the 404
// page must have no horizontal scroll, nothing outside the window, no
// text over text, every image and the stylesheet loaded.
func TestLayout(t *testing.T) {
	s := startWebSite(t)
	ctx := newBrowser(t, "MAP "+crieurHost+" "+s.in.addr)
	campNote := s.events["events/2099-05-assocamp"]
	pages := []struct{ name, url string }{
		{"profile", baseURL + "/@" + bot},
		{"tip", s.tipNote},
		{"event", campNote},
		{"tag", baseURL + "/tags/assocamp"},
		{"notfound", baseURL + "/nulle-part"},
	}
	dir := *screenshots
	if dir == "" {
		dir = t.TempDir()
	}
	for _, p := range pages {
		for _, vp := range viewports {
			t.Run(p.name+"/"+vp.name, func(t *testing.T) {
				problems, png, err := layout(ctx, p.url, vp)
				if err != nil {
					t.Fatal(err)
				}
				for _, pr := range problems {
					t.Errorf("%s at %d px: %s", p.name, vp.width, pr)
				}
				file := filepath.Join(dir, fmt.Sprintf("%s-%d.png", p.name, vp.width))
				if err := os.WriteFile(file, png, 0o644); err != nil {
					t.Fatal(err)
				}
				if !isPNG(png) {
					t.Errorf("screenshot %s is not a PNG", file)
				}
			})
		}
	}
}

// TestLayoutCheckFinds runs the checker on pages broken on purpose, each
// defect at least once, so a TestLayout that passes means the pages are
// sound, not that the checker sees nothing.
func TestLayoutCheckFinds(t *testing.T) {
	const head = `<!doctype html><html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>cassé</title>`
	pages := []struct {
		name, html string
		want       []string
	}{
		{"many defects", head + `
<style>.a{position:absolute;top:100px;left:10px}</style><link rel="stylesheet" href="/missing.css"></head><body>
<pre>` + strings.Repeat("unmotsansespaceoùcouper", 20) + `</pre>
<p class="a">Premier texte posé ici</p><p class="a">Second texte posé dessus</p>
<img src="/missing.png" alt="absente" width="20" height="20">
</body></html>`, []string{"0 visible h1 headings", "horizontal scroll", "text outside the window", `overlapping text: "Premier texte posé ici" and "Second texte posé dessus"`, "image not loaded", "stylesheet not loaded: /missing.css"}},
		// No viewport meta: a phone lays the page out 980 px wide and
		// shrinks it, so everything is tiny.
		{"viewport ignored", `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>sans viewport</title></head><body>
<h1>Titre</h1><p>Un texte court.</p></body></html>`, []string{"layout width 980 px in a 390 px window (viewport ignored"}},
		// A loaded image pushed past the right edge; the body clips it, so
		// only the image check can see it.
		{"image outside the window", head + `</head><body style="overflow-x:hidden">
<h1>Titre</h1><img src="/pixel.png" alt="point" width="100" height="20" style="position:relative;left:350px"></body></html>`, []string{"image outside the window: /pixel.png spans 358 to 458 px"}},
	}
	var pixel bytes.Buffer
	if err := png.Encode(&pixel, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/pixel.png" {
			w.Header().Set("Content-Type", "image/png")
			w.Write(pixel.Bytes())
			return
		}
		for _, p := range pages {
			if r.URL.Path == "/"+p.name {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				fmt.Fprint(w, p.html)
				return
			}
		}
		http.NotFound(w, r)
	}))
	defer broken.Close()
	ctx := newBrowser(t, "")
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			problems, _, err := layout(ctx, broken.URL+"/"+url.PathEscape(p.name), viewports[0])
			if err != nil {
				t.Fatal(err)
			}
			all := strings.ReplaceAll(strings.Join(problems, "\n"), broken.URL, "")
			for _, want := range p.want {
				if !strings.Contains(all, want) {
					t.Errorf("the checker missed %q; it found:\n%s", want, all)
				}
			}
			if p.name == "viewport ignored" && len(problems) != 1 {
				t.Errorf("the checker found %d problems, want only %q:\n%s", len(problems), p.want, all)
			}
		})
	}
}

func isPNG(b []byte) bool { return len(b) > 8 && string(b[:8]) == "\x89PNG\r\n\x1a\n" }
