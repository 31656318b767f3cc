package safehttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/zoomacom/crieur/federation/safehttp"
)

func ExampleClient_FetchActivityJSON() {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	mux.HandleFunc("/notes/1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/activity+json")
		fmt.Fprintf(w, `{"id":%q,"type":"Note","content":"Astuce : Framadate remplace Doodle."}`, srv.URL+"/notes/1")
	})

	// AllowPrivate only because the example server listens on loopback.
	c := safehttp.New(safehttp.Options{AllowPrivate: true})
	body, err := c.FetchActivityJSON(context.Background(), srv.URL+"/notes/1", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	var note struct{ Type, Content string }
	if err := json.Unmarshal(body, &note); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(note.Type, "-", note.Content)

	_, err = c.FetchActivityJSON(context.Background(), srv.URL+"/notes/2", nil)
	var se *safehttp.StatusError
	fmt.Println(errors.As(err, &se), se.Code)

	// The same request without AllowPrivate never reaches the server.
	_, err = safehttp.New(safehttp.Options{}).FetchActivityJSON(context.Background(), srv.URL+"/notes/1", nil)
	fmt.Println(errors.Is(err, safehttp.ErrForbiddenAddress))
	// Output:
	// Note - Astuce : Framadate remplace Doodle.
	// true 404
	// true
}
