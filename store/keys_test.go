package store

import (
	"errors"
	"testing"
)

func TestRemoteKeys(t *testing.T) {
	db, path := openTest(t, Options{})
	k := RemoteKey{
		KeyID:        "https://asso.example/users/benevole#main-key",
		Owner:        "https://asso.example/users/benevole",
		PublicKeyPEM: "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n",
		FetchedAt:    t0,
	}
	mustNoErr(t, db.PutRemoteKey(k))
	mustNoErr(t, db.Close())
	db, err := Open(path, Options{})
	mustNoErr(t, err)
	defer db.Close()

	got, ok, err := db.RemoteKey(k.KeyID)
	mustNoErr(t, err)
	if !ok || got.Owner != k.Owner || got.PublicKeyPEM != k.PublicKeyPEM || !got.FetchedAt.Equal(k.FetchedAt) {
		t.Fatalf("RemoteKey = %+v, %v; want %+v", got, ok, k)
	}
	k.PublicKeyPEM = "rotated"
	mustNoErr(t, db.PutRemoteKey(k))
	if got, _, _ := db.RemoteKey(k.KeyID); got.PublicKeyPEM != "rotated" {
		t.Errorf("PutRemoteKey did not replace: %+v", got)
	}
	mustNoErr(t, db.DeleteRemoteKey(k.KeyID))
	mustNoErr(t, db.DeleteRemoteKey(k.KeyID)) // idempotent
	if _, ok, _ := db.RemoteKey(k.KeyID); ok {
		t.Error("key still cached after delete")
	}
	if err := db.PutRemoteKey(RemoteKey{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty key id: %v, want ErrInvalid", err)
	}
}
