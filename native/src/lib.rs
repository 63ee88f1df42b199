//! The companion's library: the real experiments, the runner that keeps them bounded and cleaned up, the
//! websocket server and the command line's output. `main.rs` only parses arguments and calls in here.

pub mod alone;
pub mod bench;
pub mod calibrate;
pub mod cli;
pub mod client;
pub mod clock;
pub mod experiment;
pub mod fidelity;
pub mod host;
pub mod load;
pub mod outbox;
pub mod probe;
pub mod runlog;
pub mod runner;
pub mod scratch;
pub mod server;
pub mod spawned;
pub mod state;
pub mod sweep;
pub mod usage;
pub mod wait;
