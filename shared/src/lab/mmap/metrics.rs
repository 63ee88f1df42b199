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
            out.push(Metric::new(
                &format!("{key}_syscalls"),
                Text::new("metric.mmap.syscalls"),
                Unit::Count,
                Some(*syscalls as f64),
            ));
            out.push(Metric::new(
                &format!("{key}_faults"),
                Text::new("metric.mmap.faults"),
                Unit::Count,
                Some((*minor + *major) as f64),
            ));
        }
    }
    if let Source::Measured { .. } = trace.run.source {
        out.push(Metric::new(
            "checksums_agree",
            Text::new("metric.mmap.checksums_agree"),
            Unit::Count,
            checksums_agree(trace).map(|a| f64::from(u8::from(a))),
        ));
    }
    out
}
