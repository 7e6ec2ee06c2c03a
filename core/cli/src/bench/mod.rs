//! `pushbus bench`: a load tool for any Pusher-compatible server (ours or not), on
//! addresses the user gives. Each workload connects real WebSocket clients, publishes
//! through the HTTP API, and reports what it measured as a table and one JSON line.
//!
//! Every run has a hard deadline and exits by itself. Client sockets are spread over
//! several loopback source addresses (127.0.0.x) so that one (source, destination) pair's
//! ephemeral ports do not cap the connection count.

mod churn;
mod fanout;
mod idle;
mod presence;
mod publish;
mod resume;
mod users;
mod whisper;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use pushbus::config::{DEV_APP_ID, DEV_APP_KEY, DEV_APP_SECRET};
use pushbus_client::{Client, ClientOptions};

/// The workloads, by name.
pub const WORKLOADS: [&str; 8] = [
    "fanout", "idle", "presence", "whisper", "publish", "churn", "users", "resume",
];

/// `pushbus bench <workload> [options]`.
#[derive(clap::Args, Debug)]
#[command(after_help = WORKLOAD_HELP)]
pub struct BenchArgs {
    /// fanout, idle, presence, whisper, publish, churn, users or resume
    #[arg(value_parser = parse_workload)]
    pub workload: String,
    #[command(flatten)]
    pub options: Options,
}

const WORKLOAD_HELP: &str = "\
Workloads:
  fanout    N connections over C public channels; E events published over HTTP (at
            --rate per second, or as fast as accepted); latency per delivery, loss,
            duplicates, reordering, deliveries/s
  idle      N subscribed connections held for --duration; server memory per connection
  presence  N members join one presence channel; time until member_added settles
  whisper   N connections on one private channel sending client events at --rate each
  publish   E HTTP triggers, --publishers in flight; throughput and request latency
  churn     N steady subscribers get events at --rate [200] for --duration, calm, then
            as long again while --churners connections connect, subscribe (public,
            private, presence), unsubscribe and close in a loop (at --churn-rate cycles
            per second in all, or flat out); latency of each phase
  users     N connections sign in as --users U users (with --watchlist ids each);
            sign-ins/s, then E user-status queries (GET /users/{id}, --publishers
            in flight) and paging through the online users: latency, answers checked
  resume    N connections with pushbus recovery on C history channels (bench-history-*)
            drop at once, E events per channel are published, all resume at once:
            time until all caught up, events replayed, lost/repeated/out of order";

fn parse_workload(s: &str) -> Result<String, String> {
    if WORKLOADS.contains(&s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "unknown workload {s:?} (one of {})",
            WORKLOADS.join(", ")
        ))
    }
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .and_then(|v| Duration::try_from_secs_f64(v).ok())
        .ok_or_else(|| format!("{s:?} is not a number of seconds"))
}

fn positive(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{s:?} is not a positive number")),
    }
}

