// Package federation is crieur's protocol edge: it maps the domain
// (content.Profile, content.Follower, posts) to the ActivityStreams
// documents other servers read (actor, WebFinger, NodeInfo, collections,
// activities), decodes what they send us, and fetches remote actors and
// keys. Subpackages hold the HTTP signature code (signature) and the only
// outbound HTTP client (safehttp).
package federation
