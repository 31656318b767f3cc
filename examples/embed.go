// Package examples embeds the example content folder of Zoomacom, so the
// crieur binary runs with sensible content and no flags at all.
package examples

import (
	"embed"
	"io/fs"
)

//go:embed all:zoomacom
var files embed.FS

// Zoomacom returns the example content folder (bot.yaml, tips/, events/,
// media/) as a file system rooted at the folder.
func Zoomacom() fs.FS {
	sub, err := fs.Sub(files, "zoomacom")
	if err != nil {
		// fs.Sub only fails on an invalid path, and "zoomacom" is valid.
		panic("examples: " + err.Error())
	}
	return sub
}
