//! `PutMetricData` batches: SDK datums whose dimension values CloudWatch accepts (at most 255
//! printable ASCII characters, long or unusual connector names kept distinct by a hash), split so
//! that no call exceeds the API's 1000 datums or its 1 MB request payload.

use super::Datum;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_smithy_types::DateTime as SmithyDateTime;
use chrono::{DateTime, Utc};
use std::ops::Range;

/// `PutMetricData` accepts at most this many datums per call.
pub const MAX_DATUMS_PER_CALL: usize = 1000;

/// Largest estimated payload of one call ([`encoded_size_estimate`] summed over its datums):
/// under the API's 1 MB, with room for the action, version and namespace parameters.
pub const MAX_BATCH_BYTES: usize = 900_000;

/// Longest dimension value sent. CloudWatch allows 1024 characters, but 1000 datums with names
/// that long would exceed the 1 MB payload.
pub const MAX_DIMENSION_CHARS: usize = 255;
/// Characters of a long value kept before `~` and the hash.
const KEPT_CHARS: usize = 240;
/// Hex characters of the value's SHA-256 after the `~`: 240 + 1 + 14 = 255.
const HASH_CHARS: usize = 14;

/// Per datum: the keys `&MetricData.member.NNNN.MetricName=`, `…Timestamp=`, `…Value=` and
/// `…Unit=Count`, the percent-encoded timestamp and the number (about 190 bytes), rounded up.
const DATUM_OVERHEAD: usize = 256;
/// Per dimension: the keys `&MetricData.member.NNNN.Dimensions.member.N.Name=` and `…Value=`
/// (about 100 bytes), rounded up.
const DIMENSION_OVERHEAD: usize = 128;

/// The SDK datums of a run, one timestamp, split into `PutMetricData`-sized batches (in order,
/// none lost).
pub fn batches(datums: &[Datum], timestamp: DateTime<Utc>) -> Vec<Vec<MetricDatum>> {
    lazy_batches(datums, timestamp).collect()
}

/// [`batches`], each built only when it is taken: an SDK datum is several times the size of a
/// [`Datum`] (about half a kilobyte with its strings), so a run of 10,000 datums holds one batch
/// of them at a time, not all of them.
pub fn lazy_batches(datums: &[Datum], timestamp: DateTime<Utc>) -> impl ExactSizeIterator<Item = Vec<MetricDatum>> + '_ {
    let timestamp = SmithyDateTime::from_millis(timestamp.timestamp_millis());
    let sizes: Vec<usize> = datums.iter().map(|d| encoded_size_estimate(&to_sdk(d, timestamp))).collect();
    split_ranges(&sizes, MAX_DATUMS_PER_CALL, MAX_BATCH_BYTES).into_iter().map(move |range| datums[range].iter().map(|d| to_sdk(d, timestamp)).collect::<Vec<MetricDatum>>())
}

fn to_sdk(datum: &Datum, timestamp: SmithyDateTime) -> MetricDatum {
    let mut builder = MetricDatum::builder()
        .metric_name(datum.name)
        .unit(StandardUnit::Count)
        .value(datum.value)
        .timestamp(timestamp)
        .dimensions(Dimension::builder().name("Cluster").value(dimension_value(&datum.cluster)).build());
    if let Some(connector) = &datum.connector {
        builder = builder.dimensions(Dimension::builder().name("Connector").value(dimension_value(connector)).build());
    }
    builder.build()
}

/// A dimension value CloudWatch accepts: `value` itself when it is 1 to 255 printable ASCII
/// characters, not all blank. Otherwise its first 240 characters (any that is not printable
/// ASCII as `?`), `~` and the first 14 hex characters of its SHA-256, so two names that share
/// those 240 characters stay two metrics. The report keeps the full name.
pub fn dimension_value(value: &str) -> String {
    let printable = |c: char| c.is_ascii() && !c.is_ascii_control();
    let acceptable = value.chars().all(printable) && value.chars().any(|c| !c.is_ascii_whitespace());
    if acceptable && value.len() <= MAX_DIMENSION_CHARS {
        // All ASCII here, so bytes are characters.
        return value.to_string();
    }
    let kept: String = value.chars().take(KEPT_CHARS).map(|c| if printable(c) { c } else { '?' }).collect();
    format!("{kept}~{}", &common::key::sha256_hex(value)[..HASH_CHARS])
}

