use super::*;
use crate::lb::testing::*;
use ConnectivityState::{Connecting, Idle, Ready};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn three() -> Vec<Address> {
    vec![
        tcp("10.0.0.1:443"),
        tcp("10.0.0.2:443"),
        tcp("10.0.0.3:443"),
    ]
}

/// A pick_first that was given `list` and asked to connect at t0; returns
/// the subchannel ids in attempt order.
fn connecting(list: &[Address]) -> (Driver<PickFirst>, Vec<SubchannelId>) {
    let mut d = Driver::new(PickFirst::new(false, 0));
    d.update(list);
    let acts = d.exit_idle();
    let ids = created(&acts).into_iter().map(|(id, _)| id).collect();
    (d, ids)
}

fn ready(id: SubchannelId) -> (ConnectivityState, PickerSpec) {
    (
        Ready,
        PickerSpec::Ready {
            ready: vec![id],
            start: 0,
        },
    )
}

#[test]
fn lazy_until_exit_idle() {
    let mut d = Driver::new(PickFirst::new(false, 0));
    let acts = d.update(&three());
    assert_eq!(
        acts,
        vec![Action::Picker {
            state: Idle,
            picker: PickerSpec::Queue
        }]
    );
    assert_eq!(d.policy.poll_timeout(), None);
    let acts = d.exit_idle();
    let made = created(&acts);
    assert_eq!(
        made.iter().map(|(_, a)| a.clone()).collect::<Vec<_>>(),
        three()
    );
    assert_eq!(connects(&acts), vec![made[0].0], "only the first connects");
    assert_eq!(pickers(&acts), vec![(Connecting, PickerSpec::Queue)]);
    // A second exit_idle does nothing.
    assert!(d.exit_idle().is_empty());
}

#[test]
fn exit_idle_before_any_list_connects_when_the_list_arrives() {
    let mut d = Driver::new(PickFirst::new(false, 0));
    assert_eq!(
        pickers(&d.exit_idle()),
        vec![(Connecting, PickerSpec::Queue)]
    );
    let acts = d.update(&three());
    assert_eq!(created(&acts).len(), 3);
    assert_eq!(connects(&acts).len(), 1);
    assert!(pickers(&acts).is_empty(), "already CONNECTING");
}

#[test]
fn happy_eyeballs_starts_the_next_attempt_every_250_ms() {
    let (mut d, ids) = connecting(&three());
    assert_eq!(d.policy.poll_timeout(), Some(d.t0 + ms(250)));
    assert!(d.run_until(ms(249)).is_empty());
    let acts = d.run_until(ms(250));
    assert_eq!(
        acts,
        vec![Action::Connect(ids[1])],
        "the first is not cancelled"
    );
    assert_eq!(d.policy.poll_timeout(), Some(d.t0 + ms(500)));
    assert!(d.run_until(ms(499)).is_empty());
    assert_eq!(d.run_until(ms(500)), vec![Action::Connect(ids[2])]);
    assert_eq!(d.policy.poll_timeout(), None, "no address left to start");
}

#[test]
fn a_failed_attempt_starts_the_next_at_once() {
    let (mut d, ids) = connecting(&three());
    d.run_until(ms(10));
    let acts = d.fail(ids[0], "refused");
    assert_eq!(acts, vec![Action::Connect(ids[1])]);
    assert_eq!(d.policy.poll_timeout(), Some(d.t0 + ms(260)));
    // A failure of an older attempt does not skip ahead.
    let (mut d, ids) = connecting(&three());
    d.run_until(ms(250));
    assert!(d.fail(ids[0], "refused").is_empty());
    assert_eq!(d.policy.poll_timeout(), Some(d.t0 + ms(500)));
}

#[test]
fn knob_changes_the_attempt_delay() {
    let mut d = Driver::new(PickFirst::new(false, 0).with_connection_attempt_delay(ms(40)));
    d.update(&three());
    d.exit_idle();
    assert_eq!(d.policy.poll_timeout(), Some(d.t0 + ms(40)));
}

#[test]
fn first_ready_wins_and_the_others_are_removed() {
    let (mut d, ids) = connecting(&three());
    d.run_until(ms(500));
    let acts = d.report(ids[1], Ready);
    assert_eq!(removes(&acts), vec![ids[0], ids[2]]);
    assert_eq!(pickers(&acts), vec![ready(ids[1])]);
    assert_eq!(d.policy.poll_timeout(), None);
    // Late reports from removed subchannels are ignored.
    assert!(d.report(ids[0], Ready).is_empty());
    assert!(d.fail(ids[2], "late").is_empty());
}

