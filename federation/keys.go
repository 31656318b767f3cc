package federation

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// KeyBits is the size of the RSA keys we create: what Mastodon uses, and
// what every fediverse server verifies.
const KeyBits = 2048

// Key is a bot's signing key and when it was created, which is also when
// the actor came into being (its "published" date).
type Key struct {
	Private *rsa.PrivateKey
	Created time.Time
}

// LoadOrCreateKey returns the signing key of bot, kept in dir/keys/BOT.pem.
// The first call creates it (owner-only permissions, written to a temporary
// file and synced, then linked into place, so a crash never leaves a half
// key); every later call reads the same key. The link is an exclusive
// create: when two processes race on an empty directory, the second finds
// the first one's key and uses it, never replaces it. Losing that file
// orphans every follower. Callers hold the data directory's lock (the
// database) so only one process creates keys at all.
func LoadOrCreateKey(dir, bot string, now time.Time) (*Key, error) {
	keyDir := filepath.Join(dir, "keys")
	path := filepath.Join(keyDir, bot+".pem")
	k, err := LoadKey(dir, bot)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		return nil, fmt.Errorf("create key directory: %w", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, fmt.Errorf("generate key for %s: %w", bot, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key for %s: %w", bot, err)
	}
	created := now.UTC().Truncate(time.Second)
	block := &pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Created": created.Format(time.RFC3339)}, Bytes: der}
	err = writeFileExclusive(path, pem.EncodeToMemory(block), 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it meanwhile: theirs is the key.
		return LoadKey(dir, bot)
	}
	if err != nil {
		return nil, fmt.Errorf("save key %s: %w", path, err)
	}
	return &Key{Private: key, Created: created}, nil
}

// LoadKey reads the signing key of bot without ever creating one (for
// read-only commands); a missing key is an error wrapping fs.ErrNotExist.
func LoadKey(dir, bot string) (*Key, error) {
	path := filepath.Join(dir, "keys", bot+".pem")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", path, err)
	}
	return parseKey(path, data)
}

func parseKey(path string, data []byte) (*Key, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("key %s: no PEM block; restore it from your backup", path)
	}
	var parsed any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("key %s: unexpected PEM type %q", path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key %s: not an RSA key", path)
	}
	created, _ := time.Parse(time.RFC3339, block.Headers["Created"])
	return &Key{Private: key, Created: created}, nil
}

// PublicKeyPEM encodes the public half of key as the actor document
// publishes it.
func PublicKeyPEM(key *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", fmt.Errorf("encode public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// ParsePublicKeyPEM decodes an RSA public key as remote actors publish it
// (PKIX "PUBLIC KEY", or PKCS#1 "RSA PUBLIC KEY" as some servers do).
func ParsePublicKeyPEM(s string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("public key: no PEM block")
	}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("public key: not an RSA key")
		}
		return rk, nil
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("public key: unexpected PEM type %q", block.Type)
}

// writeFileExclusive writes data to path only if path does not exist, and
// all at once: the bytes go to a synced temporary file that is then
// hard-linked to path (link fails with fs.ErrExist rather than replace).
func writeFileExclusive(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
