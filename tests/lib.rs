//! End-to-end tests live in `tests/e2e/*.rs`-style files under `tests/tests/`; this crate has no library code.
