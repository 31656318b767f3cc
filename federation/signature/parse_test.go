package signature

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseSignatureHeader(t *testing.T) {
	const sig = "c2lnbmF0dXJl" // "signature"
	tests := []struct {
		name        string
		in          string
		wantKeyID   string
		wantAlg     string
		wantHeaders []string
		wantCreated int64
		wantErr     bool
	}{
		{name: "mastodon", in: `keyId="https://a.example/u#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest content-type",signature="` + sig + `"`,
			wantKeyID: "https://a.example/u#main-key", wantAlg: "rsa-sha256", wantHeaders: []string{"(request-target)", "host", "date", "digest", "content-type"}},
		{name: "spaces after commas", in: `keyId="k", headers="Date HOST", signature="` + sig + `"`,
			wantKeyID: "k", wantHeaders: []string{"date", "host"}},
		{name: "default headers", in: `keyId="k",signature="` + sig + `"`, wantKeyID: "k", wantHeaders: []string{"date"}},
		{name: "token created", in: `keyId="k",created=1402170695,headers="(created)",signature="` + sig + `"`,
			wantKeyID: "k", wantHeaders: []string{"(created)"}, wantCreated: 1402170695},
		{name: "unknown parameter ignored", in: `keyId="k",foo="bar",signature="` + sig + `"`, wantKeyID: "k", wantHeaders: []string{"date"}},
		{name: "escaped quote", in: `keyId="k\"x",signature="` + sig + `"`, wantKeyID: `k"x`, wantHeaders: []string{"date"}},
		{name: "escapes amid text", in: `keyId="ab\"cd\\ef\gh",signature="` + sig + `"`, wantKeyID: `ab"cd\efgh`, wantHeaders: []string{"date"}},
		{name: "unpadded base64", in: `keyId="k",signature="YQ"`, wantKeyID: "k", wantHeaders: []string{"date"}},

		{name: "empty", in: ``, wantErr: true},
		{name: "no keyId", in: `signature="` + sig + `"`, wantErr: true},
		{name: "no signature", in: `keyId="k"`, wantErr: true},
		{name: "duplicate keyId", in: `keyId="a",keyId="b",signature="` + sig + `"`, wantErr: true},
		{name: "unterminated quote", in: `keyId="k,signature="` + sig, wantErr: true},
		{name: "spaces around equals", in: `keyId = "k",signature="` + sig + `"`, wantErr: true},
		{name: "trailing comma", in: `keyId="k",signature="` + sig + `",`, wantErr: true},
		{name: "double space in headers", in: `keyId="k",headers="host  date",signature="` + sig + `"`, wantErr: true},
		{name: "header twice", in: `keyId="k",headers="date date",signature="` + sig + `"`, wantErr: true},
		{name: "signature not base64", in: `keyId="k",signature="%%%"`, wantErr: true},
		{name: "negative created", in: `keyId="k",created=-5,signature="` + sig + `"`, wantErr: true},
		{name: "control character", in: "keyId=\"k\x00\",signature=\"" + sig + "\"", wantErr: true},
		{name: "non-ASCII", in: `keyId="clé",signature="` + sig + `"`, wantErr: true},
		{name: "too long", in: `keyId="` + strings.Repeat("k", MaxHeaderLen) + `",signature="` + sig + `"`, wantErr: true},
		{name: "too many headers", in: `keyId="k",headers="` + strings.TrimSpace(manyHeaders(40)) + `",signature="` + sig + `"`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSignatureHeader(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.KeyID != tt.wantKeyID || got.Algorithm != tt.wantAlg || !slices.Equal(got.Headers, tt.wantHeaders) || got.Created != tt.wantCreated {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func manyHeaders(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("x-h")
		b.WriteByte(byte('a' + i%26))
		b.WriteByte(byte('a' + i/26))
		b.WriteByte(' ')
	}
	return b.String()
}

func TestParseSFDictionary(t *testing.T) {
	tests := []struct {
		in    string
		ok    bool
		first string // canonical form of the first member when it is an inner list
	}{
		{in: `sig1=("@method" "@target-uri");created=1;keyid="k"`, ok: true, first: `sig1=("@method" "@target-uri");created=1;keyid="k"`},
		{in: `a=(),  b=:AQID:`, ok: true, first: `a=()`},
		{in: `sig1=( "a"  "b" );x`, ok: true, first: `sig1=("a" "b");x`},
		{in: `a=1.5;b=?0;c=tok/en`, ok: true},
		{in: `A=1`},
		{in: `a=1,a=2`},
		{in: `a=("x"`},
		{in: `a="unterminated`},
		{in: `a=1,`},
		{in: `a=1234567890123456`},
		{in: `a=:!!:`},
		{in: `a="\x"`},
		{in: `a=(1);p=1;p=2`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ms, err := parseSFDictionary(tt.in)
			if !tt.ok {
				if err == nil {
					t.Fatalf("parsed %q, want an error", tt.in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.first == "" {
				return
			}
			var b strings.Builder
			b.WriteString(ms[0].key + "=")
			serializeInnerList(&b, ms[0].items, ms[0].params)
			if b.String() != tt.first {
				t.Errorf("first member serialises as %q, want %q", b.String(), tt.first)
			}
		})
	}
}

func FuzzParseSignatureHeader(f *testing.F) {
	f.Add(`keyId="https://a.example/u#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="c2ln"`)
	f.Fuzz(func(t *testing.T, in string) {
		sp, err := ParseSignatureHeader(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if sp.KeyID == "" || len(sp.Signature) == 0 || len(sp.Headers) == 0 || len(sp.Headers) > maxCovered {
			t.Fatalf("accepted incomplete params %+v from %q", sp, in)
		}
		for _, h := range sp.Headers {
			if h == "" || h != strings.ToLower(h) {
				t.Fatalf("bad header name %q", h)
			}
		}
	})
}

func FuzzParseSignatureInput(f *testing.F) {
	f.Add(`sig1=("@method" "@target-uri" "content-digest");created=1618884473;keyid="https://a.example/u#main-key";alg="rsa-v1_5-sha256"`)
	f.Fuzz(func(t *testing.T, in string) {
		inputs, err := parseSignatureInput(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// What we accept must serialise to something we parse back to the
		// same serialisation: the signature base depends on it.
		for _, in := range inputs {
			var b strings.Builder
			b.WriteString(in.label + "=")
			serializeInnerList(&b, in.items, in.params)
			again, err := parseSignatureInput(b.String())
			if err != nil {
				t.Fatalf("re-parse %q: %v", b.String(), err)
			}
			var b2 strings.Builder
			b2.WriteString(again[0].label + "=")
			serializeInnerList(&b2, again[0].items, again[0].params)
			if b.String() != b2.String() {
				t.Fatalf("unstable serialisation %q -> %q", b.String(), b2.String())
			}
		}
	})
}
