package i18n

// frHardening holds the messages of `crieur repair` and of the content
// folder checks added against hostile files (issue 12). French
// typography: a non-breaking space (U+00A0) before ":" and a narrow one
// (U+202F) before ";", "?" and "!".
func frHardening() []Entry {
	return []Entry{
		{"crieur repair: no database at %s: check --data", "crieur repair : aucune base de données dans %s : vérifiez --data"},
		{"%s is not damaged; nothing to repair.", "%s n’est pas endommagée ; rien à réparer."},
		{"crieur repair: %s is in use: stop crieur serve first", "crieur repair : %s est utilisée : arrêtez d’abord crieur serve"},
		{"Repaired %s; the damaged file is kept as %s.", "%s réparée ; le fichier endommagé est gardé sous le nom %s."},
		{"  %s: %d records kept", "  %s : %d enregistrements gardés"},
		{"  lost (partly or wholly): %s", "  perdu (en partie ou en totalité) : %s"},
		{"Start crieur again, then look at `crieur followers` and `crieur deliveries`.", "Relancez crieur, puis regardez `crieur followers` et `crieur deliveries`."},
		// Problems of the content folder (content.Problem messages).
		{"symbolic link leading outside the content folder; it is ignored: copy the file into the folder instead", "lien symbolique qui sort du dossier de contenu ; il est ignoré : copiez plutôt le fichier dans le dossier"},
		{"symbolic link; media files are served only as plain files: copy the file here instead", "lien symbolique ; les médias ne sont servis que s’ils sont de vrais fichiers : copiez plutôt le fichier ici"},
		{"a named pipe (FIFO), not a regular file; it is ignored: replace it with a plain file", "un tube nommé (FIFO), pas un fichier ordinaire ; il est ignoré : remplacez-le par un vrai fichier"},
		{"a socket, not a regular file; it is ignored: replace it with a plain file", "une socket, pas un fichier ordinaire ; elle est ignorée : remplacez-la par un vrai fichier"},
		{"a device, not a regular file; it is ignored: replace it with a plain file", "un périphérique, pas un fichier ordinaire ; il est ignoré : remplacez-le par un vrai fichier"},
		{"a character device, not a regular file; it is ignored: replace it with a plain file", "un périphérique caractère, pas un fichier ordinaire ; il est ignoré : remplacez-le par un vrai fichier"},
		{"SVG images are not served (a script inside one would run on the bot's site); convert it to PNG", "les images SVG ne sont pas servies (un script qu’elles contiendraient s’exécuterait sur le site du bot) ; convertissez-la en PNG"},
		{"file of %s, at most %s; it is ignored: make it smaller", "fichier de %s, au plus %s\u202f; il est ignoré\u00a0: réduisez-le"},
		{"file grew past %s while being read; it is ignored: make it smaller", "le fichier a dépassé %s pendant sa lecture\u202f; il est ignoré\u00a0: réduisez-le"},
		{"this HTML block hides the text %q, which will not be published; leave a blank line after the HTML line, or remove the HTML", "ce bloc HTML cache le texte %q, qui ne sera pas publié\u202f; laissez une ligne vide après la ligne HTML, ou retirez le HTML"},
	}
}
