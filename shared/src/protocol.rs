//! The websocket protocol between the page and the companion: the only place that knows the wire format.
//!
//! JSON text frames, one message each, tagged by `type`. The client opens with `hello`; the server answers with
//! its own `hello` (protocol version, host). Every message about a run carries the run's id and a sequence number
//! that starts at 0 and grows by one per message, so a client can tell a gap from a quiet period. The companion
//! keeps what it sent ([`ClientMsg::Resend`] asks for a range again), and a finished run ends with the size and
//! digest of the companion's record, so a client can show that its copy is the run that was measured
//! ([`crate::live`] reassembles it).

use crate::catalogue::LabId;
use crate::i18n::Text;
use crate::params::{ParamError, ParamSet};
use crate::trace::{Actor, Event, HostInfo, RunInfo};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Bumped on any incompatible change of the messages below.
pub const PROTOCOL_VERSION: u32 = 2;

/// The largest message either side accepts, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// The companion's id for a run, unique while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub u64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "run {}", self.0)
    }
}

/// From the page to the companion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    Hello {
        protocol: u32,
    },
    /// Run a lab for real. `request` is the client's own number, echoed in the reply so it can match them.
    StartRun {
        request: u32,
        lab: String,
        #[serde(default)]
        params: ParamSet,
        #[serde(default)]
        seed: u64,
    },
    Cancel {
        run: RunId,
    },
    /// Measure this machine's primitives for the models (what `syslab calibrate` does). It queues like a run:
    /// the reply is `queued` with its run id (which `cancel` takes), then `finished`, `cancelled` or `failed`;
    /// a calibration that was measured and stored also reaches every connection as `calibration`.
    Calibrate {
        request: u32,
    },
    /// Send this run's messages `from_seq..to_seq` again (the end excluded): they were missed.
    Resend {
        run: RunId,
        from_seq: u64,
        to_seq: u64,
    },
}

/// From the companion to the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    Hello {
        protocol: u32,
        host: HostInfo,
        /// This host's stored calibration, which the page's models use by default (or why there is none).
        #[serde(default)]
        calibration: crate::calibration::Stored,
    },
    /// The host's calibration changed (a calibration run stored a new one): the models use it from now on.
    Calibration {
        calibration: crate::calibration::Stored,
    },
    /// The run was accepted and waits behind `position` others (0: it starts now).
    Queued {
        request: u32,
        run: RunId,
        seq: u64,
        position: u32,
    },
    Started {
        run: RunId,
        seq: u64,
        info: RunInfo,
        actors: Vec<Actor>,
    },
    /// Events of the run in the order they were recorded; `first` is the index of the first one in the run.
    Events {
        run: RunId,
        seq: u64,
        first: u64,
        events: Vec<Event>,
    },
    /// The run ended well. `events`, `digest` and `messages` describe the companion's record of it: how many
    /// events, [`crate::digest::trace_digest`] of the trace they make (the record's name), and the digest of
    /// every message before this one ([`crate::digest::message_share`], as 16 hex digits), which a client
    /// checks its copy against.
    Finished {
        run: RunId,
        seq: u64,
        notes: Vec<Text>,
        events: u64,
        digest: String,
        messages: String,
    },
    Cancelled {
        run: RunId,
        seq: u64,
    },
    Failed {
        run: RunId,
        seq: u64,
        error: String,
    },
    /// The client read too slowly: `missed` messages were left out of the live stream instead of queued without
    /// bound. They are kept: `runs` says how far each run has got, so the client can ask for what it lacks.
    Lagged {
        missed: u64,
        runs: Vec<RunHead>,
    },
    /// The companion no longer keeps this run (the connection's runs passed their memory cap): what of it was
    /// missed can no longer be sent again.
    Evicted {
        run: RunId,
    },
    /// A request was refused; the connection stays open.
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<u32>,
        error: WireError,
    },
}

/// How far a run has got: its messages are `0..next_seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunHead {
    pub run: RunId,
    pub next_seq: u64,
}

