//! Name and address syntax shared by the rules: DNS names and CIDRs.

use ipnet::{IpNet, Ipv4Net};

/// Why `name` is not a lowercase DNS subdomain (RFC 1123), if it is not one.
pub(crate) fn dns_subdomain_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("must not be empty".to_owned());
    }
    if name.len() > 253 {
        return Some("must be at most 253 characters".to_owned());
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Some(format!("`{name}` has an empty label"));
        }
        if label.len() > 63 {
            return Some(format!("label `{label}` is longer than 63 characters"));
        }
        if !label
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
        {
            return Some(format!(
                "`{name}` must contain only lowercase letters, digits, `-` and `.`"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!("label `{label}` must not start or end with `-`"));
        }
    }
    None
}

/// Parse an IPv4 CIDR, normalising nothing: `10.0.0.1/16` (host bits set) is rejected.
pub(crate) fn ipv4_cidr(text: &str) -> Result<Ipv4Net, String> {
    let net: Ipv4Net = text
        .parse()
        .map_err(|_| format!("`{text}` is not an IPv4 CIDR (for example 172.20.0.0/16)"))?;
    if net.trunc() != net {
        return Err(format!(
            "`{text}` has host bits set (did you mean `{}`?)",
            net.trunc()
        ));
    }
    Ok(net)
}

/// Parse an IPv4 or IPv6 CIDR.
pub(crate) fn any_cidr(text: &str) -> Result<IpNet, String> {
    let net: IpNet = text
        .parse()
        .map_err(|_| format!("`{text}` is not a CIDR (for example 203.0.113.0/24 or ::/0)"))?;
    if net.trunc() != net {
        return Err(format!(
            "`{text}` has host bits set (did you mean `{}`?)",
            net.trunc()
        ));
    }
    Ok(net)
}

/// Whether two IPv4 networks share any address.
pub(crate) fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The region of an availability zone: the zone without its trailing letter
/// (`us-east-1a` → `us-east-1`), or `None` if it does not end in one.
pub(crate) fn region_of_zone(zone: &str) -> Option<&str> {
    let last = zone.chars().last()?;
    let region = &zone[..zone.len() - last.len_utf8()];
    let valid = last.is_ascii_lowercase()
        && region.chars().last().is_some_and(|c| c.is_ascii_digit())
        && region.contains('-');
    valid.then_some(region)
}

/// The letter that ends a zone name (`us-east-1a` → `a`).
pub(crate) fn zone_letter(zone: &str) -> Option<String> {
    region_of_zone(zone).map(|region| zone[region.len()..].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names() {
        assert_eq!(dns_subdomain_problem("minimal.example.com"), None);
        assert_eq!(dns_subdomain_problem("a-b.c1"), None);
        for bad in [
            "",
            "Upper.example.com",
            "a..b",
            "-a.b",
            "a_b.c",
            &"x".repeat(64),
        ] {
            assert!(dns_subdomain_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn cidrs() {
        assert!(ipv4_cidr("172.20.0.0/16").is_ok());
        assert!(
            ipv4_cidr("172.20.0.1/16")
                .unwrap_err()
                .contains("host bits")
        );
        assert!(ipv4_cidr("::/0").is_err());
        assert!(any_cidr("::/0").is_ok());
        assert!(any_cidr("0.0.0.0/0").is_ok());
        assert!(any_cidr("nope").is_err());
    }

    #[test]
    fn regions() {
        assert_eq!(region_of_zone("us-east-1a"), Some("us-east-1"));
        assert_eq!(region_of_zone("eu-central-2c"), Some("eu-central-2"));
        assert_eq!(region_of_zone("us-east-1"), None);
        assert_eq!(region_of_zone(""), None);
        assert_eq!(region_of_zone("a"), None);
    }

    #[test]
    fn overlap() {
        let a = ipv4_cidr("10.0.0.0/16").unwrap();
        let b = ipv4_cidr("10.0.128.0/17").unwrap();
        let c = ipv4_cidr("10.1.0.0/16").unwrap();
        assert!(overlaps(&a, &b) && overlaps(&b, &a));
        assert!(!overlaps(&a, &c));
    }
}
