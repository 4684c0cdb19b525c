//! A response body read chunk by chunk with a byte cap, so a hostile or broken server cannot
//! make a function buffer more than it was given.
//!
//! [`CappedBody::next_chunk`] hands out the body as it arrives (for parsers that work on a
//! stream); [`CappedBody::read_all`] collects it for those that need it whole. Either way the cap
//! is checked before a byte beyond it is kept: first against `Content-Length`, then per chunk.

use bytes::Bytes;

/// A `reqwest` client builder on the workspace's one TLS stack: rustls with ring (the same as
/// the AWS SDK's, `crate::aws::http_client`), system roots verified by rustls-platform-verifier.
/// reqwest is built without a default crypto provider, so every client must start here: one
/// built with `reqwest::Client::builder()` directly panics on its first use.
pub fn client_builder() -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder()
}

/// Make ring the process's rustls provider, once; a provider already installed (by a caller
/// that chose its own) is kept.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Why a capped body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the answer is larger than the {limit} bytes allowed")]
    TooLarge { limit: usize },
    /// The connection failed or timed out while the body was arriving.
    #[error("reading the answer failed: {0}")]
    Transport(#[source] reqwest::Error),
}

/// A response whose body may be read up to `limit` bytes.
pub struct CappedBody {
    response: reqwest::Response,
    limit: usize,
    read: usize,
}

impl CappedBody {
    /// Refuses at once a response that announces more than `limit` bytes.
    pub fn new(response: reqwest::Response, limit: usize) -> Result<CappedBody, BodyError> {
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(BodyError::TooLarge { limit });
        }
        Ok(CappedBody { response, limit, read: 0 })
    }

    /// The next chunk, `None` at the end; an error once the total would pass the cap.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, BodyError> {
        let Some(chunk) = self.response.chunk().await.map_err(BodyError::Transport)? else { return Ok(None) };
        self.read = self.read.saturating_add(chunk.len());
        if self.read > self.limit {
            return Err(BodyError::TooLarge { limit: self.limit });
        }
        Ok(Some(chunk))
    }

    /// Bytes handed out so far.
    pub fn bytes_read(&self) -> usize {
        self.read
    }

    /// The whole body.
    pub async fn read_all(mut self) -> Result<Vec<u8>, BodyError> {
        let mut body = Vec::new();
        while let Some(chunk) = self.next_chunk().await? {
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}
