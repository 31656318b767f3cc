package i18n

// frPastEvent translates check's warning about an event over before it
// was ever announced.
func frPastEvent() []Entry {
	return []Entry{
		{"this event ended (%s) and was never announced: the bot never announces a past event; check its dates (the year?)", "cet événement est terminé (%s) et n’a jamais été annoncé\u00a0: le bot n’annonce jamais un événement passé\u202f; vérifiez ses dates (l’année\u202f?)"},
	}
}
