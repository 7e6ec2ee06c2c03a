//! What several integration tests share: one app (`app` / `key` / `secret`), a
//! server with it on 127.0.0.1:0.
#![allow(dead_code)] // each test crate uses its own part

use pushbus::{AppConfig, Config, Server};

pub fn app() -> AppConfig {
    AppConfig {
        id: "app".into(),
        key: "key".into(),
        secret: "secret".into(),
        ..AppConfig::default()
    }
}

/// A server with `app` alone, not started.
pub fn server_with(app: AppConfig) -> Server {
    Server::new(Config {
        port: 0,
        apps: vec![app],
        ..Config::default()
    })
    .unwrap()
}

pub fn server() -> Server {
    server_with(app())
}
