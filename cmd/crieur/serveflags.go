package main

import "github.com/zoomacom/crieur/internal/app"

// hostingFlags registers the serve flags about where and how the bot is
// hosted: the account domain of its handle.
func hostingFlags(fs *flagSet, cfg *app.Config) {
	fs.string(&cfg.AccountDomain, "account-domain", "CRIEUR_ACCOUNT_DOMAIN", "", "domain of the handle when it differs from the base URL's host, e.g. zoomacom.org for @zoomacom-tips@zoomacom.org while the bot runs on https://tips.zoomacom.org; that domain's web server must redirect /.well-known/webfinger and /.well-known/host-meta to the base URL")
	fs.bool(&cfg.AdminSocketGroup, "admin-socket-group", "CRIEUR_ADMIN_SOCKET_GROUP", false, "let members of the daemon's group run the staff commands (admin socket mode 0660 instead of 0600; the data directory must be 0750); membership then gives control of the bot, backups included")
}
