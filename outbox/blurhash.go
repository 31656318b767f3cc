package outbox

import (
	"bytes"
	"crypto/sha256"
	"image"
	"io/fs"
	"math"
	"strings"

	"github.com/zoomacom/crieur/content"
)

// No maintained Go blurhash module is available to the project, and the
// encoder is a page of arithmetic (https://blurha.sh, Wolt's reference
// algorithm), so it lives here.

// blurhashComponents is Mastodon's choice (4×4): enough for a pleasant
// placeholder in a 30-character hash.
const blurhashComponents = 4

// blurhashSample bounds the pixels read on each axis: the hash keeps only
// the lowest frequencies, so a 10 MiB photo needs no full scan.
const blurhashSample = 64

const base83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"

func encode83(b *strings.Builder, value, length int) {
	for i := 1; i <= length; i++ {
		digit := (value / int(math.Pow(83, float64(length-i)))) % 83
		b.WriteByte(base83[digit])
	}
}

func srgbToLinear(v uint32) float64 {
	f := float64(v) / 65535
	if f <= 0.04045 {
		return f / 12.92
	}
	return math.Pow((f+0.055)/1.055, 2.4)
}

func linearToSRGB(v float64) int {
	v = math.Max(0, math.Min(1, v))
	if v <= 0.0031308 {
		return int(v*12.92*255 + 0.5)
	}
	return int((1.055*math.Pow(v, 1/2.4)-0.055)*255 + 0.5)
}

func signPow(v, exp float64) float64 {
	return math.Copysign(math.Pow(math.Abs(v), exp), v)
}

// Blurhash computes the BlurHash of img with 4×4 components, the
// placeholder Mastodon shows while an attachment loads.
func Blurhash(img image.Image) string {
	bounds := img.Bounds()
	w, h := bounds.Dx(), bounds.Dy()
	if w <= 0 || h <= 0 {
		return ""
	}
	// Sample a grid of at most blurhashSample² pixels.
	sw, sh := min(w, blurhashSample), min(h, blurhashSample)
	type rgb struct{ r, g, b float64 }
	px := make([]rgb, sw*sh)
	for y := 0; y < sh; y++ {
		for x := 0; x < sw; x++ {
			r, g, b, _ := img.At(bounds.Min.X+x*w/sw, bounds.Min.Y+y*h/sh).RGBA()
			px[y*sw+x] = rgb{srgbToLinear(r), srgbToLinear(g), srgbToLinear(b)}
		}
	}
	const nx, ny = blurhashComponents, blurhashComponents
	factors := make([]rgb, 0, nx*ny)
	for j := 0; j < ny; j++ {
		for i := 0; i < nx; i++ {
			norm := 2.0
			if i == 0 && j == 0 {
				norm = 1
			}
			var f rgb
			for y := 0; y < sh; y++ {
				cy := math.Cos(math.Pi * float64(j) * float64(y) / float64(sh))
				for x := 0; x < sw; x++ {
					basis := math.Cos(math.Pi*float64(i)*float64(x)/float64(sw)) * cy
					p := px[y*sw+x]
					f.r += basis * p.r
					f.g += basis * p.g
					f.b += basis * p.b
				}
			}
			scale := norm / float64(sw*sh)
			factors = append(factors, rgb{f.r * scale, f.g * scale, f.b * scale})
		}
	}
	var b strings.Builder
	encode83(&b, (nx-1)+(ny-1)*9, 1)
	dc, ac := factors[0], factors[1:]
	maxAC := 0.0
	for _, f := range ac {
		maxAC = math.Max(maxAC, math.Max(math.Abs(f.r), math.Max(math.Abs(f.g), math.Abs(f.b))))
	}
	quantMax := int(math.Max(0, math.Min(82, math.Floor(maxAC*166-0.5))))
	maxValue := float64(quantMax+1) / 166
	encode83(&b, quantMax, 1)
	encode83(&b, linearToSRGB(dc.r)<<16+linearToSRGB(dc.g)<<8+linearToSRGB(dc.b), 4)
	quant := func(v float64) int {
		return int(math.Max(0, math.Min(18, math.Floor(signPow(v/maxValue, 0.5)*9+9.5))))
	}
	for _, f := range ac {
		encode83(&b, quant(f.r)*19*19+quant(f.g)*19+quant(f.b), 2)
	}
	return b.String()
}

// blurhash returns the BlurHash of a post's image, computed once per file
// content (keyed by its SHA-256) and cached: an image attached to a tip
// repeated for years is decoded once per run, never per delivery. It
// returns "" when the image cannot be read; the attachment is still sent.
func (p *Publisher) blurhash(bot string, img content.Image) string {
	if p.Files == nil {
		return ""
	}
	fsys := p.Files(bot)
	if fsys == nil {
		return ""
	}
	data, err := fs.ReadFile(fsys, img.File)
	if err != nil {
		p.Log.Warn("read image for blurhash", "file", img.File, "err", err)
		return ""
	}
	sum := sha256.Sum256(data)
	p.mu.Lock()
	hash, ok := p.blurhashes[sum]
	p.mu.Unlock()
	if ok {
		return hash
	}
	decoded, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		p.Log.Warn("decode image for blurhash", "file", img.File, "err", err)
		return ""
	}
	hash = Blurhash(decoded)
	p.mu.Lock()
	if p.blurhashes == nil {
		p.blurhashes = map[[sha256.Size]byte]string{}
	}
	p.blurhashes[sum] = hash
	p.mu.Unlock()
	return hash
}
