//! What the client tests share: one app (`app` / `key` / `secret`), a pushbus server
//! with it on 127.0.0.1:0, and a client of it.
#![allow(dead_code)] // each test crate uses its own part

use std::time::Duration;

use pushbus::{AppConfig, Config, Server};
use pushbus_client::{Client, ClientOptions};

pub fn app() -> AppConfig {
    AppConfig {
        id: "app".into(),
        key: "key".into(),
        secret: "secret".into(),
        ..AppConfig::default()
    }
}

pub fn server() -> Server {
    Server::new(Config {
        port: 0,
        apps: vec![app()],
        ..Config::default()
    })
    .unwrap()
}

/// A client of `app` on 127.0.0.1:`port`, signing with `secret`.
pub fn client(port: u16, secret: &str, timeout: Duration) -> Client {
    Client::new(ClientOptions {
        port,
        app_id: "app".into(),
        key: "key".into(),
        secret: secret.into(),
        timeout,
        ..ClientOptions::default()
    })
    .unwrap()
}
