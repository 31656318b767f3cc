package i18n

// frServeRun translates what `crieur serve` prints when its address cannot
// be listened on or when it stops after start-up (cmd/crieur serveError).
func frServeRun() []Entry {
	return []Entry{
		{"crieur serve: cannot listen on the address given: another program (or another crieur) uses that port, or the address is not this machine's; stop it or change --listen.\n(%v)", "crieur serve\u00a0: impossible d’écouter à l’adresse indiquée\u00a0: un autre programme (ou un autre crieur) utilise ce port, ou l’adresse n’est pas celle de cette machine\u202f; arrêtez-le ou changez --listen.\n(%v)"},
		{"crieur serve: the bot stopped: it could no longer accept connections on its address; start it again (a service manager such as systemd restarts it by itself).\n(%v)", "crieur serve\u00a0: le bot s’est arrêté\u00a0: il ne pouvait plus accepter de connexions à son adresse\u202f; relancez-le (un gestionnaire de services comme systemd le relance de lui-même).\n(%v)"},
	}
}
