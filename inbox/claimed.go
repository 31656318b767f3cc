package inbox

import (
	"github.com/zoomacom/crieur/federation/signature"
)

// claimedKeyID is the keyId the request's signature names, as parsed once
// for the verifier, without verifying anything: only to refuse a blocked
// signer before its key is fetched. A signature that did not parse (sig
// nil) names no key, and Receive refuses it without a fetch too.
func claimedKeyID(sig *signature.Parsed) string {
	if sig == nil {
		return ""
	}
	return sig.KeyID()
}
