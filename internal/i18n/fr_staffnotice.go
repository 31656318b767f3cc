package i18n

// frStaffNotice holds the direct message staff receive quoting the bot's
// new replies and mentions (internal/app staffHTML). Its "mention" and
// "reply to %s" come from frConversations.
func frStaffNotice() []Entry {
	return []Entry{
		{"%d new reply or mention for @%s:", "%d nouvelle réponse ou mention pour @%s\u00a0:"},
		{"%d new replies or mentions for @%s:", "%d nouvelles réponses ou mentions pour @%s\u00a0:"},
		{"… and %d more: crieur mentions lists them all.", "… et %d autres\u00a0: crieur mentions les liste toutes."},
	}
}
