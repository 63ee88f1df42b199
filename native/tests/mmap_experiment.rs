//! The real mmap experiment: every method reads the same bytes (the checksums agree), system calls are what
//! the buffer sizes say, a size over the limit is refused with the typed error, and the file is gone afterwards.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use shared::lab::mmap::{Method, checksums_agree, totals};
use shared::{LabId, ParamError, ParamSet, ParamValue};

#[test]
fn every_method_reads_the_same_bytes_and_the_file_is_removed() {
    use ParamValue::{Int, Text};
    for cache in ["warm", "cold"] {
        let set = common::params(
            LabId::Mmap,
            &[("size_mib", Int(4)), ("fraction_pct", Int(20)), ("cache", Text(cache.into()))],
        );
        let run = common::run_lab(LabId::Mmap, &set, 3, None);
        run.outcome.unwrap();
        assert!(!run.scratch.exists(), "the scratch directory with the data file survived");
        let trace = run.trace.unwrap();
        assert_eq!(checksums_agree(&trace), Some(true), "{cache}: the methods read different bytes");
        let sums = totals(&trace);
        assert_eq!(sums.len(), Method::all().len());
        for (method, bytes, _, syscalls, ..) in &sums {
            if let Method::Read { buffer_kib } = method {
                assert_eq!(*bytes, 4 << 20);
                // One call per buffer: the pass asks for exactly the bytes of each buffer-aligned chunk.
                assert_eq!(*syscalls, (4u64 << 20).div_ceil(u64::from(*buffer_kib) << 10), "{method:?}");
            }
        }
    }
}

#[test]
fn a_size_over_the_limit_is_refused_with_the_typed_error() {
    let given: ParamSet = [("size_mib".to_owned(), ParamValue::Int(4_096))].into_iter().collect();
    let err = LabId::Mmap.validate(&given).unwrap_err();
    assert_eq!(err, ParamError::OutOfRange { key: "size_mib".into(), min: 1.0, max: 1024.0, value: 4096.0 });
}
