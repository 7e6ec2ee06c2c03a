//! What the CLI's tests share: a real `pushbus serve` (the built binary) on a free port.
#![allow(dead_code)] // each test crate uses its own part

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_pushbus");

pub struct ServeProcess {
    child: Child,
    pub port: u16,
    pub pid: u32,
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn serve() -> ServeProcess {
    let dir = std::env::temp_dir().join(format!("pushbus-bench-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.json");
    std::fs::write(
        &config,
        r#"{"port":0,"apps":[{"id":"pushbus-dev","key":"pushbus-dev-key","secret":"pushbus-dev-secret","max_presence_members":200,"client_event_rate":100}]}"#,
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .current_dir(&dir)
        .env_remove("REVERB_APP_ID")
        .env_remove("REVERB_APP_KEY")
        .env_remove("REVERB_APP_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start pushbus serve");
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let port = rest
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.trim().parse::<u16>().ok());
                let _ = tx.send(port);
            }
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(15))
        .expect("server announced its port")
        .expect("port parses");
    ServeProcess { child, port, pid }
}
