//! The real mmap experiment: every method reads the same bytes (the checksums agree), system calls are what
//! the buffer sizes say, a size over the limit is refused with the typed error, and the file is gone afterwards.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use native::experiment::{self, CancelFlag, RunContext, RunUpdate, TraceCollector};
use native::scratch::Scratch;
use shared::lab::mmap::{Method, checksums_agree, totals};
use shared::{LabId, ParamError, ParamSet, ParamValue};
use std::path::Path;

fn params(pairs: &[(&str, ParamValue)]) -> Result<ParamSet, ParamError> {
    LabId::Mmap.validate(&pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
}

#[test]
fn every_method_reads_the_same_bytes_and_the_file_is_removed() {
    use ParamValue::{Int, Text};
    for cache in ["warm", "cold"] {
        let set = params(&[("size_mib", Int(4)), ("fraction_pct", Int(20)), ("cache", Text(cache.into()))]).unwrap();
        let base = std::env::temp_dir().join(format!("syslab-mmap-test-{}", std::process::id()));
        let scratch = Scratch::create(&base, 1).unwrap();
        let dir = scratch.path().to_owned();
        let host = native::host::describe(&base);
        let cancel = CancelFlag::default();
        let collector = TraceCollector::default();
        let sink = |update: RunUpdate| {
            collector.add(update);
        };
        let ctx =
            RunContext { scratch: &dir, cancel: &cancel, host: &host, worker_exe: Path::new("unused"), sink: &sink };
        let notes = experiment::run(LabId::Mmap, &set, 3, &ctx).unwrap();
        drop(scratch);
        assert!(!dir.exists(), "the scratch directory with the data file survived");
        let trace = collector.finish(notes).unwrap();
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
        std::fs::remove_dir_all(&base).ok();
    }
}

#[test]
fn a_size_over_the_limit_is_refused_with_the_typed_error() {
    let err = params(&[("size_mib", ParamValue::Int(4_096))]).unwrap_err();
    assert_eq!(err, ParamError::OutOfRange { key: "size_mib".into(), min: 1.0, max: 1024.0, value: 4096.0 });
}
