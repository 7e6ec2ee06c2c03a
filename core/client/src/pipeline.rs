//! The HTTP API on the caller's own thread: requests written on a kept-open HTTP/1.1
//! connection, their answers read later, in order (HTTP pipelining). `send` does not
//! wait for the answer (a queued trigger); `call` does (a query, or a trigger whose
//! caller wants its outcome at once), after the answers of what was sent before it.
//!
//! Why: a web request that broadcasts should pay for building and signing one request
//! and one write to the kernel, and should not wait for the server. Handing the request
//! to another thread instead (the library's runtime) means waking that thread on every
//! broadcast, which measured at about 20 µs per trigger from PHP on a 2-core machine;
//! writing it here costs a few µs. Nothing is lost by not waiting: every request's
//! answer is read by a later `send` or `flush`, and each failure (refused, status other
//! than 200, broken connection, no answer in time) is counted and reported by `flush`.
//!
//! As HTTP/1.1 asks (RFC 9112 §9.3.2), requests are pipelined only to a server whose
//! last answer kept its connection open; to one that closes after each answer (Reverb
//! answers HTTP/1.0 and closes), each request is written once the previous one is
//! answered, on a new connection. Requests behind an answer that announces a close
//! were not processed, and are written again.
//!
//! Plain HTTP only; for `https` the caller uses [`Client::execute`] on a runtime. No
//! thread and no runtime is involved here: a PHP worker that only broadcasts starts none.
//!
//! Not thread-safe by itself (`&mut self`): a caller shared between threads puts it
//! behind a mutex. After `fork()` the child must not use a pipeline made by its parent
//! (both would write on one socket); the bindings refuse that.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{answer_value, ApiRequest, Client, ClientError};

/// At most this many requests wait for their answer; past that, `send` first waits for
/// answers (bounded memory whatever the caller does, and the server's answers never
/// fill the socket buffers while nobody reads them).
pub const MAX_IN_FLIGHT: usize = 1024;

/// A connection idle this long is replaced rather than reused: `pushbus serve` closes
/// idle keep-alive connections after 30 s, and a request must not race that close.
const IDLE_REPLACE: Duration = Duration::from_secs(25);

/// After a failed connect, sends fail at once for a while instead of each trying again
/// (a request that broadcasts ten times to a server that is down must not take ten
/// connect timeouts): this long after a refusal...
const CONNECT_BACKOFF: Duration = Duration::from_secs(1);

/// ...and this long after a connect that timed out, since each try costs a timeout.
const CONNECT_TIMEOUT_BACKOFF: Duration = Duration::from_secs(5);

/// An answer bigger than this is refused (the connection is dropped): memory stays
/// bounded whatever the server sends. (A `channels` answer listing 100,000 channels
/// takes about 3 MB.)
const MAX_ANSWER: usize = 16 << 20;

/// How much of an error answer's body is kept for the message.
const MAX_ERROR_BODY: usize = 512;

/// What `flush` found.
#[derive(Debug, Default)]
pub struct FlushReport {
    /// Requests written and not answered yet.
    pub pending: usize,
    /// Requests that failed since the last report.
    pub failed: usize,
    /// The first of those failures.
    pub first_failure: Option<ClientError>,
}

pub struct Pipeline {
    client: Client,
    conn: Option<Connection>,
    /// Requests not written yet: those a server announced it would not answer (it
    /// closed the connection after an earlier answer), to write again, in order.
    unsent: VecDeque<Request>,
    /// Whether the server's last answer kept its connection open (HTTP/1.1 without
    /// `Connection: close`). Until one has, a request is written only once the one
    /// before it is answered: pipelining to a server that closes after each answer
    /// (Reverb does) would lose the requests behind the first (RFC 9112 §9.3.2).
    keeps_alive: bool,
    /// Requests sent by `send` that failed since the last `flush`, and the first failure.
    failed: usize,
    first_failure: Option<ClientError>,
    /// The outcome of the request `call` waits for, once known.
    answer: Option<Result<Value, ClientError>>,
    /// Until when sends fail at once after a failed connect, and why.
    refused: Option<(Instant, ClientError)>,
}

