package app

import (
	"context"
	"net/http"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/inbox"
)

// wireConversations lets the inbox keep the replies, mentions and
// reactions the bot receives: posts from another host than their sender's
// are fetched from their origin with the safe client, signed like every
// fetch.
func (a *App) wireConversations(in *inbox.Inbox, sign func(r *http.Request) error) {
	in.Conversations = a.db
	in.FetchObject = func(ctx context.Context, id string) ([]byte, error) {
		return a.client.FetchActivityJSON(ctx, id, sign)
	}
	in.OnReply = a.onReply
}

// onReply is told of every new reply or mention kept.
func (a *App) onReply(_ context.Context, r content.Reply, author *federation.RemoteActor) {
	_ = author
	a.log.Debug("conversation", "id", r.ID)
}
