//! Pipelined triggers (written by the caller's thread, answers read later) against a
//! real server on 127.0.0.1:0 received by a real WebSocket, and against raw sockets
//! that misbehave: every request is answered or reported as failed.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use pushbus_client::pipeline::{Pipeline, MAX_IN_FLIGHT};
use pushbus_client::{Client, ClientError};
use serde_json::{json, Value};
use tokio::time::timeout;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(10);

mod common;
use common::client;

fn trigger(c: &Client, i: usize) -> pushbus_client::ApiRequest {
    c.trigger_request(
        &["portal".into()],
        "tick",
        &json!({ "i": i }).to_string(),
        None,
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_trigger_arrives_in_order_and_is_answered() {
    let server = common::server();
    let addr = server.start().await.unwrap();
    let (mut ws, _) = connect_async(format!("ws://{addr}/app/key")).await.unwrap();
    ws.send(Message::Text(
        json!({"event":"pusher:subscribe","data":{"channel":"portal"}})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let mut frames = Vec::new();
    timeout(WAIT, async {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Text(t) = m {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["event"] == "pusher_internal:subscription_succeeded" {
                    break;
                }
            }
        }
    })
    .await
    .expect("subscribed");

    // More than MAX_IN_FLIGHT, so that back-pressure is exercised too.
    let n = MAX_IN_FLIGHT + 976;
    let c = client(addr.port(), "secret", Duration::from_secs(5));
    let sender = tokio::task::spawn_blocking(move || {
        let mut p = Pipeline::new(c.clone()).unwrap();
        let mut max_pending = 0;
        for i in 0..n {
            p.send(&trigger(&c, i));
            max_pending = max_pending.max(p.pending());
        }
        // A query waits for its own answer, after those of the triggers before it.
        let channel = p.call(
            &c.channel_request("portal", Some("subscription_count"))
                .unwrap(),
        );
        let user_channel = p.call(&c.channel_request("#server-to-user-5", None).unwrap());
        assert_eq!(user_channel.unwrap(), json!({"occupied": false}));
        let report = p.flush(WAIT);
        (report, max_pending, channel)
    });
    timeout(WAIT, async {
        while frames.len() < n {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if v["event"] == "tick" {
                        frames.push(v);
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("socket ended: {other:?}"),
            }
        }
    })
    .await
    .expect("every event in time");
    let (report, max_pending, channel) = sender.await.unwrap();
    assert_eq!(
        channel.unwrap(),
        json!({"occupied": true, "subscription_count": 1})
    );
    assert_eq!(report.pending, 0);
    assert_eq!(report.failed, 0, "{:?}", report.first_failure);
    assert!(max_pending <= MAX_IN_FLIGHT, "{max_pending} in flight");
    for (i, f) in frames.iter().enumerate() {
        let data: Value = serde_json::from_str(f["data"].as_str().unwrap()).unwrap();
        assert_eq!(data["i"], i, "event {i} out of order");
    }

    // A wrong secret: each request is refused by the server, and each refusal counted.
    let bad = client(addr.port(), "wrong", Duration::from_secs(5));
    // A call gets its own refusal; the queued ones stay for flush.
    let (called, report) = tokio::task::spawn_blocking(move || {
        let mut p = Pipeline::new(bad.clone()).unwrap();
        for i in 0..3 {
            p.send(&trigger(&bad, i));
        }
        let called = p.call(&bad.channels_request(None, None));
        (called, p.flush(WAIT))
    })
    .await
    .unwrap();
    assert!(
        matches!(called, Err(ClientError::Status { status: 401, .. })),
        "{called:?}"
    );
    assert_eq!((report.pending, report.failed), (0, 3));
    match report.first_failure {
        Some(ClientError::Status { status: 401, body }) => assert!(body.contains("ignature")),
        other => panic!("{other:?}"),
    }
    server.shutdown().await.unwrap();
}

/// A raw HTTP server on a thread: `answer` gets each request's bytes and the stream.
fn raw_server(
    answer: impl Fn(usize, &mut std::net::TcpStream) -> bool + Send + 'static,
) -> (u16, mpsc::Receiver<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (done, events) = mpsc::channel();
    thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let mut stream = stream.unwrap();
            stream.set_read_timeout(Some(WAIT)).unwrap();
            // One request per connection is enough for these tests.
            // Read the whole request, body included: closing with unread bytes would
            // reset the connection rather than close it.
            let mut buf = [0u8; 4096];
            let mut got = Vec::new();
            while complete_request(&got).is_none() {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => got.extend_from_slice(&buf[..k]),
                }
            }
            let keep = answer(n, &mut stream);
            if !keep {
                drop(stream);
            } else {
                std::mem::forget(stream); // never answers, never closes
            }
            let _ = done.send(n);
        }
    });
    (port, events)
}

