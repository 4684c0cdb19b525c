//! Credentials: [`Redacted`] strings that never print, and [`SecretCache`], a platform's secret
//! read once per cold start and shared by every record.

use common::secrets::{SecretError, SecretSource};
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::Arc;

/// A credential string: never printed, not even by `{:?}`.
#[derive(Clone, serde::Deserialize)]
#[serde(transparent)]
pub struct Redacted(String);

impl Redacted {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A platform's credentials secret, read once per cold start and shared by every record.
///
/// Concurrent records wait for the one read in flight instead of each reading the secret.
/// A failed read is not cached (the next record tries again); credentials the platform
/// rejected are dropped with [`SecretCache::invalidate`], so a rotated secret is picked up.
pub struct SecretCache<T> {
    source: SecretSource,
    secret_id: String,
    cached: tokio::sync::Mutex<Option<Arc<T>>>,
}

impl<T: DeserializeOwned + Send + Sync> SecretCache<T> {
    pub fn new(source: SecretSource, secret_id: String) -> Self {
        SecretCache { source, secret_id, cached: tokio::sync::Mutex::new(None) }
    }

    pub async fn get(&self) -> Result<Arc<T>, SecretError> {
        let mut cached = self.cached.lock().await;
        if let Some(value) = cached.as_ref() {
            return Ok(value.clone());
        }
        let value = Arc::new(common::secrets::read_json::<T>(&self.source, &self.secret_id).await?);
        *cached = Some(value.clone());
        Ok(value)
    }

    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }
}
