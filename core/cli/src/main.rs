//! The `pushbus` command: `pushbus serve` runs the server, `pushbus bench` loads one.

mod bench;
mod memory;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pushbus::config::{parse_dotenv, DEV_APP_ID};
use pushbus::{Config, Server};

/// pushbus — a realtime server for the Pusher Channels protocol (Laravel Echo, pusher-js)
#[derive(Parser)]
#[command(name = "pushbus", version, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server
    #[command(after_help = CONFIG_HELP)]
    Serve(ServeArgs),
    /// Load a Pusher-compatible server (this one or another) and report what it measured
    Bench(Box<bench::BenchArgs>),
}

const CONFIG_HELP: &str = "\
Configuration, lowest precedence first:
  defaults; a JSON file (--config, or PUSHBUS_CONFIG); a dotenv file (--env-file, or
  ./.env when present); the environment (Laravel Reverb's REVERB_* variables, and
  PUSHBUS_HOST, PUSHBUS_PORT, PUSHBUS_TIMESTAMP_WINDOW, PUSHBUS_ALLOWED_ORIGINS, ...);
  --host and --port. With no app configured, a development app is served on
  127.0.0.1:8080. See README.md for every setting.";

#[derive(clap::Args)]
struct ServeArgs {
    /// A JSON config file (default: $PUSHBUS_CONFIG)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// A dotenv file (default: ./.env when present)
    #[arg(long, value_name = "FILE")]
    env_file: Option<PathBuf>,
    /// The address to listen on
    #[arg(long)]
    host: Option<String>,
    /// The port to listen on (0: any free port)
    #[arg(long)]
    port: Option<u16>,
    /// Log lines as `text` or `json` (default: $PUSHBUS_LOG_FORMAT, else text); the
    /// filter is $PUSHBUS_LOG (or $RUST_LOG), e.g. `debug` or `warn,pushbus::server=debug`
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<String>,
}

/// Builds the config from file, dotenv and environment; says whether the development
/// app is in use.
fn load_config(args: &ServeArgs) -> Result<(Config, bool), String> {
    let env: HashMap<String, String> = std::env::vars().collect();
    let file = args
        .config
        .clone()
        .or_else(|| env.get("PUSHBUS_CONFIG").map(PathBuf::from));
    let mut config = match &file {
        Some(path) => Config::from_file(path).map_err(|e| e.to_string())?,
        None => Config::default(),
    };
    let dotenv_path = args.env_file.clone().or_else(|| {
        let p = PathBuf::from(".env");
        p.is_file().then_some(p)
    });
    let mut vars = match &dotenv_path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read env file {}: {e}", p.display()))?;
            println!("reading environment from {}", p.display());
            parse_dotenv(&text)
        }
        None => HashMap::new(),
    };
    vars.extend(env);
    start_logging(args, &vars)?;
    config.apply_env(&vars).map_err(|e| e.to_string())?;
    let development = config.apps.is_empty();
    if development {
        let dev = Config::development();
        config.apps = dev.apps;
    }
    if let Some(h) = &args.host {
        config.host = h.clone();
    }
    if let Some(p) = args.port {
        config.port = p;
    }
    config.validate().map_err(|e| e.to_string())?;
    Ok((config, development))
}

/// The log output, from the flag, the dotenv file and the environment.
fn start_logging(args: &ServeArgs, vars: &HashMap<String, String>) -> Result<(), String> {
    let get = |k: &str| vars.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let format = args
        .log_format
        .as_deref()
        .or_else(|| get("PUSHBUS_LOG_FORMAT"))
        .unwrap_or("text");
    let format = pushbus::logging::LogFormat::parse(format)?;
    let filter = get("PUSHBUS_LOG").or_else(|| get("RUST_LOG"));
    pushbus::logging::init(filter, format)
}

fn banner(
    config: &Config,
    addr: std::net::SocketAddr,
    metrics_addr: Option<std::net::SocketAddr>,
    development: bool,
) {
    let (http, ws) = if config.tls.is_some() {
        ("https", "wss")
    } else {
        ("http", "ws")
    };
    println!(
        "pushbus {} listening on {http}://{addr}",
        env!("CARGO_PKG_VERSION")
    );
    if config.metrics.enabled {
        match metrics_addr {
            Some(m) => println!("  metrics: http://{m}/metrics"),
            None => println!(
                "  metrics: http://{addr}{}/metrics (bearer token)",
                config.path
            ),
        }
    }
    let ws_host = if addr.ip().is_unspecified() {
        "localhost".to_string()
    } else {
        addr.ip().to_string()
    };
    for app in &config.apps {
        println!(
            "  app {:?}: key {:?}, secret {:?}, WebSocket {ws}://{ws_host}:{}{}/app/{}",
            app.id,
            app.key,
            app.secret,
            addr.port(),
            config.path,
            app.key
        );
    }
    if development {
        let port = addr.port();
        println!(
            "\nNo app configured: serving the development app {DEV_APP_ID:?}. Laravel .env:\n\
             \n  BROADCAST_CONNECTION=reverb\n  REVERB_APP_ID={DEV_APP_ID}\n  REVERB_APP_KEY={key}\n  \
             REVERB_APP_SECRET={secret}\n  REVERB_HOST={ws_host}\n  REVERB_PORT={port}\n  REVERB_SCHEME={http}\n\
             \nLaravel Echo:\n\n  new Echo({{ broadcaster: 'reverb', key: '{key}', wsHost: '{ws_host}', \
             wsPort: {port}, wssPort: {port}, forceTLS: {tls}, enabledTransports: ['ws', 'wss'] }})\n",
            key = config.apps[0].key,
            secret = config.apps[0].secret,
            tls = config.tls.is_some(),
        );
    }
    println!("Press Ctrl+C to stop.");
}

/// Until SIGTERM or Ctrl+C; meanwhile each SIGHUP reloads the TLS certificate (after
/// a renewal, as `systemctl reload` or certbot's deploy hook send it).
async fn wait_for_signal(server: &Server) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        loop {
            tokio::select! {
                _ = term.recv() => return,
                _ = tokio::signal::ctrl_c() => return,
                _ = hup.recv() => {
                    if !server.serves_tls() {
                        println!("SIGHUP: no TLS certificate to reload");
                        continue;
                    }
                    match server.reload_tls() {
                        Ok(()) => println!("SIGHUP: TLS certificate reloaded; new connections get it"),
                        Err(e) => eprintln!("pushbus: SIGHUP: {e}; the certificate in use stays"),
                    }
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = server;
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn bench_main(args: Box<bench::BenchArgs>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pushbus bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(bench::run(&args.workload, args.options.clone()));
    // Do not wait for thousands of sockets to wind down one by one.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pushbus bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let args = match Cli::parse().command {
        Command::Bench(b) => return bench_main(b),
        Command::Serve(s) => s,
    };
    let (config, development) = match load_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("pushbus: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    memory::give_back_periodically();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pushbus: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let server = match Server::new(config) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("pushbus: {e}");
                return ExitCode::from(2);
            }
        };
        let addr = match server.start().await {
            Ok(a) => a,
            Err(e) => {
                eprintln!("pushbus: {e}");
                return ExitCode::FAILURE;
            }
        };
        banner(server.config(), addr, server.metrics_addr(), development);
        wait_for_signal(&server).await;
        println!("shutting down: closing connections with 4200 so clients reconnect");
        let _ = server.shutdown().await;
        println!("stopped");
        ExitCode::SUCCESS
    })
}
