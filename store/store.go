// Package store is crieur's only persistence: one bbolt file holding, per
// bot, the followers, the publications and the outbox, and, shared by all
// bots, the served objects, the durable delivery queue, the remote-key cache,
// the replay cache and host health. It is the only package that imports
// bbolt; bbolt types never leave it.
//
// Every write that must be atomic from the point of view of a follower (a
// publication with its object, outbox entry and deliveries) happens in one
// bbolt transaction, so a crash before commit leaves nothing behind and a
// crash after it loses nothing.
package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Sentinel errors; callers test them with errors.Is.
var (
	// ErrLocked means another process (usually another crieur) holds the
	// database file.
	ErrLocked = errors.New("store: database locked")
	// ErrAlreadyPublished means a publication with the same exactly-once key
	// was already recorded; nothing was written.
	ErrAlreadyPublished = errors.New("store: already published")
	// ErrNotFound means the record asked for does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrInvalid means the caller passed a value the store refuses to keep
	// (empty key, URL without a host, zero time...).
	ErrInvalid = errors.New("store: invalid value")
	// ErrSchemaTooNew means the file was written by a newer crieur; opening
	// it with this one could corrupt it.
	ErrSchemaTooNew = errors.New("store: database schema newer than this crieur")
	// ErrNeedsMigration means a read-only open found an older schema; open
	// it read-write once (start crieur) to migrate it.
	ErrNeedsMigration = errors.New("store: database schema needs migration")
)

// SchemaVersion is the schema this code reads and writes.
const SchemaVersion = 7

// Defaults applied by Open when an Options field is zero.
const (
	// DefaultTimeout is how long Open waits for the file lock.
	DefaultTimeout = 2 * time.Second
	// DefaultSeenTTL is how long MarkSeen remembers an activity id.
	DefaultSeenTTL = 48 * time.Hour
	// DefaultSeenCap bounds the replay cache.
	DefaultSeenCap = 200_000
)

// Options tune Open. The zero value is valid.
type Options struct {
	// Timeout is how long Open waits for the file lock; default 2s.
	Timeout time.Duration
	// ReadOnly opens the file with a shared lock (for `crieur backup` or
	// inspection); write methods then fail.
	ReadOnly bool
	// SeenTTL is how long MarkSeen remembers an activity id; default 48h,
	// longer than the 1-2 h window in which a signature stays valid.
	SeenTTL time.Duration
	// SeenCap bounds the replay cache; the oldest entries are dropped beyond
	// it so a flood of activities cannot grow the file without limit.
	// Default 200,000.
	SeenCap int
	// Conversations bounds the replies and reactions kept.
	Conversations ConversationLimits
	// CompactAbove, when above zero, has a read-write Open compact the
	// file first when its free pages take at least that share of it
	// (and a few MiB): bbolt reuses freed pages but never gives them
	// back, so a file that once held more (a year of delivery records,
	// expired keys) keeps its size until copied. `crieur serve` sets it.
	CompactAbove float64
	// NoSync skips the disk sync of every commit: a crash may then lose
	// or damage the file. Only for tools that build a file they would
	// build again (benchmarks), never for a bot's database.
	NoSync bool
}

// DB is an open crieur database. Its methods are safe for concurrent use.
type DB struct {
	bolt    *bolt.DB
	path    string
	seenTTL time.Duration
	seenCap int
	conv    ConversationLimits
	group   groupCommit // see batch
}

// Top-level bucket names (constants, not []byte variables, so nothing at
// package level can be mutated). Per-bot data lives in nested buckets under
// bucketBots.
const (
	bucketMeta       = "meta"
	bucketBots       = "bots"
	bucketObjects    = "objects"
	bucketActivities = "activities"
	bucketDeliveries = "deliveries"
	bucketDueIndex   = "deliveries_due"
	bucketRemoteKeys = "remote_keys"
	bucketSeen       = "seen"
	bucketSeenByTime = "seen_by_time"
	bucketHosts      = "hosts"

	keySchema   = "schema"
	keySeenN    = "seen_count"
	keyQueueN   = "queue_count"
	keyMigrated = "migrated_at"
)

func topBuckets() []string {
	return []string{bucketMeta, bucketBots, bucketObjects, bucketActivities,
		bucketDeliveries, bucketDueIndex, bucketRemoteKeys, bucketSeen, bucketSeenByTime, bucketHosts,
		// New buckets need no migration: Open creates them.
		bucketReplies, bucketRepliesByTime, bucketRepliesByActor, bucketRepliesByPost,
		bucketReactions, bucketReactionsByActvty, bucketPostCounts, bucketAnswerGuards, bucketAnswerByTime}
}

