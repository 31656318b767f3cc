// Package signature signs and verifies HTTP requests the way Mastodon does:
// draft-cavage HTTP signatures (the "Signature" header every fediverse server
// accepts) on both sides, and RFC 9421 HTTP message signatures
// ("Signature-Input" + "Signature", sent by Mastodon 4.5 and later) on the
// receiving side, with a small RFC 9421 signer for peers that ask for it.
//
// Verification is strict on purpose: each rule here closes a hole that was
// exploited against some fediverse server (see PROTOCOL.md). Every refusal
// wraps one of the exported sentinel errors, all of which the inbox maps to
// 401 Unauthorized.
//
// The package knows nothing about where keys come from: the caller hands
// Verify a KeyResolver that caches and fetches actor keys.
package signature
