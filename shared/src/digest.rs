//! A stable digest of a trace (FNV-1a over its JSON), used to show that native and wasm32 simulate identically.

use crate::trace::Trace;

/// FNV-1a, 64 bits: tiny, portable and good enough to tell two traces apart.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The digest of a trace's canonical JSON, as 16 hex digits.
pub fn trace_digest(trace: &Trace) -> String {
    // Serialising plain data with string keys cannot fail; an empty input would still give a stable digest.
    let json = serde_json::to_vec(trace).unwrap_or_default();
    format!("{:016x}", fnv1a(&json))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
