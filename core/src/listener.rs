//! The slot a host's listener lives in: set at any time, read without holding the lock while
//! the listener runs (a listener may call back into the core).

use std::sync::{Arc, Mutex};

/// One optional listener of type `L` (a `dyn` trait).
pub(crate) struct ListenerSlot<L: ?Sized>(Mutex<Option<Arc<L>>>);

impl<L: ?Sized> ListenerSlot<L> {
    /// An empty slot.
    pub(crate) fn new() -> Self {
        Self(Mutex::new(None))
    }

    /// Sets (or replaces) the listener.
    pub(crate) fn set(&self, listener: Arc<L>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(listener);
    }

    /// The listener, if one is set; the lock is released before the caller uses it.
    pub(crate) fn get(&self) -> Option<Arc<L>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