#[test]
fn a_close_by_the_server_between_triggers_is_noticed_and_the_next_reconnects() {
    // Answers, then closes without saying so (as at the end of a keep-alive timeout).
    let (port, closed) = raw_server(|_, s| {
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
            .unwrap();
        false
    });
    let c = client(port, "secret", Duration::from_secs(5));
    let mut p = Pipeline::new(c.clone()).unwrap();
    p.send(&trigger(&c, 0));
    assert_eq!(closed.recv_timeout(WAIT).unwrap(), 0);
    p.send(&trigger(&c, 1));
    assert_eq!(closed.recv_timeout(WAIT).unwrap(), 1, "a second connection");
    let report = p.flush(WAIT);
    assert_eq!((report.pending, report.failed), (0, 0), "{report:?}");
}

#[test]
fn a_connection_closed_without_an_answer_fails_its_trigger() {
    let (port, _closed) = raw_server(|_, _| false);
    let c = client(port, "secret", Duration::from_secs(5));
    let mut p = Pipeline::new(c.clone()).unwrap();
    p.send(&trigger(&c, 0));
    let report = p.flush(WAIT);
    assert_eq!((report.pending, report.failed), (0, 1));
    assert!(
        matches!(&report.first_failure, Some(ClientError::Connect(m)) if m.contains("closed") || m.contains("reset")),
        "{report:?}"
    );
    // Reported once.
    let again = p.flush(Duration::ZERO);
    assert_eq!(again.failed, 0);
}

#[test]
fn no_answer_within_the_timeout_fails_the_triggers() {
    let (port, _) = raw_server(|_, _| true);
    let c = client(port, "secret", Duration::from_millis(300));
    let mut p = Pipeline::new(c.clone()).unwrap();
    p.send(&trigger(&c, 0));
    let first = p.flush(Duration::ZERO);
    assert_eq!((first.pending, first.failed), (1, 0));
    let report = p.flush(WAIT);
    assert_eq!((report.pending, report.failed), (0, 1));
    assert_eq!(report.first_failure, Some(ClientError::Timeout));
    // Nothing is known of this server's connections yet, so a second trigger waits
    // for the first one's answer, and no longer than the timeout: both fail.
    p.send(&trigger(&c, 1));
    p.send(&trigger(&c, 2));
    let report = p.flush(WAIT);
    assert_eq!((report.pending, report.failed), (0, 2));
    assert_eq!(report.first_failure, Some(ClientError::Timeout));
    // A call that gets no answer times out by itself (on a new connection).
    assert_eq!(
        p.call(&c.channels_request(None, None)),
        Err(ClientError::Timeout)
    );
}

#[test]
fn a_server_that_is_down_fails_fast_and_is_reported() {
    // A port nobody listens on: bind, read the port, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = client(port, "secret", Duration::from_secs(5));
    let mut p = Pipeline::new(c.clone()).unwrap();
    for i in 0..10 {
        p.send(&trigger(&c, i));
    }
    let report = p.flush(Duration::ZERO);
    assert_eq!((report.pending, report.failed), (0, 10));
    assert!(
        matches!(&report.first_failure, Some(ClientError::Connect(m)) if m.contains("refused")),
        "{report:?}"
    );
    // A call says so itself, at once.
    let called = p.call(&c.channels_request(None, None));
    assert!(
        matches!(&called, Err(ClientError::Connect(m)) if m.contains("refused")),
        "{called:?}"
    );
    assert_eq!(p.flush(Duration::ZERO).failed, 0);
}

