//! What a mmap trace says, simulated or measured alike: the lab's figures and the summaries they come from.

use super::*;

/// Per method: (bytes, ns, syscalls, minor faults, major faults) summed over its chunks.
pub fn totals(trace: &Trace) -> Vec<(Method, u64, u64, u64, u64, u64)> {
    let mut out: Vec<(Method, u64, u64, u64, u64, u64)> = Vec::new();
    for e in &trace.events {
        if let EventKind::Mmap(MmapEvent::Chunk { method, bytes, ns, syscalls, minor_faults, major_faults, .. }) =
            e.kind
        {
            match out.iter_mut().find(|r| r.0 == method) {
                Some(r) => {
                    r.1 += bytes;
                    r.2 += ns;
                    r.3 += syscalls;
                    r.4 += minor_faults;
                    r.5 += major_faults;
                }
                None => out.push((method, bytes, ns, syscalls, minor_faults, major_faults)),
            }
        }
    }
    out
}

/// Whether the methods that read the same bytes reported the same checksum: every whole-file method (and the
/// the ceiling's read of the same content) one sum, both random methods (the same pages) another.
pub fn checksums_agree(trace: &Trace) -> Option<bool> {
    let group = |random: bool| -> Vec<u64> {
        trace
            .events
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::Mmap(MmapEvent::Done { method, checksum }) if method.is_partial() == random => {
                    Some(checksum)
                }
                _ => None,
            })
            .collect()
    };
    let (whole, random) = (group(false), group(true));
    let agree = |sums: &[u64]| sums.windows(2).all(|w| w[0] == w[1]);
    (!whole.is_empty()).then(|| agree(&whole) && agree(&random))
}

pub fn metrics(trace: &Trace) -> Vec<Metric> {
    let totals = totals(trace);
    let ceiling = totals.iter().find(|r| r.0 == Method::Memcpy).map(|r| r.1 as f64 / r.2.max(1) as f64);
    let mut out = Vec::new();
    for (method, bytes, ns, syscalls, minor, major) in &totals {
        let key = method.key();
        // Every pass but the ceiling's: its system calls and page faults.
        let counts = [
            Metric::new(
                &format!("{key}_syscalls"),
                Text::new("metric.mmap.syscalls"),
                Unit::Count,
                Some(*syscalls as f64),
            ),
            Metric::new(
                &format!("{key}_faults"),
                Text::new("metric.mmap.faults"),
                Unit::Count,
                Some((*minor + *major) as f64),
            ),
        ];
        if method.is_write() {
            out.extend(write_metrics(trace, *method, *bytes, *ns));
            out.extend(counts);
            continue;
        }
        let gbps = *bytes as f64 / (*ns).max(1) as f64;
        out.push(Metric::new(
            &format!("{key}_gbps"),
            Text::new("metric.mmap.gbps").with_text("method", method.name()),
            Unit::Ratio,
            Some(gbps),
        ));
        if *method != Method::Memcpy {
            out.push(Metric::new(
                &format!("{key}_of_ceiling"),
                Text::new("metric.mmap.of_ceiling"),
                Unit::Ratio,
                ceiling.map(|c| gbps / c),
            ));
            out.extend(counts);
        }
    }
    out.extend(refusal_metrics(trace));
    if let Source::Measured { .. } = trace.run.source
        && totals.iter().any(|r| !r.0.is_write())
    {
        out.push(Metric::new(
            "checksums_agree",
            Text::new("metric.mmap.checksums_agree"),
            Unit::Count,
            checksums_agree(trace).map(|a| f64::from(u8::from(a))),
        ));
    }
    out
}

/// A write pass's figures: its speed before and with the sync, the sync, the dirty pages before and after it,
/// and (measured) whether the file re-read holds what it should.
fn write_metrics(trace: &Trace, method: Method, bytes: u64, ns: u64) -> Vec<Metric> {
    let key = method.key();
    let sync = trace.events.iter().find_map(|e| match e.kind {
        EventKind::Mmap(MmapEvent::Synced { method: m, ns, dirty_before, dirty_after }) if m == method => {
            Some((ns, dirty_before, dirty_after))
        }
        _ => None,
    });
    let verified = trace.events.iter().find_map(|e| match e.kind {
        EventKind::Mmap(MmapEvent::Verified { method: m, file_ok }) if m == method => Some(file_ok),
        _ => None,
    });
    let named = |what: &str| Text::new(what).with_text("method", method.name());
    let mut out = vec![
        Metric::new(
            &format!("{key}_gbps"),
            named("metric.mmap.write_gbps"),
            Unit::Ratio,
            Some(bytes as f64 / ns.max(1) as f64),
        ),
        Metric::new(
            &format!("{key}_durable_gbps"),
            Text::new("metric.mmap.durable_gbps"),
            Unit::Ratio,
            sync.map(|(sync_ns, ..)| bytes as f64 / (ns + sync_ns).max(1) as f64),
        ),
        Metric::new(&format!("{key}_sync"), Text::new("metric.mmap.sync"), Unit::Nanos, sync.map(|s| s.0 as f64)),
        Metric::new(
            &format!("{key}_dirty"),
            Text::new("metric.mmap.dirty"),
            Unit::Count,
            sync.and_then(|s| s.1).map(|n| n as f64),
        ),
        Metric::new(
            &format!("{key}_dirty_after"),
            Text::new("metric.mmap.dirty_after"),
            Unit::Count,
            sync.and_then(|s| s.2).map(|n| n as f64),
        ),
    ];
    if let Source::Measured { .. } = trace.run.source {
        out.push(Metric::new(
            &format!("{key}_file_ok"),
            Text::new("metric.mmap.file_ok"),
            Unit::Verdict,
            verified.map(|ok| f64::from(u8::from(ok))),
        ));
    }
    out
}

/// What the kernel refused: the window at an offset off the page (EINVAL) and the write to a PROT_READ mapping
/// (SIGSEGV), each a yes or no where the run tried it.
fn refusal_metrics(trace: &Trace) -> Vec<Metric> {
    let mut out = Vec::new();
    for e in &trace.events {
        match e.kind {
            EventKind::Mmap(MmapEvent::Refused { errno, .. }) => out.push(Metric::new(
                "window_refused",
                Text::new("metric.mmap.window_refused"),
                Unit::Verdict,
                Some(f64::from(u8::from(errno == EINVAL))),
            )),
            EventKind::Mmap(MmapEvent::Signalled { signal, .. }) => out.push(Metric::new(
                "protect_segv",
                Text::new("metric.mmap.protect_segv"),
                Unit::Verdict,
                Some(f64::from(u8::from(signal == SIGSEGV))),
            )),
            _ => {}
        }
    }
    out
}
