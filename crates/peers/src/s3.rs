//! Local Amazon S3 peer for benches: the object calls cost-etl's sink makes (`PutObject`, and
//! `GetObject` to read back), answered at once or after a set latency, where moto (one Python
//! process) takes several milliseconds of CPU a PUT on a machine the function shares.
//!
//! Tests use moto for S3 (the real service's model); this peer exists so a bench can tell the
//! function's own time from its local S3's. It follows the S3 API reference (PutObject,
//! GetObject, Error responses) for what it answers:
//! - path-style `PUT /{bucket}/{key}` stores the body whole and answers 200 with an empty body,
//!   `ETag` (the quoted hex MD5 of the body, as for a single-part upload), `x-amz-request-id`,
//!   `x-amz-id-2`, and the `x-amz-checksum-crc32` it was sent;
//! - a sent `Content-MD5` or `x-amz-checksum-crc32` that does not match the body is refused,
//!   400 `BadDigest` (a malformed `Content-MD5`: 400 `InvalidDigest`); other `x-amz-checksum-*`
//!   headers are kept but not verified;
//! - `Content-Encoding: aws-chunked` (streaming uploads with trailing checksums) is not
//!   implemented here: 501 `NotImplemented`, never a stored chunk stream;
//! - a bucket not seeded is 404 `NoSuchBucket`; `GET` of a missing key is 404 `NoSuchKey`;
//!   bodies are read and held whole, in memory (no size limit: keep them small);
//! - errors are S3's XML `<Error><Code/><Message/><RequestId/><HostId/></Error>`.
//!
//! Authorization is not checked (as with moto).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use axum::Router;
use base64::Engine;
use md5::{Digest, Md5};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

#[derive(Default)]
struct Inner {
    buckets: BTreeSet<String>,
    /// (bucket, key) -> (body, ETag: the body's MD5, quoted hex).
    objects: BTreeMap<(String, String), (Bytes, String)>,
    delay: Duration,
    puts: usize,
}

/// The peer's state: seeded buckets, stored objects, the latency of every answer, and a count
/// of PUTs.
#[derive(Clone, Default)]
pub struct S3Peer(Arc<Mutex<Inner>>);

impl S3Peer {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn add_bucket(&self, name: &str) {
        self.lock().buckets.insert(name.to_string());
    }

    /// Every answer waits this long once the request is read (S3's own latency, say).
    pub fn set_delay(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    /// PUTs answered 200 so far.
    pub fn puts(&self) -> usize {
        self.lock().puts
    }

    /// Objects stored in `bucket`.
    pub fn object_count(&self, bucket: &str) -> usize {
        self.lock().objects.keys().filter(|(b, _)| b == bucket).count()
    }

    pub fn object(&self, bucket: &str, key: &str) -> Option<Bytes> {
        self.lock().objects.get(&(bucket.to_string(), key.to_string())).map(|(body, _)| body.clone())
    }
}

/// Bind a free port on 127.0.0.1 and serve; returns the base URL (the SDK's endpoint, path-style).
pub async fn serve(peer: S3Peer) -> String {
    crate::serve_router(router(peer), "s3").await
}

pub fn router(peer: S3Peer) -> Router {
    Router::new()
        .route("/{bucket}/{*key}", put(put_object).get(get_object))
        .fallback(|| async { s3_error(StatusCode::NOT_IMPLEMENTED, "NotImplemented", "A header or operation you provided implies functionality that is not implemented") })
        .layer(DefaultBodyLimit::disable())
        .with_state(peer)
}

static REQUEST_IDS: AtomicU64 = AtomicU64::new(1);

fn request_id() -> String {
    format!("{:016X}", REQUEST_IDS.fetch_add(1, Ordering::Relaxed))
}

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let id = request_id();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{id}</RequestId><HostId>peer</HostId></Error>"
    );
    (status, [("content-type", "application/xml"), ("x-amz-request-id", id.as_str())], body).into_response()
}

/// Why a body (with its MD5) does not match what its headers say, if it does not.
fn digest_mismatch(headers: &HeaderMap, body: &[u8], md5: &[u8]) -> Option<Response> {
    let b64 = base64::engine::general_purpose::STANDARD;
    if let Some(sent) = headers.get("content-md5") {
        let Some(sent) = sent.to_str().ok().and_then(|s| b64.decode(s).ok()).filter(|d| d.len() == 16) else {
            return Some(s3_error(StatusCode::BAD_REQUEST, "InvalidDigest", "The Content-MD5 you specified was invalid."));
        };
        if sent[..] != *md5 {
            return Some(s3_error(StatusCode::BAD_REQUEST, "BadDigest", "The Content-MD5 you specified did not match what we received."));
        }
    }
    if let Some(sent) = headers.get("x-amz-checksum-crc32") {
        let computed = b64.encode(crc32fast::hash(body).to_be_bytes());
        if sent.as_bytes() != computed.as_bytes() {
            return Some(s3_error(StatusCode::BAD_REQUEST, "BadDigest", "The CRC32 you specified did not match the calculated checksum."));
        }
    }
    None
}

