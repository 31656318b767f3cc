package i18n

// frImages translates the problems check finds in an image named by a post
// or bot.yaml (content.checkImage).
func frImages() []Entry {
	return []Entry{
		{"file is missing; add \"file: media/<name>.png\"", "le fichier manque ; ajoutez \"file: media/<nom>.png\""},
		{"file %q must be a path inside the content folder, like media/photo.png (no \"..\" or leading \"/\")", "le fichier %q doit être un chemin dans le dossier de contenu, comme media/photo.png (sans \"..\" ni \"/\" au début)"},
		{"file %q not found; put the image in the content folder or fix the path (paths start from the folder root, e.g. media/photo.png)", "fichier %q introuvable ; mettez l’image dans le dossier de contenu ou corrigez le chemin (il part de la racine du dossier, par exemple media/photo.png)"},
		{"file %q is a folder; name an image file", "%q est un dossier ; indiquez un fichier image"},
		{"file %q is %.1f MiB; shrink it to 10 MiB or less", "le fichier %q fait %.1f Mio ; réduisez-le à 10 Mio au plus"},
		{"file %q: %s", "fichier %q : %s"},
		{"file %q is not a PNG, JPEG, GIF or WebP image; convert it to one of these", "le fichier %q n’est pas une image PNG, JPEG, GIF ou WebP ; convertissez-le dans l’un de ces formats"},
	}
}