/// Everything a workload needs to know.
#[derive(clap::Args, Clone, Debug)]
pub struct Options {
    /// Server host
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// wss:// and https:// (a server with `tls`); its certificate is checked against
    /// the system's roots, or the PEM file in SSL_CERT_FILE
    #[arg(long)]
    pub tls: bool,
    /// Server port; a comma list (8090,8091,8092) spreads the connections over the
    /// nodes of a cluster, connection i on port i mod n
    #[arg(long, default_value = "8080", value_delimiter = ',', required = false)]
    pub port: Vec<u16>,
    /// Port the HTTP publishes go to [default: the first --port]; with subscribers
    /// only on the other ports, every delivery crosses nodes
    #[arg(long)]
    pub publish_port: Option<u16>,
    /// Path prefix before /app and /apps (a proxy's location)
    #[arg(long, default_value = "")]
    pub path: String,
    /// App id [default: the pushbus development app]
    #[arg(long, default_value = DEV_APP_ID, hide_default_value = true)]
    pub app_id: String,
    /// App key
    #[arg(long, default_value = DEV_APP_KEY, hide_default_value = true)]
    pub key: String,
    /// App secret
    #[arg(long, default_value = DEV_APP_SECRET, hide_default_value = true)]
    pub secret: String,
    /// Sign HTTP publishes for another app: its id
    #[arg(long)]
    pub publish_app_id: Option<String>,
    /// ... its key
    #[arg(long)]
    pub publish_key: Option<String>,
    /// ... its secret
    #[arg(long)]
    pub publish_secret: Option<String>,
    /// WebSocket connections
    #[arg(long, default_value_t = 1000, value_parser = positive)]
    pub connections: usize,
    /// Channels the connections are spread over
    #[arg(long, default_value_t = 1, value_parser = positive)]
    pub channels: usize,
    /// Events to publish
    #[arg(long, default_value_t = 500)]
    pub events: usize,
    /// Bytes of data per event
    #[arg(long, default_value_t = 100)]
    pub size: usize,
    /// Events per second (0: as fast as accepted)
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// HTTP publishes in flight
    #[arg(long, default_value_t = 4, value_parser = positive)]
    pub publishers: usize,
    /// Connection handshakes in flight
    #[arg(long, default_value_t = 256, value_parser = positive)]
    pub connect_concurrency: usize,
    /// Loopback source addresses 127.0.0.1..N (each has its own ephemeral ports)
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(1..=250))]
    pub source_ips: u8,
    /// Connections that connect, subscribe, unsubscribe and close in a loop (churn)
    #[arg(long, default_value_t = 2000)]
    pub churners: usize,
    /// Churn cycles per second, over all churners (0: as fast as they go)
    #[arg(long, default_value_t = 0.0)]
    pub churn_rate: f64,
    /// Distinct users the connections sign in as (users)
    #[arg(long, default_value_t = 1000, value_parser = positive)]
    pub users: usize,
    /// Watchlist ids per signed-in connection, at most 100 (users)
    #[arg(long, default_value_t = 0)]
    pub watchlist: usize,
    /// Seconds to hold or send (idle, whisper; each phase of churn)
    #[arg(long, default_value = "10", value_parser = parse_secs)]
    pub duration: Duration,
    /// The server's pid, to read its CPU and memory from /proc; a comma list adds up
    /// the nodes of a cluster (and its Redis, if given)
    #[arg(long, value_delimiter = ',')]
    pub server_pid: Vec<u32>,
    /// Seconds after which the run stops, whatever its state
    #[arg(long, default_value = "300", value_parser = parse_secs)]
    pub deadline: Duration,
}

/// Runs a workload under its deadline; prints the table and the JSON line.
pub async fn run(workload: &str, o: Options) -> Result<(), String> {
    raise_fd_limit();
    let deadline = o.deadline;
    let work = async {
        match workload {
            "fanout" => fanout::run(&o).await,
            "idle" => idle::run(&o).await,
            "presence" => presence::run(&o).await,
            "whisper" => whisper::run(&o).await,
            "publish" => publish::run(&o).await,
            "churn" => churn::run(&o).await,
            "users" => users::run(&o).await,
            "resume" => resume::run(&o).await,
            _ => Err(format!("unknown workload {workload:?}")),
        }
    };
    let report = tokio::time::timeout(deadline, work)
        .await
        .map_err(|_| format!("deadline of {deadline:?} reached; stopping"))??;
    report.print(workload);
    Ok(())
}

/// What a workload measured: rows for the table, the same facts for the JSON line.
pub struct Report {
    rows: Vec<(String, String)>,
    json: serde_json::Map<String, Value>,
}

impl Report {
    fn new() -> Report {
        Report {
            rows: Vec::new(),
            json: serde_json::Map::new(),
        }
    }

    fn add(&mut self, key: &str, label: &str, value: impl Into<Value>) {
        let value = value.into();
        let shown = match &value {
            Value::Number(n) if n.is_f64() => format!("{:.2}", n.as_f64().unwrap_or(0.0)),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        self.rows.push((label.to_string(), shown));
        self.json.insert(key.to_string(), value);
    }

    fn latency(&mut self, prefix: &str, h: &Histogram<u64>) {
        if h.is_empty() {
            return;
        }
        for (key, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999)] {
            self.add(
                &format!("{prefix}_{key}_us"),
                &format!("{prefix} {key} (µs)"),
                h.value_at_quantile(q),
            );
        }
        self.add(
            &format!("{prefix}_max_us"),
            &format!("{prefix} max (µs)"),
            h.max(),
        );
    }

    fn print(&self, workload: &str) {
        println!("pushbus bench {workload}");
        let width = self
            .rows
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(0);
        for (label, value) in &self.rows {
            println!("  {label:<width$}  {value}");
        }
        let mut json = self.json.clone();
        json.insert("workload".into(), workload.into());
        println!("{}", Value::Object(json));
    }
}

