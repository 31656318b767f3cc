package server

import (
	"mime"
	"net/http"
)

// PageCSP is the Content-Security-Policy of our HTML pages: no script at
// all, styles only from our origin (the embedded stylesheet: no inline
// style), images and fonts from our origin (or data: URIs), nothing may frame the page, and
// the page cannot post a form or rebase its links elsewhere. A post's
// HTML is sanitized already; this is the second line if it ever is not.
const PageCSP = "default-src 'none'; script-src 'none'; style-src 'self'; " +
	"img-src 'self' data:; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// PageHeaders adds the browser security headers (PageCSP, nosniff, no
// framing, referrer policy) to the responses of next that a browser would
// render as a page: those whose Content-Type is HTML, or not set (net/http
// would then sniff one, perhaps HTML). JSON documents, media and feeds go
// out unchanged. Handlers may still reach the connection through
// http.ResponseController (the inbox sets its read deadline that way).
func PageHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&pageHeaderWriter{ResponseWriter: w}, r)
	})
}

type pageHeaderWriter struct {
	http.ResponseWriter
	decided bool
}

// decide runs once, when the handler commits its headers.
func (w *pageHeaderWriter) decide() {
	if w.decided {
		return
	}
	w.decided = true
	h := w.ResponseWriter.Header()
	if !mayRenderAsPage(h.Get("Content-Type")) {
		return
	}
	h.Set("Content-Security-Policy", PageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	// Older browsers ignore frame-ancestors.
	h.Set("X-Frame-Options", "DENY")
	// Links out of a page tell the other site nothing of which page.
	h.Set("Referrer-Policy", "same-origin")
}

func mayRenderAsPage(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err != nil || mt == "text/html" || mt == "application/xhtml+xml"
}

func (w *pageHeaderWriter) WriteHeader(code int) {
	w.decide()
	w.ResponseWriter.WriteHeader(code)
}

func (w *pageHeaderWriter) Write(b []byte) (int, error) {
	w.decide()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *pageHeaderWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
