//! The `passthrough:` resolver: it reports the name as written, and the
//! connection resolves it (through the operating system) when it connects.

use super::static_list::StaticResolver;
use super::Address;

/// A resolver that reports `host:port` unresolved, as [`Address::Name`].
pub(crate) fn resolver(host: String, port: u16) -> StaticResolver {
    StaticResolver::new(vec![Address::Name { host, port }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolver::{Resolver, ResolverListener};

    #[tokio::test]
    async fn reports_the_name_unresolved() {
        let mut r = resolver("backend.internal".into(), 50051);
        let (listener, mut rx) = ResolverListener::new();
        r.start(listener);
        let want = vec![Address::Name {
            host: "backend.internal".into(),
            port: 50051,
        }];
        assert_eq!(rx.recv().await.unwrap().unwrap().addresses, want);
        r.resolve_now();
        assert_eq!(rx.recv().await.unwrap().unwrap().addresses, want);
    }
}
