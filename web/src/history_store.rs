//! The history's shell: the browser's IndexedDB through rexie. Two stores keyed by an entry's id: `entries`
//! (each [`Entry`] as JSON) and `bodies` (a kept run's trace or a sweep's report, as JSON). Each call opens the
//! database, does its work in one transaction and closes it. What to evict, and what an entry holds, is
//! `shared::history`'s (pure); this file only reads and writes.

use shared::history::{CAP_BYTES, Entry, FORMAT, to_evict};
use shared::i18n::Text;
use wasm_bindgen::JsValue;

const DB: &str = "syslab-history";
const ENTRIES: &str = "entries";
const BODIES: &str = "bodies";

/// Why the history could not be read or written (the browser refused IndexedDB, a private window, a full disk).
fn failed(err: impl std::fmt::Display) -> Text {
    Text::new("ui.history.unavailable").with("detail", err)
}

async fn open() -> Result<rexie::Rexie, Text> {
    rexie::Rexie::builder(DB)
        .version(1)
        .add_object_store(rexie::ObjectStore::new(ENTRIES))
        .add_object_store(rexie::ObjectStore::new(BODIES))
        .build()
        .await
        .map_err(failed)
}

fn key(id: u64) -> JsValue {
    // Ids stay below 2^53 (milliseconds times a thousand), so a JavaScript number holds them exactly.
    JsValue::from_f64(id as f64)
}

/// What the history holds: the entries it can read, newest first, and how many it could not (another
/// format, or damaged).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Listing {
    pub entries: Vec<Entry>,
    pub unreadable: usize,
}

async fn read_all(db: &rexie::Rexie) -> Result<Listing, Text> {
    let tx = db.transaction(&[ENTRIES], rexie::TransactionMode::ReadOnly).map_err(failed)?;
    let values = tx.store(ENTRIES).map_err(failed)?.get_all(None, None).await.map_err(failed)?;
    let mut listing = Listing::default();
    for value in values {
        match value.as_string().and_then(|json| serde_json::from_str::<Entry>(&json).ok()) {
            Some(entry) if entry.format == FORMAT => listing.entries.push(entry),
            _ => listing.unreadable += 1,
        }
    }
    listing.entries.sort_by_key(|e| std::cmp::Reverse(e.id));
    Ok(listing)
}

/// Every entry the history can read, newest first.
pub async fn list() -> Result<Listing, Text> {
    let db = open().await?;
    let listing = read_all(&db).await;
    db.close();
    listing
}

/// Keeps `entry` (and its body): a simulated run saved again replaces its twin; then the oldest entries go
/// while the history is over its cap. Returns how many were evicted.
pub async fn save(entry: Entry, body: Option<String>) -> Result<usize, Text> {
    let db = open().await?;
    let result = async {
        let listing = read_all(&db).await?;
        let twins: Vec<u64> = listing.entries.iter().filter(|e| e.same_simulation(&entry)).map(|e| e.id).collect();
        let mut kept: Vec<Entry> = listing.entries.into_iter().filter(|e| !twins.contains(&e.id)).collect();
        kept.push(entry.clone());
        let evicted = to_evict(&kept, CAP_BYTES);
        let tx = db.transaction(&[ENTRIES, BODIES], rexie::TransactionMode::ReadWrite).map_err(failed)?;
        let (entries, bodies) = (tx.store(ENTRIES).map_err(failed)?, tx.store(BODIES).map_err(failed)?);
        let json = serde_json::to_string(&entry).map_err(failed)?;
        entries.put(&JsValue::from_str(&json), Some(&key(entry.id))).await.map_err(failed)?;
        if let Some(body) = body {
            bodies.put(&JsValue::from_str(&body), Some(&key(entry.id))).await.map_err(failed)?;
        }
        for id in twins.iter().chain(&evicted) {
            entries.delete(key(*id)).await.map_err(failed)?;
            bodies.delete(key(*id)).await.map_err(failed)?;
        }
        tx.done().await.map_err(failed)?;
        Ok(evicted.len())
    }
    .await;
    db.close();
    result
}

/// Gives an entry the reader's name.
pub async fn rename(id: u64, name: String) -> Result<(), Text> {
    let db = open().await?;
    let result = async {
        let tx = db.transaction(&[ENTRIES], rexie::TransactionMode::ReadWrite).map_err(failed)?;
        let store = tx.store(ENTRIES).map_err(failed)?;
        let Some(json) = store.get(key(id)).await.map_err(failed)?.and_then(|v| v.as_string()) else { return Ok(()) };
        let mut entry: Entry = serde_json::from_str(&json).map_err(failed)?;
        entry.name = name;
        let json = serde_json::to_string(&entry).map_err(failed)?;
        store.put(&JsValue::from_str(&json), Some(&key(id))).await.map_err(failed)?;
        tx.done().await.map_err(failed).map(drop)
    }
    .await;
    db.close();
    result
}

/// Forgets an entry and its body.
pub async fn delete(id: u64) -> Result<(), Text> {
    let db = open().await?;
    let result = async {
        let tx = db.transaction(&[ENTRIES, BODIES], rexie::TransactionMode::ReadWrite).map_err(failed)?;
        tx.store(ENTRIES).map_err(failed)?.delete(key(id)).await.map_err(failed)?;
        tx.store(BODIES).map_err(failed)?.delete(key(id)).await.map_err(failed)?;
        tx.done().await.map_err(failed).map(drop)
    }
    .await;
    db.close();
    result
}

/// An entry's body: a kept run's trace or a sweep's report, as JSON (none for a simulated run).
pub async fn body(id: u64) -> Result<Option<String>, Text> {
    let db = open().await?;
    let result = async {
        let tx = db.transaction(&[BODIES], rexie::TransactionMode::ReadOnly).map_err(failed)?;
        let value = tx.store(BODIES).map_err(failed)?.get(key(id)).await.map_err(failed)?;
        Ok(value.and_then(|v| v.as_string()))
    }
    .await;
    db.close();
    result
}