// migration returns the step that upgrades a file from schema v to v+1.
// Version 0 is a new file: Open creates the buckets before migrations run,
// so there is nothing to convert. Future changes add cases; never edit old
// ones.
func migration(v int) (func(tx *bolt.Tx) error, bool) {
	switch v {
	case 0:
		return func(*bolt.Tx) error { return nil }, true
	case 1:
		// Version 2 indexes the delivery inboxes of each bot, so a fan-out
		// does not decode every follower.
		return buildInboxIndexes, true
	case 2:
		// Version 3 names internationalised hosts by their punycode
		// A-label, in host health records and queued deliveries alike.
		return normalizeHostNames, true
	case 3:
		// Version 4 keeps queued deliveries in a binary form, cheaper
		// to decode than JSON on the fan-out's hot path.
		return binaryDeliveries, true
	case 4:
		// Version 5 names a delivery's server with its port unless
		// default, the one identity the inbox and host health use, and
		// keeps each follower's state in its time index entry.
		return func(tx *bolt.Tx) error {
			if err := hostPorts(tx); err != nil {
				return err
			}
			return markFollowerStates(tx)
		}, true
	case 5:
		// Version 6 counts each bot's accepted followers, so the
		// followers collection need not count 100,000 index entries
		// for every page it serves.
		return countAcceptedFollowers, true
	case 6:
		// Version 7 keeps the statistics of delivered answers to
		// follows summed per day, not one record per follower.
		return foldAnswerStats, true
	}
	return nil, false
}

// bucket returns a top-level bucket, nil if absent (read-only open of a
// file missing it).
func bucket(tx *bolt.Tx, name string) *bolt.Bucket { return tx.Bucket([]byte(name)) }

// Open opens (creating if needed) the database at path. The parent
// directory is created 0700 and the file 0600: it holds followers' data.
// When another process holds the file, Open fails after opt.Timeout with an
// error wrapping ErrLocked. A damaged file is refused with an error
// wrapping ErrDamaged that names the file and the way to recover; Open
// never panics or loops on it. A file replaced while Open waited for its
// lock (another crieur compacted or repaired it) is left for the one in
// its place.
func Open(path string, opt Options) (*DB, error) {
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.SeenTTL <= 0 {
		opt.SeenTTL = DefaultSeenTTL
	}
	if opt.SeenCap <= 0 {
		opt.SeenCap = DefaultSeenCap
	}
	if !opt.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create data directory for %s: %w", path, err)
		}
	}
	// A read-only open loads the free list too, for Usage.
	bopt := &bolt.Options{Timeout: opt.Timeout, ReadOnly: opt.ReadOnly, NoSync: opt.NoSync, PreLoadFreelist: opt.ReadOnly}
	bdb, err := openChecked(path, bopt)
	if errors.Is(err, ErrDamaged) {
		return nil, err
	}
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("%w: another crieur is using %s; stop it or use another --data directory", ErrLocked, path)
		}
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if !opt.ReadOnly && opt.CompactAbove > 0 && wasteful(bdb, path, opt.CompactAbove) {
		if bdb, err = compact(bdb, path, bopt); err != nil {
			return nil, err
		}
	}
	db := &DB{bolt: bdb, path: path, seenTTL: opt.SeenTTL, seenCap: opt.SeenCap, conv: opt.Conversations.withDefaults()}
	if opt.ReadOnly {
		err = db.checkSchema()
	} else {
		err = db.migrate()
	}
	if err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// Close releases the file and its lock.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("close database %s: %w", db.path, err)
	}
	return nil
}

// Path is the file the database lives in.
func (db *DB) Path() string { return db.path }

func schemaOf(tx *bolt.Tx) int {
	b := bucket(tx, bucketMeta)
	if b == nil {
		return 0
	}
	v := b.Get([]byte(keySchema))
	if len(v) != 8 {
		return 0
	}
	return int(binary.BigEndian.Uint64(v))
}

func (db *DB) checkSchema() error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		switch v := schemaOf(tx); {
		case v > SchemaVersion:
			return fmt.Errorf("%w: file has version %d, this crieur knows %d", ErrSchemaTooNew, v, SchemaVersion)
		case v < SchemaVersion:
			return fmt.Errorf("%w: file has version %d, this crieur needs %d", ErrNeedsMigration, v, SchemaVersion)
		}
		return nil
	})
}

