package signature

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestVerifiedSignatureNamesTheDelivery checks what the inbox's replay cache
// relies on: Verified.Signature is the same for a captured request sent
// again, even with its signature re-encoded (padding stripped, which the
// verifier accepts), and differs for a fresh signature of the same body a
// second later.
func TestVerifiedSignatureNamesTheDelivery(t *testing.T) {
	signer := mustSigner(t, testKeyID, botKey)
	schemes := []struct {
		name string
		sign func(*http.Request, []byte, time.Time) error
		// unpad strips the base64 padding of the signature value.
		unpad func(*http.Request)
	}{
		{name: SchemeCavage, sign: signer.Sign, unpad: func(r *http.Request) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), `=="`, `"`, 1))
		}},
		{name: SchemeRFC9421, sign: signer.SignRFC9421, unpad: func(r *http.Request) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), `==:`, `:`, 1))
		}},
	}
	for _, sc := range schemes {
		t.Run(sc.name, func(t *testing.T) {
			verify := func(t *testing.T, at time.Time, mutate func(*http.Request)) Verified {
				t.Helper()
				r := newClientRequest(t, http.MethodPost, inboxURL, testBody)
				if err := sc.sign(r, testBody, at); err != nil {
					t.Fatalf("sign: %v", err)
				}
				sr := toServer(t, r, testBody)
				if mutate != nil {
					mutate(sr)
				}
				v, err := Verify(context.Background(), sr, testBody, signedAt.Add(time.Minute), newResolver(&botKey.PublicKey).resolve)
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if v.Scheme != sc.name {
					t.Fatalf("scheme %q, want %q", v.Scheme, sc.name)
				}
				if len(v.Signature) != botKey.Size() {
					t.Fatalf("Signature is %d bytes, want the %d of an RSA-2048 signature", len(v.Signature), botKey.Size())
				}
				return v
			}
			first := verify(t, signedAt, nil)
			if again := verify(t, signedAt, nil); !bytes.Equal(again.Signature, first.Signature) {
				t.Error("the same request sent twice has two different signatures")
			}
			// An RSA-2048 signature is 256 bytes: base64 pads it with "==".
			unpad := func(r *http.Request) {
				before := r.Header.Get("Signature")
				if sc.unpad(r); r.Header.Get("Signature") == before {
					t.Fatalf("no padding to strip in %q", before)
				}
			}
			if unpadded := verify(t, signedAt, unpad); !bytes.Equal(unpadded.Signature, first.Signature) {
				t.Error("re-encoding the signature changed Verified.Signature: a replay could pass for a new delivery")
			}
			if fresh := verify(t, signedAt.Add(time.Second), nil); bytes.Equal(fresh.Signature, first.Signature) {
				t.Error("a signature over a new date equals the old one")
			}
		})
	}
}
