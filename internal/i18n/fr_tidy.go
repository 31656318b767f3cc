package i18n

// frTidy holds the staff commands' shared error explanations and the
// usage errors of `crieur mentions` and `crieur stats`. French typography:
// a non-breaking space (U+00A0) before ":" and a narrow one (U+202F)
// before ";", "?" and "!".
func frTidy() []Entry {
	return []Entry{
		{"crieur %s: the running crieur serve is older than this crieur and does not know this command; restart it with this version (%v)", "crieur %s\u00a0: le crieur serve en marche est plus ancien que ce crieur et ne connaît pas cette commande\u202f; relancez-le avec cette version (%v)"},
		{"crieur mentions: --since %q: want a duration (48h, 7d), a day (2026-12-01) or an RFC 3339 time", "crieur mentions\u00a0: --since %q\u00a0: attendu une durée (48h, 7d), un jour (2026-12-01) ou une date RFC 3339"},
		{"crieur stats: --sort %q: want date, boosts, favourites, reactions or replies", "crieur stats\u00a0: --sort %q\u00a0: attendu date, boosts, favourites, reactions ou replies"},
	}
}
