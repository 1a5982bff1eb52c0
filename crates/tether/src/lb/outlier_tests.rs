use super::*;

fn ids(n: u64) -> Vec<SubchannelId> {
    (0..n).map(SubchannelId).collect()
}

fn counts(list: &[(u64, u64)]) -> Vec<(SubchannelId, CallCounts)> {
    list.iter()
        .enumerate()
        .map(|(i, &(succeeded, failed))| (SubchannelId(i as u64), CallCounts { succeeded, failed }))
        .collect()
}

fn success_rate() -> OutlierDetection {
    OutlierDetection {
        success_rate_ejection: Some(SuccessRateEjection::default()),
        ..OutlierDetection::default()
    }
}

fn failure_percentage() -> OutlierDetection {
    OutlierDetection {
        failure_percentage_ejection: Some(FailurePercentageEjection::default()),
        ..OutlierDetection::default()
    }
}

/// Success rates 1, 1, 1, 1, 0.5 over 100 calls each: mean 0.9, standard
/// deviation 0.2, threshold 0.9 − 1.9 × 0.2 = 0.52; 0.5 is ejected (the
/// 10 % limit still allows one). (One outlier among four perfect hosts is
/// always 2 standard deviations below the mean, whatever its rate.) Rates
/// 1, 0.9, 1, 0.9, 0.8: mean 0.92, deviation 0.0748, threshold 0.778:
/// nobody is.
#[test]
fn success_rate_worked_example() {
    let t0 = Instant::now();
    let mut d = Detector::new(success_rate(), 1);
    d.track(&ids(5));
    let changes = d.sweep(
        &counts(&[(100, 0), (100, 0), (100, 0), (100, 0), (50, 50)]),
        t0,
    );
    assert_eq!(changes, [Change::Ejected(SubchannelId(4))]);
    let mut d = Detector::new(success_rate(), 1);
    d.track(&ids(5));
    let changes = d.sweep(
        &counts(&[(100, 0), (90, 10), (100, 0), (90, 10), (80, 20)]),
        t0,
    );
    assert!(changes.is_empty(), "{changes:?}");
}

/// Below requestVolume an address is left out; fewer than minimumHosts
/// with enough volume: no ejection at all.
#[test]
fn success_rate_needs_volume_and_hosts() {
    let t0 = Instant::now();
    let mut d = Detector::new(success_rate(), 1);
    d.track(&ids(5));
    let changes = d.sweep(
        &counts(&[(100, 0), (100, 0), (100, 0), (100, 0), (0, 99)]),
        t0,
    );
    assert!(changes.is_empty(), "4 hosts with volume < 5: {changes:?}");
}

/// Failure percentage (threshold 85, volume 50, 5 hosts): 45 of 50 failed
/// (90 %) is ejected, 42 of 50 (84 %) is not, 49 calls are too few.
#[test]
fn failure_percentage_worked_example() {
    let t0 = Instant::now();
    let config = OutlierDetection {
        max_ejection_percent: 100,
        ..failure_percentage()
    };
    let mut d = Detector::new(config, 1);
    d.track(&ids(6));
    let changes = d.sweep(
        &counts(&[(5, 45), (8, 42), (0, 49), (50, 0), (50, 0), (50, 0)]),
        t0,
    );
    assert_eq!(changes, [Change::Ejected(SubchannelId(0))]);
    // Fewer hosts than minimumHosts: nothing.
    let mut d = Detector::new(failure_percentage(), 1);
    d.track(&ids(4));
    assert!(d
        .sweep(&counts(&[(0, 100), (0, 100), (0, 100), (0, 100)]), t0)
        .is_empty());
}

/// maxEjectionPercent 20 of 10 subchannels: two of three outliers go.
#[test]
fn max_ejection_percent_bounds_ejections() {
    let t0 = Instant::now();
    let config = OutlierDetection {
        max_ejection_percent: 20,
        ..failure_percentage()
    };
    let mut d = Detector::new(config, 1);
    d.track(&ids(10));
    let mut list = vec![(0, 100); 3];
    list.extend(vec![(100, 0); 7]);
    let changes = d.sweep(&counts(&list), t0);
    assert_eq!(changes.len(), 2, "{changes:?}");
}

