//! The one tokio runtime of the process, and fork detection.
//!
//! Nothing starts at load time: the runtime (and its worker threads) is built by the
//! first call that needs it. It is tagged with the pid that built it. After `fork()`
//! the child has none of the parent's threads, so a runtime (and any handle) from
//! another pid is unusable: the child builds its own runtime on first use, and
//! handles created before the fork answer `PUSHBUS_RESULT_FORKED`. This is what
//! PHP-FPM needs: it loads extensions in the master and forks workers afterwards.

use std::sync::{Mutex, PoisonError};

use tokio::runtime::Runtime;

use crate::error::{pushbus_result, Failure};

struct ProcessRuntime {
    pid: u32,
    runtime: &'static Runtime,
    /// Runtimes inherited from parent processes. Their threads are gone, so they can
    /// neither run nor be dropped (dropping would wait for those threads); they are
    /// kept here, unused, so their memory stays accounted for rather than leaked.
    inherited: Vec<&'static Runtime>,
}

static RUNTIME: Mutex<Option<ProcessRuntime>> = Mutex::new(None);

/// The pid of the calling process.
pub(crate) fn current_pid() -> u32 {
    std::process::id()
}

/// The runtime of this process, built on first use (again in a forked child).
pub(crate) fn runtime() -> Result<&'static Runtime, Failure> {
    let pid = current_pid();
    let mut slot = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(current) = slot.as_ref() {
        if current.pid == pid {
            return Ok(current.runtime);
        }
    }
    // Only I/O and timers: no signal driver, whose process-wide pipe a forked child
    // would share with its parent.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .enable_time()
        .thread_name("pushbus-worker")
        .build()
        .map_err(|e| {
            Failure::new(
                pushbus_result::Runtime,
                format!("cannot start the runtime: {e}"),
            )
        })?;
    let runtime: &'static Runtime = Box::leak(Box::new(runtime));
    let mut inherited = Vec::new();
    if let Some(old) = slot.take() {
        inherited = old.inherited;
        inherited.push(old.runtime);
    }
    *slot = Some(ProcessRuntime {
        pid,
        runtime,
        inherited,
    });
    Ok(runtime)
}

/// Refuses a handle made by another process (see the module docs).
pub(crate) fn check_pid(owner: u32, what: &str) -> Result<(), Failure> {
    if owner == current_pid() {
        Ok(())
    } else {
        Err(Failure::new(
            pushbus_result::Forked,
            format!(
                "this {what} was created by process {owner}, before a fork; create a new one in this process"
            ),
        ))
    }
}