/// The answer's set latency.
async fn latency(peer: &S3Peer) {
    let delay = peer.lock().delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

async fn put_object(AxumState(peer): AxumState<S3Peer>, Path((bucket, key)): Path<(String, String)>, headers: HeaderMap, body: Bytes) -> Response {
    latency(&peer).await;
    if headers.get("content-encoding").and_then(|v| v.to_str().ok()).is_some_and(|v| v.split(',').any(|p| p.trim() == "aws-chunked")) {
        return s3_error(StatusCode::NOT_IMPLEMENTED, "NotImplemented", "A header you provided implies functionality that is not implemented (aws-chunked).");
    }
    let md5 = Md5::digest(&body);
    if let Some(refused) = digest_mismatch(&headers, &body, &md5) {
        return refused;
    }
    let etag = format!("\"{}\"", hex::encode(md5));
    {
        let mut inner = peer.lock();
        if !inner.buckets.contains(&bucket) {
            drop(inner);
            return s3_error(StatusCode::NOT_FOUND, "NoSuchBucket", "The specified bucket does not exist");
        }
        inner.objects.insert((bucket, key), (body, etag.clone()));
        inner.puts += 1;
    }
    let mut response = StatusCode::OK.into_response();
    let out = response.headers_mut();
    out.insert("etag", HeaderValue::from_str(&etag).expect("hex is a header value"));
    out.insert("x-amz-request-id", HeaderValue::from_str(&request_id()).expect("hex is a header value"));
    out.insert("x-amz-id-2", HeaderValue::from_static("peer"));
    if let Some(crc) = headers.get("x-amz-checksum-crc32") {
        out.insert("x-amz-checksum-crc32", crc.clone());
    }
    response
}

async fn get_object(AxumState(peer): AxumState<S3Peer>, Path((bucket, key)): Path<(String, String)>) -> Response {
    latency(&peer).await;
    let inner = peer.lock();
    if !inner.buckets.contains(&bucket) {
        return s3_error(StatusCode::NOT_FOUND, "NoSuchBucket", "The specified bucket does not exist");
    }
    match inner.objects.get(&(bucket, key)) {
        Some((body, etag)) => (StatusCode::OK, [("etag", etag.clone())], body.clone()).into_response(),
        None => s3_error(StatusCode::NOT_FOUND, "NoSuchKey", "The specified key does not exist."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_http::request;

    fn crc32_header(body: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(crc32fast::hash(body).to_be_bytes())
    }

    #[tokio::test]
    async fn a_put_with_matching_digests_is_stored_and_read_back_with_its_md5_etag() {
        let peer = S3Peer::new();
        peer.add_bucket("costs");
        let url = serve(peer.clone()).await;
        let body = b"{\"campaign_id\":\"1\"}\n";
        let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(body));
        let (status, head, _) = request(&url, "PUT", "/costs/a/b%3Dc/costs.jsonl", &[("x-amz-checksum-crc32", crc32_header(body)), ("content-md5", md5)], body).await;
        assert_eq!(status, 200);
        let etag = format!("etag: \"{}\"", hex::encode(Md5::digest(body)));
        assert!(head.contains(&etag), "{head}");
        assert!(head.contains(&format!("x-amz-checksum-crc32: {}", crc32_header(body).to_ascii_lowercase())), "{head}");
        assert_eq!(peer.object("costs", "a/b=c/costs.jsonl").as_deref(), Some(&body[..]), "the key is the decoded path");
        let (status, _, read) = request(&url, "GET", "/costs/a/b%3Dc/costs.jsonl", &[], b"").await;
        assert_eq!((status, read.as_bytes()), (200, &body[..]));
        assert_eq!((peer.puts(), peer.object_count("costs")), (1, 1));
    }

    #[tokio::test]
    async fn digests_that_do_not_match_chunked_uploads_and_unknown_buckets_are_refused_with_s3_errors() {
        let peer = S3Peer::new();
        peer.add_bucket("costs");
        let url = serve(peer.clone()).await;
        let body = b"rows";
        // (path, headers, status, S3 error code)
        type Case<'a> = (&'a str, Vec<(&'a str, String)>, u16, &'a str);
        let cases: [Case; 5] = [
            ("/costs/k", vec![("x-amz-checksum-crc32", crc32_header(b"other"))], 400, "<Code>BadDigest</Code>"),
            ("/costs/k", vec![("content-md5", base64::engine::general_purpose::STANDARD.encode(Md5::digest(b"other")))], 400, "<Code>BadDigest</Code>"),
            ("/costs/k", vec![("content-md5", "not base64".into())], 400, "<Code>InvalidDigest</Code>"),
            ("/costs/k", vec![("content-encoding", "aws-chunked".into())], 501, "<Code>NotImplemented</Code>"),
            ("/nope/k", vec![], 404, "<Code>NoSuchBucket</Code>"),
        ];
        for (path, headers, want_status, want_code) in cases {
            let (status, _, answer) = request(&url, "PUT", path, &headers, body).await;
            assert_eq!(status, want_status, "{headers:?}: {answer}");
            assert!(answer.contains(want_code) && answer.contains("<RequestId>"), "{answer}");
        }
        let (status, _, answer) = request(&url, "GET", "/costs/missing", &[], b"").await;
        assert!(status == 404 && answer.contains("<Code>NoSuchKey</Code>"), "{answer}");
        assert_eq!((peer.puts(), peer.object_count("costs")), (0, 0), "nothing refused was stored");
    }
}
