package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/i18n"
	"github.com/zoomacom/crieur/store"
)

// readFollowerList reads the followers `crieur followers` lists: from the
// running daemon's compact list, from its JSON list when it is older than
// this command, else from the database opened read-only.
func readFollowerList(ctx context.Context, sf staffFlags) ([]store.FollowerEntry, error) {
	body, err := readDaemon(ctx, sf.data, http.MethodGet, app.FollowerListPath, 30*time.Second)
	if err == nil {
		return app.ParseFollowerList(body)
	}
	if errors.Is(err, errDaemonTooOld) {
		var items []app.FollowerItem
		if err := callDaemon(ctx, sf.data, http.MethodGet, "/followers", &items); err != nil {
			return nil, err
		}
		list := make([]store.FollowerEntry, len(items))
		for i, it := range items {
			list[i] = store.FollowerEntry{ActorID: it.Actor, State: content.FollowerState(it.State), FollowedAt: it.FollowedAt}
		}
		return list, nil
	}
	if !errors.Is(err, errNoDaemon) {
		return nil, err
	}
	var list []store.FollowerEntry
	err = withOffline(sf, true, func(a *app.App) (e error) { list, e = a.FollowerList(); return e })
	return list, err
}

// printFollowers writes the followers' table and their number. Labels
// and dates are formatted once per state and per day rather than once per
// follower (through the message catalog, and time formatting): the list
// is in follow order, so consecutive followers mostly share their day.
func printFollowers(w io.Writer, pr *i18n.Printer, loc *time.Location, list []store.FollowerEntry) error {
	rows := make([][]string, 0, len(list)+1)
	rows = append(rows, strings.Split(pr.Sprintf("ACTOR\tSTATE\tSINCE"), "\t"))
	labels := map[content.FollowerState]string{}
	var day struct {
		y, d int
		m    time.Month
		text string
	}
	for _, f := range list {
		label, ok := labels[f.State]
		if !ok {
			label = stateLabel(pr, string(f.State))
			labels[f.State] = label
		}
		t := f.FollowedAt.In(loc)
		if y, m, d := t.Date(); y != day.y || m != day.m || d != day.d || day.text == "" {
			day.y, day.m, day.d, day.text = y, m, d, pr.Date(t, loc)
		}
		rows = append(rows, []string{f.ActorID, label, day.text})
	}
	if err := writeTable(w, rows); err != nil {
		return err
	}
	_, err := io.WriteString(w, pr.Plural(len(list), "%d follower", "%d followers")+"\n")
	return err
}
