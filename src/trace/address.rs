//! Host → client IPv4 address, by the deterministic rule documented in [`crate::trace`].

use std::net::Ipv4Addr;

/// Second-level labels that, directly under a two-letter country code, belong to the public
/// suffix (`foo.co.uk`, `bar.ac.jp`, `baz.com.au`): the organisation is then the last three labels.
const SECOND_LEVEL: &[&str] = &["ac", "co", "com", "edu", "gov", "net", "org"];

/// First /24 prefix (11.0.0.0/24) and number of /24 prefixes up to 126.255.255.0/24.
const FIRST_PREFIX: u64 = 11 << 16;
const PREFIXES: u64 = (126 - 11 + 1) << 16;

/// FNV-1a, 64 bits.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    crate::kernel::rng::fnv1a64(bytes)
}

/// The organisation (registrable domain) of a lower-case host name, see [`crate::trace`].
pub fn organisation(host: &str) -> &str {
    let host = host.trim_end_matches('.');
    let labels: Vec<&str> = host.split('.').collect();
    let n = labels.len();
    if n <= 2 {
        return host;
    }
    let tld = labels[n - 1];
    let keep = if tld.len() == 2
        && tld.bytes().all(|b| b.is_ascii_alphabetic())
        && SECOND_LEVEL.contains(&labels[n - 2])
    {
        3
    } else {
        2
    };
    // Byte offset of the first kept label.
    let skip: usize = labels[..n - keep].iter().map(|l| l.len() + 1).sum();
    &host[skip..]
}

/// The client address of a trace host: an IPv4 literal keeps its address; a name gets
/// `<organisation /24>.<host octet>` (see [`crate::trace`]).
pub fn host_address(host: &str) -> Ipv4Addr {
    if let Ok(a) = host.parse::<Ipv4Addr>() {
        return a;
    }
    let host = host.to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    let prefix = FIRST_PREFIX + fnv1a64(organisation(host).as_bytes()) % PREFIXES;
    let last = 1 + fnv1a64(host.as_bytes()) % 254;
    // prefix < 127 << 16, so it fits in 24 bits; last ∈ 1..=254.
    Ipv4Addr::from(((prefix as u32) << 8) | last as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_reference_values() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn organisations() {
        assert_eq!(organisation("www-a1.proxy.aol.com"), "aol.com");
        assert_eq!(organisation("foo.ac.uk"), "foo.ac.uk");
        assert_eq!(organisation("columbia.acc.brad.ac.uk"), "brad.ac.uk");
        assert_eq!(organisation("a.b.co.jp"), "b.co.jp");
        assert_eq!(organisation("in24.inetnebr.com"), "inetnebr.com");
        assert_eq!(organisation("piweba3y.prodigy.com"), "prodigy.com");
        // `com` under a three-letter TLD is an ordinary label.
        assert_eq!(organisation("x.com.net"), "com.net");
        // A two-letter TLD without a known second-level label: last two labels.
        assert_eq!(organisation("host.uni-bonn.de"), "uni-bonn.de");
        assert_eq!(organisation("ac.uk"), "ac.uk");
        assert_eq!(organisation("localhost"), "localhost");
        assert_eq!(organisation("example.com."), "example.com");
    }

    #[test]
    fn aol_proxies_share_a_slash_24() {
        let hosts = [
            "www-a1.proxy.aol.com",
            "www-b4.proxy.aol.com",
            "www-d2.proxy.aol.com",
            "WWW-C5.PROXY.AOL.COM",
        ];
        let addrs: Vec<[u8; 4]> = hosts.iter().map(|h| host_address(h).octets()).collect();
        for a in &addrs {
            assert_eq!(a[..3], addrs[0][..3], "{addrs:?}");
            assert!((11..=126).contains(&a[0]), "{a:?}");
            assert!((1..=254).contains(&a[3]), "{a:?}");
        }
        // Different host names (usually) get different last octets.
        assert_ne!(addrs[0][3], addrs[1][3]);
        // Case-insensitive: the same name in upper case is the same address.
        assert_eq!(
            host_address("www-c5.proxy.aol.com"),
            host_address("WWW-C5.PROXY.AOL.COM")
        );
        // Another organisation lands elsewhere.
        assert_ne!(
            host_address("piweba3y.prodigy.com").octets()[..3],
            addrs[0][..3]
        );
    }

    #[test]
    fn ipv4_literals_are_kept() {
        assert_eq!(
            host_address("128.159.137.43"),
            Ipv4Addr::new(128, 159, 137, 43)
        );
        assert_eq!(host_address("127.0.0.1"), Ipv4Addr::new(127, 0, 0, 1));
        // Not a valid literal: treated as a name (organisation "0.300").
        let a = host_address("10.0.0.300").octets();
        assert!((11..=126).contains(&a[0]) && a[0] != 127);
    }

    #[test]
    fn deterministic_and_in_range() {
        assert_eq!(
            host_address("uplherc.upl.com"),
            host_address("uplherc.upl.com")
        );
        for i in 0..2000 {
            let a = host_address(&format!("h{i}.org{}.example{i}.com", i % 7)).octets();
            assert!((11..=126).contains(&a[0]));
            assert!((1..=254).contains(&a[3]));
        }
    }
}
