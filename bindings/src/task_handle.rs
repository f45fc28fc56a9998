//! A handle on background work started by the bindings (matrix-rust-sdk's `TaskHandle`).

use std::sync::Mutex;

use tokio::task::JoinHandle;

/// Background work, such as sync. It stops when [`TaskHandle::cancel`] is called or when
/// the handle is dropped (garbage-collected or closed by the app).
#[derive(uniffi::Object)]
pub struct TaskHandle {
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl TaskHandle {
    pub(crate) fn new(handle: JoinHandle<()>) -> Self {
        Self {
            handle: Mutex::new(Some(handle)),
        }
    }
}

#[uniffi::export]
impl TaskHandle {
    /// Stops the work. Requests in flight are abandoned; their photos stay queued.
    pub fn cancel(&self) {
        if let Some(handle) = self.handle.lock().unwrap_or_else(|e| e.into_inner()).take() {
            handle.abort();
        }
    }

    /// Whether the work has ended (finished, failed or cancelled).
    pub fn is_finished(&self) -> bool {
        self.handle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_none_or(JoinHandle::is_finished)
    }
}

impl Drop for TaskHandle {
    fn drop(&mut self) {
        self.cancel();
    }
}
