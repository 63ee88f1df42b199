//! The mmap lab's write passes as the model runs them: whatever the parameters, every pass writes what it says
//! in its chunks and then syncs once, only shared writes leave dirty pages and the sync leaves none, a window
//! is refused exactly when its offset is between pages, and the PROT_READ write is a SIGSEGV once.

#![cfg(not(target_arch = "wasm32"))]
// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use shared::lab::mmap::{EINVAL, Method, MmapEvent, MmapParams, SIGSEGV, totals};
use shared::trace::EventKind;
use shared::{LabId, ParamSet, ParamValue};

fn write_params(size_mib: i64, offset_kib: i64, window_mib: i64, folio: i64, cold: bool) -> ParamSet {
    let given: ParamSet = [
        ("mode", ParamValue::Text("write".into())),
        ("size_mib", ParamValue::Int(size_mib)),
        ("offset_kib", ParamValue::Int(offset_kib)),
        ("window_mib", ParamValue::Int(window_mib)),
        ("write_fault_pages", ParamValue::Int(folio)),
        ("cache", ParamValue::Text(if cold { "cold" } else { "warm" }.into())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    LabId::Mmap.validate(&given).unwrap()
}

proptest! {
    #[test]
    fn every_write_pass_writes_syncs_and_is_refused_as_the_kernel_would(
        size_mib in 1i64..64,
        offset_frac in 0.0f64..1.0,
        window_mib in 1i64..64,
        folio in 1i64..600,
        cold in any::<bool>(),
    ) {
        let offset_kib = ((size_mib * 1_024) as f64 * offset_frac) as i64;
        let set = write_params(size_mib, offset_kib, window_mib, folio, cold);
        let p = MmapParams::parse(&set).unwrap();
        let trace = shared::lab::simulate(LabId::Mmap, &set, 1).unwrap();
        prop_assert!(trace.events.windows(2).all(|w| w[0].t <= w[1].t));
        let sums = totals(&trace);
        prop_assert_eq!(sums.iter().map(|r| r.0).collect::<Vec<_>>(), Method::writes());
        for (method, bytes, ..) in &sums {
            prop_assert_eq!(*bytes, p.written(*method), "{:?}", method);
        }
        let mut syncs = 0;
        let (mut refused, mut signalled) = (0, 0);
        for e in &trace.events {
            match e.kind {
                EventKind::Mmap(MmapEvent::Synced { method, dirty_before, dirty_after, .. }) => {
                    syncs += 1;
                    let before = dirty_before.unwrap();
                    prop_assert!(before <= p.pages());
                    match method {
                        Method::MmapPrivate => prop_assert_eq!(before, 0),
                        Method::MmapWindow => prop_assert!(before >= p.window_map().pages(p.page).min(p.pages())),
                        _ => prop_assert_eq!(before, p.pages()),
                    }
                    prop_assert_eq!(dirty_after, Some(0));
                }
                EventKind::Mmap(MmapEvent::Refused { method, errno }) => {
                    refused += 1;
                    prop_assert_eq!((method, errno), (Method::MmapWindow, EINVAL));
                }
                EventKind::Mmap(MmapEvent::Signalled { method, signal }) => {
                    signalled += 1;
                    prop_assert_eq!((method, signal), (Method::MmapProtect, SIGSEGV));
                }
                _ => {}
            }
        }
        prop_assert_eq!(syncs, Method::writes().len());
        prop_assert_eq!(refused, usize::from(offset_kib % 4 != 0));
        prop_assert_eq!(signalled, 1);
        // The mapping starts at the page boundary at or below the asked offset, within one page of it.
        let w = p.window_map();
        prop_assert!(w.mapped.is_multiple_of(p.page) && w.mapped <= w.asked && w.asked - w.mapped < p.page);
        prop_assert!(w.asked + w.len <= p.size);
    }
}

#[test]
fn the_read_mode_keeps_its_passes() {
    let set = LabId::Mmap.validate(&ParamSet::new()).unwrap();
    let trace = shared::lab::simulate(LabId::Mmap, &set, 1).unwrap();
    let methods: Vec<Method> = totals(&trace).into_iter().map(|r| r.0).collect();
    assert_eq!(methods, Method::reads());
}
