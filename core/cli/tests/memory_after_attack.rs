//! `pushbus serve` gives memory back after a burst: thousands of connections and
//! request bodies held open by an attacker, then dropped, leave the server's resident
//! memory near where it started (glibc keeps it otherwise; see core/cli/src/memory.rs).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::{serve, BIN};

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[test]
fn memory_returns_after_connections_and_bodies_are_dropped() {
    let server = serve();
    let baseline = rss_kib(server.pid);

    // 4,000 subscribed connections, held for a second, then closed by the tool.
    let out = Command::new(BIN)
        .args(["bench", "idle", "--connections", "4000", "--channels", "40"])
        .args(["--duration", "1", "--deadline", "60"])
        .args(["--port", &server.port.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 150 HTTP API requests, each 200 KiB into a 250 KiB body, held open.
    let addr = format!("127.0.0.1:{}", server.port);
    let chunk = vec![b'a'; 200 * 1024];
    let mut held = Vec::new();
    for _ in 0..150 {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "POST /apps/pushbus-dev/events HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            250 * 1024
        )
        .unwrap();
        s.write_all(&chunk).unwrap();
        held.push(s);
    }
    let peak = rss_kib(server.pid);
    // Every held request is answered (408) once its body is late, and closed.
    for s in &mut held {
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut head = [0u8; 12];
        s.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"HTTP/1.1 408");
    }
    drop(held);

    let limit = baseline + 8 * 1024;
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let now = rss_kib(server.pid);
        if now <= limit {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "RSS {now} KiB, {baseline} KiB at start, {peak} KiB at the peak"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        peak > limit,
        "the burst used memory: {peak} KiB (limit {limit} KiB)"
    );
}
