//! The one tokio runtime of the process, and fork detection.
//!
//! Nothing starts at load time: the runtime (and its worker threads) is built by the
//! first call that needs it. It is tagged with the pid that built it. After `fork()`
//! the child has none of the parent's threads, so a runtime (and any handle) from
//! another pid is unusable: the child builds its own runtime on first use, and
//! handles created before the fork answer `PUSHBUS_RESULT_FORKED`. This is what
//! PHP-FPM needs: it loads extensions in the master and forks workers afterwards.
//!
//! A fork can also happen while another thread builds the runtime, holding its lock:
//! the child would inherit the lock held by a thread it does not have, and hang on its
//! first use. Fork handlers (`pthread_atfork`) take the lock before the fork and
//! release it after, in the parent and in the child, so the child always finds it free.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

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

thread_local! {
    /// The runtime's lock, held by the forking thread across `fork()`.
    static HELD_ACROSS_FORK: RefCell<Option<MutexGuard<'static, Option<ProcessRuntime>>>> =
        const { RefCell::new(None) };
}

extern "C" fn before_fork() {
    // Waits for a runtime being built on another thread to be done.
    let guard = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    let _ = HELD_ACROSS_FORK.try_with(|held| *held.borrow_mut() = Some(guard));
}

extern "C" fn after_fork() {
    // In the child too: the forking thread is the only one there, and it held the lock.
    let _ = HELD_ACROSS_FORK.try_with(|held| held.borrow_mut().take());
}

/// Installs the fork handlers, once per process (children inherit them).
///
/// Not a `Once`: a fork in the middle of the installation would leave the child with a
/// `Once` that never completes. Here a caller that finds another thread installing
/// waits a moment for it, then goes on (the child of such a fork goes on at once).
fn install_fork_handlers() {
    const NOT_YET: u8 = 0;
    const INSTALLING: u8 = 1;
    const DONE: u8 = 2;
    static STATE: AtomicU8 = AtomicU8::new(NOT_YET);
    match STATE.compare_exchange(NOT_YET, INSTALLING, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {
            // SAFETY: the handlers are plain functions that never unwind; registering
            // them has no other precondition. A failure (ENOMEM) leaves the old
            // behaviour.
            unsafe {
                libc::pthread_atfork(Some(before_fork), Some(after_fork), Some(after_fork));
            }
            STATE.store(DONE, Ordering::Release);
        }
        Err(DONE) => {}
        Err(_) => {
            let deadline = Instant::now() + Duration::from_millis(10);
            while STATE.load(Ordering::Acquire) != DONE && Instant::now() < deadline {
                std::thread::yield_now();
            }
        }
    }
}

/// The pid of the calling process.
pub(crate) fn current_pid() -> u32 {
    std::process::id()
}

/// The runtime of this process, built on first use (again in a forked child).
pub(crate) fn runtime() -> Result<&'static Runtime, Failure> {
    install_fork_handlers();
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
