//! Resolvers of fixed address lists (`ipv4:`, `ipv6:`, `unix:`): they
//! report their list when started and again on every re-resolution request.

use super::{Address, Resolution, Resolver, ResolverListener};

/// A resolver that always reports the same addresses.
#[derive(Debug)]
pub(crate) struct StaticResolver {
    addresses: Vec<Address>,
    listener: Option<ResolverListener>,
}

impl StaticResolver {
    /// A resolver of these addresses, in this order.
    pub(crate) fn new(addresses: Vec<Address>) -> Self {
        StaticResolver {
            addresses,
            listener: None,
        }
    }

    fn report(&self) {
        if let Some(listener) = &self.listener {
            listener.update(Resolution {
                addresses: self.addresses.clone(),
                service_config: None,
            });
        }
    }
}

impl Resolver for StaticResolver {
    fn start(&mut self, listener: ResolverListener) {
        self.listener = Some(listener);
        self.report();
    }

    fn resolve_now(&mut self) {
        self.report();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn tcp(s: &str) -> Address {
        Address::Tcp(s.parse::<SocketAddr>().unwrap())
    }

    #[tokio::test]
    async fn reports_the_list_on_start_and_on_every_request() {
        let list = vec![
            tcp("127.0.0.2:1"),
            tcp("[::1]:2"),
            Address::Unix("/s".into()),
        ];
        let mut r = StaticResolver::new(list.clone());
        let (listener, mut rx) = ResolverListener::new();
        r.resolve_now(); // before start: nowhere to report, no panic
        r.start(listener);
        let first = rx.recv().await.unwrap().unwrap();
        assert_eq!(first.addresses, list);
        assert_eq!(first.service_config, None);
        assert!(rx.try_recv().is_none(), "one report per start");
        r.resolve_now();
        r.resolve_now();
        for _ in 0..2 {
            assert_eq!(rx.recv().await.unwrap().unwrap().addresses, list);
        }
        assert!(rx.try_recv().is_none());
    }

    #[tokio::test]
    async fn a_closed_listener_is_harmless() {
        let mut r = StaticResolver::new(vec![tcp("127.0.0.1:1")]);
        let (listener, rx) = ResolverListener::new();
        drop(rx);
        r.start(listener);
        r.resolve_now();
    }
}
