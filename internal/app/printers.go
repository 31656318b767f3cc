package app

import (
	"sync"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/internal/i18n"
	"golang.org/x/text/language"
)

// printers are the message printers the app writes its own posts with
// (staff notices, answers), in the bot's language: French or English.
// Each holds the whole catalog, so both are built once, on first use,
// rather than per message.
type printers struct {
	once   sync.Once
	fr, en *i18n.Printer
}

// For is the printer of lang (a bot.yaml language): French for any French
// tag, English otherwise, as i18n.New decides.
func (p *printers) For(lang string) *i18n.Printer {
	p.once.Do(func() {
		p.fr, p.en = i18n.New(language.French), i18n.New(language.English)
	})
	base, _ := language.Make(lang).Base()
	if fr, _ := language.French.Base(); base == fr {
		return p.fr
	}
	return p.en
}

// AudienceLabel is how staff read who could see a reply or mention
// (a content.Audience), in pr's language: the same words in `crieur
// mentions` and in the direct message staff receive. No audience is a
// public one; an unknown one is shown as it is.
func AudienceLabel(pr *i18n.Printer, audience string) string {
	switch content.Audience(audience) {
	case content.AudiencePublic, "":
		return pr.Sprintf("public")
	case content.AudienceUnlisted:
		return pr.Sprintf("unlisted")
	case content.AudienceFollowers:
		return pr.Sprintf("followers only")
	case content.AudienceDirect:
		return pr.Sprintf("direct message")
	}
	return audience
}
