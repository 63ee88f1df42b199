//! A run as files other tools open, and back: Chrome's Trace Event format (Perfetto and chrome://tracing open
//! it) with one track per actor and the run's parameters and provenance as metadata, and the run's metrics as
//! CSV. The trace file also carries the run itself under `syslab`, so the page can import a run exported by
//! `syslab run LAB --export FILE` and replay it with the same views. Pure: the page and the command line both
//! call it.

use crate::i18n::Text;
use crate::trace::{Source, Trace};
use serde_json::{Map, Value, json};

/// The version of what `syslab` holds in an exported trace file.
pub const FORMAT: &str = "syslab-trace/1";

/// Why a file could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{}", self.text())]
    NotJson(serde_json::Error),
    #[error("{}", self.text())]
    NotSyslab,
    #[error("{}", self.text())]
    Format(String),
    #[error("{}", self.text())]
    Damaged(serde_json::Error),
    /// The run's parameters are not ones its lab accepts (edited by hand, or from another version).
    #[error("{}", self.text())]
    Params(crate::ParamError),
}

impl ImportError {
    /// The message in words any language can say (its `Display` is the English).
    pub fn text(&self) -> Text {
        match self {
            ImportError::NotJson(e) => Text::new("error.import.not_json").with("detail", e),
            ImportError::NotSyslab => Text::new("error.import.not_syslab"),
            ImportError::Format(found) => Text::new("error.import.format").with("found", found).with("format", FORMAT),
            ImportError::Damaged(e) => Text::new("error.import.damaged").with("detail", e),
            ImportError::Params(e) => Text::new("error.import.params").with_text("detail", e.text()),
        }
    }
}

/// The Chrome Trace Event JSON of a run. Each actor is a thread track (`tid` = actor id + 1) of its process
/// (`pid` = the actor's real process id in a measured run, 1 otherwise), named by metadata events; each event is
/// an instant event on its actor's track, named by what happened, with the event's fields as `args`;
/// timestamps are in microseconds from the start of the run.
pub fn chrome_trace(trace: &Trace) -> Value {
    let track = |actor: u32| {
        let pid = trace.actors.iter().find(|a| a.id.0 == actor).and_then(|a| a.pid).unwrap_or(1);
        (pid, actor + 1)
    };
    let mut events = Vec::with_capacity(trace.events.len() + 2 * trace.actors.len());
    let mut named_processes = Vec::new();
    for actor in &trace.actors {
        let (pid, tid) = track(actor.id.0);
        if !named_processes.contains(&pid) {
            named_processes.push(pid);
            let name = match actor.pid {
                Some(p) => format!("process {p}"),
                None => format!("syslab {} ({})", trace.run.lab.as_str(), trace.run.source.name()),
            };
            events.push(json!({"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": name}}));
        }
        events.push(json!({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": actor.label.to_string()}}));
    }
    for event in &trace.events {
        let (pid, tid) = track(event.actor.0);
        let (name, args) = name_and_args(serde_json::to_value(&event.kind).unwrap_or(Value::Null));
        events.push(json!({
            "ph": "i", "s": "t", "name": name, "cat": trace.run.lab.as_str(),
            "ts": event.t.0 as f64 / 1_000.0, "pid": pid, "tid": tid, "args": args,
        }));
    }
    json!({
        "traceEvents": events,
        "displayTimeUnit": "ns",
        "otherData": other_data(trace),
        "syslab": {"format": FORMAT, "trace": trace},
    })
}

/// The metadata chrome://tracing shows beside the trace: lab, source, seed, every parameter and, for a measured
/// run, its provenance.
fn other_data(trace: &Trace) -> Value {
    let mut data = Map::new();
    data.insert("lab".into(), trace.run.lab.as_str().into());
    data.insert("source".into(), trace.run.source.name().into());
    data.insert("seed".into(), trace.run.seed.to_string().into());
    for (key, value) in &trace.run.params {
        data.insert(format!("param.{key}"), value.to_string().into());
    }
    if let Source::Measured { host, started_unix_ms } = &trace.run.source {
        data.insert("provenance.started".into(), crate::time::utc_rfc3339(*started_unix_ms).into());
        for (key, _, value) in host.provenance() {
            data.insert(format!("provenance.{key}"), value.to_string().into());
        }
    }
    Value::Object(data)
}

/// An event kind `{"lock": {"what": "acquired", "kind": "exclusive"}}` becomes the name `lock.acquired` and the
/// args `{"kind": "exclusive"}`.
fn name_and_args(kind: Value) -> (String, Value) {
    let Value::Object(outer) = kind else { return ("event".into(), Value::Null) };
    let Some((lab, inner)) = outer.into_iter().next() else { return ("event".into(), Value::Null) };
    match inner {
        Value::Object(mut fields) => {
            let what = fields.remove("what").and_then(|w| w.as_str().map(str::to_owned));
            (what.map_or_else(|| lab.clone(), |w| format!("{lab}.{w}")), Value::Object(fields))
        }
        Value::String(what) => (format!("{lab}.{what}"), Value::Object(Map::new())),
        other => (lab, json!({ "value": other })),
    }
}

/// A run's figures as CSV, a row a figure; with the simulation it was set beside, each row also has the
/// simulated figure and the model's signed error against this run's (as a fraction: 0.06 for "+6 %").
pub fn metrics_csv(trace: &Trace, simulated: Option<&Trace>) -> String {
    let mut csv = String::from("lab,source,seed,key,label,unit,value,spread,simulated,model_error\n");
    let sim = simulated.map(crate::lab::metrics).unwrap_or_default();
    let spans = simulated.map_or(crate::fidelity::Spans::Same, |s| crate::fidelity::Spans::of(s, trace));
    let number = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for metric in crate::lab::metrics(trace) {
        let paired = sim.iter().find(|m| m.key == metric.key);
        let error = paired.and_then(|s| crate::fidelity::error(s, &metric, spans)).map(|e| e.0);
        let unit = serde_json::to_value(metric.unit).ok().and_then(|u| u.as_str().map(str::to_owned));
        let row = [
            trace.run.lab.as_str().to_owned(),
            trace.run.source.name().to_owned(),
            trace.run.seed.to_string(),
            metric.key.clone(),
            metric.label.to_string(),
            unit.unwrap_or_default(),
            number(metric.value),
            number(metric.spread),
            number(paired.and_then(|s| s.value)),
            number(error),
        ];
        csv.push_str(&row.iter().map(|field| csv_field(field)).collect::<Vec<_>>().join(","));
        csv.push('\n');
    }
    csv
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
pub(crate) fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// What [`import`] reads of an exported file: the members before the run, and the run itself.
#[derive(Default)]
struct Envelope<'a> {
    /// The `syslab` member's format, once read.
    format: Option<String>,
    /// The run, read as the file was: its format came first and is this version's.
    trace: Option<Trace>,
    /// The run's text, kept unread when it came before its format (a file written by hand).
    early: Option<&'a serde_json::value::RawValue>,
    /// A `syslab` member was there.
    syslab: bool,
    /// A bare trace's members (`syslab run --json`).
    run: bool,
    events: bool,
}

impl Envelope<'_> {
    fn format_is_ours(&self) -> bool {
        self.format.as_deref() == Some(FORMAT)
    }
}

/// Reads an export's members up to its run and stops there: the members are written in name order, so `syslab`
/// comes before Chrome's `traceEvents` (most of the file), which are then not even scanned; and within it
/// `format` before `trace`, so the run is read in the same pass, once its format is known.
struct UpToTheRun<'e, 'a>(&'e mut Envelope<'a>);

/// A map read by its visitor, as a member's value.
struct AsMap<V>(V);

impl<'de, V: serde::de::Visitor<'de>> serde::de::DeserializeSeed<'de> for AsMap<V> {
    type Value = V::Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        deserializer.deserialize_map(self.0)
    }
}

