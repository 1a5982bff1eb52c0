//! Address-list preparation shared by the policies: de-duplication, and the
//! address-family interleaving of Happy Eyeballs (gRFC A61, RFC 8305 §4).

use crate::resolver::Address;
use std::collections::HashSet;

/// `addresses` without repeats, each kept at its first position.
pub(crate) fn dedup(addresses: &[Address]) -> Vec<Address> {
    let mut seen = HashSet::with_capacity(addresses.len());
    addresses
        .iter()
        .filter(|a| seen.insert(*a))
        .cloned()
        .collect()
}

/// The address family, as Happy Eyeballs sorts addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    V4,
    V6,
    /// Unix sockets and host names: not IP, kept in their own order.
    Other,
}

fn family(address: &Address) -> Family {
    match address {
        Address::Tcp(a) if a.is_ipv4() => Family::V4,
        Address::Tcp(_) => Family::V6,
        _ => Family::Other,
    }
}

/// Interleaves address families (gRFC A61, after RFC 8305 §4): the family of
/// the first address comes first, then the families take turns, in the
/// order each first appears; within a family the order is kept. With only
/// IPv6 and IPv4 this is "v6, v4, v6, v4, ..." when the list starts with
/// IPv6. Unix and host-name addresses form one more family, so a list of
/// only those is unchanged.
pub(crate) fn interleave_families(addresses: Vec<Address>) -> Vec<Address> {
    let mut groups: Vec<(Family, Vec<Address>)> = Vec::new();
    for address in addresses {
        let f = family(&address);
        match groups.iter_mut().find(|(g, _)| *g == f) {
            Some((_, list)) => list.push(address),
            None => groups.push((f, vec![address])),
        }
    }
    let total = groups.iter().map(|(_, l)| l.len()).sum();
    let mut iters: Vec<_> = groups.into_iter().map(|(_, l)| l.into_iter()).collect();
    let mut out = Vec::with_capacity(total);
    while out.len() < total {
        for it in &mut iters {
            if let Some(a) = it.next() {
                out.push(a);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(s: &str) -> Address {
        Address::Tcp(s.parse().unwrap())
    }

    #[test]
    fn dedup_keeps_first_occurrences_in_order() {
        let list = [
            tcp("10.0.0.2:1"),
            tcp("10.0.0.1:1"),
            tcp("10.0.0.2:1"),
            tcp("10.0.0.1:2"),
        ];
        assert_eq!(
            dedup(&list),
            vec![tcp("10.0.0.2:1"), tcp("10.0.0.1:1"), tcp("10.0.0.1:2")]
        );
    }

    #[test]
    fn interleave_starts_with_the_first_family_and_alternates() {
        let list = vec![
            tcp("[::1]:1"),
            tcp("[::2]:1"),
            tcp("[::3]:1"),
            tcp("10.0.0.1:1"),
            tcp("10.0.0.2:1"),
        ];
        assert_eq!(
            interleave_families(list),
            vec![
                tcp("[::1]:1"),
                tcp("10.0.0.1:1"),
                tcp("[::2]:1"),
                tcp("10.0.0.2:1"),
                tcp("[::3]:1"),
            ]
        );
        let list = vec![tcp("10.0.0.1:1"), tcp("10.0.0.2:1"), tcp("[::1]:1")];
        assert_eq!(
            interleave_families(list),
            vec![tcp("10.0.0.1:1"), tcp("[::1]:1"), tcp("10.0.0.2:1")]
        );
    }

    #[test]
    fn non_ip_addresses_keep_their_order() {
        let list = vec![
            Address::Unix("/b".into()),
            Address::Name {
                host: "x".into(),
                port: 1,
            },
            Address::Unix("/a".into()),
        ];
        assert_eq!(interleave_families(list.clone()), list);
    }
}