/// Bytes one datum can take in the form-encoded (awsQuery) request body, erring high: fixed
/// overheads for its keys, timestamp and value, plus three bytes (`%XX`) for every byte of the
/// metric name and of each dimension's name and value.
pub fn encoded_size_estimate(datum: &MetricDatum) -> usize {
    let text: usize = datum.metric_name().map_or(0, str::len)
        + datum.dimensions().iter().map(|d| d.name().map_or(0, str::len) + d.value().map_or(0, str::len)).sum::<usize>();
    DATUM_OVERHEAD + DIMENSION_OVERHEAD * datum.dimensions().len() + 3 * text
}

/// Consecutive ranges over items of the given `sizes`, each of at most `max_count` items whose
/// sizes sum to at most `max_bytes`; together they cover every item once, in order. (An item
/// larger than `max_bytes` on its own gets a range of its own.)
pub fn split_ranges(sizes: &[usize], max_count: usize, max_bytes: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, &size) in sizes.iter().enumerate() {
        if i > start && (i - start >= max_count || bytes + size > max_bytes) {
            out.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::collections::HashSet;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 0, 5, 0).unwrap()
    }

    fn datum(connector: &str) -> Datum {
        Datum { name: "UnassignedTasks", cluster: "main-cluster".into(), connector: Some(connector.into()), value: 123_456.0 }
    }

    #[test]
    fn batches_hold_at_most_1000_datums_with_one_timestamp() {
        let datum = Datum { name: "RunningTasks", cluster: "c".into(), connector: Some("x".into()), value: 1.0 };
        let many = vec![datum; 2001];
        let b = batches(&many, at());
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [1000, 1000, 1]);
        let first = &b[0][0];
        assert_eq!(first.unit(), Some(&StandardUnit::Count));
        assert_eq!(first.timestamp().unwrap().to_millis().unwrap(), at().timestamp_millis());
        let dims: Vec<(&str, &str)> = first.dimensions().iter().map(|d| (d.name().unwrap(), d.value().unwrap())).collect();
        assert_eq!(dims, [("Cluster", "c"), ("Connector", "x")]);
        assert!(batches(&[], at()).is_empty());
        assert_eq!(batches(&many[..1000], at()).len(), 1);
        assert_eq!(lazy_batches(&many, at()).len(), 3, "the number of batches is known before any is built");
    }

    #[test]
    fn a_long_name_is_cut_to_255_characters_with_a_hash_and_stays_distinct() {
        let long = "c".repeat(1024);
        let cut = dimension_value(&long);
        assert_eq!(cut.chars().count(), MAX_DIMENSION_CHARS);
        assert_eq!(cut, format!("{}~{}", "c".repeat(240), &common::key::sha256_hex(&long)[..14]));
        // Two names that share their first 240 characters.
        let a = format!("{}{}", "n".repeat(240), "a".repeat(16));
        let b = format!("{}{}", "n".repeat(240), "b".repeat(16));
        assert_ne!(dimension_value(&a), dimension_value(&b));
        assert!(dimension_value(&a).len() <= MAX_DIMENSION_CHARS && dimension_value(&a).starts_with(&"n".repeat(240)));
        assert_eq!(dimension_value(&"x".repeat(255)), "x".repeat(255), "255 characters are kept as they are");
        assert_eq!(dimension_value("es-sink"), "es-sink");
    }

    #[test]
    fn values_cloudwatch_would_refuse_become_printable_ascii_with_a_hash() {
        let hash = |v: &str| common::key::sha256_hex(v)[..14].to_string();
        assert_eq!(dimension_value("café-sink"), format!("caf?-sink~{}", hash("café-sink")));
        assert_eq!(dimension_value("a\nb"), format!("a?b~{}", hash("a\nb")));
        assert_eq!(dimension_value("   "), format!("   ~{}", hash("   ")));
        assert_eq!(dimension_value(""), format!("~{}", hash("")));
        assert_ne!(dimension_value("café"), dimension_value("cafè"), "same printable form, different names");
        let wide = dimension_value(&"é".repeat(300));
        assert_eq!(wide.chars().count(), MAX_DIMENSION_CHARS);
        assert!(wide.is_ascii());
    }

    #[test]
    fn ranges_respect_count_and_bytes_and_cover_every_item_in_order() {
        assert_eq!(split_ranges(&[5, 5, 5], 2, 100), [0..2, 2..3]);
        assert_eq!(split_ranges(&[60, 50, 10, 100, 200, 1], 10, 100), [0..1, 1..3, 3..4, 4..5, 5..6], "an oversized item travels alone");
        assert_eq!(split_ranges(&[50, 50], 10, 100), vec![0..2usize; 1], "exactly the limit fits: one range");
        assert!(split_ranges(&[], 10, 100).is_empty());
    }

    /// The datum's form encoding as awsQuery writes it, with a four-digit member index and every
    /// byte of the text percent-encoded: more than the SDK ever sends for it.
    fn worst_case_encoding(d: &MetricDatum) -> usize {
        let encoded = |s: &str| 3 * s.len();
        let prefix = "&MetricData.member.1000.".len();
        let mut n = prefix + "MetricName=".len() + encoded(d.metric_name().unwrap());
        for (i, dim) in d.dimensions().iter().enumerate() {
            n += prefix + format!("Dimensions.member.{}.Name=", i + 1).len() + encoded(dim.name().unwrap());
            n += prefix + format!("Dimensions.member.{}.Value=", i + 1).len() + encoded(dim.value().unwrap());
        }
        n += prefix + "Timestamp=".len() + encoded("2026-11-20T00:05:00.000Z");
        n += prefix + "Value=".len() + d.value().unwrap().to_string().len();
        n + prefix + "Unit=Count".len()
    }

    #[test]
    fn the_size_estimate_is_above_the_encoded_size() {
        let long = batches(&[datum(&"n".repeat(1024))], at()).remove(0).remove(0);
        let cluster_only = batches(&[Datum { name: "ClusterReachable", cluster: "main-cluster".into(), connector: None, value: 1.0 }], at()).remove(0).remove(0);
        for d in [&long, &cluster_only] {
            assert!(encoded_size_estimate(d) >= worst_case_encoding(d), "{} < {}", encoded_size_estimate(d), worst_case_encoding(d));
        }
    }

    #[test]
    fn two_thousand_datums_with_1024_character_names_split_by_size_and_lose_nothing() {
        let many: Vec<Datum> = (0..2000).map(|i| datum(&format!("{}{i:04}", "n".repeat(1020)))).collect();
        let b = batches(&many, at());
        assert!(b.len() > 2, "1000 such datums exceed the payload limit: split by size, not only by count ({} batches)", b.len());
        for batch in &b {
            assert!(!batch.is_empty() && batch.len() <= MAX_DATUMS_PER_CALL);
            let estimate: usize = batch.iter().map(encoded_size_estimate).sum();
            assert!(estimate <= MAX_BATCH_BYTES, "{estimate} > {MAX_BATCH_BYTES}");
        }
        let sent: Vec<MetricDatum> = b.into_iter().flatten().collect();
        let expected: Vec<MetricDatum> = many.iter().map(|d| to_sdk(d, SmithyDateTime::from_millis(at().timestamp_millis()))).collect();
        assert_eq!(sent, expected, "every datum, in order");
        let names: HashSet<&str> = sent.iter().map(|d| d.dimensions()[1].value().unwrap()).collect();
        assert_eq!(names.len(), 2000, "names that share their first 1020 characters stay distinct");
        assert!(names.iter().all(|n| n.chars().count() <= MAX_DIMENSION_CHARS));
    }
}
