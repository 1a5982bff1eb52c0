//! The channel's control task: it owns the resolver, the load-balancing
//! policy and the subchannels, feeds the policy with what happens (resolver
//! reports, subchannel states, the clock) and carries out its actions. One
//! task, so the policy needs no lock; calls never wait on it except to be
//! told of a new picker.

use super::picker::Picker;
use super::shared::{lock, ChannelShared, ControlMsg};
use super::ChannelEvent;
use crate::connectivity::ConnectivityState;
use crate::lb::{self, Action, PickerSpec, Policy, SubchannelId};
use crate::resolver::{
    self, DnsConfig, Report, Resolution, Resolver, ResolverListener, ResolverReports, Target,
};
use crate::service_config::{LbConfig, ServiceConfig};
use crate::subchannel::Subchannel;
use std::collections::HashMap;
use std::future::{poll_fn, Future};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Where the channel's addresses come from.
pub(crate) enum ResolverSource {
    /// The target's scheme: a new resolver each time the channel leaves IDLE.
    Target { target: Target, dns: DnsConfig },
    /// The application's resolver: started once, kept while IDLE.
    Custom(Option<Box<dyn Resolver>>),
}

pub(crate) struct Control {
    shared: Arc<ChannelShared>,
    rx: mpsc::UnboundedReceiver<ControlMsg>,
    source: ResolverSource,
    resolver: Option<Box<dyn Resolver>>,
    reports: Option<ResolverReports>,
    /// The latest good resolution (fed to a new policy).
    resolution: Option<Resolution>,
    /// The policy configured in code or by the default service config.
    default_lb: LbConfig,
    /// The policy from the resolver's service config, if any.
    resolved_lb: Option<LbConfig>,
    default_service_config: Option<ServiceConfig>,
    /// Select TXT service config choices for this host name.
    hostname: String,
    policy: Option<Box<dyn Policy>>,
    subs: HashMap<SubchannelId, Arc<Subchannel>>,
    idle_timeout: Option<Duration>,
    closed: bool,
    rolls: u64,
    /// Policies made so far.
    generation: u64,
    /// The next idleness check while calls were in flight at the last.
    idle_recheck: Option<Instant>,
}

enum Wake {
    Msg(Option<ControlMsg>),
    Report(Option<Report>),
    Timer,
}

