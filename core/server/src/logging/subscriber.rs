//! The `pushbus` CLI's log output: `tracing-subscriber`'s formatter, text or JSON, with
//! env-filter directives (`PUSHBUS_LOG`, `RUST_LOG`), to stderr.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The output format of [`init`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn parse(s: &str) -> Result<LogFormat, String> {
        match s.to_ascii_lowercase().as_str() {
            "text" | "" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("log format {other:?}: expected text or json")),
        }
    }
}

/// Installs the process-wide subscriber: `filter` (env-filter directives; `None`:
/// `info`) in `format` to stderr. Returns an error for bad directives; does nothing
/// when a subscriber is installed already (a second server in the process, or the
/// host's own).
pub fn init(filter: Option<&str>, format: LogFormat) -> Result<(), String> {
    let filter = EnvFilter::builder()
        .parse(filter.unwrap_or("info"))
        .map_err(|e| format!("log filter {:?}: {e}", filter.unwrap_or("info")))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
    };
    Ok(())
}