/// Source addresses 127.0.0.1 … 127.0.0.N, used round-robin.
fn source_ip(o: &Options, i: usize) -> IpAddr {
    let n = (i % usize::from(o.source_ips)) as u8;
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + n))
}

/// Each `--port` on the host; connection i goes to the (i mod n)-th.
fn server_addrs(o: &Options) -> Result<Vec<SocketAddr>, String> {
    if o.port.is_empty() {
        return Err("--port names no port".into());
    }
    o.port
        .iter()
        .map(|&port| {
            (o.host.as_str(), port)
                .to_socket_addrs()
                .map_err(|e| format!("cannot resolve {}:{port}: {e}", o.host))?
                .next()
                .ok_or_else(|| format!("{} resolves to nothing", o.host))
        })
        .collect()
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
/// A connected client and its socket id.
type Conn = (Ws, String);

/// Opens one client connection from source address `src` and waits for
/// `connection_established`; returns the socket and its socket id.
async fn connect(o: &Options, addr: SocketAddr, src: IpAddr) -> Result<(Ws, String), String> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| format!("socket: {e}"))?;
    if addr.ip().is_loopback() && addr.is_ipv4() {
        socket
            .bind(SocketAddr::new(src, 0))
            .map_err(|e| format!("bind {src}: {e}"))?;
    }
    let stream = socket
        .connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (scheme, tls) = if o.tls {
        let config = pushbus_client::tls_client_config();
        ("wss", Some(tokio_tungstenite::Connector::Rustls(config)))
    } else {
        ("ws", None)
    };
    let url = format!(
        "{scheme}://{addr}{}/app/{}?protocol=7&client=pushbus-bench&version=1.0",
        o.path, o.key
    );
    let (mut ws, _) = tokio_tungstenite::client_async_tls_with_config(url, stream, None, tls)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let hello = next_json(&mut ws, Duration::from_secs(30)).await?;
    if hello["event"] != "pusher:connection_established" {
        return Err(format!("expected connection_established, got {hello}"));
    }
    let data: Value =
        serde_json::from_str(hello["data"].as_str().unwrap_or("{}")).unwrap_or_default();
    let socket_id = data["socket_id"].as_str().unwrap_or("").to_string();
    Ok((ws, socket_id))
}

/// The next text frame as JSON (control frames skipped), within `limit`.
async fn next_json(ws: &mut Ws, limit: Duration) -> Result<Value, String> {
    tokio::time::timeout(limit, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    return serde_json::from_str(&t).map_err(|e| format!("bad frame: {e}"))
                }
                Some(Ok(Message::Close(f))) => return Err(format!("closed by server: {f:?}")),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(format!("socket error: {e}")),
                None => return Err("socket closed".into()),
            }
        }
    })
    .await
    .map_err(|_| "timed out waiting for a frame".to_string())?
}

/// The next published bench event a subscriber gets, answering pings meanwhile;
/// `None` once `stop` changes or the socket ends.
async fn next_bench_frame(
    ws: &mut Ws,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> Option<tokio_tungstenite::tungstenite::Utf8Bytes> {
    loop {
        tokio::select! {
            _ = stop.changed() => return None,
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    if t.contains("\"event\":\"bench\"") {
                        return Some(t);
                    }
                    if t.contains("\"pusher:ping\"") {
                        let pong = r#"{"event":"pusher:pong","data":{}}"#;
                        let _ = ws.send(Message::Text(pong.into())).await;
                    }
                }
                Some(Ok(_)) => {}
                _ => return None,
            }
        }
    }
}

/// Subscribes and waits for `subscription_succeeded` (answering pings meanwhile).
async fn subscribe(
    ws: &mut Ws,
    channel: &str,
    auth: &str,
    channel_data: Option<&str>,
) -> Result<Value, String> {
    let mut data = json!({ "channel": channel, "auth": auth });
    if let Some(cd) = channel_data {
        data["channel_data"] = cd.into();
    }
    send_json(ws, &json!({"event": "pusher:subscribe", "data": data})).await?;
    loop {
        let f = next_json(ws, Duration::from_secs(30)).await?;
        match f["event"].as_str() {
            Some("pusher_internal:subscription_succeeded") => return Ok(f),
            Some("pusher:subscription_error") | Some("pusher:error") => {
                return Err(format!("subscribe {channel}: {f}"))
            }
            _ => {}
        }
    }
}

async fn send_json(ws: &mut Ws, v: &Value) -> Result<(), String> {
    ws.send(Message::Text(v.to_string().into()))
        .await
        .map_err(|e| format!("send: {e}"))
}

