package server

import (
	"mime"
	"net/http"
	"strings"
	"time"
)

// WantsActivityJSON reports whether the client asked for an ActivityStreams
// document (application/activity+json, or JSON-LD with the AS profile).
func WantsActivityJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "application/activity+json", "application/json":
			return true
		case "application/ld+json":
			if p := params["profile"]; p == "" || strings.Contains(p, "https://www.w3.org/ns/activitystreams") {
				return true
			}
		}
	}
	return false
}

// WantsHTML reports whether a browser is asking: text/html is accepted and
// no ActivityStreams type is.
func WantsHTML(r *http.Request) bool {
	if WantsActivityJSON(r) {
		return false
	}
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "text/html") || strings.Contains(accept, "application/xhtml+xml")
}

func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339, s) }
