//! The websocket protocol between the page and the companion: the only place that knows the wire format.
//!
//! JSON text frames, one message each, tagged by `type`. The client opens with `hello`; the server answers with
//! its own `hello` (protocol version, host). Every message about a run carries the run's id and a sequence number
//! that starts at 0 and grows by one per message, so a client can tell a gap from a quiet period.

use crate::catalogue::LabId;
use crate::i18n::Text;
use crate::params::{ParamError, ParamSet};
use crate::trace::{Actor, Event, HostInfo, RunInfo, Trace};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Bumped on any incompatible change of the messages below.
pub const PROTOCOL_VERSION: u32 = 1;

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
}

/// From the companion to the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    Hello {
        protocol: u32,
        host: HostInfo,
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
    Events {
        run: RunId,
        seq: u64,
        events: Vec<Event>,
    },
    Finished {
        run: RunId,
        seq: u64,
        notes: Vec<Text>,
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
    /// The client read too slowly: `missed` messages were dropped instead of queued without bound. Runs that
    /// lost messages show gaps in their sequence numbers.
    Lagged {
        missed: u64,
    },
    /// A request was refused; the connection stays open.
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<u32>,
        error: WireError,
    },
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

impl ServerMsg {
    pub fn parse(text: &str) -> Result<ServerMsg, WireError> {
        serde_json::from_str(text).map_err(|e| WireError::Malformed { detail: e.to_string() })
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
            ServerMsg::Hello { .. } | ServerMsg::Error { .. } | ServerMsg::Lagged { .. } => None,
        }
    }
}

/// Where a live run stands, for the client.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveStatus {
    Queued {
        position: u32,
    },
    Running,
    Finished,
    Cancelled,
    /// Why: the companion's words (an experiment's error, in English), or the page's own (the connection closed).
    Failed(Text),
}

/// A run being received: folds the server's messages into a trace and notices gaps in the sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveRun {
    pub run: RunId,
    pub status: LiveStatus,
    /// Present from `started` on.
    pub trace: Option<Trace>,
    next_seq: u64,
    /// Messages that were missed (a gap in the sequence).
    pub missed: u64,
}

impl LiveRun {
    pub fn new(run: RunId) -> Self {
        LiveRun { run, status: LiveStatus::Queued { position: 0 }, trace: None, next_seq: 0, missed: 0 }
    }

    /// Folds one message of this run in; messages of other runs are ignored.
    pub fn handle(&mut self, msg: &ServerMsg) {
        let Some((run, seq)) = msg.run_seq() else { return };
        if run != self.run {
            return;
        }
        self.missed += seq.saturating_sub(self.next_seq);
        self.next_seq = self.next_seq.max(seq + 1);
        match msg {
            ServerMsg::Queued { position, .. } => self.status = LiveStatus::Queued { position: *position },
            ServerMsg::Started { info, actors, .. } => {
                self.status = LiveStatus::Running;
                self.trace =
                    Some(Trace { run: info.clone(), actors: actors.clone(), events: Vec::new(), notes: Vec::new() });
            }
            ServerMsg::Events { events, .. } => {
                if let Some(trace) = &mut self.trace {
                    trace.events.extend_from_slice(events);
                }
            }
            ServerMsg::Finished { notes, .. } => {
                self.status = LiveStatus::Finished;
                if let Some(trace) = &mut self.trace {
                    trace.notes.extend_from_slice(notes);
                    trace.sort_events();
                }
            }
            ServerMsg::Cancelled { .. } => self.status = LiveStatus::Cancelled,
            ServerMsg::Failed { error, .. } => self.status = LiveStatus::Failed(Text::Literal(error.clone())),
            ServerMsg::Hello { .. } | ServerMsg::Error { .. } | ServerMsg::Lagged { .. } => {}
        }
    }

    pub fn is_over(&self) -> bool {
        matches!(self.status, LiveStatus::Finished | LiveStatus::Cancelled | LiveStatus::Failed(_))
    }
}
