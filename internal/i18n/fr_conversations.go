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
		{"%d reply or mention.", "%d réponse ou mention."},
		{"%d replies or mentions.", "%d réponses ou mentions."},
		{"PUBLISHED\tPOST\tBOOSTS\tFAVOURITES\tREACTIONS\tREPLIES", "PUBLIÉ\tPUBLICATION\tPARTAGES\tFAVORIS\tRÉACTIONS\tRÉPONSES"},
		{"%s (deleted)", "%s (supprimé)"},
		{"%d post published.", "%d publication."},
		{"%d posts published.", "%d publications."},
		// Help of the two commands, and bot.yaml's staff: problem.
		{"list the replies and mentions received, newest first", "lister les réponses et mentions reçues, les plus récentes d’abord"},
		{"show, per post published, its boosts, favourites, reactions and replies", "montrer, pour chaque publication, ses partages, favoris, réactions et réponses"},
		{"Lists the replies and mentions the bot received, newest first: when, who,\nwhich post it answers, who could see it, the text and its link. Works\nwhether or not `crieur serve` is running.", "Liste les réponses et mentions reçues par le bot, les plus récentes d’abord : quand,\nqui, à quelle publication, qui pouvait la voir, le texte et son lien. Marche\nque `crieur serve` tourne ou non."},
		{"Shows, for each post published, its date and how many boosts, favourites,\nemoji reactions and replies it received. Works whether or not `crieur serve`\nis running.", "Montre, pour chaque publication, sa date et combien de partages, favoris,\nréactions emoji et réponses elle a reçus. Marche que `crieur serve` tourne\nou non."},
		{"only those received since a duration ago (48h, 7d) or a day (2026-12-01)", "seulement celles reçues depuis une durée (48h, 7d) ou un jour (2026-12-01)"},
		{"print JSON (for scripts)", "afficher du JSON (pour les scripts)"},
		{"order: date, boosts, favourites, reactions or replies (largest first)", "ordre : date, boosts (partages), favourites (favoris), reactions ou replies (le plus grand d’abord)"},
		{"staff[%d]: %q is not a fediverse handle; write it like \"@jeanne@framapiaf.org\"", "staff[%d] : %q n’est pas un compte du fédivers ; écrivez-le comme \"@jeanne@framapiaf.org\""},
	}
}
