package federation

import (
	"encoding/json"
	"fmt"

	ap "github.com/go-ap/activitypub"
)

// PageSize is how many items a collection page holds at most.
const PageSize = 50

// Pages is how many pages total items fill (at least one, so an empty
// collection still has a first page).
func Pages(total int) int {
	if total <= 0 {
		return 1
	}
	return (total + PageSize - 1) / PageSize
}

// OrderedCollection is the top of a paged collection: its size and a link
// to the first and last pages, no items.
func OrderedCollection(id string, total int) ([]byte, error) {
	c := ap.OrderedCollectionNew(ap.ID(id))
	c.TotalItems = uint(max(total, 0))
	doc, err := FromItem(c)
	if err != nil {
		return nil, err
	}
	doc["totalItems"] = max(total, 0)
	doc["first"] = Page(id, 1)
	doc["last"] = Page(id, Pages(total))
	return doc.Marshal()
}

// OrderedCollectionPage is page number page (from 1) of a collection, with
// items already encoded (ids as JSON strings, or embedded objects).
func OrderedCollectionPage(id string, page, total int, items []json.RawMessage) ([]byte, error) {
	if page < 1 {
		return nil, fmt.Errorf("collection page %d: pages start at 1", page)
	}
	p := ap.OrderedCollectionPageNew(ap.OrderedCollectionNew(ap.ID(id)))
	p.ID = ap.ID(Page(id, page))
	doc, err := FromItem(p)
	if err != nil {
		return nil, err
	}
	doc["partOf"] = id
	doc["totalItems"] = max(total, 0)
	delete(doc, "first")
	if items == nil {
		items = []json.RawMessage{}
	}
	doc["orderedItems"] = items
	if page > 1 {
		doc["prev"] = Page(id, page-1)
	}
	if page < Pages(total) {
		doc["next"] = Page(id, page+1)
	}
	return doc.Marshal()
}

// IDList encodes ids as collection items.
func IDList(ids []string) []json.RawMessage {
	items := make([]json.RawMessage, len(ids))
	for i, id := range ids {
		b, _ := json.Marshal(id) // a string always encodes
		items[i] = b
	}
	return items
}
