package i18n

// frServe translates `crieur serve`'s startup failures and `crieur
// version`'s help.
func frServe() []Entry {
	return []Entry{
		{"Prints crieur's version (release tag and commit) and the database schema it\nreads and writes: compare them before an upgrade or a downgrade (CHANGELOG.md).", "Affiche la version de crieur (étiquette et commit) et le schéma de base de données\nqu’il lit et écrit\u00a0: comparez-les avant une mise à jour ou un retour en arrière (CHANGELOG.md)."},
	}
}
