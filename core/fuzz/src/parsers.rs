//! One fuzz target for every parser of outside input; the first byte picks the parser,
//! the rest is its input. A parser may refuse anything, but must not panic, hang or
//! accept something it then cannot hand on.

use pushbus::auth;
use pushbus::config::{parse_dotenv, Config};
use pushbus::fuzz_support;
use pushbus::names::validate_channel_name;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some((&which, rest)) = data.split_first() else {
            return;
        };
        let text = String::from_utf8_lossy(rest);
        match which % 7 {
            0 => {
                if let Ok(frame) = fuzz_support::parse_client_frame(&text) {
                    let _ = frame.data_object();
                    let _ = frame.data_string();
                }
            }
            1 => {
                fuzz_support::channel_data(&text);
            }
            2 => {
                fuzz_support::user_data(&text);
            }
            3 => {
                let _ = auth::parse_rest_query(&text);
                let _ = auth::verify_rest_request(
                    "key",
                    "secret",
                    "POST",
                    "/apps/1/events",
                    &text,
                    rest,
                    1_700_000_000,
                    600,
                );
            }
            4 => {
                let _ = Config::from_json(&text);
            }
            5 => {
                let _ = parse_dotenv(&text);
            }
            _ => {
                let _ = validate_channel_name(&text, 200);
                let _ = auth::verify_channel_auth("key", "secret", "1.2", &text, None, &text);
            }
        }
    });
}
