//! The mmap lab's write passes: the same bytes written with pwrite(2) and made durable with fsync, through a
//! MAP_SHARED mapping made durable with msync, through a MAP_PRIVATE mapping (copy-on-write: the process sees
//! its bytes, the file keeps its own), through a window of the file mapped at an offset (the kernel maps from a
//! page boundary only), and through a mapping made PROT_READ (the write is a SIGSEGV) then granted the write with
//! mprotect. The model charges calls, the copy into memory, the write faults (a private mapping's copy one page each, a
//! shared one's map what the kernel gives a write fault: a page, a large folio, or fewer pages where the
//! mapping starts off a folio's boundary) and, at the sync, the dirty
//! pages at the write-back's speed after the sync's own latency.

use super::*;
use crate::params::Reader;

/// pwrite(2)'s buffer: the file is written in pieces of this many KiB.
pub const WRITE_BUFFER_KIB: u64 = 64;
/// Linux's errno for a mapping at an offset that is not a multiple of the page.
pub const EINVAL: i32 = 22;
/// Linux's signal for a write to memory mapped without PROT_WRITE.
pub const SIGSEGV: i32 = 11;

/// The window the window pass maps: the offset asked for, the page boundary below it where the mapping really
/// starts, and how many bytes from the asked offset it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub asked: u64,
    pub mapped: u64,
    pub len: u64,
}

impl Window {
    /// The bytes between the mapping's start and the asked offset, skipped inside the mapping.
    pub fn lead(&self) -> u64 {
        self.asked - self.mapped
    }

    /// The length of the mapping: the lead and the window.
    pub fn map_len(&self) -> u64 {
        self.lead() + self.len
    }

    /// Whether the asked offset is itself a page boundary (a mapping there is not refused).
    pub fn aligned(&self) -> bool {
        self.lead() == 0
    }

    /// The pages the window's bytes fall on.
    pub fn pages(&self, page: u64) -> u64 {
        self.map_len().div_ceil(page)
    }
}

/// The window offset in bytes, which must fall inside the file.
pub(super) fn window_offset(r: &Reader<'_>) -> Result<u64, ParamError> {
    let (offset_kib, size_kib) = (r.uint("offset_kib"), r.uint("size_mib") << 10);
    if offset_kib >= size_kib {
        return Err(ParamError::OutOfRange {
            key: "offset_kib".to_owned(),
            min: 0.0,
            max: (size_kib - 1) as f64,
            value: offset_kib as f64,
        });
    }
    Ok(offset_kib << 10)
}

impl MmapParams {
    /// The window pass's mapping in this run's pages, cut at the file's end.
    pub fn window_map(&self) -> Window {
        let mapped = self.offset / self.page * self.page;
        Window { asked: self.offset, mapped, len: self.window.min(self.size - self.offset) }
    }

    /// The bytes a write pass writes: the whole file, or the window.
    pub fn written(&self, method: Method) -> u64 {
        if method == Method::MmapWindow { self.window_map().len } else { self.size }
    }

    /// The pages a write pass writes.
    pub fn written_pages(&self, method: Method) -> u64 {
        if method == Method::MmapWindow { self.window_map().pages(self.page) } else { self.pages() }
    }

    /// The pages a write pass makes dirty: the kernel marks a whole folio dirty (the pages a write fault maps,
    /// [`MmapParams::write_fault_pages`]), so a window dirties every folio it touches in full.
    pub fn dirtied_pages(&self, method: Method) -> u64 {
        let folio = self.write_fault_pages.max(1);
        let (first, end) = match method {
            Method::MmapWindow => {
                let w = self.window_map();
                (w.mapped / self.page, w.mapped / self.page + w.pages(self.page))
            }
            _ => (0, self.pages()),
        };
        ((end.div_ceil(folio) - first / folio) * folio).min(self.pages())
    }
}

/// The modelled cost of a write pass before its sync: (bytes written, ns, syscalls, minor faults, major faults).
pub(super) fn model_write(p: &MmapParams, method: Method) -> (u64, f64, u64, u64, u64) {
    let bytes = p.written(method);
    let copy = bytes as f64 / p.write_gbps;
    if method == Method::Pwrite {
        let calls = bytes.div_ceil(WRITE_BUFFER_KIB << 10);
        // Whole pages overwritten: the kernel does not read them first, cold or warm.
        return (bytes, bytes as f64 / p.pwrite_gbps, calls, 0, 0);
    }
    let pages = p.written_pages(method);
    // A private mapping copies one page a fault; a shared one maps as many as the kernel gives a write fault.
    let (faults, per_fault) = match method {
        Method::MmapPrivate => (pages, p.cow_fault_ns),
        // A window that starts off a folio's boundary cannot have its folios mapped whole.
        Method::MmapWindow if !(p.window_map().mapped / p.page).is_multiple_of(p.write_fault_pages.max(1)) => {
            (pages.div_ceil(p.off_folio_fault_pages.max(1)), p.off_folio_fault_ns)
        }
        _ => (pages.div_ceil(p.write_fault_pages.max(1)), p.write_fault_ns),
    };
    // A cold mapping's first write reads its page from the disk before the process may change it.
    let disk = if p.cold {
        (pages * p.page) as f64 / (p.disk_mbps * 1e6) * 1e9 + faults as f64 * p.disk_latency_ns
    } else {
        0.0
    };
    let (minor, major) = if p.cold { (0, faults) } else { (faults, 0) };
    // The mapping calls: mmap, and mprotect after the refused write.
    let calls = if method == Method::MmapProtect { 2 } else { 1 };
    let ns = calls as f64 * p.syscall_ns + faults as f64 * per_fault + copy + disk;
    (bytes, ns, calls, minor, major)
}

