package i18n

// frDoctorLocal translates doctor's explanation of a daemon that refuses
// its own loopback or private public URL.
func frDoctorLocal() []Entry {
	return []Entry{
		{"the daemon refuses to connect to %s, a loopback or private address: for a local test, start crieur serve with --allow-private-addresses too", "le démon refuse de se connecter à %s, une adresse locale ou privée\u00a0: pour un essai local, lancez aussi crieur serve avec --allow-private-addresses"},
	}
}
