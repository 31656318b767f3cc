package federation

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestDecoderReusesNothingItReturned: a Decoder reuses its parser's memory
// from one body to the next, so what it returned for earlier bodies must
// not share that memory. Every body of the fuzz corpus (real and hostile
// activities) is decoded through one Decoder, in turn and then all again;
// each result, kept until the end, must still equal what DecodeActivity
// makes of its body alone.
func TestDecoderReusesNothingItReturned(t *testing.T) {
	files, err := filepath.Glob("testdata/fuzz/FuzzDecodeActivity/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("fuzz corpus: %v (%d files)", err, len(files))
	}
	var bodies [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		body, ok := corpusBytes(string(raw))
		if !ok {
			t.Fatalf("%s: not a []byte fuzz corpus entry", f)
		}
		bodies = append(bodies, body)
	}
	var d Decoder
	type result struct {
		in  *Incoming
		err error
	}
	var got []result
	decoded := 0
	for range 2 {
		for _, body := range bodies {
			in, err := d.Decode(body)
			got = append(got, result{in, err})
			if err == nil {
				decoded++
			}
		}
	}
	if decoded == 0 {
		t.Fatal("the corpus decoded to nothing: nothing was checked")
	}
	for i, r := range got {
		body := bodies[i%len(bodies)]
		want, werr := DecodeActivity(body)
		if (r.err == nil) != (werr == nil) || !reflect.DeepEqual(r.in, want) {
			t.Errorf("%s: through a reused Decoder %+v (%v), alone %+v (%v)", files[i%len(files)], r.in, r.err, want, werr)
		}
	}
}

// corpusBytes reads the one []byte value of a "go test fuzz v1" file.
func corpusBytes(file string) ([]byte, bool) {
	lines := strings.Split(strings.TrimSpace(file), "\n")
	if len(lines) != 2 || lines[0] != "go test fuzz v1" {
		return nil, false
	}
	v, ok := strings.CutPrefix(lines[1], "[]byte(")
	if !ok {
		return nil, false
	}
	s, err := strconv.Unquote(strings.TrimSuffix(v, ")"))
	if err != nil {
		return nil, false
	}
	return []byte(s), true
}
