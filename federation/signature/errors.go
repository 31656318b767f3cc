package signature

import "errors"

// Sentinel errors returned (wrapped) by Verify. Each of them means the request
// must be answered with 401 Unauthorized; they are distinct so that logs and
// metrics can tell a misconfigured peer from an attack.
var (
	// ErrUnsigned means the request carries no signature at all.
	ErrUnsigned = errors.New("signature: request is not signed")
	// ErrMalformed means a signature header is present but cannot be parsed,
	// is too long, or lacks a mandatory parameter.
	ErrMalformed = errors.New("signature: malformed signature header")
	// ErrAlgorithm means the signature names an algorithm other than
	// RSA PKCS#1 v1.5 with SHA-256, or the key is not a usable RSA key.
	ErrAlgorithm = errors.New("signature: unsupported algorithm")
	// ErrMissingHeaders means the signature does not cover what Mastodon
	// requires (request target, host, date, digest) or a covered header is
	// absent from the request.
	ErrMissingHeaders = errors.New("signature: required headers are not signed")
	// ErrDigest means the body digest header is missing, malformed, uses an
	// unsupported algorithm, or does not match the body.
	ErrDigest = errors.New("signature: body digest mismatch")
	// ErrExpired means the signature's date is outside the accepted window.
	ErrExpired = errors.New("signature: outside the validity window")
	// ErrBadSignature means the cryptographic check failed, even after the
	// key was refetched once.
	ErrBadSignature = errors.New("signature: verification failed")
	// ErrKeyID means the keyId is not an acceptable URL, or the resolved key
	// does not belong to it.
	ErrKeyID = errors.New("signature: unacceptable keyId")
)