struct Connection {
    /// Non-blocking; waits go through `poll`.
    stream: TcpStream,
    /// Answer bytes read and not parsed yet.
    buf: Vec<u8>,
    /// The requests written and not answered, oldest first.
    in_flight: VecDeque<Request>,
    /// The last write or answer.
    last_active: Instant,
    /// The server said it closes the connection, or did: nothing more is written here.
    closed: bool,
}

struct Request {
    /// The signed request, kept until answered: written again if the server announces
    /// it closes the connection before answering it.
    bytes: Vec<u8>,
    /// When it was (last) written: its answer is due within the client's timeout.
    sent: Instant,
    /// `call` waits for its answer (rather than `flush` reporting it).
    wanted: bool,
}

impl Pipeline {
    /// A pipeline for `client`'s server; no connection is made until the first `send`.
    pub fn new(client: Client) -> Result<Pipeline, ClientError> {
        if client.options().tls {
            return Err(ClientError::InvalidArgument(
                "pipelined triggers need plain http; use Client for https".into(),
            ));
        }
        Ok(Pipeline {
            client,
            conn: None,
            unsent: VecDeque::new(),
            keeps_alive: false,
            failed: 0,
            first_failure: None,
            answer: None,
            refused: None,
        })
    }

    /// Requests not answered yet.
    pub fn pending(&self) -> usize {
        self.unsent.len() + self.conn.as_ref().map_or(0, |c| c.in_flight.len())
    }

    /// Signs `request` and writes it, without waiting for its answer (unless the server
    /// has not shown it keeps connections open: then after the previous answer).
    /// Whatever happens to it is reported by `flush`: this call itself cannot fail.
    pub fn send(&mut self, request: &ApiRequest) {
        self.submit(request, false);
    }

    /// Signs `request`, writes it and waits for its answer (after those of the requests
    /// sent before it, which `flush` reports): the server's JSON, or why it failed.
    pub fn call(&mut self, request: &ApiRequest) -> Result<Value, ClientError> {
        self.answer = None;
        self.submit(request, true);
        self.wait_for_answers(0, self.timeout());
        self.answer.take().unwrap_or(Err(ClientError::Timeout))
    }

    /// Reads the answers that came, waiting up to `wait` for those still owed (zero:
    /// only what is there), and reports the failures since the last report. A request
    /// not answered within the client's timeout fails with `Timeout`.
    pub fn flush(&mut self, wait: Duration) -> FlushReport {
        self.wait_for_answers(0, wait);
        FlushReport {
            pending: self.pending(),
            failed: std::mem::take(&mut self.failed),
            first_failure: self.first_failure.take(),
        }
    }

    fn timeout(&self) -> Duration {
        self.client.options().timeout
    }

    fn submit(&mut self, request: &ApiRequest, wanted: bool) {
        let bytes = self.client.request_bytes(request);
        if self.pending() >= MAX_IN_FLIGHT {
            self.wait_for_answers(MAX_IN_FLIGHT - 1, self.timeout());
        }
        // Settles the answers that came, and notices a close by the server before a
        // request is written into it (one non-blocking read).
        self.read_answers();
        self.expire();
        self.unsent.push_back(Request {
            bytes,
            sent: Instant::now(),
            wanted,
        });
        self.write_unsent();
    }

    /// Writes the unsent requests, in order: at once on a connection known to stay
    /// open, otherwise each after the previous answer (waiting for it here).
    fn write_unsent(&mut self) {
        while !self.unsent.is_empty() {
            let now = Instant::now();
            let usable = self.conn.as_ref().is_some_and(|c| {
                let stale = c.in_flight.is_empty() && now - c.last_active >= IDLE_REPLACE;
                !c.closed && !stale
            });
            if !usable {
                self.drop_connection(None);
                match self.connect(now) {
                    Ok(conn) => self.conn = Some(conn),
                    Err(e) => {
                        // Nothing can be sent now: each unsent request fails with it.
                        for request in std::mem::take(&mut self.unsent) {
                            self.settle(request, Err(e.clone()));
                        }
                        return;
                    }
                }
            }
            let busy = self.conn.as_ref().is_some_and(|c| !c.in_flight.is_empty());
            if busy && !self.keeps_alive {
                if !self.wait_readable(now + self.timeout()) {
                    return; // timed out: `expire` failed them all
                }
                continue;
            }
            let mut request = self.unsent.pop_front().expect("not empty");
            let deadline = now + self.timeout();
            match self.write_all(&request.bytes, deadline) {
                Ok(()) => {
                    request.sent = now;
                    let conn = self.conn.as_mut().expect("connected above");
                    conn.in_flight.push_back(request);
                    conn.last_active = now;
                }
                Err(e) => {
                    // Part of it may be on the wire: it fails, and the connection
                    // cannot be used again.
                    self.settle(request, Err(e.clone()));
                    self.drop_connection(Some(e));
                }
            }
        }
    }

