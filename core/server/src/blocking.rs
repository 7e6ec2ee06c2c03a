//! Waiting for a query from a thread that is not running async code: the C and Node
//! bindings call the embedding API's `async` queries through [`wait`].
//!
//! On a single node every query is ready at once and `wait` returns without parking.
//! On a cluster the query's I/O and timers belong to the server's runtime, whose
//! threads drive them, so the query must be polled inside that runtime's context:
//! [`crate::Server::wait_for`] enters it and calls `wait`; the calling thread only
//! parks until it is woken or the timeout passes. Never call it from inside an async
//! task: it blocks the thread.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crate::error::Error;

/// How long the bindings wait for a query by default.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` on this thread until it is ready, or fails with [`Error::Backend`]
/// after `timeout`.
pub fn wait<T>(
    future: impl Future<Output = Result<T, Error>>,
    timeout: Duration,
) -> Result<T, Error> {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let deadline = Instant::now() + timeout;
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::Backend(format!(
                "no answer within {} ms",
                timeout.as_millis()
            )));
        }
        thread::park_timeout(deadline - now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_futures_return_and_pending_ones_time_out() {
        assert_eq!(
            wait(async { Ok::<_, Error>(7) }, Duration::ZERO).unwrap(),
            7
        );
        let e = wait(
            std::future::pending::<Result<(), Error>>(),
            Duration::from_millis(20),
        )
        .unwrap_err();
        assert!(matches!(e, Error::Backend(_)), "{e}");
    }
}
