package i18n

// frBackup holds the messages of `crieur backup`, `crieur restore` and
// `crieur version`.
func frBackup() []Entry {
	return []Entry{
		{"database schema %d", "schéma de la base de données\u00a0: %d"},
		{"crieur backup: %v", "crieur backup\u00a0: %v"},
		{"copied from the running daemon", "copiée depuis le bot en marche"},
		{"no daemon running: copied from the file", "bot arrêté\u00a0: copiée depuis le fichier"},
		{"Backup written to %s: database of %d KiB (schema %d, %s), signing keys of %s.",
			"Sauvegarde écrite dans %s\u00a0: base de données de %d Kio (schéma %d, %s), clés de signature de %s."},
		{"It holds the private key: keep it where only you can read it. Restore with: crieur restore %s --data NEW_DIRECTORY",
			"Elle contient la clé privée\u00a0: gardez-la là où vous seul pouvez la lire. Pour la restaurer\u00a0: crieur restore %s --data NOUVEAU_DOSSIER"},
		{"crieur restore: %v", "crieur restore\u00a0: %v"},
		{"crieur restore: %s is not empty; restore into a new directory, then give it to crieur serve with --data.",
			"crieur restore\u00a0: %s n’est pas vide\u202f; restaurez dans un nouveau dossier, puis donnez-le à crieur serve avec --data."},
		{"crieur restore: %s is not a complete crieur backup, nothing was restored: %v",
			"crieur restore\u00a0: %s n’est pas une sauvegarde complète de crieur, rien n’a été restauré\u00a0: %v"},
		{"Restored the backup of %s (crieur %s, schema %d) into %s: database and signing keys of %s.",
			"Sauvegarde du %s (crieur %s, schéma %d) restaurée dans %s\u00a0: base de données et clés de signature de %s."},
		{"Start the bot with --data %s (give the directory to the user the bot runs as).",
			"Démarrez le bot avec --data %s (donnez le dossier à l’utilisateur sous lequel tourne le bot)."},
	}
}
