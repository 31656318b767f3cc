package i18n

// frConversations holds the messages of `crieur mentions` and `crieur
// stats`. French typography: a non-breaking space (U+00A0) before ":" and
// a narrow one (U+202F) before ";", "?" and "!".
func frConversations() []Entry {
	return []Entry{
		{"public", "public"},
		{"unlisted", "non listé"},
		{"followers only", "abonnés seulement"},
		{"direct message", "message direct"},
		{"mention", "mention"},
		{"reply to %s", "réponse à %s"},
		{"No replies or mentions.", "Aucune réponse ni mention."},
		{"%d reply(ies) or mention(s).", "%d réponse(s) ou mention(s)."},
		{"PUBLISHED\tPOST\tBOOSTS\tFAVOURITES\tREACTIONS\tREPLIES", "PUBLIÉ\tPUBLICATION\tPARTAGES\tFAVORIS\tRÉACTIONS\tRÉPONSES"},
		{"%s (deleted)", "%s (supprimé)"},
		{"%d post(s) published.", "%d publication(s)."},
	}
}
