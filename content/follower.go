package content

import "time"

// Follower is a remote actor that follows one of our bots. Inboxes are kept
// as plain fields so that fan-out never re-reads the remote actor document.
type Follower struct {
	// ActorID is the follower's actor URL, the key it is stored under.
	ActorID string `json:"actor"`
	// Inbox is the follower's personal inbox.
	Inbox string `json:"inbox"`
	// SharedInbox is the follower's server-wide inbox, empty when it has none.
	SharedInbox string `json:"sharedInbox,omitempty"`
	// FollowID is the id of the Follow activity we accepted; an Accept must
	// reference it, and an Undo names it.
	FollowID string `json:"follow"`
	// FollowedAt is when the follow was first accepted.
	FollowedAt time.Time `json:"followedAt"`
	// State is FollowerAccepted or FollowerPending (manual approval).
	State FollowerState `json:"state,omitempty"`
	// NoBot is true when the follower's profile carries #nobot: it gets
	// nothing beyond the Accept of its own follow.
	NoBot bool `json:"noBot,omitempty"`
}

// FollowerState says whether a follow has been accepted.
type FollowerState string

// Follower states.
const (
	FollowerAccepted FollowerState = "accepted"
	FollowerPending  FollowerState = "pending"
)

// DeliveryInbox is where activities for this follower go: the shared inbox
// when the server has one, so one request serves every follower there.
func (f Follower) DeliveryInbox() string {
	if f.SharedInbox != "" {
		return f.SharedInbox
	}
	return f.Inbox
}
