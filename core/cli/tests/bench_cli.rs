//! `pushbus bench` against a real `pushbus serve`, both the built binary: every workload
//! runs (small), exits by itself and reports what it measured.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{serve, ServeProcess, BIN};

/// Runs one workload and returns its JSON summary (the last line of its output).
fn bench(server: &ServeProcess, args: &[&str]) -> Value {
    let started = Instant::now();
    let out = Command::new(BIN)
        .arg("bench")
        .args(args)
        .args([
            "--port",
            &server.port.to_string(),
            "--server-pid",
            &server.pid.to_string(),
        ])
        .args(["--deadline", "60"])
        .output()
        .expect("run pushbus bench");
    assert!(started.elapsed() < Duration::from_secs(90));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench {args:?} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().expect("output");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("last line is JSON ({e}): {last}"))
}

#[test]
fn every_workload_runs_and_reports() {
    let server = serve();

    let f = bench(
        &server,
        &[
            "fanout",
            "--connections",
            "50",
            "--channels",
            "5",
            "--events",
            "200",
        ],
    );
    assert_eq!(f["workload"], "fanout");
    assert_eq!(f["expected_deliveries"], 2000);
    assert_eq!(f["deliveries"], 2000);
    assert_eq!(f["lost"], 0);
    assert_eq!(f["duplicates"], 0);
    assert_eq!(f["out_of_order"], 0);
    assert!(f["latency_p99_us"].as_u64().unwrap() > 0);
    assert!(
        f["server_cpu_s"].is_number(),
        "server figures read from /proc: {f}"
    );

    let r = bench(
        &server,
        &[
            "fanout",
            "--connections",
            "20",
            "--channels",
            "2",
            "--events",
            "40",
            "--rate",
            "200",
        ],
    );
    assert_eq!(r["lost"], 0);
    assert_eq!(r["deliveries"], 400);

    let p = bench(&server, &["presence", "--connections", "40"]);
    assert_eq!(p["member_added"], 40 * 39 / 2);
    assert_eq!(p["settled"], true);

    let i = bench(
        &server,
        &[
            "idle",
            "--connections",
            "100",
            "--channels",
            "10",
            "--duration",
            "0.5",
        ],
    );
    assert_eq!(i["dropped_by_server"], 0);
    assert!(i["server_kib_per_connection"].is_number(), "{i}");

    let w = bench(
        &server,
        &[
            "whisper",
            "--connections",
            "5",
            "--rate",
            "10",
            "--duration",
            "1",
        ],
    );
    assert_eq!(w["rejected"], 0);
    assert!(w["deliveries"].as_u64().unwrap() > 0);

    let h = bench(&server, &["publish", "--events", "300"]);
    assert_eq!(h["failures"], 0);
    assert!(h["triggers_per_s"].as_f64().unwrap() > 0.0);

    let c = bench(
        &server,
        &[
            "churn",
            "--connections",
            "20",
            "--channels",
            "2",
            "--churners",
            "10",
            "--rate",
            "50",
            "--duration",
            "1",
        ],
    );
    assert_eq!(c["events"], 100);
    assert_eq!(c["lost"], 0, "{c}");
    assert_eq!(c["churn_errors"], 0, "{c}");
    assert!(c["churn_cycles_per_s"].as_f64().unwrap() > 0.0, "{c}");
    assert!(c["calm_latency_p99_us"].as_u64().unwrap() > 0, "{c}");
    assert!(c["churn_latency_p99_us"].as_u64().unwrap() > 0, "{c}");

    // A wrong secret: publishes fail, and the tool says so instead of hanging.
    let bad = bench(
        &server,
        &[
            "fanout",
            "--connections",
            "2",
            "--events",
            "3",
            "--publish-secret",
            "wrong",
        ],
    );
    assert_eq!(bad["publish_failures"], 3);
    assert!(
        bad["first_publish_error"].as_str().unwrap().contains("401"),
        "{bad}"
    );
}

#[test]
fn bad_arguments_exit_non_zero() {
    let out = Command::new(BIN).args(["bench", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown workload"));
    // Nothing listens on port 1: the tool reports the failure and exits.
    let out = Command::new(BIN)
        .args([
            "bench",
            "fanout",
            "--port",
            "1",
            "--connections",
            "1",
            "--deadline",
            "10",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("connect"));
}
