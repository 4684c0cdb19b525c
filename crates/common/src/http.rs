//! A response body read chunk by chunk with a byte cap, so a hostile or broken server cannot
//! make a function buffer more than it was given.
//!
//! [`CappedBody::next_chunk`] hands out the body as it arrives (for parsers that work on a
//! stream); [`CappedBody::read_all`] collects it for those that need it whole. Either way the cap
//! is checked before a byte beyond it is kept: first against `Content-Length`, then per chunk.
//! [`client_builder`] is where every `reqwest` client of the workspace starts (its TLS set-up).

use bytes::Bytes;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::{Arc, OnceLock};

/// A `reqwest` client builder on the workspace's one TLS stack: rustls with ring (the same as
/// the AWS SDK's, `crate::aws::http_client`), HTTP/2 or HTTP/1.1 by ALPN, and the system's
/// trusted roots, read on the first TLS handshake rather than when the client is built (reqwest's
/// own verifier reads them at build time, a few milliseconds of every cold start; a function
/// that only speaks plain HTTP to a local peer never reads them). reqwest is built without a
/// crypto provider of its own, so every client must start here.
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_backend_preconfigured(tls_config())
}

fn tls_config() -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(SystemRoots::new(provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config
}

/// WebPKI verification against the system's roots (`rustls-native-certs`: `SSL_CERT_FILE` /
/// `SSL_CERT_DIR`, else the distribution's bundle), loaded once, on the first certificate to
/// verify. Signatures are checked with the provider's algorithms, which need no roots.
#[derive(Debug)]
struct SystemRoots {
    provider: Arc<CryptoProvider>,
    verifier: OnceLock<Result<Arc<WebPkiServerVerifier>, String>>,
}

impl SystemRoots {
    fn new(provider: Arc<CryptoProvider>) -> SystemRoots {
        SystemRoots { provider, verifier: OnceLock::new() }
    }

    fn verifier(&self) -> Result<&Arc<WebPkiServerVerifier>, rustls::Error> {
        self.verifier.get_or_init(|| load_verifier(&self.provider)).as_ref().map_err(|e| rustls::Error::General(e.clone()))
    }
}

fn load_verifier(provider: &Arc<CryptoProvider>) -> Result<Arc<WebPkiServerVerifier>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if roots.is_empty() {
        return Err("no trusted root certificates on this system (set SSL_CERT_FILE to a CA bundle)".to_string());
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().map_err(|e| format!("trusted roots unusable: {e}"))
}

impl ServerCertVerifier for SystemRoots {
    fn verify_server_cert(&self, end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>], server_name: &ServerName<'_>, ocsp: &[u8], now: UnixTime) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier()?.verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lazy_verifier_still_verifies() {
        let roots = SystemRoots::new(Arc::new(rustls::crypto::ring::default_provider()));
        assert!(roots.verifier.get().is_none(), "no roots read before the first handshake");
        let name = ServerName::try_from("example.com").unwrap();
        let not_a_certificate = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        let verdict = roots.verify_server_cert(&not_a_certificate, &[], &name, &[], UnixTime::now());
        assert!(verdict.is_err(), "a certificate no root signed is refused: {verdict:?}");
        assert!(roots.verifier.get().is_some(), "roots read on the first verification");
        assert!(!roots.supported_verify_schemes().is_empty());
    }

    #[test]
    fn clients_speak_h2_and_http1_by_alpn() {
        assert_eq!(tls_config().alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
        client_builder().build().expect("a client builds without reading any root");
    }
}
