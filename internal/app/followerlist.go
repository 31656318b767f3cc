package app

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/store"
)

// FollowerListPath is the admin socket route of `crieur followers`' list:
// one line per follower (FollowerList's encoding), where /followers
// answers a JSON array with each follower's inbox. With 100,000 followers
// the JSON took the daemon and the command about a second each to
// encode and decode; these lines are a third of its size and cost
// almost nothing either way.
const FollowerListPath = "/followers/list"

// ErrBadFollowerList means a follower list (FollowerListPath's answer)
// could not be read: a daemon speaking another format, or a damaged
// answer.
var ErrBadFollowerList = errors.New("malformed follower list")

// FollowerList lists the (first) bot's followers, pending ones included,
// newest follow first, as `crieur followers` prints them: from the
// followers' time index, without decoding their records.
func (a *App) FollowerList() ([]store.FollowerEntry, error) {
	return a.db.FollowerEntries(a.bots.Names()[0])
}

// serveFollowerList answers FollowerListPath. The whole answer is built
// before it is written, so that the read transaction is not held open by
// a slow reader (a staff command piped into a pager), and it goes with
// its length, so that a truncated answer is an error for the command.
func (a *App) serveFollowerList(reply func(http.ResponseWriter, any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		list, err := a.FollowerList()
		if err != nil {
			reply(w, nil, err)
			return
		}
		body := AppendFollowerList(nil, list)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	}
}

// AppendFollowerList appends list to buf, one line per follower:
//
//	STATE FOLLOWED-AT ACTOR
//
// FOLLOWED-AT in RFC 3339 with nanoseconds. A field that is empty, starts
// with a double quote, holds a line break or (but the last) a space is
// written as a Go quoted string: an actor id is the remote server's
// choice, and must neither break the lines nor shift the fields.
func AppendFollowerList(buf []byte, list []store.FollowerEntry) []byte {
	for _, f := range list {
		buf = appendListField(buf, string(f.State), false)
		buf = append(buf, ' ')
		buf = f.FollowedAt.AppendFormat(buf, time.RFC3339Nano)
		buf = append(buf, ' ')
		buf = appendListField(buf, f.ActorID, true)
		buf = append(buf, '\n')
	}
	return buf
}

func appendListField(buf []byte, s string, last bool) []byte {
	if s == "" || s[0] == '"' || strings.ContainsAny(s, "\n\r") || (!last && strings.IndexByte(s, ' ') >= 0) {
		return strconv.AppendQuote(buf, s)
	}
	return append(buf, s...)
}

// ParseFollowerList reads what AppendFollowerList wrote. The actor ids
// share the memory of one copy of data.
func ParseFollowerList(data []byte) ([]store.FollowerEntry, error) {
	text := string(data)
	out := make([]store.FollowerEntry, 0, bytes.Count(data, []byte{'\n'}))
	for n := 1; text != ""; n++ {
		line, rest, ok := strings.Cut(text, "\n")
		if !ok {
			return nil, fmt.Errorf("%w: line %d is not terminated", ErrBadFollowerList, n)
		}
		text = rest
		state, line, err := listField(line, false)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: state: %v", ErrBadFollowerList, n, err)
		}
		at, actor, ok := strings.Cut(line, " ")
		if !ok {
			return nil, fmt.Errorf("%w: line %d has no actor", ErrBadFollowerList, n)
		}
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrBadFollowerList, n, err)
		}
		if actor, _, err = listField(actor, true); err != nil {
			return nil, fmt.Errorf("%w: line %d: actor: %v", ErrBadFollowerList, n, err)
		}
		out = append(out, store.FollowerEntry{ActorID: actor, State: content.FollowerState(state), FollowedAt: t})
	}
	return out, nil
}

// listField reads the field at the start of s, quoted or not, and what
// follows its separating space; the last field takes the rest of s.
func listField(s string, last bool) (field, rest string, err error) {
	if strings.HasPrefix(s, `"`) {
		q, err := strconv.QuotedPrefix(s)
		if err != nil {
			return "", "", err
		}
		field, _ = strconv.Unquote(q) // QuotedPrefix checked it
		rest = s[len(q):]
		switch {
		case last && rest != "":
			return "", "", fmt.Errorf("text after the quoted field: %q", rest)
		case last:
			return field, "", nil
		case !strings.HasPrefix(rest, " "):
			return "", "", errors.New("no space after the quoted field")
		}
		return field, rest[1:], nil
	}
	if last {
		return s, "", nil
	}
	field, rest, ok := strings.Cut(s, " ")
	if !ok {
		return "", "", errors.New("no space after the field")
	}
	return field, rest, nil
}