    /// Waits for the connection to have something to read (or the oldest request's
    /// timeout, or `deadline`), then reads and settles the answers; false once the
    /// deadline has passed.
    fn wait_readable(&mut self, deadline: Instant) -> bool {
        let Some(conn) = &self.conn else { return true };
        let now = Instant::now();
        if now >= deadline {
            self.expire();
            return false;
        }
        let oldest = conn
            .in_flight
            .front()
            .map_or(deadline, |r| r.sent + self.timeout());
        let until = deadline.min(oldest);
        if poll(
            conn.stream.as_raw_fd(),
            libc::POLLIN,
            until.saturating_duration_since(now),
        )
        .is_err()
        {
            self.drop_connection(Some(ClientError::Connect("poll failed".into())));
            return true;
        }
        self.read_answers();
        self.expire();
        true
    }

    /// Settles the answer to one request: `call`'s, or one that `flush` reports.
    fn settle(&mut self, request: Request, outcome: Result<Value, ClientError>) {
        if request.wanted {
            self.answer = Some(outcome);
        } else if let Err(e) = outcome {
            self.failed += 1;
            self.first_failure.get_or_insert(e);
        }
    }

    /// Drops the connection; its unanswered requests fail with `why` (or a generic
    /// "closed" failure).
    fn drop_connection(&mut self, why: Option<ClientError>) {
        if let Some(conn) = self.conn.take() {
            let n = conn.in_flight.len();
            let failure = why.unwrap_or_else(|| {
                ClientError::Connect(format!(
                    "the server closed the connection before answering {n} request(s)"
                ))
            });
            for request in conn.in_flight {
                self.settle(request, Err(failure.clone()));
            }
        }
    }

    fn connect(&mut self, now: Instant) -> Result<Connection, ClientError> {
        if let Some((until, e)) = &self.refused {
            if now < *until {
                return Err(e.clone());
            }
        }
        let result = self.try_connect();
        self.refused = result.as_ref().err().map(|e| {
            let backoff = match e {
                ClientError::Timeout => CONNECT_TIMEOUT_BACKOFF,
                _ => CONNECT_BACKOFF,
            };
            (Instant::now() + backoff, e.clone())
        });
        let stream = result?;
        Ok(Connection {
            stream,
            buf: Vec::new(),
            in_flight: VecDeque::new(),
            last_active: now,
            closed: false,
        })
    }

