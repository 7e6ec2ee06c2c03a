//! Plain stderr lines for the bindings: `pushbus: WARN target: message key=value`.
//!
//! A minimal `tracing` subscriber: events at or below the level `PUSHBUS_LOG` names
//! (`info` by default; directives such as `warn,pushbus::frames=info` are read as a
//! default level and `target=level` prefixes) are written as one line each; spans are
//! not tracked (so nothing is kept per span or per thread), which is why the lines
//! about a connection name it in their own fields.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// What `PUSHBUS_LOG` asks for: a default level and per-target levels (longest
/// matching prefix wins). `None` is off.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    default: Option<Level>,
    targets: Vec<(String, Option<Level>)>,
}

fn level(s: &str) -> Result<Option<Level>, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "off" => Ok(None),
        "error" => Ok(Some(Level::ERROR)),
        "warn" => Ok(Some(Level::WARN)),
        "info" => Ok(Some(Level::INFO)),
        "debug" => Ok(Some(Level::DEBUG)),
        "trace" => Ok(Some(Level::TRACE)),
        other => Err(format!(
            "log level {other:?}: expected off, error, warn, info, debug or trace"
        )),
    }
}

impl Filter {
    pub fn parse(directives: &str) -> Result<Filter, String> {
        let mut filter = Filter {
            default: Some(Level::INFO),
            targets: Vec::new(),
        };
        for d in directives
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
        {
            match d.split_once('=') {
                Some((target, l)) if !target.trim().is_empty() => {
                    filter.targets.push((target.trim().to_string(), level(l)?))
                }
                Some(_) => return Err(format!("log directive {d:?}: no target before '='")),
                None => filter.default = level(d)?,
            }
        }
        // Longest first: the most specific directive decides.
        filter
            .targets
            .sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        Ok(filter)
    }

    fn allows(&self, meta: &Metadata<'_>) -> bool {
        let max = self
            .targets
            .iter()
            .find(|(t, _)| meta.target().starts_with(t.as_str()))
            .map_or(self.default, |(_, l)| *l);
        max.is_some_and(|max| *meta.level() <= max)
    }
}

struct Plain {
    filter: Filter,
}

/// One event as a line: the message first, then the other fields.
struct Line(String, String);

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.1, " {}={value:?}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.1, " {}={value:?}", field.name());
        }
    }
}

impl Subscriber for Plain {
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        // Spans are not tracked: nothing to keep per span or thread.
        meta.is_event() && self.filter.allows(meta)
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut line = Line(String::new(), String::new());
        event.record(&mut line);
        let meta = event.metadata();
        let text = format!(
            "pushbus: {} {}: {}{}\n",
            meta.level(),
            meta.target(),
            line.0,
            line.1
        );
        // One write per line, so that lines of different threads do not interleave.
        let _ = std::io::stderr().write_all(text.as_bytes());
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

/// Installs the plain subscriber with `PUSHBUS_LOG`'s filter, once per process and
/// only when no subscriber is installed; safe to call from any thread, across forks
/// (a child that forked in the middle of it goes on without; it never waits).
pub fn install() {
    const NOT_YET: u8 = 0;
    const DONE: u8 = 1;
    static STATE: AtomicU8 = AtomicU8::new(NOT_YET);
    if STATE.swap(DONE, Ordering::AcqRel) == DONE {
        return;
    }
    let directives = std::env::var("PUSHBUS_LOG").unwrap_or_default();
    let filter = Filter::parse(&directives).unwrap_or_else(|e| {
        let _ = writeln!(
            std::io::stderr(),
            "pushbus: PUSHBUS_LOG: {e}; logging at info"
        );
        Filter::parse("").expect("the default filter")
    });
    let _ = tracing::subscriber::set_global_default(Plain { filter });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_give_a_default_and_target_levels() {
        let f = Filter::parse("warn, pushbus::frames=info ,pushbus=debug").unwrap();
        assert_eq!(f.default, Some(Level::WARN));
        assert_eq!(f.targets[0], ("pushbus::frames".into(), Some(Level::INFO)));
        assert_eq!(Filter::parse("").unwrap().default, Some(Level::INFO));
        assert_eq!(Filter::parse("off").unwrap().default, None);
        assert!(Filter::parse("loud").is_err());
        assert!(Filter::parse("=debug").is_err());
    }
}
