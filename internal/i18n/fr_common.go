package i18n

// frCommon holds the messages every staff command shares. French
// typography: a non-breaking space (U+00A0) before ":" and a narrow one
// (U+202F) before ";", "?" and "!".
func frCommon() []Entry {
	return []Entry{
		{"yes", "oui"},
		{"no", "non"},
	}
}
