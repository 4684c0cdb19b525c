//! Property-test strategies every crate's `tests/props.rs` shares: any text (control characters
//! and every Unicode plane included, which `any::<String>()` leaves out), any JSON value a few
//! levels deep, and byte edits that mutate a valid document (flip, insert, remove, cut).

use proptest::prelude::*;
use serde_json::{Map, Value};

/// Any text, control characters and every Unicode plane included.
pub fn text(max_chars: usize) -> BoxedStrategy<String> {
    prop::collection::vec(any::<char>(), 0..max_chars).prop_map(|chars| chars.into_iter().collect::<String>()).boxed()
}

/// A JSON value of any type, a few levels deep.
pub fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text(40).prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{0,8}", inner), 0..4).prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<String, Value>>())),
        ]
    })
    .boxed()
}

/// Byte edits for [`mutate`]: position, operation, byte.
pub fn edits() -> BoxedStrategy<Vec<(usize, u8, u8)>> {
    prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..6).boxed()
}

/// `bytes` with `edits` applied: a byte flipped, inserted or removed, or the rest cut off.
pub fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    for &(at, op, byte) in edits {
        let at = at % (bytes.len() + 1);
        match op % 8 {
            0..=2 if at < bytes.len() => bytes[at] ^= byte.max(1),
            3..=5 => bytes.insert(at, byte),
            6 if at < bytes.len() => {
                bytes.remove(at);
            }
            7 => bytes.truncate(at),
            _ => {}
        }
    }
    bytes
}