#[test]
fn all_failed_is_sticky_transient_failure() {
    let (mut d, ids) = connecting(&three());
    d.fail(ids[0], "a refused");
    let acts = d.fail(ids[1], "b refused");
    assert_eq!(connects(&acts), vec![ids[2]]);
    assert!(pickers(&acts).is_empty());
    let acts = d.fail(ids[2], "c refused");
    let msg = fail_message(&acts);
    assert!(msg.contains("all 3 addresses failed"), "{msg}");
    assert!(msg.contains("c refused"), "{msg}");
    assert_eq!(resolve_nows(&acts), 1);
    // The subchannels retry by themselves: CONNECTING does not leave TF.
    for id in &ids {
        assert!(d.report(*id, Connecting).is_empty());
    }
    // Newer errors are published; a full round of failures re-resolves.
    let acts = d.fail(ids[0], "a timed out");
    assert!(fail_message(&acts).contains("a timed out"));
    assert_eq!(resolve_nows(&acts), 0);
    d.fail(ids[1], "b timed out");
    assert_eq!(resolve_nows(&d.fail(ids[2], "c timed out")), 1);
    // READY wins.
    let acts = d.report(ids[1], Ready);
    assert_eq!(removes(&acts), vec![ids[0], ids[2]]);
    assert_eq!(pickers(&acts), vec![ready(ids[1])]);
}

#[test]
fn lost_connection_goes_idle_re_resolves_and_reconnects_on_exit_idle() {
    let (mut d, ids) = connecting(&three());
    d.report(ids[0], Ready);
    let acts = d.report(ids[0], Idle);
    assert_eq!(pickers(&acts), vec![(Idle, PickerSpec::Queue)]);
    assert_eq!(resolve_nows(&acts), 1);
    assert!(connects(&acts).is_empty(), "no reconnect before a call");
    let acts = d.exit_idle();
    assert_eq!(
        connects(&acts),
        vec![ids[0]],
        "the idle subchannel is reused"
    );
    assert_eq!(created(&acts).len(), 2);
    assert_eq!(pickers(&acts), vec![(Connecting, PickerSpec::Queue)]);
}

#[test]
fn address_families_are_interleaved() {
    let list = [
        tcp("[2001:db8::1]:443"),
        tcp("[2001:db8::2]:443"),
        tcp("192.0.2.1:443"),
        tcp("192.0.2.2:443"),
        tcp("[2001:db8::1]:443"),
    ];
    let mut d = Driver::new(PickFirst::new(false, 0));
    d.update(&list);
    let order: Vec<Address> = created(&d.exit_idle())
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    assert_eq!(
        order,
        vec![
            tcp("[2001:db8::1]:443"),
            tcp("192.0.2.1:443"),
            tcp("[2001:db8::2]:443"),
            tcp("192.0.2.2:443"),
        ]
    );
}

#[test]
fn shuffle_is_deterministic_by_seed_and_permutes() {
    let list: Vec<Address> = (1..=8).map(|i| tcp(&format!("10.0.0.{i}:443"))).collect();
    let order = |shuffle: bool, seed: u64| {
        let mut d = Driver::new(PickFirst::new(shuffle, seed));
        d.update(&list);
        created(&d.exit_idle())
            .into_iter()
            .map(|(_, a)| a)
            .collect::<Vec<_>>()
    };
    assert_eq!(order(false, 1), list);
    assert_eq!(order(true, 1), order(true, 1));
    assert_ne!(order(true, 1), list);
    assert_ne!(order(true, 1), order(true, 2));
    let mut sorted = order(true, 1);
    sorted.sort();
    assert_eq!(sorted, list);
}

#[test]
fn a_new_list_keeps_the_selected_address() {
    let (mut d, ids) = connecting(&three());
    d.report(ids[1], Ready);
    let acts = d.update(&[tcp("10.0.0.9:443"), tcp("10.0.0.2:443")]);
    assert!(
        acts.is_empty(),
        "stays READY on the same subchannel: {acts:?}"
    );
    assert_eq!(d.report(ids[1], Idle).len(), 2, "still the selected one");
}

