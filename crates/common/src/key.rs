//! Idempotency keys: `{namespace}#{sha256 of the work's canonical text}`.
//!
//! The namespace keeps functions sharing a ledger table apart (Powertools uses the function name
//! the same way); the hash keeps the key short and free of input characters. What the canonical
//! text of a piece of work is belongs to its owner (for cost-etl jobs: the job contract crate).

/// The lowercase hex SHA-256 of `text`.
pub fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The ledger key of one piece of work.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key of the work whose canonical text is `canonical`.
    pub fn derive(namespace: &str, canonical: &str) -> IdempotencyKey {
        IdempotencyKey::from_digest(namespace, &sha256_hex(canonical))
    }

    /// The key from a digest already computed with [`sha256_hex`].
    pub fn from_digest(namespace: &str, digest: &str) -> IdempotencyKey {
        IdempotencyKey(format!("{namespace}#{digest}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced_digests_of_the_canonical_text() {
        let key = IdempotencyKey::derive("cost-etl", "abc");
        assert_eq!(key.as_str(), "cost-etl#ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(key, IdempotencyKey::from_digest("cost-etl", &sha256_hex("abc")));
        assert_ne!(key, IdempotencyKey::derive("other", "abc"));
    }
}