// migrate creates missing buckets and brings the schema up to date, all in
// one transaction so a crash mid-migration leaves the old file intact.
func (db *DB) migrate() error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		v := schemaOf(tx)
		if v > SchemaVersion {
			return fmt.Errorf("%w: file has version %d, this crieur knows %d", ErrSchemaTooNew, v, SchemaVersion)
		}
		if err := indexReactionsByActorTx(tx); err != nil {
			return err
		}
		for _, name := range topBuckets() {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		if v == SchemaVersion {
			return nil
		}
		for ; v < SchemaVersion; v++ {
			m, ok := migration(v)
			if !ok {
				return fmt.Errorf("no migration from schema %d", v)
			}
			if err := m(tx); err != nil {
				return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
			}
		}
		meta := bucket(tx, bucketMeta)
		if err := meta.Put([]byte(keySchema), u64(uint64(SchemaVersion))); err != nil {
			return fmt.Errorf("write schema version: %w", err)
		}
		return meta.Put([]byte(keyMigrated), []byte(time.Now().UTC().Format(time.RFC3339)))
	})
}

// Backup writes a consistent snapshot of the whole database to w while the
// bot keeps running (a read transaction does not block writers). The
// result is a valid bbolt file that Open accepts.
func (db *DB) Backup(w io.Writer) (int64, error) {
	var n int64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("backup %s: %w", db.path, err)
	}
	return n, nil
}

// Per-bot nested bucket names.
const (
	botFollowers       = "followers"
	botFollowersByTime = "followers_by_time"
	botPublications    = "publications"
	botPostIndex       = "publications_by_post"
	botObjectIndex     = "publications_by_object"
	botOutbox          = "outbox"
	botActivities      = "activity_stats"
	botInboxes         = "delivery_inboxes"
)

// botBucket returns the nested bucket name of bot, or nil when it does not
// exist yet (read transactions).
func botBucket(tx *bolt.Tx, bot string, name string) *bolt.Bucket {
	bots := bucket(tx, bucketBots)
	if bots == nil {
		return nil
	}
	b := bots.Bucket([]byte(bot))
	if b == nil {
		return nil
	}
	return b.Bucket([]byte(name))
}

// botNames lists the bots that have buckets, for migrations that visit
// every bot.
func botNames(tx *bolt.Tx) ([]string, error) {
	var names []string
	err := bucket(tx, bucketBots).ForEachBucket(func(k []byte) error {
		names = append(names, string(k))
		return nil
	})
	return names, err
}

// botBucketW returns the nested bucket name of bot, creating it.
func botBucketW(tx *bolt.Tx, bot string, name string) (*bolt.Bucket, error) {
	if bot == "" {
		return nil, fmt.Errorf("%w: empty bot name", ErrInvalid)
	}
	b, err := bucket(tx, bucketBots).CreateBucketIfNotExists([]byte(bot))
	if err != nil {
		return nil, fmt.Errorf("create bucket for bot %s: %w", bot, err)
	}
	nb, err := b.CreateBucketIfNotExists([]byte(name))
	if err != nil {
		return nil, fmt.Errorf("create bucket %s for bot %s: %w", name, bot, err)
	}
	return nb, nil
}

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

// timeKey encodes t so that byte order is time order. Times before 1970
// sort first; nothing in crieur legitimately dates from then.
func timeKey(t time.Time) uint64 {
	n := t.UnixNano()
	if n < 0 {
		return 0
	}
	return uint64(n)
}

// timeIDKey is timeKey(t) followed by suffix: a time index entry that stays
// unique for equal times.
func timeIDKey(t time.Time, suffix []byte) []byte {
	k := make([]byte, 8, 8+len(suffix))
	binary.BigEndian.PutUint64(k, timeKey(t))
	return append(k, suffix...)
}

// counter reads a uint64 counter kept in the meta bucket.
func counter(tx *bolt.Tx, key string) int {
	b := bucket(tx, bucketMeta)
	if b == nil {
		return 0
	}
	v := b.Get([]byte(key))
	if len(v) != 8 {
		return 0
	}
	return int(binary.BigEndian.Uint64(v))
}

// addCounter adds delta to a meta counter, never going below zero.
func addCounter(tx *bolt.Tx, key string, delta int) error {
	n := counter(tx, key) + delta
	if n < 0 {
		n = 0
	}
	if err := bucket(tx, bucketMeta).Put([]byte(key), u64(uint64(n))); err != nil {
		return fmt.Errorf("update counter %s: %w", key, err)
	}
	return nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if err := b.Put(key, data); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	if b == nil {
		return false, nil
	}
	data := b.Get(key)
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("decode %s: %w", key, err)
	}
	return true, nil
}

// clone copies a value read from bbolt: it is only valid inside its
// transaction.
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