    fn try_connect(&self) -> Result<TcpStream, ClientError> {
        let o = self.client.options();
        let addrs: Vec<SocketAddr> = (o.host.as_str(), o.port)
            .to_socket_addrs()
            .map_err(|e| ClientError::Connect(format!("cannot resolve {}: {e}", o.host)))?
            .collect();
        let mut last = ClientError::Connect(format!("{} has no address", o.host));
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, o.timeout) {
                Ok(stream) => {
                    // Small requests: without TCP_NODELAY, Nagle plus delayed ACKs can
                    // hold each one back by tens of milliseconds.
                    let setup = stream
                        .set_nodelay(true)
                        .and_then(|()| stream.set_nonblocking(true));
                    return setup.map(|()| stream).map_err(|e| connect_error(addr, e));
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => last = ClientError::Timeout,
                Err(e) => last = connect_error(addr, e),
            }
        }
        Err(last)
    }

    /// Writes all of `bytes`, reading answers while the socket is full (a server that
    /// cannot send its answers stops reading requests).
    fn write_all(&mut self, mut bytes: &[u8], deadline: Instant) -> Result<(), ClientError> {
        while !bytes.is_empty() {
            let conn = self.conn.as_mut().expect("connected");
            match conn.stream.write(bytes) {
                Ok(0) => return Err(ClientError::Connect("the connection is closed".into())),
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(ClientError::Timeout);
                    }
                    let fd = conn.stream.as_raw_fd();
                    let ready = poll(fd, libc::POLLOUT | libc::POLLIN, deadline - now)
                        .map_err(|e| ClientError::Connect(format!("poll: {e}")))?;
                    if ready & libc::POLLIN != 0 {
                        self.read_answers();
                        if self.conn.as_ref().is_none_or(|c| c.closed) {
                            return Err(ClientError::Connect(
                                "the server closed the connection during a request".into(),
                            ));
                        }
                    }
                }
                Err(e) => return Err(ClientError::Connect(format!("write: {e}"))),
            }
        }
        Ok(())
    }

    /// Reads answers until at most `keep` requests are unanswered or `wait` has passed,
    /// writing what is waiting to be written meanwhile.
    fn wait_for_answers(&mut self, keep: usize, wait: Duration) {
        let until = Instant::now() + wait;
        loop {
            self.read_answers();
            self.expire();
            self.write_unsent();
            let in_flight = self.conn.as_ref().map_or(0, |c| c.in_flight.len());
            if in_flight + self.unsent.len() <= keep || in_flight == 0 {
                return;
            }
            if Instant::now() >= until || !self.wait_readable(until) {
                return;
            }
        }
    }

    /// Fails every unanswered request with `Timeout` once the oldest is older than the
    /// client's timeout (the answers are in order: the later ones are behind it), and
    /// what waits to be written too (the server is not answering).
    fn expire(&mut self) {
        let timeout = self.timeout();
        let expired = self
            .conn
            .as_ref()
            .and_then(|c| c.in_flight.front())
            .is_some_and(|r| r.sent.elapsed() >= timeout);
        if expired {
            self.drop_connection(Some(ClientError::Timeout));
            for request in std::mem::take(&mut self.unsent) {
                self.settle(request, Err(ClientError::Timeout));
            }
        }
    }

    /// Reads what the socket has, without waiting, and settles every complete answer.
    fn read_answers(&mut self) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let mut eof = false;
        let mut chunk = [0u8; 8192];
        loop {
            match conn.stream.read(&mut chunk) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => conn.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    let why = ClientError::Connect(format!("read: {e}"));
                    return self.drop_connection(Some(why));
                }
            }
        }
        let mut settled = Vec::new();
        let mut broken = None;
        let mut keeps_alive = None;
        while !conn.buf.is_empty() {
            match parse_answer(&conn.buf, eof) {
                Ok(Some(answer)) => {
                    conn.last_active = Instant::now();
                    let Some(request) = conn.in_flight.pop_front() else {
                        broken = Some(ClientError::InvalidResponse(
                            "an answer to no request".into(),
                        ));
                        break;
                    };
                    let outcome = if request.wanted {
                        answer_value(answer.status, &answer.body)
                    } else {
                        check_answer(answer.status, &answer.body)
                    };
                    settled.push((request, outcome));
                    conn.buf.drain(..answer.len);
                    keeps_alive = Some(!answer.close);
                    if answer.close {
                        conn.closed = true;
                        break;
                    }
                }
                Ok(None) if conn.buf.len() > MAX_ANSWER => {
                    broken = Some(ClientError::InvalidResponse(format!(
                        "an answer larger than {MAX_ANSWER} bytes"
                    )));
                    break;
                }
                Ok(None) => break,
                Err(e) => {
                    broken = Some(e);
                    break;
                }
            }
        }
        let announced = conn.closed;
        if eof {
            conn.closed = true;
        }
        if announced {
            // The server said it would answer nothing more here: what it was sent
            // after that answer was not processed, and is written again (first).
            for request in conn.in_flight.drain(..).rev() {
                self.unsent.push_front(request);
            }
        }
        if let Some(k) = keeps_alive {
            self.keeps_alive = k;
        }
        for (request, outcome) in settled {
            self.settle(request, outcome);
        }
        let closed = self.conn.as_ref().is_some_and(|c| c.closed);
        if broken.is_some()
            || (closed && self.conn.as_ref().is_some_and(|c| !c.in_flight.is_empty()))
        {
            self.drop_connection(broken);
        }
    }
}

