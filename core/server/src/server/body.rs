//! Reading an HTTP API request body, bounded in size, in time and in what all requests
//! together may buffer: bodies are read before their signature can be checked, so
//! anyone can send them, and one that never finishes must not pin memory or a socket.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::time::timeout;

use crate::error::Error;
use crate::limits::{BODY_READ_TIMEOUT_SECS, MAX_BODY_BYTES_IN_FLIGHT};

/// After refusing a body as too large, how much more of it is read and discarded so
/// that the client, still sending, reads the 413 instead of a reset.
const DRAIN_BYTES: usize = 1 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Bytes of request bodies being received, across the server.
#[derive(Default)]
pub(crate) struct BodyBudget(AtomicUsize);

/// A part of the budget, given back when dropped.
struct Reservation<'a> {
    budget: &'a BodyBudget,
    bytes: usize,
}

impl Reservation<'_> {
    fn grow(&mut self, more: usize) -> Result<(), Error> {
        let before = self.budget.0.fetch_add(more, Ordering::AcqRel);
        self.bytes += more;
        if before + more > MAX_BODY_BYTES_IN_FLIGHT {
            return Err(Error::Busy);
        }
        Ok(())
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.budget.0.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// Reads the whole body: at most `max` bytes, within [`BODY_READ_TIMEOUT_SECS`], within
/// the server's [`BodyBudget`].
pub(crate) async fn read(
    mut body: Incoming,
    max: usize,
    budget: &BodyBudget,
) -> Result<Bytes, Error> {
    let mut reservation = Reservation { budget, bytes: 0 };
    let mut buf = BytesMut::new();
    let collect = async {
        while let Some(frame) = body.frame().await {
            let frame =
                frame.map_err(|_| Error::MalformedJson("request body could not be read".into()))?;
            let Ok(data) = frame.into_data() else {
                continue; // trailers
            };
            if buf.len() + data.len() > max {
                return Err(Error::RequestTooLarge { max });
            }
            reservation.grow(data.len())?;
            buf.extend_from_slice(&data);
        }
        Ok(())
    };
    let result = match timeout(Duration::from_secs(BODY_READ_TIMEOUT_SECS), collect).await {
        Ok(r) => r,
        Err(_) => Err(Error::RequestTimeout {
            secs: BODY_READ_TIMEOUT_SECS,
        }),
    };
    drop(reservation);
    match result {
        Ok(()) => Ok(buf.freeze()),
        Err(e @ Error::RequestTooLarge { .. }) => {
            drop(buf);
            drain(&mut body).await;
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// Reads and discards the rest of a refused body, for a bounded time and size.
async fn drain(body: &mut Incoming) {
    let _ = timeout(DRAIN_TIME, async {
        let mut discarded = 0;
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                discarded += data.len();
                if discarded > DRAIN_BYTES {
                    break;
                }
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_shared_and_given_back() {
        let budget = BodyBudget::default();
        let mut a = Reservation {
            budget: &budget,
            bytes: 0,
        };
        a.grow(MAX_BODY_BYTES_IN_FLIGHT - 10).unwrap();
        let mut b = Reservation {
            budget: &budget,
            bytes: 0,
        };
        b.grow(10).unwrap();
        assert!(matches!(b.grow(1), Err(Error::Busy)));
        drop(a);
        drop(b);
        assert_eq!(budget.0.load(Ordering::Acquire), 0);
        let mut c = Reservation {
            budget: &budget,
            bytes: 0,
        };
        c.grow(MAX_BODY_BYTES_IN_FLIGHT).unwrap();
    }
}
