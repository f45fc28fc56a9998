//! The one tokio runtime of the bindings: the core's network work (reqwest, timers) runs on
//! it, whatever executor drives the foreign side's futures (Kotlin coroutines, Swift tasks,
//! asyncio).

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};
use tokio::task::AbortHandle;

/// The process-wide runtime (two workers: a phone's sync is I/O-bound).
pub(crate) fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("omni-ffi")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start the tokio runtime: {e}"))
    })
}

/// Runs `future` on the runtime and waits for it from any executor. Dropping the returned
/// future (a cancelled coroutine or task) aborts the work.
pub(crate) async fn on_runtime<F>(future: F) -> Result<F::Output, tokio::task::JoinError>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handle = runtime().spawn(future);
    let mut abort = AbortOnDrop(Some(handle.abort_handle()));
    let output = handle.await;
    abort.0 = None;
    output
}

/// Aborts the task when dropped before it finished.
struct AbortOnDrop(Option<AbortHandle>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            handle.abort();
        }
    }
}
