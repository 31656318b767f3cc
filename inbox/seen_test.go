package inbox

import (
	"fmt"
	"testing"

	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/federation/signature"
)

// TestSeenKeys: the replay cache keys a Follow (and its Undo) by id and
// signature, so a fresh re-follow under a reused id gets through while
// the same signature does not; every other activity by id alone. A
// request's other signatures add keys, but at most maxOtherSignatures of
// them: one request must not cost the store unbounded writes.
func TestSeenKeys(t *testing.T) {
	sig := func(n int) []byte { return []byte(fmt.Sprintf("signature %d", n)) }
	others := make([][]byte, 3*maxOtherSignatures)
	for i := range others {
		others[i] = sig(i + 1)
	}
	const id = "https://misskey.example/follows/a/b"
	tests := []struct {
		name       string
		act        federation.Incoming
		v          signature.Verified
		want       int  // number of keys
		signatured bool // keys differ from the id
	}{
		{name: "Follow", act: federation.Incoming{ID: id, Type: "Follow"}, v: signature.Verified{Signature: sig(0)}, want: 1, signatured: true},
		{name: "Undo of a Follow", act: federation.Incoming{ID: id, Type: "Undo", ObjectType: "Follow"}, v: signature.Verified{Signature: sig(0)}, want: 1, signatured: true},
		{name: "Undo of a bare id", act: federation.Incoming{ID: id, Type: "Undo"}, v: signature.Verified{Signature: sig(0)}, want: 1, signatured: true},
		{name: "Undo of a Like", act: federation.Incoming{ID: id, Type: "Undo", ObjectType: "Like"}, v: signature.Verified{Signature: sig(0), Others: others}, want: 1},
		{name: "Create", act: federation.Incoming{ID: id, Type: "Create"}, v: signature.Verified{Signature: sig(0), Others: others}, want: 1},
		{name: "Follow with other signatures, bounded", act: federation.Incoming{ID: id, Type: "Follow"}, v: signature.Verified{Signature: sig(0), Others: others}, want: 1 + maxOtherSignatures, signatured: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := seenKeys(&tt.act, tt.v)
			if len(keys) != tt.want {
				t.Fatalf("%d keys %q, want %d", len(keys), keys, tt.want)
			}
			seen := map[string]bool{}
			for _, k := range keys {
				if seen[k] {
					t.Errorf("key %q twice", k)
				}
				seen[k] = true
				if (k != tt.act.ID) != tt.signatured {
					t.Errorf("key %q for id %q: signature in key %t, want %t", k, tt.act.ID, k != tt.act.ID, tt.signatured)
				}
			}
			if !tt.signatured {
				return
			}
			// Another signature (a fresh delivery) is another key; the same
			// bytes are the same key.
			fresh := seenKeys(&tt.act, signature.Verified{Signature: sig(99)})
			if seen[fresh[0]] {
				t.Errorf("a fresh signature gives a key already there: %q", fresh[0])
			}
			if again := seenKeys(&tt.act, tt.v); again[0] != keys[0] {
				t.Errorf("the same signature gives %q then %q", keys[0], again[0])
			}
		})
	}
}
