package safehttp_test

import (
	"net/netip"
	"testing"

	"github.com/zoomacom/crieur/federation/safehttp"
)

func TestIsForbiddenAddr(t *testing.T) {
	tests := []struct {
		addr      string
		forbidden bool
	}{
		// IPv4 public: a fediverse server must stay reachable.
		{"1.1.1.1", false},
		{"8.8.8.8", false},
		{"93.184.216.34", false},
		{"100.63.255.255", false}, // just below CGNAT
		{"100.128.0.0", false},    // just above CGNAT
		{"172.15.255.255", false}, // just below 172.16/12
		{"172.32.0.0", false},     // just above 172.16/12
		{"192.0.1.1", false},      // between 192.0.0/24 and 192.0.2/24
		{"198.20.0.1", false},     // just above benchmarking 198.18/15
		{"223.255.255.255", false},
		// IPv4 forbidden.
		{"0.0.0.0", true},
		{"0.1.2.3", true},
		{"10.0.0.1", true},
		{"10.255.255.255", true},
		{"100.64.0.1", true},
		{"100.127.255.254", true},
		{"127.0.0.1", true},
		{"127.255.255.254", true},
		{"169.254.169.254", true}, // cloud metadata
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"192.0.0.8", true},
		{"192.0.2.10", true},
		{"192.88.99.1", true},
		{"192.168.1.1", true},
		{"198.18.0.1", true},
		{"198.19.255.255", true},
		{"198.51.100.7", true},
		{"203.0.113.9", true},
		{"224.0.0.1", true},
		{"239.255.255.250", true},
		{"240.0.0.1", true},
		{"255.255.255.255", true},
		// IPv6 public.
		{"2a01:4f8:c0c:1::1", false},
		{"2606:4700:4700::1111", false},
		{"2001:4860:4860::8888", false}, // outside 2001::/23
		{"2620:4f:8000::1", false},
		// IPv6 forbidden natively.
		{"::", true},
		{"::1", true},
		{"::7f00:1", true}, // IPv4-compatible ::127.0.0.1 (deprecated)
		{"::0808:0808", true},
		{"100::1", true},
		{"fc00::1", true},
		{"fd12:3456:789a::1", true},
		{"fe80::1", true},
		{"fe80::1%eth0", true},
		{"febf::1", true},
		{"fec0::1", true},
		{"ff02::1", true},
		{"ff05::1:3", true},
		{"2001::1", true},                // Teredo
		{"2001:0:4136:e378::1", true},    // Teredo with a public server
		{"2001:2::1", true},              // benchmarking
		{"2001:20::1", true},             // ORCHIDv2
		{"2001:db8::1", true},            // documentation
		{"3fff::1", true},                // documentation (RFC 9637)
		{"5f00::1", true},                // SRv6 SIDs, outside 2000::/3
		{"4000::1", true},                // unallocated
		{"64:ff9b:2::1", true},           // outside both NAT64 prefixes
		{"64:ff9b::1:0:0:808:808", true}, // 64:ff9b::/32 but not /96
		// IPv4-mapped IPv6: the embedded IPv4 decides.
		{"::ffff:127.0.0.1", true},
		{"::ffff:7f00:1", true},
		{"::ffff:10.1.2.3", true},
		{"::ffff:169.254.169.254", true},
		{"::ffff:0.0.0.0", true},
		{"::ffff:8.8.8.8", false},
		// NAT64 well-known prefix: the embedded IPv4 decides.
		{"64:ff9b::127.0.0.1", true},
		{"64:ff9b::a00:1", true}, // 10.0.0.1
		{"64:ff9b::169.254.169.254", true},
		{"64:ff9b::8.8.8.8", false},
		// Local-use NAT64: every possible prefix length must give a public v4.
		{"64:ff9b:1::7f00:1", true},             // /96 reading: 127.0.0.1
		{"64:ff9b:1:a00:1::", true},             // /48 reading: 10.0.0.1
		{"64:ff9b:1::808:808", true},            // /48 reading is 0.0.0.0
		{"64:ff9b:1:808:8:808:808:808", false},  // every reading is 8.8.8.8
		{"64:ff9b:1:808:8:808:a9fe:a9fe", true}, // /96 reading 169.254.169.254
		// 6to4: the IPv4 in bits 16-47 decides.
		{"2002:7f00:1::1", true},
		{"2002:a00:1::", true},
		{"2002:c0a8:101::1", true}, // 192.168.1.1
		{"2002::1", true},          // 0.0.0.0
		{"2002:808:808::1", false},
	}
	if len(tests) < 40 {
		t.Fatalf("only %d cases", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			ip := netip.MustParseAddr(tt.addr)
			if got := safehttp.IsForbiddenAddr(ip); got != tt.forbidden {
				t.Errorf("IsForbiddenAddr(%s) = %v, want %v", tt.addr, got, tt.forbidden)
			}
		})
	}
	t.Run("zero Addr", func(t *testing.T) {
		if !safehttp.IsForbiddenAddr(netip.Addr{}) {
			t.Error("the zero Addr must be forbidden")
		}
	})
}
