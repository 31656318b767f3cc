package inbox

import (
	"net/http"

	"github.com/zoomacom/crieur/federation/signature"
)

// claimedKeyID is the keyId the request's signature names, read by the
// verifier's own parser without verifying anything: only to refuse a
// blocked signer before its key is fetched. A header that parser refuses
// names no key, and the verifier will refuse it without a fetch too.
func claimedKeyID(r *http.Request) string {
	keyID, err := signature.ClaimedKeyID(r)
	if err != nil {
		return ""
	}
	return keyID
}