impl Control {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        shared: Arc<ChannelShared>,
        rx: mpsc::UnboundedReceiver<ControlMsg>,
        source: ResolverSource,
        default_lb: LbConfig,
        default_service_config: Option<ServiceConfig>,
        hostname: String,
        idle_timeout: Option<Duration>,
    ) -> Control {
        let rolls = shared.seed();
        Control {
            shared,
            rx,
            source,
            resolver: None,
            reports: None,
            resolution: None,
            default_lb,
            resolved_lb: None,
            default_service_config,
            hostname,
            policy: None,
            subs: HashMap::new(),
            idle_timeout,
            closed: false,
            rolls,
            generation: 0,
            idle_recheck: None,
        }
    }

    pub(crate) async fn run(mut self) {
        let mut sleep = Box::pin(tokio::time::sleep(Duration::from_secs(3600)));
        while !self.closed {
            let deadline = self.next_deadline();
            if let Some(d) = deadline {
                sleep.as_mut().reset(tokio::time::Instant::from_std(d));
            }
            let wake = poll_fn(|cx| {
                if let Poll::Ready(m) = self.rx.poll_recv(cx) {
                    return Poll::Ready(Wake::Msg(m));
                }
                if let Some(reports) = &mut self.reports {
                    if let Poll::Ready(r) = reports.poll_recv(cx) {
                        return Poll::Ready(Wake::Report(r));
                    }
                }
                if deadline.is_some() && sleep.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Wake::Timer);
                }
                Poll::Pending
            })
            .await;
            let now = crate::driver::now();
            match wake {
                Wake::Msg(None) => self.close(),
                Wake::Msg(Some(msg)) => {
                    self.message(msg, now);
                    while let Ok(msg) = self.rx.try_recv() {
                        self.message(msg, now);
                    }
                }
                Wake::Report(None) => self.reports = None,
                Wake::Report(Some(report)) => self.report(report, now),
                Wake::Timer => self.timer(now),
            }
            self.actions(now);
            self.shared.events.flush();
        }
        self.shared.events.flush();
    }

    fn next_deadline(&self) -> Option<Instant> {
        let policy = self.policy.as_ref().and_then(|p| p.poll_timeout());
        let idle = self.idle_deadline();
        match (policy, idle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// When to check for idleness: the idle timeout after the last call
    /// ended, or after the last check that found calls in flight.
    fn idle_deadline(&self) -> Option<Instant> {
        let t = self.idle_timeout?;
        self.policy.as_ref()?;
        let after_last_call = self.last_call() + t;
        Some(match self.idle_recheck {
            Some(r) => after_last_call.max(r),
            None => after_last_call,
        })
    }

    fn last_call(&self) -> Instant {
        let ms = self.shared.last_call_ms.load(Ordering::Relaxed);
        self.shared.epoch + Duration::from_millis(ms)
    }

    fn message(&mut self, msg: ControlMsg, now: Instant) {
        match msg {
            ControlMsg::ExitIdle => self.exit_idle(now),
            ControlMsg::SubchannelState { id, state, error } => {
                if self.subs.contains_key(&id) {
                    if let Some(p) = &mut self.policy {
                        p.subchannel_state(id, state, error.as_deref(), now);
                    }
                }
            }
            ControlMsg::ResolveNow => {
                if let Some(r) = &mut self.resolver {
                    r.resolve_now();
                }
            }
            ControlMsg::ResetBackoff => {
                for sub in self.subs.values() {
                    sub.reset_backoff();
                }
            }
            ControlMsg::Close => self.close(),
        }
    }

    fn exit_idle(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if let Some(p) = &mut self.policy {
            p.exit_idle(now);
            return;
        }
        let ms = now.saturating_duration_since(self.shared.epoch).as_millis() as u64;
        self.shared.last_call_ms.store(ms, Ordering::Relaxed);
        self.policy = Some(self.new_policy());
        self.shared
            .publish(ConnectivityState::Connecting, Picker::Queue);
        if self.resolver.is_none() {
            let (listener, reports) = ResolverListener::new();
            let resolver = match &mut self.source {
                ResolverSource::Target { target, dns } => Some(resolver::for_target(target, dns)),
                ResolverSource::Custom(r) => r.take(),
            };
            if let Some(mut r) = resolver {
                r.start(listener);
                self.resolver = Some(r);
                self.reports = Some(reports);
            }
        }
        // exit_idle first: a policy handed the kept list while still IDLE
        // would publish IDLE once more before connecting.
        if let Some(p) = &mut self.policy {
            p.exit_idle(now);
        }
        if let Some(res) = self.resolution.clone() {
            if let Some(p) = &mut self.policy {
                p.update_addresses(&res.addresses, now);
            }
        }
    }

    /// The service new subchannels health-check (gRFC A17), if any: the
    /// one set in code, else the service config's
    /// `healthCheckConfig.serviceName`; under round_robin, and under
    /// pick_first when the channel allows it.
    fn health_service(&self) -> Option<String> {
        let settings = &self.shared.health;
        let service = settings.service.clone().or_else(|| {
            let config = self.shared.service_config.load();
            (**config)
                .as_ref()
                .and_then(|c| c.health_check_service.clone())
        })?;
        match self.resolved_lb.as_ref().unwrap_or(&self.default_lb).leaf() {
            LbConfig::RoundRobin
            | LbConfig::PeakEwma { .. }
            | LbConfig::OutlierDetection { .. } => Some(service),
            LbConfig::PickFirst { .. } if settings.with_pick_first => Some(service),
            LbConfig::PickFirst { .. } => None,
        }
    }

    fn new_policy(&mut self) -> Box<dyn Policy> {
        self.rolls = self.rolls.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let seed = self.rolls;
        // Each policy numbers its subchannels apart from the previous ones.
        self.generation += 1;
        let first = self.generation << 32;
        let config = self.resolved_lb.as_ref().unwrap_or(&self.default_lb);
        let leaf: Box<dyn Policy> = match config.leaf() {
            // peak_ewma manages its subchannels as round_robin does; its
            // pickers differ (see `actions`).
            LbConfig::RoundRobin
            | LbConfig::PeakEwma { .. }
            | LbConfig::OutlierDetection { .. } => {
                Box::new(lb::RoundRobin::new(seed).with_first_id(first))
            }
            LbConfig::PickFirst {
                shuffle_address_list,
            } => Box::new(lb::PickFirst::new(*shuffle_address_list, seed).with_first_id(first)),
        };
        match config {
            LbConfig::OutlierDetection { config, .. } => Box::new(lb::WithOutlierDetection::new(
                leaf,
                *config,
                seed ^ 0x5bd1_e995,
            )),
            _ => leaf,
        }
    }

    fn report(&mut self, report: Report, now: Instant) {
        match report {
            Ok(res) => {
                let same = self.resolution.as_ref() == Some(&res);
                if self.shared.events.enabled() && !same {
                    self.shared.events.push(ChannelEvent::Resolved {
                        addresses: res.addresses.iter().map(|a| a.to_string()).collect(),
                    });
                }
                self.apply_service_config(res.service_config.as_deref(), now);
                if let Some(p) = &mut self.policy {
                    p.update_addresses(&res.addresses, now);
                }
                self.resolution = Some(res);
            }
            Err(status) => {
                self.shared.events.push(ChannelEvent::ResolutionFailed {
                    error: status.message().to_owned(),
                });
                if let Some(p) = &mut self.policy {
                    p.resolver_error(status, now);
                }
            }
        }
        // After the service config is in place and the policy has its
        // picker: calls waiting for the first resolution read both.
        self.shared.mark_resolved();
    }

    /// A service config from the resolver: a valid one replaces the
    /// default (its policy wins over the one set in code); none means the
    /// default again; an invalid one is reported and the last good one
    /// kept. DNS TXT text (a JSON array of choices, gRFC A2) is narrowed to
    /// the choice for this client first; anything else is taken as one
    /// service config.
    fn apply_service_config(&mut self, text: Option<&str>, now: Instant) {
        let parsed = match text {
            None => Ok(None),
            Some(text) if text.trim_start().starts_with('[') => {
                self.rolls = self.rolls.wrapping_mul(6364136223846793005).wrapping_add(1);
                let roll = ((self.rolls >> 33) % 100) as u32;
                crate::service_config::select_txt_choice(text, &self.hostname, roll)
                    .and_then(|choice| choice.map(|j| ServiceConfig::parse(&j)).transpose())
            }
            Some(json) => ServiceConfig::parse(json).map(Some),
        };
        let (config, lb) = match parsed {
            Ok(Some(c)) => {
                let lb = c.load_balancing.clone();
                (Some(c), lb)
            }
            Ok(None) => (self.default_service_config.clone(), None),
            Err(e) => {
                self.shared.events.push(ChannelEvent::ResolutionFailed {
                    error: format!("ignoring the resolver's service config: {e}"),
                });
                return;
            }
        };
        self.shared.set_service_config(config);
        if lb != self.resolved_lb {
            self.resolved_lb = lb;
            if self.policy.is_some() {
                // A new policy: the old one's subchannels go.
                self.drop_subchannels();
                self.policy = Some(self.new_policy());
                if let Some(p) = &mut self.policy {
                    p.exit_idle(now);
                }
            }
        }
    }

    fn timer(&mut self, now: Instant) {
        if let Some(p) = &mut self.policy {
            if p.sweep_due(now) {
                let counts: Vec<_> = self
                    .subs
                    .iter()
                    .map(|(id, sub)| (*id, sub.take_call_counts()))
                    .collect();
                p.call_counts(&counts, now);
            }
            if p.poll_timeout().is_some_and(|t| t <= now) {
                p.handle_timeout(now);
            }
        }
        if let (Some(t), Some(due)) = (self.idle_timeout, self.idle_deadline()) {
            if now >= due {
                if self.shared.calls.load(Ordering::Acquire) == 0 && now >= self.last_call() + t {
                    self.go_idle();
                } else {
                    // Calls in flight: look again one period later (not in
                    // a loop while the last call's end stays in the past).
                    self.idle_recheck = Some(now + t);
                }
            }
        }
    }

    /// The idle timeout passed with no call: connections close, the
    /// resolver stops (an application's resolver is kept), IDLE.
    fn go_idle(&mut self) {
        self.policy = None;
        self.idle_recheck = None;
        self.drop_subchannels();
        if matches!(self.source, ResolverSource::Target { .. }) {
            self.resolver = None;
            self.reports = None;
        }
        self.shared.publish(ConnectivityState::Idle, Picker::Idle);
    }

    fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.policy = None;
        self.resolver = None;
        self.reports = None;
        self.drop_subchannels();
        self.shared
            .publish(ConnectivityState::Shutdown, Picker::Shutdown);
        self.shared.mark_resolved();
    }

    fn drop_subchannels(&mut self) {
        for (_, sub) in self.subs.drain() {
            sub.shutdown();
        }
        lock(&self.shared.subchannels).clear();
    }

    /// Carries out the policy's actions.
    fn actions(&mut self, now: Instant) {
        let _ = now;
        loop {
            let Some(action) = self.policy.as_mut().and_then(|p| p.poll_action()) else {
                return;
            };
            match action {
                Action::Create { id, address } => {
                    let sub = Subchannel::new(id, address, self.shared.clone());
                    let lb = self.resolved_lb.as_ref().unwrap_or(&self.default_lb);
                    if let LbConfig::OutlierDetection { .. } = lb {
                        sub.count_calls();
                    }
                    if let Some(service) = self.health_service() {
                        sub.enable_health(service);
                    }
                    lock(&self.shared.subchannels).push(sub.clone());
                    self.subs.insert(id, sub);
                }
                Action::Connect(id) => {
                    if let Some(sub) = self.subs.get(&id) {
                        sub.connect();
                    }
                }
                Action::Remove(id) => {
                    if let Some(sub) = self.subs.remove(&id) {
                        sub.shutdown();
                        lock(&self.shared.subchannels).retain(|s| s.id != id);
                    }
                }
                Action::Ejected { id, ejected } => {
                    if let Some(sub) = self.subs.get(&id) {
                        sub.set_ejected(ejected);
                        if self.shared.events.enabled() {
                            self.shared.events.push(ChannelEvent::SubchannelEjected {
                                address: sub.address.to_string(),
                                ejected,
                            });
                        }
                    }
                }
                Action::ResolveNow => {
                    if let Some(r) = &mut self.resolver {
                        r.resolve_now();
                    }
                }
                Action::Picker { state, picker } => {
                    let picker = match picker {
                        _ if state == ConnectivityState::Idle => Picker::Idle,
                        PickerSpec::Ready { ready, start } => {
                            let subs: Vec<_> = ready
                                .iter()
                                .filter_map(|id| self.subs.get(id).cloned())
                                .collect();
                            let lb = self.resolved_lb.as_ref().unwrap_or(&self.default_lb).leaf();
                            if subs.is_empty() {
                                Picker::Queue
                            } else if let LbConfig::PeakEwma { decay } = lb {
                                // Draws seeded per channel and picker, not
                                // by the rotation start (a tiny number the
                                // same in every client).
                                self.rolls = self.rolls.wrapping_add(0x9e37_79b9_7f4a_7c15);
                                Picker::p2c(subs, self.rolls ^ start as u64, *decay)
                            } else {
                                Picker::ready(subs, start)
                            }
                        }
                        PickerSpec::Queue => Picker::Queue,
                        PickerSpec::Fail(status) => Picker::Fail(status),
                    };
                    self.shared.publish(state, picker);
                }
            }
        }
    }
}
