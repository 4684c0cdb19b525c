//! The memory a function was given, and what one unit of its work may hold.
//!
//! Lambda sets `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (MB) for the function; when the process passes
//! it, Lambda kills the invocation ("Runtime exited ... signal: killed") and every record of the
//! batch comes back, so one hostile answer would cost the work of all the others. Every byte cap
//! a function applies to input it does not control is derived from this budget instead of being a
//! fixed constant: what the runtime itself needs is set aside, the rest is shared by the units
//! that may run at once (jobs of a batch, clusters of a run), and each unit's caps come from its
//! share.

use crate::config::{ConfigError, Env};

/// The variable Lambda sets.
pub const MEMORY_SIZE_VAR: &str = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";

/// Used when the variable is not set (a test, a local run): Lambda's own default.
pub const DEFAULT_MEMORY_MB: u64 = 128;

/// Lambda's range of memory sizes, MB.
pub const MEMORY_MB_RANGE: std::ops::RangeInclusive<u64> = 128..=10_240;

/// Set aside for the process itself before anything is shared out: the binary, the tokio
/// runtime, TLS and SDK clients, allocator slack (a release build sits near 15 MiB resident;
/// a debug build near 30 MiB).
pub const RUNTIME_RESERVE_BYTES: u64 = 40 * MIB;

/// Of what is left, the share caps may hand out: the rest covers what is derived from what was
/// read (parsed rows, the serialized output, request bodies), which is bounded by, but not
/// included in, the bytes read.
pub const SHAREABLE_PERCENT: u64 = 50;

const MIB: u64 = 1024 * 1024;

/// The function's memory and its division into per-unit shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBudget {
    total: u64,
}

impl MemoryBudget {
    /// From `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`; a value outside Lambda's range is a
    /// configuration error (it would make every derived cap wrong).
    pub fn from_env(env: &Env) -> Result<MemoryBudget, ConfigError> {
        let mb = env.number_in(MEMORY_SIZE_VAR, DEFAULT_MEMORY_MB, MEMORY_MB_RANGE, "MB")?;
        Ok(MemoryBudget::from_mb(mb))
    }

    pub fn from_mb(mb: u64) -> MemoryBudget {
        MemoryBudget { total: mb.saturating_mul(MIB) }
    }

    /// The whole budget, MB (as Lambda counts it).
    pub fn total_mb(self) -> u64 {
        self.total / MIB
    }

    /// What one of `units` running at once may hold, bytes (at least 1 MiB, so a tiny budget
    /// still reads small answers and fails big ones with a clear reason rather than none).
    pub fn per_unit(self, units: usize) -> usize {
        let shareable = self.total.saturating_sub(RUNTIME_RESERVE_BYTES).saturating_mul(SHAREABLE_PERCENT) / 100;
        let share = shareable / (units.max(1) as u64);
        usize::try_from(share.max(MIB)).unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_shrink_with_units_and_grow_with_memory() {
        let small = MemoryBudget::from_mb(128);
        let big = MemoryBudget::from_mb(512);
        assert_eq!(small.per_unit(1), ((128 - 40) * MIB / 2) as usize);
        assert!(small.per_unit(4) < small.per_unit(1));
        assert!(big.per_unit(4) > small.per_unit(4));
        // Shares of all units together stay within the shareable part.
        for units in 1..=100 {
            assert!(big.per_unit(units) as u64 * units as u64 <= (512 - 40) * MIB / 2 || big.per_unit(units) == MIB as usize);
        }
    }

    #[test]
    fn never_below_one_mib() {
        assert_eq!(MemoryBudget::from_mb(128).per_unit(10_000), MIB as usize);
        assert_eq!(MemoryBudget::from_mb(0).per_unit(1), MIB as usize);
    }

    #[test]
    fn read_from_the_lambda_variable() {
        assert_eq!(MemoryBudget::from_env(&Env::from_pairs([])).unwrap().total_mb(), 128);
        for edge in [128, 1769, 10_240] {
            assert_eq!(MemoryBudget::from_env(&Env::from_pairs([(MEMORY_SIZE_VAR, edge.to_string().as_str())])).unwrap().total_mb(), edge);
        }
        for bad in ["64", "10241", "lots"] {
            let err = MemoryBudget::from_env(&Env::from_pairs([(MEMORY_SIZE_VAR, bad)])).unwrap_err();
            assert!(err.to_string().contains(MEMORY_SIZE_VAR), "{err}");
        }
    }
}
