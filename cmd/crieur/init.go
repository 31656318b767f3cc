package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing/fstest"
	"time"

	"github.com/zoomacom/crieur/content"
)

// initUsernameRE turns a folder name into a plausible username.
var initUsernameRE = regexp.MustCompile(`[^a-z0-9_-]+`)

// initFiles renders the files of a new content folder: a commented
// bot.yaml, one tip, one event (a draft, so nothing imaginary is
// announced), media/, a short French LISEZMOI.md and a .gitignore. The
// staff who use it write French; the comments are in French.
func initFiles(username, name string, now time.Time, loc *time.Location) map[string]string {
	quotedName, _ := json.Marshal(name) // a JSON string is a YAML double-quoted string
	day := now.In(loc).AddDate(0, 2, 0)
	for day.Weekday() != time.Saturday {
		day = day.AddDate(0, 0, 1)
	}
	date := day.Format("2006-01-02")
	eventFile := "events/" + day.Format("2006-01") + "-atelier.md"
	return map[string]string{
		content.ProfileFile: `# Le compte du bot. Après chaque modification, vérifiez avec :
#   crieur check --content CE_DOSSIER
# Le guide complet : docs/guide-redaction.md dans le dépôt de crieur.

# Le nom du compte, dans @` + username + `@votre-domaine. Ne le changez
# plus une fois que des gens suivent le bot.
username: ` + username + `
# Le nom affiché.
name: ` + string(quotedName) + `
# La présentation du profil, en Markdown.
summary: |
  Des astuces pour passer aux **logiciels libres**, et nos ateliers.
# Une image carrée dans media/, par exemple :
# avatar: media/avatar.png
# Le tableau du profil (4 lignes au plus) :
# fields:
#   - name: Site
#     value: https://www.example.org
language: fr
timezone: Europe/Paris
# Le message épinglé en haut du profil :
pinned: |
  Bonjour ! Ce compte automatique partage des astuces pour remplacer les
  outils des géants du numérique par des logiciels libres.
# Les créneaux des astuces, chaque semaine (jour et heure), et le délai
# avant de reprendre une astuce déjà publiée.
schedule:
  tips: ["tue 10:00", "fri 17:30"]
  repeat_after: 90d
# auto : tout le monde peut s'abonner ; manual : vous acceptez chaque
# abonnement avec "crieur followers approve".
followers:
  approval: auto
`,
		"tips/01-framadate.md": `---
# Une astuce : le texte sous la deuxième ligne "---" est publié tel quel
# (Markdown). Les astuces passent à tour de rôle, dans l'ordre des noms de
# fichier ; "next: true" fait passer une nouvelle astuce en premier.
tags: [Framadate, Sondage]
replaces: [Doodle]
link: https://framadate.org
---
Trouver une date de réunion sans Doodle ? **Framadate** crée un sondage de dates en deux minutes, sans compte et sans publicité. Vous partagez le lien, chacun coche ses disponibilités, et la bonne date saute aux yeux.
`,
		eventFile: `---
# Un événement. "draft: true" le garde en brouillon : retirez cette ligne
# quand tout est juste, il sera annoncé aussitôt (ou à announce_at).
draft: true
title: "Atelier : quitter Google Drive pour Nextcloud"
start: ` + date + ` 14:00
end: ` + date + ` 17:00
location:
  name: Maison des associations
  address: 1 place de la Mairie
  # online_url: https://visio.example.org/atelier   (pour un événement en ligne)
reminders: [7d, 1d]
tags: [Nextcloud, Atelier]
---
Venez avec un ordinateur portable : nous installerons ensemble Nextcloud et
transférerons vos fichiers. Gratuit, sur inscription.
`,
		"media/.gitkeep": "",
		"LISEZMOI.md": `# Le contenu du bot @` + username + `

Tout ce que le bot publie est dans ce dossier :

- ` + "`bot.yaml`" + ` : le profil du compte et les créneaux de publication ;
- ` + "`tips/`" + ` : les astuces, une par fichier ` + "`.md`" + `, publiées à tour de rôle ;
- ` + "`events/`" + ` : les événements (ateliers, rencontres), annoncés avec des rappels ;
- ` + "`media/`" + ` : les images (chacune avec sa description, ` + "`alt`" + `).

Pour écrire : copiez un fichier existant sous un nouveau nom (lettres sans
accent, chiffres, ` + "`-`, `_` et `.`" + `, finissant par ` + "`.md`" + `), changez le texte,
puis vérifiez :

    crieur check --content .

Ensuite enregistrez (` + "`git commit`" + `, ` + "`git push`" + `) : le bot voit les
changements en quelques secondes. ` + "`crieur queue`" + ` montre les prochaines
publications.

Attention : ne renommez pas un fichier déjà publié (il serait publié de
nouveau) ; pour retirer une publication, ajoutez ` + "`deleted: true`" + `.

Le guide complet : ` + "`docs/guide-redaction.md`" + ` dans le dépôt de crieur.
`,
		".gitignore": `# Sauvegardes des éditeurs
*~
*.swp
.#*
.DS_Store
Thumbs.db
# Les données du bot (base, clés) ne vont jamais dans ce dépôt
crieur-data/
`,
	}
}

