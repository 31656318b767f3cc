package federation

import (
	"encoding/json"
	"fmt"
)

// NodeInfoUsage are the real figures NodeInfo reports.
type NodeInfoUsage struct {
	Users      int
	LocalPosts int
}

// NodeInfoLinks is the /.well-known/nodeinfo discovery document.
func NodeInfoLinks(u URLs) ([]byte, error) {
	doc := map[string]any{"links": []map[string]string{
		{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": u.base + "/nodeinfo/2.0"},
		{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": u.base + "/nodeinfo/2.1"},
	}}
	return json.Marshal(doc)
}

// NodeInfoContentType returns the profile-qualified media type of a NodeInfo
// document of the given schema version.
func NodeInfoContentType(version string) string {
	return `application/json; profile="http://nodeinfo.diaspora.software/ns/schema/` + version + `#"`
}

// NodeInfo is the NodeInfo document of schema version "2.0" or "2.1".
// nodeName is how instance lists and server software name the site (the
// bot's display name when it serves one bot); empty gives "crieur".
func NodeInfo(version, softwareVersion, nodeName string, usage NodeInfoUsage) ([]byte, error) {
	if nodeName == "" {
		nodeName = "crieur"
	}
	software := map[string]any{"name": "crieur", "version": softwareVersion}
	switch version {
	case "2.0":
	case "2.1":
		software["repository"] = "https://github.com/zoomacom/crieur"
		software["homepage"] = "https://github.com/zoomacom/crieur"
	default:
		return nil, fmt.Errorf("nodeinfo: unknown schema version %q", version)
	}
	doc := map[string]any{
		"version":           version,
		"software":          software,
		"protocols":         []string{"activitypub"},
		"services":          map[string]any{"inbound": []string{}, "outbound": []string{}},
		"openRegistrations": false,
		"usage": map[string]any{
			"users": map[string]int{
				"total":          usage.Users,
				"activeMonth":    usage.Users,
				"activeHalfyear": usage.Users,
			},
			"localPosts": usage.LocalPosts,
		},
		"metadata": map[string]any{"nodeName": nodeName},
	}
	return json.Marshal(doc)
}
