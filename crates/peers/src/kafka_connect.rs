//! Local Kafka Connect REST peer (placeholder; see issue 4).
