//! [`ManualResolver`]: addresses the application sets itself.

use super::{Address, Report, Resolution, Resolver, ResolverListener};
use crate::status::Status;
use std::sync::{Arc, Mutex, MutexGuard};

/// A resolver the application updates: for tests, and for addresses that
/// come from somewhere the application already watches.
///
/// Cheap to clone; clones share their state (the last resolution, the
/// channel listening, the count of re-resolution requests), so the
/// application keeps one clone and gives another to the channel.
///
/// ```
/// use tether::resolver::{Address, ManualResolver, Resolution};
///
/// let resolver = ManualResolver::with_addresses([Address::Tcp("127.0.0.1:50051".parse().unwrap())]);
/// // ... give `resolver.clone()` to a channel, later:
/// resolver.update(Resolution::new(vec![Address::Tcp(
///     "127.0.0.2:50051".parse().unwrap(),
/// )]));
/// assert_eq!(resolver.resolve_now_count(), 0);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ManualResolver {
    shared: Arc<Mutex<Shared>>,
}

#[derive(Debug, Default)]
struct Shared {
    /// The last update or error, reported again to a new listener.
    last: Option<Report>,
    listener: Option<ResolverListener>,
    resolve_now: u64,
}

impl ManualResolver {
    /// A resolver with nothing to report yet: the channel waits (and its
    /// calls wait, or fail on their deadline) until [`ManualResolver::update`].
    pub fn new() -> Self {
        ManualResolver::default()
    }

    /// A resolver that starts with these addresses.
    pub fn with_addresses(addresses: impl IntoIterator<Item = Address>) -> Self {
        let resolver = ManualResolver::new();
        resolver.update(Resolution {
            addresses: addresses.into_iter().collect(),
            service_config: None,
        });
        resolver
    }

    /// Replaces the addresses (and service config): the channel sees them
    /// at once if it is listening, and when it starts otherwise.
    pub fn update(&self, resolution: Resolution) {
        self.report(Ok(resolution));
    }

    /// Reports a resolution failure: the channel keeps the last good
    /// addresses, and with none fails calls with `status`.
    pub fn error(&self, status: Status) {
        self.report(Err(status));
    }

    /// How many times the channel asked for a re-resolution (for tests and
    /// observability).
    pub fn resolve_now_count(&self) -> u64 {
        self.lock().resolve_now
    }

    fn report(&self, report: Report) {
        let mut shared = self.lock();
        if let Some(listener) = &shared.listener {
            let delivered = match &report {
                Ok(resolution) => listener.update(resolution.clone()),
                Err(status) => listener.error(status.clone()),
            };
            if !delivered {
                shared.listener = None;
            }
        }
        shared.last = Some(report);
    }

    /// The state; a panic elsewhere while holding the lock leaves it usable.
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Resolver for ManualResolver {
    fn start(&mut self, listener: ResolverListener) {
        let mut shared = self.lock();
        match &shared.last {
            Some(Ok(resolution)) => listener.update(resolution.clone()),
            Some(Err(status)) => listener.error(status.clone()),
            None => true,
        };
        shared.listener = Some(listener);
    }

    fn resolve_now(&mut self) {
        self.lock().resolve_now += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;

    fn res(port: u16) -> Resolution {
        Resolution {
            addresses: vec![Address::Tcp(([127, 0, 0, 1], port).into())],
            service_config: None,
        }
    }

    #[tokio::test]
    async fn start_reports_the_last_update_and_later_ones_follow() {
        let app = ManualResolver::with_addresses(res(1).addresses);
        app.update(res(2));
        let mut channel_side = app.clone();
        let (listener, mut rx) = ResolverListener::new();
        channel_side.start(listener);
        assert_eq!(rx.recv().await.unwrap().unwrap(), res(2), "only the last");
        assert!(rx.try_recv().is_none());
        app.update(res(3));
        assert_eq!(rx.recv().await.unwrap().unwrap(), res(3));
        app.error(Status::unavailable("registry down"));
        let err = rx.recv().await.unwrap().unwrap_err();
        assert_eq!(err.code(), Code::Unavailable);
        assert_eq!(err.message(), "registry down");
    }

    #[tokio::test]
    async fn nothing_is_reported_before_the_first_update() {
        let mut r = ManualResolver::new();
        let (listener, mut rx) = ResolverListener::new();
        r.start(listener);
        assert!(rx.try_recv().is_none());
        r.update(res(7));
        assert_eq!(rx.recv().await.unwrap().unwrap(), res(7));
    }

    #[tokio::test]
    async fn a_restarted_channel_gets_the_last_report_on_its_new_listener() {
        let app = ManualResolver::new();
        let mut first = app.clone();
        let (l1, rx1) = ResolverListener::new();
        first.start(l1);
        drop(rx1);
        drop(first);
        app.update(res(8)); // the old listener is closed: dropped quietly
        let mut second = app.clone();
        let (l2, mut rx2) = ResolverListener::new();
        second.start(l2);
        assert_eq!(rx2.recv().await.unwrap().unwrap(), res(8));
    }

    #[test]
    fn counts_re_resolution_requests_across_clones() {
        let app = ManualResolver::new();
        let mut channel_side = app.clone();
        assert_eq!(app.resolve_now_count(), 0);
        channel_side.resolve_now();
        channel_side.resolve_now();
        assert_eq!(app.resolve_now_count(), 2);
    }
}
