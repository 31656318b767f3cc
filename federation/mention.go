package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ResolvedHandle is the account behind an @user@host handle.
type ResolvedHandle struct {
	ActorID, ProfileURL, Inbox string
}

// ResolveHandle looks up @user@host by WebFinger on host (over WebFingerScheme,
// https unless set), then fetches the actor it names for its inbox.
func (f *Fetcher) ResolveHandle(ctx context.Context, handle string) (ResolvedHandle, error) {
	user, host, ok := strings.Cut(strings.TrimPrefix(handle, "@"), "@")
	if !ok || user == "" || host == "" || strings.ContainsAny(handle, "/?#\\ \r\n") {
		return ResolvedHandle{}, fmt.Errorf("resolve %q: not a @user@host handle", handle)
	}
	scheme := f.WebFingerScheme
	if scheme == "" {
		scheme = "https"
	}
	q := url.Values{"resource": {"acct:" + user + "@" + host}}
	wf := scheme + "://" + host + "/.well-known/webfinger?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, wf, nil)
	if err != nil {
		return ResolvedHandle{}, fmt.Errorf("resolve %s: %w", handle, err)
	}
	req.Header.Set("Accept", JRDContentType+", application/json")
	resp, err := f.Client.Do(req)
	if err != nil {
		return ResolvedHandle{}, fmt.Errorf("webfinger %s: %w", handle, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ResolvedHandle{}, fmt.Errorf("webfinger %s: HTTP %d", handle, resp.StatusCode)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return ResolvedHandle{}, fmt.Errorf("webfinger %s: %w", handle, err)
	}
	var jrd struct {
		Links []struct {
			Rel, Type, Href string
		} `json:"links"`
	}
	if err := json.Unmarshal(body, &jrd); err != nil {
		return ResolvedHandle{}, fmt.Errorf("webfinger %s: %w", handle, err)
	}
	var out ResolvedHandle
	for _, l := range jrd.Links {
		switch {
		case l.Rel == "self" && (l.Type == ContentType || strings.HasPrefix(l.Type, "application/ld+json")):
			out.ActorID = l.Href
		case l.Rel == "http://webfinger.net/rel/profile-page":
			out.ProfileURL = l.Href
		}
	}
	if out.ActorID == "" {
		return ResolvedHandle{}, fmt.Errorf("webfinger %s: no ActivityPub actor link", handle)
	}
	actor, err := f.Actor(ctx, out.ActorID)
	if err != nil {
		return ResolvedHandle{}, err
	}
	out.Inbox = actor.Inbox
	if out.ProfileURL == "" {
		out.ProfileURL = actor.ID
	}
	return out, nil
}