/// Ejection lasts base × times ejected (capped), the count decays by one
/// per interval out of ejection; enforcementPercentage 0 never ejects.
#[test]
fn ejection_time_grows_and_decays() {
    let t0 = Instant::now();
    let s = Duration::from_secs;
    let config = OutlierDetection {
        max_ejection_percent: 100,
        base_ejection_time: s(30),
        max_ejection_time: s(300),
        ..failure_percentage()
    };
    let bad = counts(&[(0, 100), (100, 0), (100, 0), (100, 0), (100, 0)]);
    let quiet = counts(&[(0, 0); 5]);
    let mut d = Detector::new(config, 1);
    d.track(&ids(5));
    assert_eq!(d.sweep(&bad, t0), [Change::Ejected(SubchannelId(0))]);
    assert!(d.is_ejected(SubchannelId(0)));
    assert!(d.sweep(&quiet, t0 + s(20)).is_empty(), "30 s not over");
    assert_eq!(
        d.sweep(&quiet, t0 + s(30)),
        [Change::Returned(SubchannelId(0))]
    );
    // Ejected again at once: the multiplier went 1 -> (back) 1 -> 2.
    assert_eq!(
        d.sweep(&bad, t0 + s(40)),
        [Change::Ejected(SubchannelId(0))]
    );
    assert!(d.sweep(&quiet, t0 + s(90)).is_empty(), "2 x 30 s not over");
    assert_eq!(
        d.sweep(&quiet, t0 + s(100)),
        [Change::Returned(SubchannelId(0))]
    );
    // Capped at max(base, max) = 300 s however often it was ejected.
    let mut d = Detector::new(config, 1);
    d.track(&ids(5));
    let mut t = t0;
    for _ in 0..20 {
        if let Some(e) = d.entries.get_mut(&SubchannelId(0)) {
            e.multiplier = 50;
        }
        let _ = d.sweep(&bad, t);
        t += s(1);
    }
    assert!(d.is_ejected(SubchannelId(0)));
    assert!(t < t0 + s(299));
    // Ejected at t0: back at t0 + 300 s, not 50 x 30 s later.
    assert!(d.sweep(&quiet, t0 + s(299)).is_empty());
    assert_eq!(
        d.sweep(&quiet, t0 + s(300)),
        [Change::Returned(SubchannelId(0))]
    );

    let never = OutlierDetection {
        failure_percentage_ejection: Some(FailurePercentageEjection {
            enforcement_percentage: 0,
            ..FailurePercentageEjection::default()
        }),
        ..config
    };
    let mut d = Detector::new(never, 1);
    d.track(&ids(5));
    assert!(d.sweep(&bad, t0).is_empty());
}

/// A minimal child: publishes the picker it is told to.
#[derive(Default)]
struct Child {
    out: VecDeque<Action>,
}

impl Policy for Child {
    fn update_addresses(&mut self, _: &[Address], _: Instant) {
        self.out.push_back(Action::Picker {
            state: ConnectivityState::Ready,
            picker: PickerSpec::Ready {
                ready: ids(5),
                start: 0,
            },
        });
    }
    fn resolver_error(&mut self, _: Status, _: Instant) {}
    fn subchannel_state(
        &mut self,
        _: SubchannelId,
        _: ConnectivityState,
        _: Option<&Status>,
        _: Instant,
    ) {
    }
    fn exit_idle(&mut self, _: Instant) {}
    fn handle_timeout(&mut self, _: Instant) {}
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn poll_action(&mut self) -> Option<Action> {
        self.out.pop_front()
    }
}

fn drain(p: &mut WithOutlierDetection) -> Vec<Action> {
    std::iter::from_fn(|| p.poll_action()).collect()
}

