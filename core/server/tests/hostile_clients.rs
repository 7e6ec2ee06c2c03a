//! Hostile and broken clients over raw sockets: each gets the close code RFC 6455 (or
//! HTTP) asks for, delivered before a clean TCP close, while a normal subscriber keeps
//! receiving and the server's file descriptors return to where they were.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

mod common;

const WAIT: Duration = Duration::from_secs(10);

/// The tests count this process's file descriptors, so they run one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const UPGRADE: &str = "GET /app/key?protocol=7 HTTP/1.1\r\nHost: localhost\r\n\
    Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

/// A raw connection with what was read but not consumed yet.
struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// How the server ended a raw connection.
#[derive(Debug, PartialEq)]
enum Ending {
    /// A close frame with this code (None: an empty close), then a FIN.
    Clean(Option<u16>),
    /// A close frame, then a reset.
    ResetAfterClose(Option<u16>),
    /// No close frame.
    NoClose(String),
}

impl Raw {
    async fn connect(addr: SocketAddr, request: &str) -> Raw {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        Raw {
            stream,
            buf: Vec::new(),
        }
    }

    /// An upgraded connection past `connection_established`.
    async fn websocket(addr: SocketAddr) -> Raw {
        let mut raw = Raw::connect(addr, UPGRADE).await;
        let head = raw.http_head().await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let (op, payload) = raw.frame().await.expect("connection_established");
        assert_eq!(op, 1);
        assert!(String::from_utf8_lossy(&payload).contains("connection_established"));
        raw
    }

    /// Reads more input; Ok(0) at EOF.
    async fn fill(&mut self) -> std::io::Result<usize> {
        let mut chunk = [0u8; 4096];
        let n = timeout(WAIT, self.stream.read(&mut chunk))
            .await
            .expect("server answered in time")?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// The response's status line and headers.
    async fn http_head(&mut self) -> String {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head: Vec<u8> = self.buf.drain(..end + 4).collect();
                return String::from_utf8(head).unwrap();
            }
            assert!(
                self.fill().await.unwrap() > 0,
                "EOF inside the response head"
            );
        }
    }

    /// One server frame (opcode, payload); None at EOF. Errors (a reset) pass through.
    async fn try_frame(&mut self) -> std::io::Result<Option<(u8, Vec<u8>)>> {
        loop {
            if let Some(f) = take_frame(&mut self.buf) {
                return Ok(Some(f));
            }
            if self.fill().await? == 0 {
                return Ok(None);
            }
        }
    }

    async fn frame(&mut self) -> Option<(u8, Vec<u8>)> {
        self.try_frame().await.unwrap()
    }

    /// Reads until the server's close frame and the end of the connection.
    async fn ending(&mut self) -> Ending {
        let code = loop {
            match self.try_frame().await {
                Ok(Some((8, payload))) => {
                    break (payload.len() >= 2)
                        .then(|| u16::from_be_bytes([payload[0], payload[1]]))
                }
                Ok(Some(_)) => {}
                Ok(None) => return Ending::NoClose("EOF".into()),
                Err(e) => return Ending::NoClose(e.to_string()),
            }
        };
        loop {
            match self.fill().await {
                Ok(0) => return Ending::Clean(code),
                Ok(_) => {}
                Err(_) => return Ending::ResetAfterClose(code),
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }
}

/// A client frame: `first` is FIN/RSV/opcode, masked unless `masked` is false.
fn frame(first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mask_bit = if masked { 0x80 } else { 0 };
    let mut f = vec![first];
    match payload.len() {
        n if n < 126 => f.push(mask_bit | n as u8),
        n if n <= 0xffff => {
            f.push(mask_bit | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(mask_bit | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        let key = [0x12, 0x34, 0x56, 0x78];
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        f.extend_from_slice(payload);
    }
    f
}

fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    p
}

/// TCP sockets open in this process (the server runs in it), by inode. TCP only: the
/// test harness builds the next test's runtime while this one runs, and a runtime
/// has sockets of its own (the signal driver's socket pair).
fn sockets() -> Vec<String> {
    let tcp: String = ["tcp", "tcp6"]
        .iter()
        .map(|t| std::fs::read_to_string(format!("/proc/self/net/{t}")).unwrap_or_default())
        .collect();
    let tcp_inodes: std::collections::HashSet<&str> = tcp
        .lines()
        .filter_map(|l| l.split_whitespace().nth(9))
        .collect();
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|t| {
            let t = t.to_string_lossy();
            Some(
                t.strip_prefix("socket:[")?
                    .trim_end_matches(']')
                    .to_string(),
            )
        })
        .filter(|inode| tcp_inodes.contains(inode.as_str()))
        .collect()
}

fn open_fds() -> usize {
    sockets().len()
}

/// Waits until this process holds at most `baseline` sockets again.
async fn fds_return_to(baseline: usize) {
    let deadline = Instant::now() + WAIT;
    loop {
        let now = sockets();
        if now.len() <= baseline {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} TCP sockets open, {baseline} before the attack",
            now.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn subscriber(addr: SocketAddr) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/app/key"))
        .await
        .unwrap();
    let subscribe = json!({"event":"pusher:subscribe","data":{"channel":"canary"}});
    ws.send(Message::Text(subscribe.to_string().into()))
        .await
        .unwrap();
    expect_text(&mut ws, "subscription_succeeded").await;
    ws
}

async fn expect_text(ws: &mut Ws, needle: &str) {
    timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) if t.contains(needle) => return,
                Some(Ok(_)) => {}
                other => panic!("waiting for {needle}: {other:?}"),
            }
        }
    })
    .await
    .expect("in time");
}