/// Connects `n` clients with bounded concurrency, running `setup` on each (subscribe,
/// …). Returns the sockets in index order; fails on the first error.
async fn connect_many<F, Fut>(o: &Options, n: usize, setup: F) -> Result<Vec<(Ws, String)>, String>
where
    F: Fn(usize, Ws, String) -> Fut,
    Fut: std::future::Future<Output = Result<(Ws, String), String>>,
{
    let addrs = server_addrs(o)?;
    let results: Vec<Result<(usize, Conn), String>> = futures_util::stream::iter(0..n)
        .map(|i| {
            let (setup, addr) = (&setup, addrs[i % addrs.len()]);
            async move {
                let (ws, sid) = connect(o, addr, source_ip(o, i))
                    .await
                    .map_err(|e| format!("connection {i}: {e}"))?;
                Ok((
                    i,
                    setup(i, ws, sid)
                        .await
                        .map_err(|e| format!("connection {i}: {e}"))?,
                ))
            }
        })
        .buffer_unordered(o.connect_concurrency)
        .collect()
        .await;
    let mut out: Vec<Option<Conn>> = (0..n).map(|_| None).collect();
    for r in results {
        let (i, c) = r?;
        out[i] = Some(c);
    }
    Ok(out.into_iter().flatten().collect())
}

/// The HTTP API client used for publishing (possibly signed for another app).
fn publisher(o: &Options) -> Result<Client, String> {
    Client::new(ClientOptions {
        host: o.host.clone(),
        port: o.publish_port.or(o.port.first().copied()).unwrap_or(8080),
        tls: o.tls,
        app_id: o.publish_app_id.clone().unwrap_or_else(|| o.app_id.clone()),
        key: o.publish_key.clone().unwrap_or_else(|| o.key.clone()),
        secret: o.publish_secret.clone().unwrap_or_else(|| o.secret.clone()),
        timeout: Duration::from_secs(30),
        encryption_master_key: None,
    })
    .map_err(|e| e.to_string())
}

/// Latencies in microseconds, 3 significant figures, up to 100 s; shared by shards so
/// thousands of receivers do not contend on one lock.
struct Latencies {
    shards: Vec<Mutex<Histogram<u64>>>,
}

impl Latencies {
    fn new() -> Arc<Latencies> {
        let shards = (0..16)
            .map(|_| {
                Mutex::new(Histogram::new_with_bounds(1, 100_000_000, 3).expect("valid bounds"))
            })
            .collect();
        Arc::new(Latencies { shards })
    }

    fn record(&self, shard: usize, micros: u64) {
        let mut h = self.shards[shard % self.shards.len()]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let _ = h.record(micros.clamp(1, 100_000_000));
    }

    fn merged(&self) -> Histogram<u64> {
        let mut all = Histogram::new_with_bounds(1, 100_000_000, 3).expect("valid bounds");
        for s in &self.shards {
            let _ = all.add(&*s.lock().unwrap_or_else(|p| p.into_inner()));
        }
        all
    }
}

/// The servers' CPU and memory added up (a cluster's nodes); none without pids or
/// when one of them cannot be read.
fn servers_stat(pids: &[u32]) -> Option<ProcStat> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().try_fold(
        ProcStat {
            cpu: Duration::ZERO,
            rss_bytes: 0,
        },
        |sum, pid| {
            let s = proc_stat(&pid.to_string())?;
            Some(ProcStat {
                cpu: sum.cpu + s.cpu,
                rss_bytes: sum.rss_bytes + s.rss_bytes,
            })
        },
    )
}

/// CPU time (user + system) and resident memory of a process, from /proc.
#[derive(Clone, Copy, Debug)]
struct ProcStat {
    cpu: Duration,
    rss_bytes: u64,
}

fn proc_stat(pid: &str) -> Option<ProcStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may contain spaces, in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(ProcStat {
        cpu: Duration::from_micros(ticks * 1_000_000 / hz),
        rss_bytes: rss_kb * 1024,
    })
}

/// Samples the server (when a pid is given) and this load tool, so each figure can be
/// read next to the CPU that produced it.
struct CpuMeter {
    server_pids: Vec<u32>,
    server: Option<ProcStat>,
    tool: Option<ProcStat>,
    started: Instant,
}