#[test]
fn a_new_list_without_the_selected_address_switches_when_ready() {
    let (mut d, ids) = connecting(&three());
    d.report(ids[0], Ready);
    let acts = d.update(&[tcp("10.0.0.8:443"), tcp("10.0.0.9:443")]);
    let new: Vec<SubchannelId> = created(&acts).into_iter().map(|(id, _)| id).collect();
    assert_eq!(connects(&acts), vec![new[0]]);
    assert!(pickers(&acts).is_empty(), "the old picker keeps serving");
    let acts = d.report(new[1], Ready);
    assert_eq!(removes(&acts), vec![ids[0], new[0]]);
    assert_eq!(pickers(&acts), vec![ready(new[1])]);
}

#[test]
fn a_new_list_without_the_selected_address_that_fails_goes_transient_failure() {
    let (mut d, ids) = connecting(&three());
    d.report(ids[0], Ready);
    let acts = d.update(&[tcp("10.0.0.9:443")]);
    let new = created(&acts)[0].0;
    let acts = d.fail(new, "refused");
    assert_eq!(removes(&acts), vec![ids[0]]);
    assert!(fail_message(&acts).contains("refused"));
}

#[test]
fn a_new_list_while_connecting_keeps_attempts_in_progress() {
    let (mut d, ids) = connecting(&three());
    let acts = d.update(&[tcp("10.0.0.1:443"), tcp("10.0.0.7:443")]);
    assert_eq!(removes(&acts), vec![ids[1], ids[2]]);
    assert_eq!(created(&acts).len(), 1);
    assert!(connects(&acts).is_empty(), "10.0.0.1 is still connecting");
    assert!(pickers(&acts).is_empty());
    assert_eq!(d.policy.poll_timeout(), Some(d.t0 + ms(250)));
}

#[test]
fn sticky_failure_survives_a_new_list() {
    let (mut d, ids) = connecting(&[tcp("10.0.0.1:443")]);
    d.fail(ids[0], "refused");
    let acts = d.update(&[tcp("10.0.0.1:443"), tcp("10.0.0.2:443")]);
    assert!(
        pickers(&acts).is_empty(),
        "stays TRANSIENT_FAILURE: {acts:?}"
    );
    // 10.0.0.1 is in backoff: the pass goes straight to 10.0.0.2.
    assert_eq!(connects(&acts).len(), 1);
    assert_ne!(connects(&acts)[0], ids[0]);
}

#[test]
fn empty_list_and_resolver_errors() {
    let (mut d, ids) = connecting(&three());
    let acts = d.update(&[]);
    assert_eq!(removes(&acts), vec![ids[0], ids[1], ids[2]]);
    assert_eq!(resolve_nows(&acts), 1);
    assert!(fail_message(&acts).contains("no addresses"));
    // Not sticky: a new list connects and goes CONNECTING.
    let acts = d.update(&three());
    assert_eq!(pickers(&acts), vec![(Connecting, PickerSpec::Queue)]);
    assert_eq!(connects(&acts).len(), 1);

    let mut d = Driver::new(PickFirst::new(false, 0));
    d.exit_idle();
    d.policy
        .resolver_error(Status::unavailable("dns: no such host"), d.now);
    assert_eq!(fail_message(&d.actions()), "dns: no such host");
    // With a list, a resolver error is ignored.
    let (mut d, _) = connecting(&three());
    d.policy
        .resolver_error(Status::unavailable("dns: timeout"), d.now);
    assert!(d.actions().is_empty());
}

#[test]
fn an_unhealthy_selected_subchannel_moves_on_to_the_next_address_at_once() {
    // With health checking under pick_first, the selected subchannel goes
    // READY -> TRANSIENT_FAILURE while its connection stays up.
    let (mut d, ids) = connecting(&three());
    d.report(ids[0], Ready);
    let acts = d.fail(ids[0], "health check: NotServing");
    assert_eq!(pickers(&acts), vec![(Connecting, PickerSpec::Queue)]);
    let made = created(&acts);
    assert_eq!(made.len(), 2, "the other addresses come back: {acts:?}");
    assert_eq!(
        connects(&acts),
        vec![made[0].0],
        "the next address connects now, not at the next call"
    );
    // It wins; serving again, the first one would win a later pass.
    let acts = d.report(made[0].0, Ready);
    assert_eq!(pickers(&acts), vec![ready(made[0].0)]);
}
