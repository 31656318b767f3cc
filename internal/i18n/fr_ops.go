package i18n

// frOps translates the summaries of the operator commands (doctor, backup,
// restore, version) in `crieur help`.
func frOps() []Entry {
	return []Entry{
		{"check the installation as a Mastodon server sees it; each line OK or what to fix", "vérifier l’installation comme un serveur Mastodon la voit ; chaque ligne OK ou quoi corriger"},
		{"write a backup archive (database, keys), also while the bot runs", "écrire une archive de sauvegarde (base, clés), même pendant que le bot tourne"},
		{"restore a backup archive into a new data directory", "restaurer une archive de sauvegarde dans un nouveau dossier de données"},
		{"salvage a damaged database into a new file, keeping the damaged one aside", "récupérer une base de données endommagée dans un nouveau fichier, en gardant l’ancienne de côté"},
		{"print crieur's version (tag, commit) and database schema", "afficher la version de crieur (étiquette, commit) et le schéma de la base"},
	}
}
