// Package content holds crieur's domain: a bot's profile (bot.yaml), the
// posts staff queue as Markdown files (tips and events), the followers, and
// the rules that turn them into a publication schedule. It imports nothing
// of crieur's own and knows nothing of HTTP, ActivityPub or the store.
package content
