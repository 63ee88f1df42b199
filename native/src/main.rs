//! `syslab`: the companion binary. `serve` for the page, `run` headless, `sweep` a parameter's values, `bench` for the comparisons,
//! `calibrate` for this machine's primitives, `fidelity` for how far the models are from it, and a hidden `__worker` subcommand that experiments start as their
//! worker processes.

use anyhow::Context;
use clap::{Parser, Subcommand};
use native::runner::{Runner, RunnerConfig};
use native::server::admission::{Admission, new_token};
use native::server::{ServerState, serve_until};
use native::{bench, cli, experiment, host, scratch};

#[derive(Debug, Parser)]
#[command(name = "syslab", version, about = "syslab's companion: runs the labs' real experiments on this machine")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the websocket the lab page connects to, on 127.0.0.1.
    Serve {
        /// The port to listen on (0 picks a free one).
        #[arg(long, default_value_t = 7878)]
        port: u16,
        /// The address to listen on. Anything but loopback also needs --allow-non-loopback.
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// Listen on a non-loopback --bind address (inside a container or VM whose port is forwarded). Pages
        /// still need the token and the exact origin, but the companion is then reachable from the network.
        #[arg(long)]
        allow_non_loopback: bool,
        /// The exact origin of the lab page; repeat for more than one.
        #[arg(long = "page-origin", default_value = "http://127.0.0.1:8080")]
        page_origins: Vec<String>,
    },
    /// Run a lab's experiment headless: `syslab run lock --procs 8 --mode nonblocking [--json]`.
    Run {
        lab: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Step one parameter over values, each point simulated and measured:
    /// `syslab sweep lock --param procs=1..32:6:log [--metric throughput] [--json] [--export FILE]`.
    /// Values are a list (`1,2,4`; `*` for every choice) or FROM..TO:N[:log]; without --param, the lab's own
    /// sweep.
    Sweep {
        lab: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Print the performance comparisons as ratios measured in this run.
    Bench {
        /// Also write the figures `cargo xtask bench` compares to this file, as JSON.
        #[arg(long)]
        figures: Option<std::path::PathBuf>,
        /// Run only this part: simulation, lock, labs, watch, io, pipeline or load.
        #[arg(long)]
        only: Option<String>,
    },
    /// Measure this machine's primitives for the models (each lab's own experiment, with repeats) and store them
    /// in the user's data directory.
    Calibrate {
        /// Print the calibration as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Each lab over a fixed grid of points, measured and simulated with this machine's calibration: both
    /// figures and the model's error per point, and the share within ±15 %.
    Fidelity {
        /// Three points a lab, each measured once.
        #[arg(long)]
        quick: bool,
    },
    #[command(name = "__worker", hide = true)]
    Worker { lab: String, spec: String },
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Command::Worker { lab, spec } = &args.command {
        // Workers stay silent but for their reports on stdout.
        return experiment::run_worker(lab, spec).context("worker");
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match args.command {
        Command::Serve { port, bind, allow_non_loopback, page_origins } => {
            serve(Listen { port, bind, allow_non_loopback }, page_origins)
        }
        Command::Run { lab, args } => {
            let args = cli::parse_run_args(&lab, &args)?;
            cli::run(&args)
        }
        Command::Sweep { lab, args } => {
            let args = native::sweep::parse_sweep_args(&lab, &args)?;
            native::sweep::run(&args)
        }
        Command::Bench { figures, only } => bench::run(figures.as_deref(), only.as_deref()),
        Command::Calibrate { json } => native::calibrate::run(json),
        Command::Fidelity { quick } => native::fidelity::run(quick).map(|_| ()),
        Command::Worker { .. } => Ok(()),
    }
}

/// Where `serve` listens.
struct Listen {
    port: u16,
    bind: std::net::IpAddr,
    allow_non_loopback: bool,
}

impl Listen {
    /// The Host name admission accepts beside the loopback names: the bound address when it is a specific
    /// non-loopback one. Refuses a non-loopback address without the explicit flag.
    fn exposed_host(&self) -> anyhow::Result<Option<String>> {
        if self.bind.is_loopback() {
            return Ok(None);
        }
        anyhow::ensure!(
            self.allow_non_loopback,
            "refusing to listen on {}: the companion runs experiments on this machine for whoever connects; it \
             listens on loopback only unless --allow-non-loopback is given as well",
            self.bind
        );
        tracing::warn!(
            bind = %self.bind,
            "listening on a NON-LOOPBACK address: the companion is reachable from the network (token and Origin \
             are still required)"
        );
        Ok((!self.bind.is_unspecified()).then(|| match self.bind {
            std::net::IpAddr::V4(v4) => v4.to_string(),
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        }))
    }
}

#[tokio::main]
async fn serve(listen: Listen, page_origins: Vec<String>) -> anyhow::Result<()> {
    let exposed_host = listen.exposed_host()?;
    // Before listening: what a companion killed outright left behind goes first.
    let base = scratch::default_base();
    let killed = native::state::sweep(&base);
    let swept = scratch::remove_leftovers(&base);
    std::fs::create_dir_all(&base).context("creating the scratch base directory")?;
    native::state::open(&base).context("starting the state file")?;
    if killed > 0 {
        tracing::info!(killed, "killed the workers of a companion that died");
    }
    let listener = tokio::net::TcpListener::bind((listen.bind, listen.port))
        .await
        .with_context(|| format!("binding {}", listen.bind))?;
    let port = listener.local_addr()?.port();
    let token = new_token().context("drawing a token")?;
    let host = host::describe(&base);
    let stored = native::calibrate::load(&host);
    match &stored {
        shared::calibration::Stored::Calibrated { calibration } => {
            tracing::info!(measured_unix_ms = calibration.measured_unix_ms, "using this host's stored calibration")
        }
        shared::calibration::Stored::Refused { reason } => tracing::warn!(%reason, "stored calibration not used"),
        shared::calibration::Stored::Missing => tracing::info!("no stored calibration: run `syslab calibrate`"),
    }
    let calibration = native::calibrate::shared(stored);
    let (runner, runner_thread) = Runner::start(RunnerConfig {
        scratch_base: base,
        worker_exe: experiment::current_exe()?,
        host: host.clone(),
        run_limit: native::runner::RUN_LIMIT,
        calibration: calibration.clone(),
        calibration_store: native::calibrate::store_path(),
    });
    let page = page_origins.first().cloned().unwrap_or_default();
    let state = ServerState::new(
        Admission { port, origins: page_origins, token: token.clone(), exposed_host },
        runner.clone(),
        host,
        calibration,
    );

    println!("listening ws://{}:{port}/ws", listen.bind);
    println!("open {page}/#companion={port}&token={token}");
    tracing::info!(port, swept, loopback_only = listen.bind.is_loopback(), "companion ready");

    serve_until(listener, state, async {
        cli::stop_signal().await;
        tracing::info!("stopping: cancelling runs and removing scratch files");
    })
    .await
    .context("serving")?;
    runner.shutdown();
    tokio::task::spawn_blocking(move || runner_thread.join()).await.ok();
    native::state::close();
    Ok(())
}