/// An HTTP server on a thread that takes several requests per connection: `answer`
/// gets (connection, request on it, body) and returns the answer's bytes and whether
/// to close the connection after it (dropping whatever else it was sent). Each
/// processed body is reported on the channel, in order, and `LEFTOVER` when a closed
/// connection had been sent more than was processed.
/// `linger`: before closing, wait (up to 1 s) for the next request to arrive, so that a
/// client that pipelines surely has one dropped.
fn http_server(
    linger: bool,
    answer: impl Fn(usize, usize, &str) -> (&'static str, bool) + Send + 'static,
) -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (processed, bodies) = mpsc::channel();
    thread::spawn(move || {
        for (c, stream) in listener.incoming().enumerate() {
            let mut stream = stream.unwrap();
            stream.set_read_timeout(Some(WAIT)).unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 8192];
            let mut n = 0;
            'connection: loop {
                while let Some(len) = complete_request(&got) {
                    let request: Vec<u8> = got.drain(..len).collect();
                    let text = String::from_utf8_lossy(&request).into_owned();
                    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
                    let _ = processed.send(body.clone());
                    let (bytes, close) = answer(c, n, &body);
                    n += 1;
                    if close && linger {
                        stream
                            .set_read_timeout(Some(Duration::from_secs(1)))
                            .unwrap();
                        while complete_request(&got).is_none() {
                            match stream.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(k) => got.extend_from_slice(&buf[..k]),
                            }
                        }
                    }
                    if stream.write_all(bytes.as_bytes()).is_err() || close {
                        break 'connection;
                    }
                }
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => got.extend_from_slice(&buf[..k]),
                }
            }
            // Close without resetting: read what is left for a moment first.
            let _ = stream.shutdown(std::net::Shutdown::Write);
            stream
                .set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            let mut leftover = got.len();
            while let Ok(k @ 1..) = stream.read(&mut buf) {
                leftover += k;
            }
            if leftover > 0 {
                let _ = processed.send(LEFTOVER.into());
            }
        }
    });
    (port, bodies)
}

/// The length of the first complete request in `got`, if there is one.
fn complete_request(got: &[u8]) -> Option<usize> {
    let end = got.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse::<usize>().unwrap());
    (got.len() >= end + 4 + length).then_some(end + 4 + length)
}

const LEFTOVER: &str = "LEFTOVER";

/// The `i` of each processed trigger, and how many connections had leftovers.
fn numbers(bodies: &mpsc::Receiver<String>) -> (Vec<u64>, usize) {
    let all: Vec<String> = bodies.try_iter().collect();
    let leftovers = all.iter().filter(|b| *b == LEFTOVER).count();
    let numbers = all
        .iter()
        .filter(|b| *b != LEFTOVER)
        .map(|b| {
            let body: Value = serde_json::from_str(b).unwrap();
            let data: Value = serde_json::from_str(body["data"].as_str().unwrap()).unwrap();
            data["i"].as_u64().unwrap()
        })
        .collect();
    (numbers, leftovers)
}

#[test]
fn a_server_that_closes_after_every_answer_gets_every_request_once() {
    // Reverb answers HTTP/1.0 and closes after each request: nothing may be pipelined.
    let (port, bodies) = http_server(false, |_, _, _| {
        ("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", true)
    });
    let c = client(port, "secret", Duration::from_secs(5));
    let mut p = Pipeline::new(c.clone()).unwrap();
    for i in 0..20 {
        p.send(&trigger(&c, i));
    }
    let report = p.flush(WAIT);
    assert_eq!((report.pending, report.failed), (0, 0), "{report:?}");
    let (got, leftovers) = numbers(&bodies);
    assert_eq!(got, (0..20).collect::<Vec<_>>());
    assert_eq!(
        leftovers, 0,
        "a request was pipelined behind one the server closed after"
    );
}

#[test]
fn requests_behind_an_announced_close_are_written_again() {
    // As nginx does after `keepalive_requests`: the third answer on each connection
    // says it closes, and what was pipelined behind it is not processed.
    let (port, bodies) = http_server(true, |_, n, _| {
        if n == 2 {
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                true,
            )
        } else {
            ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", false)
        }
    });
    let c = client(port, "secret", Duration::from_secs(5));
    let mut p = Pipeline::new(c.clone()).unwrap();
    // The first answer shows the server keeps connections open: then it pipelines.
    p.send(&trigger(&c, 0));
    assert_eq!(p.flush(WAIT).failed, 0);
    for i in 1..30 {
        p.send(&trigger(&c, i));
    }
    let report = p.flush(WAIT);
    assert_eq!((report.pending, report.failed), (0, 0), "{report:?}");
    let (got, leftovers) = numbers(&bodies);
    assert_eq!(got, (0..30).collect::<Vec<_>>(), "each once, in order");
    assert!(
        leftovers > 0,
        "requests were pipelined, and some behind a close"
    );
}
