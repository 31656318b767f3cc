package i18n

// frStaffNotice holds the direct messages the bot writes itself: the one
// staff receive quoting the bot's new replies and mentions (internal/app
// staffHTML; its "mention" and "reply to %s" come from frConversations) and
// the answer from the tip library (answerHTML).
func frStaffNotice() []Entry {
	return []Entry{
		{"%d new reply or mention for @%s:", "%d nouvelle réponse ou mention pour @%s\u00a0:"},
		{"%d new replies or mentions for @%s:", "%d nouvelles réponses ou mentions pour @%s\u00a0:"},
		{"… and %d more: crieur mentions lists them all.", "… et %d autres\u00a0: crieur mentions les liste toutes."},
		{"Instead of %s, here is our tip:", "Pour remplacer %s, voici notre astuce\u00a0:"},
		{"The whole tip: %s", "L'astuce complète\u00a0: %s"},
	}
}
