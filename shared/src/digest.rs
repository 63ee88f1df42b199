//! A stable digest of a trace (FNV-1a over its JSON): it shows that native and wasm32 simulate identically, and
//! names the companion's record of a live run. The JSON is hashed as it is written, never held: a run of a
//! million events is about 80 MB of it. And the digest of a run's messages, which a client checks as they arrive
//! (a hash of each message's text, summed with its sequence number, so any order gives the same sum): hashing
//! the text it already has costs a page almost nothing, where serialising a million events again would cost it
//! half a second at the end of the run.

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

/// A fast 64-bit hash of a message's text, eight bytes at a time (not for adversaries: for telling copies apart).
pub fn message_hash(text: &str) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes = text.as_bytes();
    let mut chunks = bytes.chunks_exact(8);
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(word)).wrapping_mul(K).rotate_left(29);
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    mix(h ^ u64::from_le_bytes(tail))
}

/// splitmix64's finaliser: every input bit reaches every output bit.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Message `seq`'s share of its run's messages digest: the run's digest is the wrapping sum of its messages'
/// shares, so it can be added up in any order.
pub fn message_share(seq: u64, text_hash: u64) -> u64 {
    mix(text_hash ^ seq.wrapping_mul(0xd6e8_feb8_6659_fd93))
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
    fn a_message_hash_tells_texts_apart_and_shares_add_up_in_any_order() {
        assert_ne!(message_hash("{\"a\":1}"), message_hash("{\"a\":2}"));
        assert_ne!(message_hash(""), message_hash(" "));
        assert_ne!(message_hash("12345678"), message_hash("123456789"));
        assert_eq!(message_hash("the same"), message_hash("the same"));
        let shares = [(0, "x"), (1, "y"), (2, "z")].map(|(seq, t)| message_share(seq, message_hash(t)));
        let forward = shares.iter().fold(0u64, |a, s| a.wrapping_add(*s));
        let backward = shares.iter().rev().fold(0u64, |a, s| a.wrapping_add(*s));
        assert_eq!(forward, backward);
        // The same text under another sequence number is another share.
        assert_ne!(message_share(0, message_hash("x")), message_share(1, message_hash("x")));
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