/// Why a client message was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireError {
    /// The message is not a client message (not JSON, an unknown type, wrong field types...).
    #[error("{}", self.text())]
    Malformed { detail: String },
    /// The client speaks another protocol version.
    #[error("{}", self.text())]
    ProtocolMismatch { client: u32, server: u32 },
    /// A request came before `hello`.
    #[error("{}", self.text())]
    HelloRequired,
    /// The lab or its parameters were refused.
    #[error("{}", self.text())]
    Params { error: ParamError },
    /// The lab has no real experiment (every lab has one today; kept so the wire vocabulary stays stable).
    #[error("{}", self.text())]
    NoExperiment { lab: LabId },
    /// No run of this connection has that id.
    #[error("{}", self.text())]
    UnknownRun { run: RunId },
    /// Too many runs are queued.
    #[error("{}", self.text())]
    QueueFull { limit: u32 },
    /// A resend asked for a range the run does not have: empty, reversed, or past what it has sent (`available`).
    #[error("{}", self.text())]
    BadRange { run: RunId, from_seq: u64, to_seq: u64, available: u64 },
    /// A resend asked for a run the companion no longer keeps.
    #[error("{}", self.text())]
    Evicted { run: RunId },
    /// Too many resends are waiting to be sent already.
    #[error("{}", self.text())]
    TooManyResends { limit: u32 },
}

impl WireError {
    /// The message in words any language can say (its `Display` is the English).
    pub fn text(&self) -> Text {
        match self {
            WireError::Malformed { detail } => Text::new("error.wire.malformed").with("detail", detail),
            WireError::ProtocolMismatch { client, server } => {
                Text::new("error.wire.protocol_mismatch").with("client", client).with("server", server)
            }
            WireError::HelloRequired => Text::new("error.wire.hello_required"),
            WireError::Params { error } => error.text(),
            WireError::NoExperiment { lab } => Text::new("error.wire.no_experiment").with("lab", lab),
            WireError::UnknownRun { run } => Text::new("error.wire.unknown_run").with("run", run),
            WireError::QueueFull { limit } => Text::new("error.wire.queue_full").with("limit", limit),
            WireError::BadRange { run, from_seq, to_seq, available } => Text::new("error.wire.bad_range")
                .with("run", run)
                .with("from", from_seq)
                .with("to", to_seq)
                .with("available", available),
            WireError::Evicted { run } => Text::new("error.wire.evicted").with("run", run),
            WireError::TooManyResends { limit } => Text::new("error.wire.too_many_resends").with("limit", limit),
        }
    }
}

impl ClientMsg {
    /// Parses a text frame; anything that is not a client message is a typed [`WireError::Malformed`].
    pub fn parse(text: &str) -> Result<ClientMsg, WireError> {
        serde_json::from_str(text).map_err(|e| WireError::Malformed { detail: e.to_string() })
    }

    pub fn to_json(&self) -> String {
        // Plain data with string keys: serialisation cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A message's `type`, read without the rest (skipped, not kept).
#[derive(Deserialize)]
struct TypeOnly<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
}

/// An `events` message as a plain struct: read as it streams by. The tagged enum would first copy the whole
/// message into serde's buffer (every event as a map of strings), which made parsing a run's events in the page
/// 2.6 times slower than this.
#[derive(Deserialize)]
struct EventsMsg {
    run: RunId,
    seq: u64,
    first: u64,
    events: Vec<Event>,
}

impl ServerMsg {
    pub fn parse(text: &str) -> Result<ServerMsg, WireError> {
        let malformed = |e: serde_json::Error| WireError::Malformed { detail: e.to_string() };
        if serde_json::from_str::<TypeOnly<'_>>(text).is_ok_and(|t| t.kind == "events") {
            let EventsMsg { run, seq, first, events } = serde_json::from_str(text).map_err(malformed)?;
            return Ok(ServerMsg::Events { run, seq, first, events });
        }
        serde_json::from_str(text).map_err(malformed)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The run and sequence number of a run message.
    pub fn run_seq(&self) -> Option<(RunId, u64)> {
        match self {
            ServerMsg::Queued { run, seq, .. }
            | ServerMsg::Started { run, seq, .. }
            | ServerMsg::Events { run, seq, .. }
            | ServerMsg::Finished { run, seq, .. }
            | ServerMsg::Cancelled { run, seq }
            | ServerMsg::Failed { run, seq, .. } => Some((*run, *seq)),
            ServerMsg::Hello { .. }
            | ServerMsg::Calibration { .. }
            | ServerMsg::Error { .. }
            | ServerMsg::Lagged { .. }
            | ServerMsg::Evicted { .. } => None,
        }
    }
}
