//! The lookup index from method names to `methodConfig` entries, so that
//! [`ServiceConfig::method_config`](super::ServiceConfig::method_config)
//! finds a call's settings without allocating.

use super::method::{MethodConfig, MethodName};
use std::collections::HashMap;

/// Entry positions by name: the default, then per service its default and
/// its methods. Two levels, keyed by owned strings and looked up with
/// `&str` slices of the call path (`HashMap<String, _>::get(&str)`), so a
/// lookup never builds a key.
#[derive(Clone, Debug, Default)]
pub(super) struct MethodIndex {
    default: Option<usize>,
    services: HashMap<String, ServiceIndex>,
}

/// The entries of one service.
#[derive(Clone, Debug, Default)]
struct ServiceIndex {
    all_methods: Option<usize>,
    methods: HashMap<String, usize>,
}

/// A name listed twice: where (entry, name) it appears again, and where
/// it appeared first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Duplicate {
    pub(super) again: (usize, usize),
    pub(super) first: (usize, usize),
}

impl MethodIndex {
    /// The index of `configs`. A name listed twice keeps its first entry
    /// and is reported (service_config.proto: each name is unique across
    /// the whole config).
    pub(super) fn build(configs: &[MethodConfig]) -> (MethodIndex, Option<Duplicate>) {
        let mut index = MethodIndex::default();
        // (entry, name) of each slot, to say where a duplicate was first.
        let mut origin: HashMap<&MethodName, (usize, usize)> = HashMap::new();
        let mut duplicate = None;
        for (entry, config) in configs.iter().enumerate() {
            for (position, name) in config.names.iter().enumerate() {
                if let Some(&first) = origin.get(name) {
                    duplicate = duplicate.or(Some(Duplicate {
                        again: (entry, position),
                        first,
                    }));
                    continue;
                }
                origin.insert(name, (entry, position));
                match (&name.service, &name.method) {
                    (Some(service), Some(method)) => {
                        let service = index.services.entry(service.clone()).or_default();
                        service.methods.insert(method.clone(), entry);
                    }
                    (Some(service), None) => {
                        let service = index.services.entry(service.clone()).or_default();
                        service.all_methods = Some(entry);
                    }
                    // parse rejects a method without a service; should one
                    // be built by hand, it can match no call path.
                    (None, Some(_)) => {}
                    (None, None) => index.default = Some(entry),
                }
            }
        }
        (index, duplicate)
    }

    /// The entry for the call path `/service/method`: the exact name, else
    /// the service's default, else the config's default. Allocation-free.
    pub(super) fn find(&self, path: &str) -> Option<usize> {
        let name = path.strip_prefix('/').unwrap_or(path);
        let specific = name.split_once('/').and_then(|(service, method)| {
            let service = self.services.get(service)?;
            service.methods.get(method).copied().or(service.all_methods)
        });
        specific.or(self.default)
    }
}
