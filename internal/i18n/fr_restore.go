package i18n

// frRestoreData translates restore's message when --data is missing.
func frRestoreData() []Entry {
	return []Entry{
		{"crieur restore: give --data NEW_DIRECTORY, the data directory to restore into (it must not exist yet, or be empty).", "crieur restore\u00a0: donnez --data NOUVEAU_DOSSIER, le dossier de données où restaurer (il ne doit pas encore exister, ou être vide)."},
	}
}
