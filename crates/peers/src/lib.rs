//! Local protocol peers: HTTP servers on 127.0.0.1 that follow the public API docs of the
//! services our functions call, so tests exercise the real protocol (status codes, body shapes,
//! paging, rate-limit answers) without the internet.
//!
//! Each peer is one module with a `State` that tests seed and inspect, and a `serve` that binds
//! a free port and returns its base URL.

pub mod google_ads;
pub mod kafka_connect;
pub mod meta;
pub mod tiktok;