/// The wrapper sweeps every interval, ejects from the child's pickers
/// (with an `Ejected` action) and puts the subchannel back later.
#[test]
fn the_wrapper_filters_pickers_on_its_interval() {
    let t0 = Instant::now();
    let s = Duration::from_secs;
    let config = OutlierDetection {
        interval: s(1),
        base_ejection_time: s(5),
        max_ejection_percent: 100,
        ..failure_percentage()
    };
    let mut p = WithOutlierDetection::new(Box::<Child>::default(), config, 1);
    p.update_addresses(&[], t0);
    let first = drain(&mut p);
    assert!(
        matches!(&first[..], [Action::Picker { picker: PickerSpec::Ready { ready, .. }, .. }] if ready.len() == 5)
    );
    assert_eq!(p.poll_timeout(), Some(t0 + s(1)));
    assert!(!p.sweep_due(t0) && p.sweep_due(t0 + s(1)));
    p.call_counts(
        &counts(&[(100, 0), (0, 100), (100, 0), (100, 0), (100, 0)]),
        t0 + s(1),
    );
    let actions = drain(&mut p);
    assert_eq!(
        actions[0],
        Action::Ejected {
            id: SubchannelId(1),
            ejected: true
        }
    );
    let Action::Picker {
        picker: PickerSpec::Ready { ready, .. },
        ..
    } = &actions[1]
    else {
        panic!("{actions:?}");
    };
    assert_eq!(ready, &[0, 2, 3, 4].map(SubchannelId));
    assert_eq!(p.poll_timeout(), Some(t0 + s(2)));
    let quiet = counts(&[(0, 0); 5]);
    p.call_counts(&quiet, t0 + s(2));
    assert!(drain(&mut p).is_empty());
    p.call_counts(&quiet, t0 + s(6));
    let actions = drain(&mut p);
    assert_eq!(
        actions[0],
        Action::Ejected {
            id: SubchannelId(1),
            ejected: false
        }
    );
    assert!(
        matches!(&actions[1], Action::Picker { picker: PickerSpec::Ready { ready, .. }, .. } if ready.len() == 5)
    );
}

/// Without either algorithm there is no sweep at all.
#[test]
fn no_algorithm_no_timer() {
    let mut p = WithOutlierDetection::new(Box::<Child>::default(), OutlierDetection::default(), 1);
    p.update_addresses(&[], Instant::now());
    assert_eq!(p.poll_timeout(), None);
}

/// Found in review: an ejected subchannel that left the READY set (its
/// connection dropped) lost its ejection, and its `ejected` flag was never
/// cleared. Its entry now stays until the subchannel is removed, and it
/// comes back on time.
#[test]
fn an_ejection_outlives_a_reconnection() {
    let t0 = Instant::now();
    let s = Duration::from_secs;
    let config = OutlierDetection {
        base_ejection_time: s(30),
        max_ejection_percent: 100,
        ..failure_percentage()
    };
    let mut d = Detector::new(config, 1);
    d.track(&ids(5));
    let bad = counts(&[(100, 0), (0, 100), (100, 0), (100, 0), (100, 0)]);
    assert_eq!(d.sweep(&bad, t0), [Change::Ejected(SubchannelId(1))]);
    // Subchannel 1 reconnects: READY lists without it, then with it.
    d.track(&[0, 2, 3, 4].map(SubchannelId));
    d.track(&ids(5));
    assert!(d.is_ejected(SubchannelId(1)), "the ejection was forgotten");
    let quiet = counts(&[(0, 0); 5]);
    assert_eq!(
        d.sweep(&quiet, t0 + s(30)),
        [Change::Returned(SubchannelId(1))]
    );
    d.forget(SubchannelId(1));
    assert!(!d.is_ejected(SubchannelId(1)));
}

/// Found in review: failure percentage counted every address against
/// minimumHosts, not those with requestVolume calls (A50).
#[test]
fn failure_percentage_minimum_hosts_counts_addresses_with_volume() {
    let t0 = Instant::now();
    let config = OutlierDetection {
        max_ejection_percent: 100,
        ..failure_percentage()
    };
    let mut d = Detector::new(config, 1);
    d.track(&ids(5));
    let changes = d.sweep(&counts(&[(0, 100), (1, 0), (1, 0), (1, 0), (1, 0)]), t0);
    assert!(changes.is_empty(), "{changes:?}");
}
