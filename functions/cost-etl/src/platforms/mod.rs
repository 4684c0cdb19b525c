//! Ad platforms behind one trait, chosen by the job's `platform` through one registry.
//!
//! An adapter knows its platform's request, paging, error answers and row shape, and returns
//! normalized [`CostRow`]s or a [`PlatformError`] that knows whether it is worth a retry. What
//! every adapter needs is here too: the error type (`error.rs`), a credentials cache (one secret
//! read per cold start, `secret_cache.rs`), a body reader that refuses oversized answers and the
//! other request helpers (`http.rs`), what one job may read in all (`budget.rs`: its share of
//! the function's memory, across all its pages), and row field helpers (`fields.rs`).
//!
//! Each platform is a folder of the same shape: `mod.rs` (its docs and re-exports), `client.rs`
//! (the adapter: credentials, requests, the [`CostSource`] impl), `wire.rs` (the serde types of
//! its answers), `errors.rs` (error answers classified) and `normalize.rs` (wire rows to
//! [`CostRow`]s). Adding a platform is one new folder, its `pub mod` line, and one line in
//! [`Registry::from_config`].

pub mod google_ads;
pub mod meta;
pub mod tiktok;

mod budget;
mod error;
mod fields;
mod http;
mod secret_cache;

#[cfg(test)]
mod tests;

pub use self::budget::JobBudget;
pub use self::error::PlatformError;
pub use self::fields::{is_currency_code, row_currency, scalar_count, Scalar};
pub use self::http::{body_error, call_timeout, read_body_limited, retry_after_header, transport_error};
pub use self::secret_cache::{Redacted, SecretCache};

use crate::clients::Clients;
use crate::config::Config;
use cost_job::{JobSpec, Platform};
use crate::normalize::CostRow;
use common::deadline::Deadline;
use futures::future::BoxFuture;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One platform's reporting API.
pub trait CostSource: Send + Sync {
    fn platform(&self) -> Platform;

    /// Every campaign-day of `job`, normalized. `deadline` bounds the whole fetch.
    fn fetch<'a>(&'a self, job: &'a JobSpec, deadline: Deadline) -> BoxFuture<'a, Result<Vec<CostRow>, PlatformError>>;
}

/// The adapters of this deploy, by platform.
#[derive(Clone, Default)]
pub struct Registry {
    sources: BTreeMap<Platform, Arc<dyn CostSource>>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    pub fn with(mut self, source: Arc<dyn CostSource>) -> Registry {
        self.sources.insert(source.platform(), source);
        self
    }

    /// Every adapter this build has, configured: the one list of them, one line per platform.
    pub fn from_config(config: &Config, clients: &Clients) -> Registry {
        Registry::new()
            .with(Arc::new(meta::MetaAdapter::new(config, clients)))
            .with(Arc::new(google_ads::GoogleAdsAdapter::new(config, clients)))
            .with(Arc::new(tiktok::TiktokAdapter::new(config, clients)))
    }

    pub fn get(&self, platform: Platform) -> Option<&Arc<dyn CostSource>> {
        self.sources.get(&platform)
    }
}