impl CpuMeter {
    fn start(o: &Options) -> CpuMeter {
        CpuMeter {
            server: servers_stat(&o.server_pid),
            tool: proc_stat("self"),
            server_pids: o.server_pid.clone(),
            started: Instant::now(),
        }
    }

    /// Adds CPU used since `start`, total and per `unit` (e.g. per delivery).
    fn report(&self, r: &mut Report, unit: &str, count: u64) {
        let wall = self.started.elapsed();
        let server_now = servers_stat(&self.server_pids);
        if let (Some(a), Some(b)) = (self.server, server_now) {
            let cpu = b.cpu.saturating_sub(a.cpu);
            r.add("server_cpu_s", "server CPU (s)", cpu.as_secs_f64());
            r.add(
                "server_cpu_pct",
                "server CPU (% of one core)",
                100.0 * cpu.as_secs_f64() / wall.as_secs_f64().max(1e-9),
            );
            if count > 0 {
                r.add(
                    &format!("server_cpu_us_per_{unit}"),
                    &format!("server CPU per {unit} (µs)"),
                    cpu.as_secs_f64() * 1e6 / count as f64,
                );
            }
            r.add(
                "server_rss_mib",
                "server RSS (MiB)",
                b.rss_bytes as f64 / 1048576.0,
            );
        }
        if let (Some(a), Some(b)) = (self.tool, proc_stat("self")) {
            let cpu = b.cpu.saturating_sub(a.cpu);
            r.add("tool_cpu_s", "load tool CPU (s)", cpu.as_secs_f64());
            if count > 0 {
                r.add(
                    &format!("tool_cpu_us_per_{unit}"),
                    &format!("load tool CPU per {unit} (µs)"),
                    cpu.as_secs_f64() * 1e6 / count as f64,
                );
            }
        }
    }
}

/// Lifts the soft open-files limit to the hard one: tens of thousands of sockets.
pub fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Waits until `count` reaches `expected` (woken by `progress`), or `limit` has passed.
async fn settle(
    count: &std::sync::atomic::AtomicU64,
    progress: &tokio::sync::Notify,
    expected: u64,
    limit: Duration,
) {
    use std::sync::atomic::Ordering;
    let until = tokio::time::Instant::now() + limit;
    while count.load(Ordering::Relaxed) < expected {
        let notified = progress.notified();
        if count.load(Ordering::Relaxed) >= expected {
            break;
        }
        if tokio::time::timeout_at(until, notified).await.is_err() {
            break;
        }
    }
}

/// Microseconds since `base`: the one clock publishers and receivers share.
fn micros_since(base: Instant) -> u64 {
    base.elapsed().as_micros() as u64
}

/// The event payload, padded to `size` bytes: send time `t`, the event's index `s`, and
/// the publishing worker `w` with its own sequence `q`. Only one worker's events have a
/// defined order (each waits for the previous 200), so reordering is judged per worker.
fn payload(t: u64, seq: u64, worker: u64, q: u64, size: usize) -> String {
    let head = format!("{{\"t\":{t},\"s\":{seq},\"w\":{worker},\"q\":{q},\"p\":\"");
    let pad = size.saturating_sub(head.len() + 2);
    format!("{head}{}\"}}", "x".repeat(pad))
}

/// What a delivered frame says of itself (see [`payload`]).
#[derive(Debug, PartialEq, Eq)]
struct Stamp {
    t: u64,
    seq: u64,
    worker: u64,
    q: u64,
}

/// Reads the stamp back out of a delivered frame without a full JSON parse: the data
/// string is escaped inside the frame, so look for `\"t\":` and so on.
fn parse_payload(frame: &str) -> Option<Stamp> {
    let num_after = |key: &str| -> Option<u64> {
        let i = frame.find(key)? + key.len();
        let digits: String = frame[i..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().ok()
    };
    Some(Stamp {
        t: num_after("\\\"t\\\":")?,
        seq: num_after("\\\"s\\\":")?,
        worker: num_after("\\\"w\\\":")?,
        q: num_after("\\\"q\\\":")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip() {
        let p = payload(123, 45, 2, 7, 100);
        assert_eq!(p.len(), 100);
        let frame = pushbus::bench_support::channel_event("bench", "c", &p, None);
        assert_eq!(
            parse_payload(frame.as_str()),
            Some(Stamp {
                t: 123,
                seq: 45,
                worker: 2,
                q: 7
            })
        );
    }

    #[test]
    fn reads_own_proc_stat() {
        let s = proc_stat("self").unwrap();
        assert!(s.rss_bytes > 0);
    }
}