/// The canary still gets what is published.
async fn canary_receives(server: &pushbus::Server, canary: &mut Ws, n: usize) {
    let data = format!("still here {n}");
    server
        .publish("app", &["canary".into()], "ping", &data, None)
        .unwrap();
    expect_text(canary, &data).await;
}

/// One attack's surroundings: a server of its own, a subscriber that must keep
/// receiving, and this process's descriptor count before the attack.
struct Arena {
    _one: tokio::sync::MutexGuard<'static, ()>,
    server: pushbus::Server,
    addr: SocketAddr,
    canary: Ws,
    baseline: usize,
}

impl Arena {
    async fn open() -> Arena {
        let one = ONE_AT_A_TIME.lock().await;
        let server = common::server();
        let addr = server.start().await.unwrap();
        let canary = subscriber(addr).await;
        Arena {
            _one: one,
            server,
            addr,
            canary,
            baseline: open_fds(),
        }
    }

    /// The canary still receives (event `n`).
    async fn canary_receives(&mut self, n: usize) {
        canary_receives(&self.server, &mut self.canary, n).await;
    }

    /// After the attack: the canary still receives, descriptors are back, and the
    /// server shuts down cleanly.
    async fn close(mut self) {
        self.canary_receives(usize::MAX).await;
        fds_return_to(self.baseline).await;
        self.server.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_close_is_answered_with_its_code() {
    let arena = Arena::open().await;
    let addr = arena.addr;
    for code in [1000u16, 1001, 3000, 4000, 4999] {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/app/key"))
            .await
            .unwrap();
        expect_text(&mut ws, "connection_established").await;
        ws.close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: "bye".into(),
        }))
        .await
        .unwrap();
        let reply = timeout(WAIT, ws.next()).await.expect("answered in time");
        match reply {
            Some(Ok(Message::Close(Some(f)))) => assert_eq!(u16::from(f.code), code),
            other => panic!("close {code} answered with {other:?}"),
        }
        assert!(timeout(WAIT, ws.next()).await.unwrap().is_none());
    }
    // An empty close is answered with an empty close, and the TCP close is clean.
    let mut raw = Raw::websocket(addr).await;
    raw.send(&frame(0x88, &[], true)).await;
    assert_eq!(raw.ending().await, Ending::Clean(None));
    drop(raw);
    arena.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_violations_get_1002_or_1007_then_a_clean_close() {
    let mut arena = Arena::open().await;
    let addr = arena.addr;
    let long_reason = close_payload(1000, &[b'r'; 124]);
    let attacks: Vec<(&str, Vec<u8>, u16)> = vec![
        ("reserved data opcode", frame(0x83, b"x", true), 1002),
        ("reserved control opcode", frame(0x8b, b"", true), 1002),
        ("RSV1 without an extension", frame(0xc1, b"{}", true), 1002),
        ("unmasked client frame", frame(0x81, b"{}", false), 1002),
        ("fragmented ping", frame(0x09, b"", true), 1002),
        (
            "continuation without a start",
            frame(0x80, b"x", true),
            1002,
        ),
        (
            "close code 1005",
            frame(0x88, &close_payload(1005, b""), true),
            1002,
        ),
        (
            "close code 999",
            frame(0x88, &close_payload(999, b""), true),
            1002,
        ),
        (
            "close reason of 124 bytes",
            frame(0x88, &long_reason, true),
            1002,
        ),
        ("invalid UTF-8 text", frame(0x81, b"{\xff\xfe}", true), 1007),
        (
            "invalid UTF-8 close reason",
            frame(0x88, &close_payload(1000, b"\xff"), true),
            1007,
        ),
    ];
    for (i, (name, bytes, code)) in attacks.into_iter().enumerate() {
        let mut raw = Raw::websocket(addr).await;
        raw.send(&bytes).await;
        assert_eq!(raw.ending().await, Ending::Clean(Some(code)), "{name}");
        arena.canary_receives(i).await;
    }
    arena.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_message_gets_1009_while_the_client_still_sends() {
    let arena = Arena::open().await;
    let addr = arena.addr;
    let raw = Raw::websocket(addr).await;
    // A header announcing 512 KiB (the limit is 10,000 bytes), then the body in
    // pieces while the server has already refused it.
    let whole = frame(0x81, &vec![b'a'; 512 * 1024], true);
    let (mut reader, mut writer) = raw.stream.into_split();
    let sending = tokio::spawn(async move {
        for piece in whole.chunks(16 * 1024) {
            if writer.write_all(piece).await.is_err() {
                break;
            }
        }
        writer
    });
    let mut got = raw.buf;
    let ending = timeout(WAIT, async {
        let mut chunk = [0u8; 4096];
        loop {
            match reader.read(&mut chunk).await {
                Ok(0) => return "eof",
                Ok(n) => got.extend_from_slice(&chunk[..n]),
                Err(_) => return "reset",
            }
        }
    })
    .await
    .expect("server ended in time");
    let close = loop {
        match take_frame(&mut got) {
            Some((8, payload)) => break u16::from_be_bytes([payload[0], payload[1]]),
            Some(_) => {}
            None => panic!("no close frame before the {ending}"),
        }
    };
    assert_eq!(close, 1009);
    assert_eq!(ending, "eof", "the close is followed by a FIN, not a reset");
    drop((reader, sending.await.unwrap()));
    arena.close().await;
}

/// Takes one complete server frame (opcode, payload) off the front of `buf`.
fn take_frame(buf: &mut Vec<u8>) -> Option<(u8, Vec<u8>)> {
    if buf.len() < 2 {
        return None;
    }
    let op = buf[0] & 0x0f;
    let (len, start) = match buf[1] & 0x7f {
        126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4),
        127 if buf.len() >= 10 => (
            u64::from_be_bytes(buf[2..10].try_into().unwrap()) as usize,
            10,
        ),
        126 | 127 => return None,
        n => (n as usize, 2),
    };
    if buf.len() < start + len {
        return None;
    }
    let payload = buf[start..start + len].to_vec();
    buf.drain(..start + len);
    Some((op, payload))
}

