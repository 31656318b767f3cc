package signature

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"net/http"
	"testing"
	"time"
)

// BenchmarkRawRSASign is the baseline: one RSA-2048 PKCS#1 v1.5 signature,
// which dominates the cost of signing a request.
func BenchmarkRawRSASign(b *testing.B) {
	h := sha256.Sum256(testBody)
	for b.Loop() {
		if _, err := rsa.SignPKCS1v15(rand.Reader, botKey, crypto.SHA256, h[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawRSAVerify is the baseline for BenchmarkVerify.
func BenchmarkRawRSAVerify(b *testing.B) {
	h := sha256.Sum256(testBody)
	sig, err := rsa.SignPKCS1v15(rand.Reader, botKey, crypto.SHA256, h[:])
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := rsa.VerifyPKCS1v15(&botKey.PublicKey, crypto.SHA256, h[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSign signs an inbox POST as a delivery worker would.
func BenchmarkSign(b *testing.B) {
	signer := mustSigner(b, testKeyID, botKey)
	b.ReportAllocs()
	for b.Loop() {
		r := newClientRequest(b, "POST", inboxURL, testBody)
		if err := signer.Sign(r, testBody, signedAt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignParallel signs from all Ps at once, through the signer pool.
func BenchmarkSignParallel(b *testing.B) {
	signer := mustSigner(b, testKeyID, botKey)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := newClientRequest(b, "POST", inboxURL, testBody)
			if err := signer.Sign(r, testBody, signedAt); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerify verifies an inbox POST with a cached key, as the inbox
// handler does for each delivery it receives, for both signature schemes.
func BenchmarkVerify(b *testing.B) {
	signer := mustSigner(b, testKeyID, botKey)
	for _, scheme := range []struct {
		name string
		sign func(*http.Request, []byte, time.Time) error
	}{
		{"draft-cavage", signer.Sign},
		{"rfc9421", signer.SignRFC9421},
	} {
		b.Run(scheme.name, func(b *testing.B) {
			r := newClientRequest(b, "POST", inboxURL, testBody)
			if err := scheme.sign(r, testBody, signedAt); err != nil {
				b.Fatal(err)
			}
			sr := toServer(b, r, testBody)
			res := newResolver(&botKey.PublicKey)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Verify(ctx, sr, testBody, signedAt, res.resolve); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInboxCheck is what the inbox does with each request's
// signature: read the keyId it names (the blocklist pre-check), then
// verify it with a cached key, from one parse.
func BenchmarkInboxCheck(b *testing.B) {
	signer := mustSigner(b, testKeyID, botKey)
	for _, scheme := range []struct {
		name string
		sign func(*http.Request, []byte, time.Time) error
	}{
		{"draft-cavage", signer.Sign},
		{"rfc9421", signer.SignRFC9421},
	} {
		b.Run(scheme.name, func(b *testing.B) {
			r := newClientRequest(b, "POST", inboxURL, testBody)
			if err := scheme.sign(r, testBody, signedAt); err != nil {
				b.Fatal(err)
			}
			sr := toServer(b, r, testBody)
			res := newResolver(&botKey.PublicKey)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				p, err := Parse(sr)
				if err != nil || p.KeyID() != testKeyID {
					b.Fatalf("Parse: %v", err)
				}
				if _, err := (VerifyOptions{}).VerifyParsed(ctx, p, testBody, signedAt, res.resolve); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
