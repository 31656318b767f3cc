package safehttp

import (
	"net/netip"
)

// forbiddenV4 (a read-only table) lists the IPv4 ranges crieur must never connect to: none of
// them can hold a fediverse server, and several (loopback, 169.254.169.254
// cloud metadata, RFC 1918) would let a hostile peer use crieur to reach
// services behind the association's firewall (SSRF).
var forbiddenV4 = [...]netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network", includes 0.0.0.0 (RFC 791, 1122)
	netip.MustParsePrefix("10.0.0.0/8"),      // private (RFC 1918)
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("127.0.0.0/8"),     // loopback (RFC 1122)
	netip.MustParsePrefix("169.254.0.0/16"),  // link-local, cloud metadata (RFC 3927)
	netip.MustParsePrefix("172.16.0.0/12"),   // private (RFC 1918)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments (RFC 6890)
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation TEST-NET-1 (RFC 5737)
	netip.MustParsePrefix("192.88.99.0/24"),  // deprecated 6to4 relay anycast (RFC 7526)
	netip.MustParsePrefix("192.168.0.0/16"),  // private (RFC 1918)
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking (RFC 2544)
	netip.MustParsePrefix("198.51.100.0/24"), // documentation TEST-NET-2 (RFC 5737)
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation TEST-NET-3 (RFC 5737)
	netip.MustParsePrefix("224.0.0.0/4"),     // multicast (RFC 5771)
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, includes broadcast 255.255.255.255 (RFC 1112, 919)
}

// IPv6 ranges that need special treatment (read-only). IPv6 is checked by allow-list:
// only global unicast (2000::/3) may be reached, which at once refuses ::,
// ::1, IPv4-compatible ::/96, discard-only 100::/64, unique-local fc00::/7,
// link-local fe80::/10, site-local fec0::/10, multicast ff00::/8 and every
// range IANA has not allocated. The ranges below are the exceptions inside
// or beside 2000::/3.
var (
	globalUnicast = netip.MustParsePrefix("2000::/3")
	// IETF protocol assignments: Teredo 2001::/32, benchmarking 2001:2::/48,
	// ORCHID 2001:10::/28 and 2001:20::/28. Teredo hides the client's IPv4
	// address (XOR-obfuscated) and no fediverse server lives on any of them,
	// so the whole block is refused rather than decoded.
	ietfAssignments = netip.MustParsePrefix("2001::/23")
	docV6           = netip.MustParsePrefix("2001:db8::/32")  // documentation (RFC 3849)
	docV6New        = netip.MustParsePrefix("3fff::/20")      // documentation (RFC 9637)
	sixToFour       = netip.MustParsePrefix("2002::/16")      // 6to4, IPv4 in bits 16-47 (RFC 3056)
	nat64WellKnown  = netip.MustParsePrefix("64:ff9b::/96")   // NAT64, IPv4 in the last 32 bits (RFC 6052)
	nat64Local      = netip.MustParsePrefix("64:ff9b:1::/48") // local-use NAT64 (RFC 8215)
)

// IsForbiddenAddr reports whether crieur must refuse to connect to ip: any
// address that is not publicly routable unicast (loopback, private, link-local,
// CGNAT, unique-local, unspecified, multicast, broadcast, reserved,
// benchmarking and documentation ranges), and any IPv6 form that embeds such
// an IPv4 address (IPv4-mapped, NAT64, 6to4). The zero Addr is forbidden.
//
// A zone (fe80::1%eth0) is ignored: the address itself decides.
func IsForbiddenAddr(ip netip.Addr) bool {
	if !ip.IsValid() {
		return true
	}
	ip = ip.WithZone("")
	if ip.Is4In6() {
		// ::ffff:127.0.0.1 is dialled as 127.0.0.1 by the kernel.
		return forbiddenV4Addr(ip.Unmap())
	}
	if ip.Is4() {
		return forbiddenV4Addr(ip)
	}
	return forbiddenV6Addr(ip)
}

func forbiddenV4Addr(ip netip.Addr) bool {
	for _, p := range forbiddenV4 {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func forbiddenV6Addr(ip netip.Addr) bool {
	b := ip.As16()
	switch {
	case nat64WellKnown.Contains(ip):
		// On an IPv6-only host with DNS64, public IPv4 servers appear here;
		// the translator would forward to the embedded address, so that
		// address decides.
		return forbiddenV4Addr(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	case nat64Local.Contains(ip):
		// The operator picks the prefix length (48, 56, 64 or 96 within this
		// block), which moves the embedded IPv4 address. We cannot know which
		// one the local translator uses, so the address is refused if ANY of
		// the possible readings is forbidden.
		for _, v4 := range nat64Embedded(b) {
			if forbiddenV4Addr(v4) {
				return true
			}
		}
		return false
	case !globalUnicast.Contains(ip):
		return true
	case ietfAssignments.Contains(ip), docV6.Contains(ip), docV6New.Contains(ip):
		return true
	case sixToFour.Contains(ip):
		// A 6to4 relay delivers to the IPv4 address in bits 16-47.
		return forbiddenV4Addr(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
	}
	return false
}

// nat64Embedded returns the IPv4 address an RFC 6052 translator would read
// from b for each prefix length allowed inside 64:ff9b:1::/48. Bits 64-71
// (byte 8, the "u" octet) are never part of the address.
func nat64Embedded(b [16]byte) [4]netip.Addr {
	return [4]netip.Addr{
		netip.AddrFrom4([4]byte{b[6], b[7], b[9], b[10]}),    // /48
		netip.AddrFrom4([4]byte{b[7], b[9], b[10], b[11]}),   // /56
		netip.AddrFrom4([4]byte{b[9], b[10], b[11], b[12]}),  // /64
		netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), // /96
	}
}
