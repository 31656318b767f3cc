package server

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/zoomacom/crieur/federation"
)

// MaxListedReplies bounds the replies a Note's replies collection lists
// (the newest are kept when there are more; totalItems says how many).
const MaxListedReplies = 100

// reactions reads the current counts and public replies of one of our
// Notes.
func (s *Server) reactions(noteID string) (federation.Reactions, error) {
	c, err := s.DB.Counts(noteID)
	if err != nil {
		return federation.Reactions{}, err
	}
	replies, err := s.DB.PostReplies(noteID, true, 1<<20)
	if err != nil {
		return federation.Reactions{}, err
	}
	if len(replies) > MaxListedReplies {
		replies = replies[len(replies)-MaxListedReplies:]
	}
	r := federation.Reactions{Likes: c.Likes, Shares: c.Boosts, RepliesTotal: c.PublicReplies}
	for _, rep := range replies {
		r.Replies = append(r.Replies, rep.ID)
	}
	return r, nil
}

// withReactions returns a stored Note with its current likes, shares and
// replies; anything else (an Event, a Tombstone) is returned as stored.
func (s *Server) withReactions(id string, obj []byte) ([]byte, error) {
	var probe struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(obj, &probe) != nil || probe.Type != "Note" {
		return obj, nil
	}
	r, err := s.reactions(id)
	if err != nil {
		return nil, err
	}
	doc, err := federation.Embedded(obj)
	if err != nil {
		return obj, nil
	}
	doc.SetReactions(r)
	return doc.Marshal()
}

// reactionCollection serves GET of a Note's likes, shares or replies
// collection; ok is false when id is no such collection.
func (s *Server) reactionCollection(w http.ResponseWriter, id string) (ok bool) {
	i := strings.LastIndexByte(id, '/')
	if i < 0 {
		return false
	}
	noteID, which := id[:i], id[i+1:]
	if which != "likes" && which != "shares" && which != "replies" {
		return false
	}
	obj, found, err := s.DB.Object(noteID)
	if err != nil {
		s.fail(w, "read object", err)
		return true
	}
	var probe struct {
		Type string `json:"type"`
	}
	if !found || json.Unmarshal(obj, &probe) != nil || probe.Type != "Note" {
		return false
	}
	r, err := s.reactions(noteID)
	if err != nil {
		s.fail(w, "read reactions", err)
		return true
	}
	var doc federation.Document
	switch which {
	case "likes":
		doc = federation.CountedCollection(id, r.Likes)
	case "shares":
		doc = federation.CountedCollection(id, r.Shares)
	default:
		doc = federation.RepliesCollection(id, r.RepliesTotal, r.Replies)
	}
	body, err := doc.Marshal()
	s.writeAS(w, body, err)
	return true
}