impl Drop for Pipeline {
    /// Closing a socket with unread answers resets the connection, which could make the
    /// server drop requests it has not read yet: wait for them first (bounded).
    fn drop(&mut self) {
        if self.pending() > 0 {
            self.wait_for_answers(0, self.timeout());
        }
    }
}

fn connect_error(addr: SocketAddr, e: io::Error) -> ClientError {
    ClientError::Connect(format!("{addr}: {e}"))
}

/// Waits until `fd` is ready for `events` or `wait` passes; the events that are ready.
fn poll(fd: i32, events: i16, wait: Duration) -> io::Result<i16> {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // Round up: a wait of 0.5 ms must not become a busy loop of zero-timeout polls.
    let ms = wait.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd, for the duration of the call.
    let n = unsafe { libc::poll(&mut p, 1, ms) };
    match n {
        -1 => {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                Ok(0)
            } else {
                Err(e)
            }
        }
        0 => Ok(0),
        // An error or hang-up is "readable": the read reports it.
        _ => Ok(p.revents
            | if p.revents & (libc::POLLERR | libc::POLLHUP) != 0 {
                libc::POLLIN
            } else {
                0
            }),
    }
}

/// One complete answer at the start of the buffer.
#[derive(Debug)]
struct Answer {
    /// Its length in bytes, head and body.
    len: usize,
    status: u16,
    /// Its body, decoded (chunked bodies).
    body: Vec<u8>,
    /// The server closes the connection after it.
    close: bool,
}

/// The outcome of an answer nobody waits for: like `answer_value`, without building
/// the JSON value (the body of an error is cut short for the message).
fn check_answer(status: u16, body: &[u8]) -> Result<Value, ClientError> {
    if status != 200 {
        let shown = &body[..body.len().min(MAX_ERROR_BODY)];
        return Err(ClientError::Status {
            status,
            body: String::from_utf8_lossy(shown).into_owned(),
        });
    }
    if !body.is_empty() && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
        return Err(ClientError::InvalidResponse(
            "a 200 answer whose body is not JSON".into(),
        ));
    }
    Ok(Value::Null)
}

/// Parses the answer at the start of `buf`: `Ok(None)` while it is incomplete. `eof`:
/// nothing more will come (a body without a length ends there). Interim (1xx) answers
/// are skipped as part of the next one.
fn parse_answer(buf: &[u8], eof: bool) -> Result<Option<Answer>, ClientError> {
    let mut start = 0;
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        let head_len = match response.parse(&buf[start..]) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => {
                return Err(ClientError::InvalidResponse(format!(
                    "bad HTTP answer: {e}"
                )))
            }
        };
        let status = response.code.unwrap_or(0);
        if (100..200).contains(&status) {
            start += head_len;
            continue;
        }
        let mut content_length = None;
        let mut chunked = false;
        let mut close = response.version == Some(0); // HTTP/1.0 closes unless told otherwise
        for h in response.headers.iter() {
            let value = std::str::from_utf8(h.value).unwrap_or("").trim();
            if h.name.eq_ignore_ascii_case("content-length") {
                content_length = Some(value.parse::<usize>().map_err(|_| {
                    ClientError::InvalidResponse(format!("bad content-length {value:?}"))
                })?);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.to_ascii_lowercase().ends_with("chunked");
            } else if h.name.eq_ignore_ascii_case("connection") {
                let v = value.to_ascii_lowercase();
                if v.contains("close") {
                    close = true;
                } else if v.contains("keep-alive") {
                    close = false;
                }
            }
        }
        let body_start = start + head_len;
        let rest = &buf[body_start..];
        let (body, used) = if status == 204 || status == 304 {
            (Vec::new(), 0)
        } else if chunked {
            match dechunk(rest)? {
                Some(found) => found,
                None => return Ok(None),
            }
        } else if let Some(n) = content_length {
            if rest.len() < n {
                return Ok(None);
            }
            (rest[..n].to_vec(), n)
        } else if eof {
            close = true;
            (rest.to_vec(), rest.len())
        } else {
            return Ok(None); // the body ends when the server closes
        };
        return Ok(Some(Answer {
            len: body_start + used,
            status,
            body,
            close,
        }));
    }
}