impl<'de> serde::de::Visitor<'de> for UpToTheRun<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an exported run")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use serde::de::IgnoredAny;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                "syslab" => {
                    self.0.syslab = true;
                    return map.next_value_seed(AsMap(TheRun(self.0)));
                }
                "run" => self.0.run = map.next_value::<IgnoredAny>().is_ok(),
                "events" => self.0.events = map.next_value::<IgnoredAny>().is_ok(),
                _ => _ = map.next_value::<IgnoredAny>()?,
            }
        }
        Ok(())
    }
}

/// The `syslab` member: its format, and the run read once the format is known to be this version's.
struct TheRun<'e, 'a>(&'e mut Envelope<'a>);

impl<'de> serde::de::Visitor<'de> for TheRun<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("syslab's format and run")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                "format" => {
                    let format = map.next_value::<Value>()?;
                    self.0.format = Some(format.as_str().unwrap_or("none").to_owned());
                }
                "trace" if self.0.format_is_ours() => {
                    self.0.trace = Some(map.next_value()?);
                    return Ok(());
                }
                // Of another format: not to be read as this one's.
                "trace" if self.0.format.is_some() => return Ok(()),
                "trace" => self.0.early = Some(map.next_value()?),
                _ => _ = map.next_value::<serde::de::IgnoredAny>()?,
            }
        }
        Ok(())
    }
}

/// Where Chrome's events begin in the bytes of a file [`chrome_trace`] wrote: its member `traceEvents`, written
/// after the run. Everything [`import`] reads comes before it, so the page reads a large file up to there and
/// no further; a file laid out otherwise has no such place here, and is read whole.
pub fn chrome_events_at(bytes: &[u8]) -> Option<usize> {
    // Compact JSON, as `chrome_trace` is written: the member can only be this, a quote inside a string being
    // escaped. Found inside the run (a key of that name in it), the run read before it is cut short: the page
    // then reads the rest and imports the whole file.
    memchr::memmem::find(bytes, CHROME_EVENTS).map(|at| at + 1)
}

