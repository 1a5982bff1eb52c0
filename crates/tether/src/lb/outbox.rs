//! The actions a policy has queued for the channel, and the last picker it
//! published (so an identical picker is not published twice).

use super::{Action, PickerSpec};
use crate::connectivity::ConnectivityState;
use std::collections::VecDeque;

/// Queued actions, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    actions: VecDeque<Action>,
    /// The last `Action::Picker` queued, if any.
    published: Option<(ConnectivityState, PickerSpec)>,
}

impl Outbox {
    /// Queues `action` (use [`Outbox::publish`] for pickers).
    pub(crate) fn push(&mut self, action: Action) {
        self.actions.push_back(action);
    }

    /// Queues a picker unless it is the one published last.
    pub(crate) fn publish(&mut self, state: ConnectivityState, picker: PickerSpec) {
        let new = (state, picker);
        if self.published.as_ref() == Some(&new) {
            return;
        }
        self.published = Some(new.clone());
        let (state, picker) = new;
        self.actions.push_back(Action::Picker { state, picker });
    }

    /// The last picker published.
    pub(crate) fn published(&self) -> Option<&(ConnectivityState, PickerSpec)> {
        self.published.as_ref()
    }

    /// The oldest queued action.
    pub(crate) fn pop(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }
}
