package i18n

// frInit translates `crieur init`.
func frInit() []Entry {
	return []Entry{
		{"crieur init: nothing created; give another --username.", "crieur init : rien n’a été créé ; donnez un autre --username."},
		{"crieur init: %s already exists and is not empty; nothing was changed. Choose a new folder name.", "crieur init : %s existe déjà et n’est pas vide ; rien n’a été modifié. Choisissez un nouveau nom de dossier."},
		{"crieur init: %v", "crieur init : %v"},
		{"Created %s for @%s: %s, media/.", "Dossier %s créé pour @%s : %s, media/."},
		{"Next: edit bot.yaml and the posts, run `crieur check --content %s`, then `crieur serve --content %[1]s --base-url https://YOUR-DOMAIN`.", "Ensuite : modifiez bot.yaml et les publications, lancez `crieur check --content %s`, puis `crieur serve --content %[1]s --base-url https://VOTRE-DOMAINE`."},
	}
}