/// Sends `request` and returns the response head.
async fn http(addr: SocketAddr, request: &str) -> String {
    let mut raw = Raw::connect(addr, request).await;
    raw.http_head().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_upgrades_are_refused_with_the_right_status() {
    let arena = Arena::open().await;
    let addr = arena.addr;
    let with = |line: &str, headers: &[&str]| {
        let mut r = format!("{line}\r\n");
        for h in headers {
            r.push_str(h);
            r.push_str("\r\n");
        }
        r + "\r\n"
    };
    const CONN: &str = "Connection: Upgrade";
    const UPG: &str = "Upgrade: websocket";
    const VER: &str = "Sec-WebSocket-Version: 13";
    const KEY: &str = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==";
    const HOST: &str = "Host: localhost";

    let head = http(
        addr,
        &with(
            "GET /app/key HTTP/1.1",
            &[HOST, CONN, UPG, "Sec-WebSocket-Version: 8", KEY],
        ),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 426"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{head}"
    );

    let head = http(
        addr,
        &with(
            "GET /app/key HTTP/1.1",
            &[HOST, CONN, UPG, VER, "Sec-WebSocket-Key: abc"],
        ),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    let head = http(
        addr,
        &with("GET /app/key HTTP/1.1", &[HOST, CONN, UPG, VER]),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 400"), "no key: {head}");

    let head = http(
        addr,
        &with(
            "POST /app/key HTTP/1.1",
            &[HOST, CONN, UPG, VER, KEY, "Content-Length: 0"],
        ),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 405"), "{head}");
    assert!(head.to_ascii_lowercase().contains("allow: get"), "{head}");

    let head = http(addr, &with("GET /app/key HTTP/1.1", &[CONN, UPG, VER, KEY])).await;
    assert!(head.starts_with("HTTP/1.1 400"), "no Host: {head}");

    let head = http(
        addr,
        &with("GET /app/key HTTP/1.0", &[HOST, CONN, UPG, VER, KEY]),
    )
    .await;
    assert!(head.contains(" 400 "), "HTTP/1.0: {head}");

    // Not an upgrade at all: the endpoint says what it wants.
    let head = http(addr, &with("GET /app/key HTTP/1.1", &[HOST])).await;
    assert!(head.starts_with("HTTP/1.1 426"), "{head}");

    // And a correct one still works.
    let head = http(
        addr,
        &with("GET /app/key HTTP/1.1", &[HOST, CONN, UPG, VER, KEY]),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    arena.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_bodies_that_never_finish_are_answered_408_and_closed() {
    let mut arena = Arena::open().await;
    let addr = arena.addr;
    let started = Instant::now();
    let post = "POST /apps/app/events HTTP/1.1\r\nHost: localhost\r\n\
        Content-Type: application/json\r\n";
    // A body shorter than announced, a chunked body that stalls, and headers only:
    // fifty of each, held open by the client.
    let mut held = Vec::new();
    for _ in 0..50 {
        held.push(
            Raw::connect(
                addr,
                &format!("{post}Content-Length: 100\r\n\r\n{{\"name\":"),
            )
            .await,
        );
        held.push(
            Raw::connect(
                addr,
                &format!("{post}Transfer-Encoding: chunked\r\n\r\n1\r\n{{\r\n"),
            )
            .await,
        );
        held.push(Raw::connect(addr, &format!("{post}Content-Length: 50\r\n\r\n")).await);
    }
    arena.canary_receives(0).await;
    for raw in &mut held {
        let head = raw.http_head().await;
        assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    }
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(20),
        "answered after {waited:?}"
    );
    for raw in &mut held {
        // Then closed by the server: read to EOF.
        while raw.fill().await.unwrap_or(0) > 0 {}
    }
    drop(held);
    arena.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_too_large_gets_413_while_the_client_still_sends() {
    let arena = Arena::open().await;
    let addr = arena.addr;
    // 600 KiB against the 256 KiB default, sent in pieces.
    let body = vec![b'a'; 600 * 1024];
    let head = format!(
        "POST /apps/app/events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let sending = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await.unwrap();
        for piece in body.chunks(16 * 1024) {
            if writer.write_all(piece).await.is_err() {
                break;
            }
        }
        writer
    });
    let mut got = Vec::new();
    let answer = timeout(WAIT, async {
        let mut chunk = [0u8; 4096];
        loop {
            match reader.read(&mut chunk).await {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    got.extend_from_slice(&chunk[..n]);
                    if got.windows(4).any(|w| w == b"\r\n\r\n") {
                        return Ok(());
                    }
                }
                Err(e) => return Err(e),
            }
        }
    })
    .await
    .expect("answered in time");
    let text = String::from_utf8_lossy(&got);
    assert!(
        answer.is_ok(),
        "reset before the answer: {answer:?}, read {text:?}"
    );
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    drop((reader, sending.await.unwrap()));
    arena.close().await;
}

/// Joins `presence-room` as `channel_data`; returns the answer's event name and data.
async fn join_presence(addr: SocketAddr, channel_data: &str) -> (Ws, String, String) {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/app/key"))
        .await
        .unwrap();
    let socket_id = timeout(WAIT, async {
        loop {
            if let Some(Ok(Message::Text(t))) = ws.next().await {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                if v["event"] == "pusher:connection_established" {
                    let data: serde_json::Value =
                        serde_json::from_str(v["data"].as_str().unwrap()).unwrap();
                    return data["socket_id"].as_str().unwrap().to_string();
                }
            }
        }
    })
    .await
    .unwrap();
    let auth = pushbus::auth::authorize_channel(
        "key",
        "secret",
        &socket_id,
        "presence-room",
        Some(channel_data),
    );
    let subscribe = json!({"event":"pusher:subscribe","data":{
        "channel":"presence-room","auth":auth,"channel_data":channel_data}});
    ws.send(Message::Text(subscribe.to_string().into()))
        .await
        .unwrap();
    let (event, data) = timeout(WAIT, async {
        loop {
            if let Some(Ok(Message::Text(t))) = ws.next().await {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                let event = v["event"].as_str().unwrap_or("").to_string();
                if event.contains("subscription") {
                    return (event, v["data"].to_string());
                }
            }
        }
    })
    .await
    .unwrap();
    (ws, event, data)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_data_that_would_poison_members_is_refused() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = common::server();
    let addr = server.start().await.unwrap();
    let (mut member, event, _) = join_presence(addr, r#"{"user_id":"alice"}"#).await;
    assert_eq!(event, "pusher_internal:subscription_succeeded");

    let deep = format!("{}{}", "[".repeat(3000), "]".repeat(3000));
    let poisons = [
        format!(r#"{{"user_id":"mallory","user_info":{deep}}}"#),
        r#"{"user_id":"mal\u0000lory"}"#.to_string(),
        r#"{"user_id":"mal\nlory"}"#.to_string(),
    ];
    for poison in &poisons {
        let (_ws, event, data) = join_presence(addr, poison).await;
        assert_eq!(event, "pusher:subscription_error", "{poison:.60}");
        assert!(
            data.contains("nested") || data.contains("control"),
            "{data}"
        );
    }
    // Large numeric ids stay distinct: two members, not one.
    let (_a, event_a, _) =
        join_presence(addr, r#"{"user_id":123456789012345678901234567890}"#).await;
    let (_b, event_b, data_b) =
        join_presence(addr, r#"{"user_id":123456789012345678901234567891}"#).await;
    assert_eq!(event_a, "pusher_internal:subscription_succeeded");
    assert_eq!(event_b, "pusher_internal:subscription_succeeded");
    assert!(
        data_b.contains("123456789012345678901234567890"),
        "{data_b}"
    );
    assert!(
        data_b.contains("123456789012345678901234567891"),
        "{data_b}"
    );

    // The first member heard of the two numeric members and of nobody refused.
    let mut added = Vec::new();
    timeout(WAIT, async {
        while added.len() < 2 {
            if let Some(Ok(Message::Text(t))) = member.next().await {
                if t.contains("member_added") {
                    added.push(t.to_string());
                }
            }
        }
    })
    .await
    .expect("two member_added");
    assert!(added.iter().all(|t| !t.contains("mal")), "{added:?}");
    server.shutdown().await.unwrap();
}
