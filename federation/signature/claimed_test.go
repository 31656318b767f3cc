package signature

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
)

// TestParsedKeyID checks that the keyId a caller reads before verifying
// (to refuse a blocked signer without fetching its key) is exactly the one
// VerifyParsed then asks the resolver for, decoy parameters included: a
// looser reader shown `a-keyId="…"` named one key while the verifier
// fetched another (issue 12).
func TestParsedKeyID(t *testing.T) {
	signer := mustSigner(t, testKeyID, botKey)
	const decoy = "https://leurre.example/users/x#main-key"
	created := strconv.FormatInt(signedAt.Unix(), 10)
	rfcMember := `("@method" "@target-uri" "content-digest");created=` + created + `;keyid="` + testKeyID + `"`
	tests := []struct {
		name string
		sign func(t testing.TB, r *http.Request, body []byte)
		want string
		err  error
	}{
		{name: "draft-cavage", sign: func(t testing.TB, r *http.Request, body []byte) {
			if err := signer.Sign(r, body, signedAt); err != nil {
				t.Fatal(err)
			}
		}, want: testKeyID},
		{name: "draft-cavage with a decoy a-keyId before keyId", sign: func(t testing.TB, r *http.Request, body []byte) {
			if err := signer.Sign(r, body, signedAt); err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Signature", `a-keyId="`+decoy+`",`+r.Header.Get("Signature"))
		}, want: testKeyID},
		{name: "draft-cavage with a decoy xkeyid after keyId", sign: func(t testing.TB, r *http.Request, body []byte) {
			if err := signer.Sign(r, body, signedAt); err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Signature", r.Header.Get("Signature")+`,xkeyid="`+decoy+`"`)
		}, want: testKeyID},
		{name: "draft-cavage keyId given twice", sign: func(t testing.TB, r *http.Request, body []byte) {
			if err := signer.Sign(r, body, signedAt); err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Signature", `keyId="`+decoy+`",`+r.Header.Get("Signature"))
		}, err: ErrMalformed},
		{name: "two Signature headers", sign: func(t testing.TB, r *http.Request, body []byte) {
			if err := signer.Sign(r, body, signedAt); err != nil {
				t.Fatal(err)
			}
			r.Header.Add("Signature", `keyId="`+decoy+`",signature="AAAA"`)
		}, err: ErrMalformed},
		{name: "unsigned", sign: func(testing.TB, *http.Request, []byte) {}, err: ErrUnsigned},
		{name: "RFC 9421", sign: func(t testing.TB, r *http.Request, body []byte) {
			if err := signer.SignRFC9421(r, body, signedAt); err != nil {
				t.Fatal(err)
			}
		}, want: testKeyID},
		{name: "RFC 9421 with a decoy a-keyid parameter", sign: func(t testing.TB, r *http.Request, body []byte) {
			r.Header.Set("Content-Digest", contentDigest(body))
			signRFC9421Custom(t, r, botKey, `("@method" "@target-uri" "content-digest");a-keyid="`+decoy+`";created=`+created+`;keyid="`+testKeyID+`"`)
		}, want: testKeyID},
		{name: "RFC 9421 with an unsigned decoy label first", sign: func(t testing.TB, r *http.Request, body []byte) {
			r.Header.Set("Content-Digest", contentDigest(body))
			signRFC9421Custom(t, r, botKey, rfcMember)
			r.Header.Set("Signature-Input", `leurre=("@method");created=`+created+`;keyid="`+decoy+`", `+r.Header.Get("Signature-Input"))
		}, want: testKeyID},
		{name: "RFC 9421 Signature-Input without Signature", sign: func(t testing.TB, r *http.Request, body []byte) {
			r.Header.Set("Signature-Input", "sig1="+rfcMember)
		}, err: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newClientRequest(t, http.MethodPost, inboxURL, testBody)
			tt.sign(t, r, testBody)
			sr := toServer(t, r, testBody)
			p, err := Parse(sr)
			wantErr(t, err, tt.err)
			if tt.err != nil {
				// Verify refuses it with the very same error, before
				// any key is asked for.
				_, verr := Verify(context.Background(), sr, testBody, signedAt, func(context.Context, string, bool) (PublicKey, error) {
					t.Error("Verify asked for a key of a signature Parse refused")
					return PublicKey{}, ErrKeyID
				})
				if !errors.Is(verr, tt.err) {
					t.Errorf("Verify error %v, Parse error %v", verr, err)
				}
				return
			}
			got := p.KeyID()
			if got != tt.want {
				t.Fatalf("KeyID = %q, want %q", got, tt.want)
			}
			// The verifier asks for the claimed key and no other.
			var mu sync.Mutex
			var asked []string
			res := newResolver(&botKey.PublicKey)
			_, verr := VerifyOptions{}.VerifyParsed(context.Background(), p, testBody, signedAt, func(ctx context.Context, keyID string, refresh bool) (PublicKey, error) {
				mu.Lock()
				asked = append(asked, keyID)
				mu.Unlock()
				return res.resolve(ctx, keyID, refresh)
			})
			if verr != nil {
				t.Fatalf("VerifyParsed: %v", verr)
			}
			if len(asked) == 0 || slices.ContainsFunc(asked, func(k string) bool { return k != got }) {
				t.Errorf("VerifyParsed asked the resolver for %q, KeyID said %q", asked, got)
			}
		})
	}
}