// errNotEmpty means init would write over existing files.
var errNotEmpty = errors.New("folder not empty")

func initCmd(_ context.Context, args []string, stdout, stderr io.Writer) int {
	var username, name string
	fs := newFlagSet("init", "Creates DIR, a content folder ready to edit: a commented bot.yaml, one tip,\none event (a draft), media/, a LISEZMOI.md for staff and a .gitignore.\nIt never overwrites anything.\n\n  crieur init [--username NAME] [--name \"Display name\"] DIR", stderr)
	fs.StringVar(&username, "username", "", "the account name (lowercase letters, digits, _ or -); default: from DIR")
	fs.StringVar(&name, "name", "", "the display name; default: the username")
	if err := fs.parse(args); err != nil {
		return flagExit(err, stderr)
	}
	pr := staffPrinter(content.DefaultLanguage)
	rest := fs.Args()
	if len(rest) > 1 {
		// Flags may follow the folder: "init DIR --username x".
		if err := fs.Parse(rest[1:]); err != nil {
			return flagExit(err, stderr)
		}
		rest = append(rest[:1:1], fs.Args()...)
	}
	if len(rest) != 1 {
		fs.Usage()
		return 2
	}
	dir := rest[0]
	if username == "" {
		base := strings.ToLower(filepath.Base(filepath.Clean(dir)))
		username = strings.Trim(initUsernameRE.ReplaceAllString(base, "-"), "-")
		if len(username) > 30 {
			username = strings.Trim(username[:30], "-")
		}
	}
	if name == "" {
		name = username
	}
	loc, err := time.LoadLocation(content.DefaultTimezone)
	if err != nil {
		loc = time.UTC
	}
	files := initFiles(username, name, time.Now(), loc)
	// Check the folder before writing it: a bad --username is reported
	// the way check reports it, and nothing is created.
	mem := fstest.MapFS{}
	for p, data := range files {
		mem[p] = &fstest.MapFile{Data: []byte(data)}
	}
	errs := content.Check(mem).Errors()
	for _, p := range errs {
		fmt.Fprintln(stderr, "crieur init: "+pr.Translate(p))
	}
	if len(errs) > 0 {
		pr.Fprintln(stderr, "crieur init: nothing created; give another --username.")
		return 2
	}
	if err := writeNew(dir, files); err != nil {
		if errors.Is(err, errNotEmpty) {
			pr.Fprintln(stderr, "crieur init: %s already exists and is not empty; nothing was changed. Choose a new folder name.", dir)
		} else {
			pr.Fprintln(stderr, "crieur init: %v", err)
		}
		return 1
	}
	names := make([]string, 0, len(files))
	for p := range files {
		if path.Base(p) != ".gitkeep" {
			names = append(names, p)
		}
	}
	sort.Strings(names)
	pr.Fprintln(stdout, "Created %s for @%s: %s, media/.", dir, username, strings.Join(names, ", "))
	pr.Fprintln(stdout, "Next: edit bot.yaml and the posts, run `crieur check --content %s`, then `crieur serve --content %[1]s --base-url https://YOUR-DOMAIN`.", dir)
	return 0
}

// writeNew creates dir and the files, refusing a non-empty dir and any
// existing file (O_EXCL), so that init never overwrites staff's work.
func writeNew(dir string, files map[string]string) error {
	entries, err := os.ReadDir(dir)
	if err == nil && len(entries) > 0 {
		return errNotEmpty
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	names := make([]string, 0, len(files))
	for p := range files {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(full), err)
		}
		f, err := os.OpenFile(full, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return fmt.Errorf("create %s: %w", full, err)
		}
		_, werr := f.WriteString(files[p])
		if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
			return fmt.Errorf("write %s: %w", full, err)
		}
	}
	return nil
}
