package retention_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/gdprkit/gdpr/retention"
)

func ExampleTruncateIP() {
	for _, s := range []string{"192.0.2.17", "2001:db8:1234:5678::1", "::ffff:198.51.100.200", "fe80::1%eth0"} {
		fmt.Println(retention.TruncateIP(netip.MustParseAddr(s)))
	}
	// Output:
	// 192.0.2.0
	// 2001:db8:1234::
	// ::ffff:198.51.100.0
	// fe80::
}

func ExampleTruncateIPString() {
	s, err := retention.TruncateIPString("198.51.100.200")
	fmt.Println(s, err)
	_, err = retention.TruncateIPString("ada@example.com")
	fmt.Println(err)
	// Output:
	// 198.51.100.0 <nil>
	// retention truncate: ip: invalid input: not an IP address
}

func ExampleCoarsen() {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	// 31 March 2024 had 23 hours in Berlin.
	t := time.Date(2024, time.March, 31, 15, 4, 5, 0, berlin)
	for _, g := range []retention.Granularity{retention.Hour, retention.Day, retention.Month, retention.Year} {
		c, err := retention.Coarsen(t, g)
		if err != nil {
			panic(err)
		}
		fmt.Println(g, c.Format(time.RFC3339))
	}
	// A granularity from a configuration file may be misspelt.
	_, err = retention.Coarsen(t, "week")
	fmt.Println(err)
	// Output:
	// hour 2024-03-31T15:00:00+02:00
	// day 2024-03-31T00:00:00+01:00
	// month 2024-03-01T00:00:00+01:00
	// year 2024-01-01T00:00:00+01:00
	// retention coarsen: g: invalid input: unknown granularity "week"
}

func ExampleAgeBand() {
	birth := time.Date(1992, time.February, 29, 0, 0, 0, 0, time.UTC)
	for _, now := range []time.Time{
		time.Date(2027, time.February, 28, 0, 0, 0, 0, time.UTC),
		time.Date(2027, time.March, 1, 0, 0, 0, 0, time.UTC),
	} {
		lo, hi, err := retention.AgeBand(birth, now, 5)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %d–%d\n", now.Format(time.DateOnly), lo, hi)
	}
	_, _, err := retention.AgeBand(birth, time.Now(), 0)
	fmt.Println(err)
	// Output:
	// 2027-02-28: 30–34
	// 2027-03-01: 35–39
	// retention age band: width: invalid input: width must be at least 1
}

func ExampleGeneralisePostcode() {
	for _, c := range []struct {
		code string
		keep int
	}{{"10115", 2}, {"sw1a 1aa", 4}, {"00-950", 2}, {"SW1A  1AA", 4}} {
		g, err := retention.GeneralisePostcode(c.code, c.keep)
		fmt.Printf("%q %v\n", g, err)
	}
	// Output:
	// "10" <nil>
	// "SW1A" <nil>
	// "00" <nil>
	// "" retention generalise: postcode: invalid input: a postcode's spaces and hyphens come singly, between letters or digits
}

func ExamplePseudonymiser() {
	// In production the key is 32 random bytes from a secret store, kept
	// apart from the data.
	key := []byte("an example key of 32 bytes or mo")
	p, err := retention.NewPseudonymiser(key)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Pseudonym("users.email", "ada@example.com"))
	fmt.Println(p.Pseudonym("users.email", "ada@example.com"))  // the same
	fmt.Println(p.Pseudonym("orders.email", "ada@example.com")) // unrelated
	fmt.Println(p)
	// Output:
	// I7XAUL6_eBTAT7hSDizLqhodwpv7IRhAnJWRGFtJ9_4
	// I7XAUL6_eBTAT7hSDizLqhodwpv7IRhAnJWRGFtJ9_4
	// WY3eVb0erEE3uPE_BRopzSe3dIk8YA0WaLoWLj3OnPM
	// retention.Pseudonymiser{key: [redacted]}
}
