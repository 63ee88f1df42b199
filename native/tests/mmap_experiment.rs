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
        assert_eq!(sums.len(), Method::reads().len());
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

#[test]
fn the_write_passes_leave_the_file_as_each_should_and_the_lessons_happen() {
    use ParamValue::{Int, Text};
    use shared::lab::mmap::MmapEvent;
    use shared::trace::EventKind;
    let set = common::params(
        LabId::Mmap,
        &[
            ("mode", Text("write".into())),
            ("size_mib", Int(8)),
            ("offset_kib", Int(1_001)),
            ("window_mib", Int(2)),
            ("repeats", Int(2)),
        ],
    );
    let run = common::run_lab(LabId::Mmap, &set, 3, None);
    run.outcome.unwrap();
    assert!(!run.scratch.exists(), "the scratch directory with the data file survived");
    let trace = run.trace.unwrap();
    let metrics = shared::lab::metrics(&trace);
    let figure = |key: &str| metrics.iter().find(|m| m.key == key).and_then(|m| m.value);
    for method in Method::writes() {
        assert_eq!(figure(&format!("{}_file_ok", method.key())), Some(1.0), "{method:?}: the file is wrong");
        // Every dirty page is on the disk after the sync (where the kernel can count them).
        if let Some(after) = figure(&format!("{}_dirty_after", method.key())) {
            assert_eq!(after, 0.0, "{method:?}");
        }
    }
    let pages = (8u64 << 20) / u64::try_from(rustix::param::page_size()).unwrap();
    if let Some(dirty) = figure("mmap_shared_dirty") {
        assert_eq!(dirty, pages as f64, "a shared mapping written whole dirties every page of the file");
        assert_eq!(figure("mmap_private_dirty"), Some(0.0), "copy-on-write pages are not the file's");
    }
    assert_eq!(figure("window_refused"), Some(1.0), "an offset of 1 001 KiB is between pages");
    assert_eq!(figure("protect_segv"), Some(1.0), "the PROT_READ worker took SIGSEGV");
    // A private mapping copies every page it writes: one fault a page.
    let faults = totals(&trace).into_iter().find(|r| r.0 == Method::MmapPrivate).map(|r| r.4 + r.5);
    assert!(faults.is_some_and(|f| f >= pages), "{faults:?} copy-on-write faults for {pages} pages");
    let signals = trace.events.iter().filter(|e| matches!(e.kind, EventKind::Mmap(MmapEvent::Signalled { .. })));
    assert_eq!(signals.count(), 2, "one SIGSEGV per repeat");
}

#[test]
fn a_window_offset_past_the_file_is_refused_with_the_typed_error() {
    let given: ParamSet = [("size_mib", ParamValue::Int(1)), ("offset_kib", ParamValue::Int(2_048))]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let err = LabId::Mmap.validate(&given).unwrap_err();
    assert_eq!(err, ParamError::OutOfRange { key: "offset_kib".into(), min: 0.0, max: 1_023.0, value: 2_048.0 });
}
