//! Exact money: decimal strings from the platforms to integer micros, never through a float.
//!
//! Platforms send spend as a decimal string in the account currency ("1234.5", "0.01",
//! "98765432.123456"). A binary float cannot hold most of those exactly, so the digits are
//! read as integers: the whole part times 1,000,000 plus the first six fraction digits, with
//! checked arithmetic so an absurd value is an error instead of a wrapped number.

/// Micros per currency unit.
pub const MICROS_PER_UNIT: i64 = 1_000_000;

/// Longest decimal string accepted; i64 micros top out at about 9.2e12 units, so anything
/// longer is not an amount (and is refused before any work is done on it).
const MAX_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("{0:?} is not a decimal amount (expected digits with an optional '-' and '.', e.g. 1234.56)")]
    NotDecimal(String),
    #[error("{0:?} is too large to hold in micros (i64)")]
    Overflow(String),
}

/// Parse a decimal string into micros.
///
/// Fractions finer than a micro are rounded half away from zero (0.0000005 -> 1 micro,
/// -0.0000005 -> -1), the usual commercial rounding; platforms send at most 2-4 decimals, so
/// this only matters for odd inputs. Exponents, signs other than a leading '-', thousands
/// separators, white space, "NaN" and "Infinity" are errors.
pub fn decimal_to_micros(text: &str) -> Result<i64, MoneyError> {
    let bad = || MoneyError::NotDecimal(common::text::bounded(text, MAX_LEN));
    if text.len() > MAX_LEN {
        return Err(bad());
    }
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((w, f)) => (w, f),
        None => (unsigned, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || (unsigned.contains('.') && fraction.is_empty()) {
        return Err(bad());
    }
    let overflow = || MoneyError::Overflow(common::text::bounded(text, MAX_LEN));

    let mut units: i64 = 0;
    for b in whole.bytes() {
        units = units.checked_mul(10).and_then(|u| u.checked_add(i64::from(b - b'0'))).ok_or_else(overflow)?;
    }
    let mut micros: i64 = 0;
    let mut scale = MICROS_PER_UNIT;
    for b in fraction.bytes().take(6) {
        scale /= 10;
        micros += i64::from(b - b'0') * scale;
    }
    // Half away from zero: the seventh fraction digit decides.
    if fraction.as_bytes().get(6).is_some_and(|b| *b >= b'5') {
        micros += 1;
    }
    let magnitude = units.checked_mul(MICROS_PER_UNIT).and_then(|m| m.checked_add(micros)).ok_or_else(overflow)?;
    Ok(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_and_fractional_amounts_are_exact() {
        let cases = [
            ("0", 0),
            ("0.00", 0),
            ("1", 1_000_000),
            ("12.34", 12_340_000),
            ("1234.5", 1_234_500_000),
            ("0.01", 10_000),
            ("0.000001", 1),
            ("98765432.123456", 98_765_432_123_456),
            ("007.5", 7_500_000),
            // 0.1 + 0.2 style values that a float gets wrong.
            ("0.3", 300_000),
            ("1.005", 1_005_000),
            ("-12.5", -12_500_000),
            ("-0", 0),
        ];
        for (text, micros) in cases {
            assert_eq!(decimal_to_micros(text), Ok(micros), "{text}");
        }
    }

    #[test]
    fn sub_micro_fractions_round_half_away_from_zero() {
        assert_eq!(decimal_to_micros("0.0000004"), Ok(0));
        assert_eq!(decimal_to_micros("0.0000005"), Ok(1));
        assert_eq!(decimal_to_micros("0.00000049999"), Ok(0));
        assert_eq!(decimal_to_micros("1.9999995"), Ok(2_000_000));
        assert_eq!(decimal_to_micros("-0.0000005"), Ok(-1));
        assert_eq!(decimal_to_micros("-2.1234564"), Ok(-2_123_456));
    }

    #[test]
    fn large_values_are_exact_up_to_the_i64_limit_and_then_an_error() {
        // KRW and JPY accounts spend in the billions of units.
        assert_eq!(decimal_to_micros("12345678901"), Ok(12_345_678_901_000_000));
        let max_units = i64::MAX / MICROS_PER_UNIT; // 9_223_372_036_854
        assert_eq!(decimal_to_micros("9223372036854.775807"), Ok(i64::MAX));
        assert_eq!(decimal_to_micros(&max_units.to_string()), Ok(max_units * MICROS_PER_UNIT));
        assert!(matches!(decimal_to_micros("9223372036854.775808"), Err(MoneyError::Overflow(_))));
        assert!(matches!(decimal_to_micros("9223372036855"), Err(MoneyError::Overflow(_))));
        assert!(matches!(decimal_to_micros("99999999999999999999999"), Err(MoneyError::Overflow(_))));
    }

    #[test]
    fn anything_but_a_plain_decimal_is_refused() {
        for text in ["", "-", ".", "1.", ".5", "+1", " 1", "1 ", "1,000.00", "1e3", "1.2.3", "NaN", "Infinity", "--1", "0x10", "١٢", &"9".repeat(65)] {
            assert!(matches!(decimal_to_micros(text), Err(MoneyError::NotDecimal(_))), "{text:?} should be refused");
        }
    }
}