/// How Chrome's events begin, after the members before them.
const CHROME_EVENTS: &[u8] = b",\"traceEvents\":";

/// How many bytes a search for [`chrome_events_at`] in a file read in pieces must look back into the last piece.
pub const CHROME_EVENTS_OVERLAP: usize = CHROME_EVENTS.len() - 1;

/// The run held in an exported trace file (or a bare trace, as `syslab run --json` prints it).
pub fn import(text: &str) -> Result<Trace, ImportError> {
    let mut envelope = Envelope::default();
    let read = serde::de::DeserializeSeed::deserialize(
        AsMap(UpToTheRun(&mut envelope)),
        &mut serde_json::Deserializer::from_str(text),
    );
    let mut trace: Trace = match envelope {
        // Stopped at the run on purpose, serde_json says the object did not end there: the run is what counts.
        Envelope { trace: Some(trace), .. } => trace,
        Envelope { syslab: true, .. } if envelope.format.is_some() && !envelope.format_is_ours() => {
            return Err(ImportError::Format(envelope.format.unwrap_or_default()));
        }
        Envelope { early: Some(raw), .. } if envelope.format_is_ours() => {
            serde_json::from_str(raw.get()).map_err(ImportError::Damaged)?
        }
        Envelope { syslab: true, .. } if envelope.format_is_ours() => {
            return Err(read.err().map_or(ImportError::NotSyslab, ImportError::Damaged));
        }
        Envelope { syslab: true, format: None, .. } if read.is_ok() || envelope.early.is_some() => {
            return Err(ImportError::Format("none".into()));
        }
        Envelope { syslab: false, run: true, events: true, .. } => {
            serde_json::from_str(text).map_err(ImportError::Damaged)?
        }
        // JSON of another shape is not a syslab file; what is not JSON says where it broke.
        Envelope { .. } => {
            return Err(match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                Ok(_) => ImportError::NotSyslab,
                Err(e) => ImportError::NotJson(e),
            });
        }
    };
    // Everything that reads a trace may rely on its parameters being valid for its lab.
    trace.run.params = trace.run.lab.validate(&trace.run.params).map_err(ImportError::Params)?;
    trace.sort_events();
    Ok(trace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("p99 wait"), "p99 wait");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn event_names_come_from_the_lab_and_what_happened() {
        let (name, args) = name_and_args(json!({"lock": {"what": "acquired", "kind": "exclusive"}}));
        assert_eq!(name, "lock.acquired");
        assert_eq!(args, json!({"kind": "exclusive"}));
        assert_eq!(name_and_args(json!({"io": "ready"})).0, "io.ready");
    }

    #[test]
    fn files_that_are_not_syslab_exports_are_refused_with_a_reason() {
        assert!(matches!(import("nope"), Err(ImportError::NotJson(_))));
        assert!(matches!(import("[1, 2]"), Err(ImportError::NotSyslab)));
        assert!(matches!(import(r#"{"syslab": 5}"#), Err(ImportError::NotSyslab)));
        assert!(matches!(import(r#"{"traceEvents": []}"#), Err(ImportError::NotSyslab)));
        assert!(matches!(import(r#"{"syslab": {"format": "syslab-trace/9"}}"#), Err(ImportError::Format(_))));
        assert!(matches!(
            import(r#"{"syslab": {"format": "syslab-trace/1", "trace": 5}}"#),
            Err(ImportError::Damaged(_))
        ));
        // Nothing past the run is read: Chrome's events may be cut short.
        let trace = crate::lab::simulate(crate::LabId::Amdahl, &crate::ParamSet::new(), 1).unwrap();
        let exported = chrome_trace(&trace).to_string();
        let cut = &exported[..exported.find("\"traceEvents\"").unwrap() + 20];
        assert_eq!(import(cut).unwrap(), import(&exported).unwrap());
        // The page reads no further than where they begin.
        let at = chrome_events_at(exported.as_bytes()).unwrap();
        assert!(exported[at..].starts_with("\"traceEvents\":["));
        assert_eq!(import(&exported[..at]).unwrap(), trace);
        // A run with such a member of its own is cut short there, and refused rather than read otherwise.
        let mut noted = trace.clone();
        noted.notes.push(Text::new("note.methods.halves").with("a", 1).with("traceEvents", 2));
        let exported = chrome_trace(&noted).to_string();
        let at = chrome_events_at(exported.as_bytes()).unwrap();
        assert!(at < exported.find("\"traceEvents\":[").unwrap(), "found in the run first");
        assert!(matches!(import(&exported[..at]), Err(ImportError::Damaged(_))));
        assert_eq!(import(&exported).unwrap(), noted);
        // Nor would a bare trace have such a place.
        assert_eq!(chrome_events_at(serde_json::to_string(&trace).unwrap().as_bytes()), None);
    }
}
