package i18n

// frServe translates `crieur serve`'s startup failures and the help of
// `crieur version` and `crieur repair`.
func frServe() []Entry {
	return []Entry{
		{"Prints crieur's version (release tag and commit) and the database schema it\nreads and writes: compare them before an upgrade or a downgrade (CHANGELOG.md).", "Affiche la version de crieur (étiquette et commit) et le schéma de base de données\nqu’il lit et écrit\u00a0: comparez-les avant une mise à jour ou un retour en arrière (CHANGELOG.md)."},
		{"crieur serve: the database is in use by another crieur: stop it, or give another --data directory.\n(%v)", "crieur serve\u00a0: la base de données est utilisée par un autre crieur\u00a0: arrêtez-le, ou indiquez un autre dossier --data.\n(%v)"},
		{"crieur serve: the database file is damaged: stop crieur and restore it from a backup, or run crieur repair to copy what is readable into a new file (the damaged file is kept aside).\n(%v)", "crieur serve\u00a0: le fichier de la base de données est endommagé\u00a0: arrêtez crieur et restaurez-le depuis une sauvegarde, ou lancez crieur repair pour copier ce qui est lisible dans un nouveau fichier (le fichier endommagé est gardé de côté).\n(%v)"},
		{"crieur serve: the database was written by a newer crieur: run that version again (see CHANGELOG.md).\n(%v)", "crieur serve\u00a0: la base de données a été écrite par un crieur plus récent\u00a0: relancez cette version (voir CHANGELOG.md).\n(%v)"},
		{"crieur serve: the content folder cannot be read: check --content.\n(%v)", "crieur serve\u00a0: le dossier de contenu est illisible\u00a0: vérifiez --content.\n(%v)"},
		{"crieur serve: the content folder cannot be used; fix it, then run crieur check --content:\n%s", "crieur serve\u00a0: le dossier de contenu est inutilisable\u202f; corrigez-le, puis lancez crieur check --content\u00a0:\n%s"},
		{"crieur serve: the built-in HTTPS settings do not fit together (--tls-domain, --base-url).\n(%v)", "crieur serve\u00a0: les réglages du HTTPS intégré ne s’accordent pas (--tls-domain, --base-url).\n(%v)"},
		{"crieur serve: --base-url is not valid: give the public address of the bot's site, like https://tips.zoomacom.org.\n(%v)", "crieur serve\u00a0: --base-url n’est pas valide\u00a0: donnez l’adresse publique du site du bot, comme https://tips.zoomacom.org.\n(%v)"},
		{"crieur serve: --account-domain is not valid: give a domain name, like zoomacom.org.\n(%v)", "crieur serve\u00a0: --account-domain n’est pas valide\u00a0: donnez un nom de domaine, comme zoomacom.org.\n(%v)"},
		{"crieur serve: %v", "crieur serve\u00a0: %v"},
		{"Copies every readable record of a damaged database (crieur.db) into a new file,\nkeeps the damaged file aside as crieur.db.damaged-DATE and puts the new one in its\nplace. Stop crieur serve first. Restoring a recent backup loses less, when you have one.", "Copie chaque enregistrement lisible d’une base de données endommagée (crieur.db) dans un\nnouveau fichier, garde le fichier endommagé de côté sous le nom crieur.db.damaged-DATE et\nmet le nouveau à sa place. Arrêtez d’abord crieur serve. Restaurer une sauvegarde récente\nfait perdre moins, quand vous en avez une."},
	}
}
