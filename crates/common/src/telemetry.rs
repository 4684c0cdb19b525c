//! Logging set-up shared by every function.
//!
//! Lambda's advanced logging controls set `AWS_LAMBDA_LOG_FORMAT` (`JSON` or `Text`) and
//! `AWS_LAMBDA_LOG_LEVEL`; logs follow both (and `RUST_LOG` when the level is not set), so a
//! function's logs look the same as any other Lambda's in CloudWatch. This is the runtime's
//! `init_default_subscriber`, except for the filter: `tracing_subscriber::filter::Targets`
//! (a level, or `target=level` directives) instead of `EnvFilter`, whose regular-expression
//! engine was ~190 KB of every zip for a feature (span-field filters) nothing here uses.

use std::str::FromStr;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Install the global subscriber. Call once, first thing in `main`.
pub fn init() {
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let filter = filter(std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG")).ok().as_deref());
    let fmt = tracing_subscriber::fmt::layer().with_target(false).without_time().with_writer(std::io::stdout);
    let registry = tracing_subscriber::registry().with(filter);
    // A second call (a test that initializes twice) keeps the first subscriber.
    let _ = if json { registry.with(fmt.json()).try_init() } else { registry.with(fmt).try_init() };
}

/// The level filter of `AWS_LAMBDA_LOG_LEVEL` / `RUST_LOG`: a level (`DEBUG`), or directives
/// (`warn,cost_etl=debug`); `INFO` when unset or unreadable (a bad value must not stop the
/// function from logging at all). A bare word is read as a level only: `Targets` would take it
/// for a target name and turn everything else off.
fn filter(setting: Option<&str>) -> Targets {
    let info = || Targets::new().with_default(LevelFilter::INFO);
    match setting.map(str::trim) {
        Some(s) if s.contains('=') => Targets::from_str(s).unwrap_or_else(|_| info()),
        Some(s) => LevelFilter::from_str(s).map(|level| Targets::new().with_default(level)).unwrap_or_else(|_| info()),
        None => info(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn levels_come_from_the_lambda_setting_and_default_to_info() {
        assert!(filter(None).would_enable("cost_etl", &Level::INFO));
        assert!(!filter(None).would_enable("cost_etl", &Level::DEBUG));
        assert!(filter(Some("DEBUG")).would_enable("cost_etl", &Level::DEBUG));
        assert!(!filter(Some("warn")).would_enable("cost_etl", &Level::INFO));
        assert!(filter(Some("warn,cost_etl=debug")).would_enable("cost_etl::handler", &Level::DEBUG));
        assert!(!filter(Some("warn,cost_etl=debug")).would_enable("aws_config", &Level::INFO));
        assert!(filter(Some("not a level!")).would_enable("cost_etl", &Level::INFO), "unreadable: INFO");
    }
}
