//! A stable digest of a trace (FNV-1a over its JSON): it shows that native and wasm32 simulate identically, and
//! that the trace a client assembled from a live run is the companion's record of it. The JSON is hashed as it
//! is written, never held: a run of a million events is about 80 MB of it.

use crate::i18n::Text;
use crate::trace::{Actor, Event, RunInfo, Trace};
use serde::Serialize;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a, 64 bits: tiny, portable and good enough to tell two traces apart.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hasher = Fnv1a(FNV_OFFSET);
    hasher.eat(bytes);
    hasher.0
}

/// FNV-1a as a writer, so JSON can be hashed while it is serialised.
struct Fnv1a(u64);

impl Fnv1a {
    fn eat(&mut self, bytes: &[u8]) {
        self.0 = bytes.iter().fold(self.0, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(FNV_PRIME));
    }
}

impl std::io::Write for Fnv1a {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.eat(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn digest_of(value: &impl Serialize) -> String {
    let mut hasher = Fnv1a(FNV_OFFSET);
    // Serialising plain data with string keys into a writer that never fails cannot fail.
    let _ = serde_json::to_writer(&mut hasher, value);
    format!("{:016x}", hasher.0)
}

/// The digest of a trace's canonical JSON, as 16 hex digits.
pub fn trace_digest(trace: &Trace) -> String {
    digest_of(trace)
}

/// A trace's fields, borrowed: serialises exactly as [`Trace`] does (a test holds them to it).
#[derive(Serialize)]
struct TraceParts<'a> {
    run: &'a RunInfo,
    actors: &'a [Actor],
    events: Vec<&'a Event>,
    notes: &'a [Text],
}

/// The digest of the trace these parts make, without building it: `events` in the order they were recorded,
/// put in time order here as [`Trace::sort_events`] would (stably). A record of a million events costs a
/// pointer per event here instead of a copy.
pub fn parts_digest<'a>(
    run: &'a RunInfo,
    actors: &'a [Actor],
    events: impl Iterator<Item = &'a Event>,
    notes: &'a [Text],
) -> String {
    let mut events: Vec<&Event> = events.collect();
    events.sort_by_key(|e| e.t);
    digest_of(&TraceParts { run, actors, events, notes })
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

    #[test]
    fn the_parts_digest_is_the_digest_of_the_trace_they_make() {
        let params = crate::ParamSet::new();
        let mut trace = crate::lab::simulate(crate::LabId::Lock, &params, 3).expect("the defaults are valid");
        trace.notes.push(Text::new("note.mmap.cold"));
        // Recorded out of time order, as batches from several workers are.
        let mut recorded = trace.events.clone();
        recorded.reverse();
        recorded.sort_by_key(|e| std::cmp::Reverse(e.t.0 / 1_000_000));
        let from_parts = parts_digest(&trace.run, &trace.actors, recorded.iter(), &trace.notes);
        let mut rebuilt = Trace { events: recorded.clone(), ..trace.clone() };
        rebuilt.sort_events();
        assert_eq!(from_parts, trace_digest(&rebuilt));
        assert_eq!(trace_digest(&trace), format!("{:016x}", fnv1a(&serde_json::to_vec(&trace).expect("plain data"))));
    }
}