/// Decodes a chunked body at the start of `buf`: the body and the bytes it took, or
/// `None` while incomplete.
fn dechunk(buf: &[u8]) -> Result<Option<(Vec<u8>, usize)>, ClientError> {
    let bad = || ClientError::InvalidResponse("bad chunked body".into());
    let mut body = Vec::new();
    let mut pos = 0;
    loop {
        let Some(eol) = find_crlf(&buf[pos..]) else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&buf[pos..pos + eol]).map_err(|_| bad())?;
        let size_hex = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).map_err(|_| bad())?;
        pos += eol + 2;
        if size == 0 {
            // Trailers, if any, end with an empty line.
            loop {
                let Some(eol) = find_crlf(&buf[pos..]) else {
                    return Ok(None);
                };
                pos += eol + 2;
                if eol == 0 {
                    return Ok(Some((body, pos)));
                }
            }
        }
        if size > MAX_ANSWER {
            return Err(bad());
        }
        if buf.len() < pos + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&buf[pos..pos + size]);
        if &buf[pos + size..pos + size + 2] != b"\r\n" {
            return Err(bad());
        }
        pos += size + 2;
    }
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_with_a_length() {
        let a = parse_answer(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}rest", false)
            .unwrap()
            .unwrap();
        assert_eq!((a.len, a.status, &a.body[..]), (40, 200, &b"{}"[..]));
        assert!(!a.close);
        assert!(check_answer(a.status, &a.body).is_ok());
        assert!(
            parse_answer(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{", false)
                .unwrap()
                .is_none()
        );
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\ncontent-le", false)
            .unwrap()
            .is_none());
    }

    #[test]
    fn error_answers_keep_status_and_body() {
        let a = parse_answer(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 13\r\nConnection: close\r\n\r\n{\"error\":\"x\"}",
            false,
        )
        .unwrap()
        .unwrap();
        assert!(a.close);
        match check_answer(a.status, &a.body) {
            Err(ClientError::Status { status, body }) => {
                assert_eq!(status, 401);
                assert_eq!(body, "{\"error\":\"x\"}");
            }
            other => panic!("{other:?}"),
        }
        let not_json = parse_answer(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", false)
            .unwrap()
            .unwrap();
        assert!(matches!(
            check_answer(not_json.status, &not_json.body),
            Err(ClientError::InvalidResponse(_))
        ));
        let long = vec![b'x'; 5000];
        match check_answer(500, &long) {
            Err(ClientError::Status { body, .. }) => assert_eq!(body.len(), MAX_ERROR_BODY),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn chunked_interim_and_close_delimited_answers() {
        let chunked = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n1;x=y\r\n}\r\n0\r\n\r\nX";
        let a = parse_answer(chunked, false).unwrap().unwrap();
        assert_eq!(a.len, chunked.len() - 1);
        assert_eq!(a.body, b"{}");
        assert!(parse_answer(&chunked[..chunked.len() - 4], false)
            .unwrap()
            .is_none());
        let until_close = b"HTTP/1.0 200 OK\r\n\r\n{}";
        assert!(parse_answer(until_close, false).unwrap().is_none());
        let a = parse_answer(until_close, true).unwrap().unwrap();
        assert!(a.close && a.body == b"{}" && a.len == until_close.len());
        assert!(parse_answer(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            false
        )
        .is_err());
        assert!(parse_answer(b"garbage\r\n\r\n", false).is_err());
    }

    #[test]
    fn https_is_refused() {
        let client = Client::new(crate::ClientOptions {
            tls: true,
            app_id: "1".into(),
            key: "k".into(),
            secret: "s".into(),
            ..Default::default()
        })
        .unwrap();
        assert!(matches!(
            Pipeline::new(client),
            Err(ClientError::InvalidArgument(_))
        ));
    }
}
