package signature

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestVerifyParsedReadsTheParsedSignature: VerifyParsed checks the
// signature Parse read, and never reads the signature fields again. With
// the fields rewritten after Parse (to garbage, or to name another key),
// the parsed signature still verifies and only its key is asked for; the
// request's signed content is still checked (a method changed after
// Parse fails).
func TestVerifyParsedReadsTheParsedSignature(t *testing.T) {
	signer := mustSigner(t, testKeyID, botKey)
	const decoyKey = "https://leurre.example/users/x#main-key"
	for _, scheme := range []struct {
		name string
		sign func(*http.Request, []byte, time.Time) error
	}{
		{"draft-cavage", signer.Sign},
		{"rfc9421", signer.SignRFC9421},
	} {
		for _, tt := range []struct {
			name   string
			after  func(r *http.Request)
			wantOK bool
		}{
			{name: "fields unchanged", after: func(*http.Request) {}, wantOK: true},
			{name: "fields rewritten to garbage", after: func(r *http.Request) {
				r.Header.Set("Signature", "garbage")
				r.Header.Set("Signature-Input", "garbage")
			}, wantOK: true},
			{name: "fields rewritten to name another key", after: func(r *http.Request) {
				r.Header.Set("Signature", `keyId="`+decoyKey+`",headers="date",signature="AAAA"`)
				r.Header.Del("Signature-Input")
			}, wantOK: true},
			{name: "signed method changed", after: func(r *http.Request) {
				r.Method = http.MethodPut
			}},
		} {
			t.Run(scheme.name+"/"+tt.name, func(t *testing.T) {
				r := newClientRequest(t, http.MethodPost, inboxURL, testBody)
				if err := scheme.sign(r, testBody, signedAt); err != nil {
					t.Fatal(err)
				}
				sr := toServer(t, r, testBody)
				p, err := Parse(sr)
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if p.Scheme() != scheme.name {
					t.Errorf("Scheme = %q, want %q", p.Scheme(), scheme.name)
				}
				tt.after(sr)
				res := newResolver(&botKey.PublicKey)
				var asked []string
				v, err := VerifyOptions{}.VerifyParsed(context.Background(), p, testBody, signedAt, func(ctx context.Context, keyID string, refresh bool) (PublicKey, error) {
					asked = append(asked, keyID)
					return res.resolve(ctx, keyID, refresh)
				})
				for _, k := range asked {
					if k != testKeyID {
						t.Errorf("asked the resolver for %q, the parsed signature names %q", k, testKeyID)
					}
				}
				if !tt.wantOK {
					if err == nil {
						t.Fatal("verified a request whose signed method changed")
					}
					return
				}
				if err != nil {
					t.Fatalf("VerifyParsed: %v", err)
				}
				if v.KeyID != testKeyID || v.Scheme != scheme.name {
					t.Errorf("verified %q (%s), want %q (%s)", v.KeyID, v.Scheme, testKeyID, scheme.name)
				}
			})
		}
	}
}

// TestVerifyParsedNil: a nil Parsed is refused as unsigned, not a panic.
func TestVerifyParsedNil(t *testing.T) {
	res := newResolver(&botKey.PublicKey)
	_, err := VerifyOptions{}.VerifyParsed(context.Background(), nil, testBody, signedAt, res.resolve)
	wantErr(t, err, ErrUnsigned)
}