/// The modelled sync of a write pass: (ns, dirty pages before, dirty pages after). A private mapping dirtied no
/// page of the file, so its msync has nothing to write.
pub fn model_sync(p: &MmapParams, method: Method) -> (u64, u64, u64) {
    let dirty = if method == Method::MmapPrivate { 0 } else { p.dirtied_pages(method) };
    let disk = if dirty == 0 { 0.0 } else { p.sync_latency_ns + (dirty * p.page) as f64 / (p.sync_mbps * 1e6) * 1e9 };
    (libm::round(p.syscall_ns + disk) as u64, dirty, 0)
}

/// What the kernel refuses before the pass: a window at an offset off the page (EINVAL), a write to a PROT_READ
/// mapping (SIGSEGV).
pub fn refusal(p: &MmapParams, method: Method) -> Option<MmapEvent> {
    match method {
        Method::MmapWindow if !p.window_map().aligned() => Some(MmapEvent::Refused { method, errno: EINVAL }),
        Method::MmapProtect => Some(MmapEvent::Signalled { method, signal: SIGSEGV }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamValue;

    fn params(pairs: &[(&str, ParamValue)]) -> MmapParams {
        let mut given: ParamSet = pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        given.insert("mode".to_owned(), ParamValue::Text("write".into()));
        MmapParams::parse(&given).unwrap()
    }

    #[test]
    fn the_window_maps_from_the_page_below_the_asked_offset_and_stops_at_the_files_end() {
        let p = params(&[("size_mib", ParamValue::Int(4)), ("offset_kib", ParamValue::Int(1_001))]);
        let w = p.window_map();
        assert_eq!((w.asked, w.mapped, w.lead()), (1_001 * 1_024, 250 * 4_096, 1_024));
        assert_eq!(w.len, (4 << 20) - 1_001 * 1_024, "16 MiB asked, cut at the end of a 4 MiB file");
        assert!(!w.aligned());
        assert!(matches!(refusal(&p, Method::MmapWindow), Some(MmapEvent::Refused { errno: EINVAL, .. })));
        let aligned = params(&[("offset_kib", ParamValue::Int(1_024))]);
        assert!(aligned.window_map().aligned() && refusal(&aligned, Method::MmapWindow).is_none());
        // In 16 KiB pages the same offset maps from a lower boundary.
        assert_eq!(p.with_page(16_384).window_map().mapped, 62 * 16_384);
    }

    #[test]
    fn an_offset_past_the_file_is_a_typed_error() {
        let mut given: ParamSet = [("size_mib", ParamValue::Int(1)), ("offset_kib", ParamValue::Int(1_024))]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        given.insert("mode".to_owned(), ParamValue::Text("write".into()));
        let err = MmapParams::parse(&given).unwrap_err();
        assert!(matches!(err, ParamError::OutOfRange { ref key, max, .. } if key == "offset_kib" && max == 1_023.0));
    }

    #[test]
    fn mappings_fault_once_per_written_page_and_only_shared_writes_leave_dirty_pages() {
        let p = params(&[("size_mib", ParamValue::Int(8))]);
        let pages = p.pages();
        for method in [Method::MmapShared, Method::MmapPrivate, Method::MmapProtect] {
            assert_eq!(model_write(&p, method).3, pages, "{method:?}");
        }
        assert_eq!(model_write(&p, Method::Pwrite).2, (8 << 20) / (64 << 10), "one call per 64 KiB");
        assert_eq!(model_sync(&p, Method::MmapPrivate).1, 0, "copy-on-write pages are the process's own");
        assert_eq!(model_sync(&p, Method::MmapShared).1, pages);
        assert!(model_sync(&p, Method::MmapShared).0 > model_sync(&p, Method::MmapPrivate).0);
        // A shared write fault maps as many pages as the kernel gives it; a private one copies one.
        let folios = params(&[("size_mib", ParamValue::Int(8)), ("write_fault_pages", ParamValue::Int(16))]);
        assert_eq!(model_write(&folios, Method::MmapShared).3, pages / 16);
        assert_eq!(model_write(&folios, Method::MmapPrivate).3, pages);
        assert!(model_write(&folios, Method::MmapPrivate).1 > model_write(&folios, Method::MmapShared).1);
        assert_eq!(model_sync(&p, Method::MmapWindow).1, p.window_map().pages(p.page));
        // In folios of 256 pages a window from page 250 dirties every folio it touches whole.
        let big = params(&[("size_mib", ParamValue::Int(64)), ("write_fault_pages", ParamValue::Int(256))]);
        assert_eq!(big.window_map().pages(big.page), 4_097);
        assert_eq!(model_sync(&big, Method::MmapWindow).1, 17 * 256);
        assert_eq!(model_sync(&big, Method::MmapShared).1, big.pages());
        // Its mapping starts at page 250, off the folios' boundaries: each write fault maps fault-around's 16.
        assert_eq!(model_write(&big, Method::MmapWindow).3, 4_097u64.div_ceil(16));
        let on_folio = params(&[
            ("size_mib", ParamValue::Int(64)),
            ("write_fault_pages", ParamValue::Int(256)),
            ("offset_kib", ParamValue::Int(1_024)),
        ]);
        assert_eq!(model_write(&on_folio, Method::MmapWindow).3, 16, "a folio a fault from page 256");
    }
}
