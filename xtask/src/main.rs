//! `cargo xtask run | test | ci | bench | setup`: everything it takes to build, serve and check syslab, in one
//! place, so the README's two commands and CI do exactly the same steps.

mod tools;

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tools::{cmd, run};

const USAGE: &str =
    "usage: cargo xtask <run [--port P] [--companion-port P] | test | ci | bench | screenshots | setup>";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") => serve(&args[1..]),
        Some("test" | "ci") => test(),
        Some("bench") => bench(),
        Some("screenshots") => screenshots(),
        Some("setup") => tools::page_tools().and_then(|()| tools::browser()),
        _ => bail!("{USAGE}"),
    }
}

fn flag(args: &[String], name: &str, default: u16) -> Result<u16> {
    match args.iter().position(|a| a == name) {
        Some(i) => args.get(i + 1).and_then(|v| v.parse().ok()).with_context(|| format!("{name} needs a port number")),
        None => Ok(default),
    }
}

/// Builds everything, starts the companion and `trunk serve`, prints the URL; Ctrl-C stops both.
fn serve(args: &[String]) -> Result<()> {
    let page_port = flag(args, "--port", 8080)?;
    let companion_port = flag(args, "--companion-port", 7878)?;
    tools::page_tools()?;
    run(cmd("cargo").args(["build", "--release", "-p", "native"]))?;

    // Ctrl-C reaches the whole process group: the children stop themselves; we only wait for them.
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)).context("installing the Ctrl-C handler")?;

    // The page is the same whether the browser calls it 127.0.0.1 or localhost; no other origin is let in.
    let origin = format!("http://127.0.0.1:{page_port}");
    let localhost = format!("http://localhost:{page_port}");
    let mut companion = Command::new(tools::root().join("target/release/syslab"))
        .args(["serve", "--port", &companion_port.to_string(), "--page-origin", &origin, "--page-origin", &localhost])
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the companion")?;
    let stdout = companion.stdout.take().context("the companion's stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(url) = line.strip_prefix("open ") {
                    break url.to_owned();
                }
            }
            _ => {
                let _ = companion.wait();
                bail!(
                    "the companion stopped before it was ready (is port {companion_port} free? try --companion-port)"
                );
            }
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    let mut trunk = cmd("trunk")
        .args(["serve", "--release", "--offline", "--address", "127.0.0.1", "--port", &page_port.to_string()])
        .spawn()
        .context("starting trunk serve")?;
    println!(
        "\n  syslab is starting. The page builds first (about a minute the first time), then open:\n\n    {url}\n"
    );
    println!("  The link carries the companion's port and token for this start. Ctrl-C stops both.\n");

    let mut children: [(&str, &mut Child); 2] = [("companion", &mut companion), ("trunk", &mut trunk)];
    loop {
        for (name, child) in &mut children {
            if let Some(status) = child.try_wait()? {
                if !interrupted.load(Ordering::SeqCst) {
                    eprintln!("xtask: {name} stopped ({status}); stopping the rest");
                }
                return stop_all(&mut children);
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn stop_all(children: &mut [(&str, &mut Child)]) -> Result<()> {
    for (_, child) in children.iter_mut() {
        if child.try_wait()?.is_none() {
            // SIGINT, as Ctrl-C would: the companion then cancels its run and removes its scratch files.
            let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
        }
    }
    for (_, child) in children.iter_mut() {
        child.wait()?;
    }
    Ok(())
}

/// Every check CI runs, in the order that fails fastest.
fn test() -> Result<()> {
    let started = std::time::Instant::now();
    tools::page_tools()?;
    tools::browser()?;
    let axe = tools::axe_core()?;
    run(cmd("cargo").args(["fmt", "--all", "--", "--check"]))?;
    run(cmd("cargo").args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    run(cmd("cargo").args([
        "clippy",
        "-p",
        "shared",
        "-p",
        "web",
        "--all-targets",
        "--target",
        "wasm32-unknown-unknown",
        "--",
        "-D",
        "warnings",
    ]))?;
    let mut tally = tools::Tally::default();
    tally.run(cmd("cargo").args(["test", "--workspace", "--exclude", "e2e"]))?;
    // The component tests in headless Chromium (web/webdriver.json has the flags).
    tally.run(
        cmd("cargo")
            .args(["test", "-p", "web", "--target", "wasm32-unknown-unknown"])
            .env("CHROMEDRIVER", tools::CHROMEDRIVER)
            .env("WASM_BINDGEN_TEST_TIMEOUT", "120"),
    )?;
    build_page()?;
    run(cmd("cargo").args(["build", "-p", "native"]))?;
    tally.run(
        cmd("cargo")
            .args(["test", "-p", "e2e"])
            .env("SYSLAB_DIST", tools::root().join("dist"))
            .env("SYSLAB_BIN", tools::root().join("target/debug/syslab"))
            .env("SYSLAB_AXE", &axe)
            .env("CHROMEDRIVER", tools::CHROMEDRIVER),
    )?;
    eprintln!("xtask: every check passed in {:.0} s", started.elapsed().as_secs_f64());
    println!("summary: {} passed, {} failed", tally.passed, tally.failed);
    Ok(())
}

/// fio on a file of the same size in the same kind of place, warm, against the mmap lab's figures from
/// `syslab bench` in the same run: read(2) at 1 MiB against fio's psync, the mapping against fio's mmap engine,
/// and random 4 KiB reads of 10 % of the file against fio's randread.
fn fio_comparison(native: &shared::figures::BenchFigures) -> Result<()> {
    tools::debian_tool("fio", "fio")?;
    let dir = tools::root().join("target").join("bench");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("fio.bin");
    let fio = |name: &str, rw: &str, bs: &str, engine: &str, io_size: &str| -> Result<f64> {
        let out = Command::new("fio")
            .args(["--output-format=json", "--invalidate=0", "--size=256M", "--loops=3"])
            .arg(format!("--name={name}"))
            .arg(format!("--filename={}", file.display()))
            .arg(format!("--rw={rw}"))
            .arg(format!("--bs={bs}"))
            .arg(format!("--ioengine={engine}"))
            .arg(format!("--io_size={io_size}"))
            .output()
            .context("running fio")?;
        fio_read_bandwidth(&String::from_utf8_lossy(&out.stdout))
            .map(|bytes_per_sec| bytes_per_sec / 1e9)
            .with_context(|| format!("fio {name}: {}", String::from_utf8_lossy(&out.stderr)))
    };
    // Lay the file out and warm it once, as the lab warms its file before each method.
    fio("warm", "read", "1M", "psync", "256M")?;
    let ours = |key: &str| native.get(&format!("mmap_{key}_gbps"));
    let compare = |what: &str, ours: Result<f64, shared::figures::FiguresError>, theirs: f64| -> Result<()> {
        let ours = ours?;
        println!("{what}: syslab {ours:.2} GB/s, fio {theirs:.2} GB/s → {:.2}×", ours / theirs);
        Ok(())
    };
    compare("sequential read(2), 1 MiB", ours("read_1024k"), fio("psync", "read", "1M", "psync", "256M")?)?;
    compare("sequential mmap", ours("mmap_seq"), fio("mmap", "read", "1M", "mmap", "256M")?)?;
    compare(
        "random 4 KiB, pread vs fio psync",
        ours("pread_pieces"),
        fio("randread", "randread", "4k", "psync", "26M")?,
    )?;
    compare("random 4 KiB, mmap vs fio mmap", ours("mmap_pieces"), fio("randmmap", "randread", "4k", "mmap", "26M")?)?;
    println!("(fio's mmap engine copies out of the mapping into its buffer; the lab's mapping is scanned in place.)");
    std::fs::remove_file(&file).ok();
    Ok(())
}

/// A benchmark binary's figures, written by it as JSON.
fn read_figures(path: &std::path::Path) -> Result<shared::figures::BenchFigures> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(shared::figures::BenchFigures::from_json(&text)?)
}

/// fio's read bandwidth in bytes per second, from its JSON: the read side of its only job.
fn fio_read_bandwidth(json: &str) -> Result<f64> {
    let value: serde_json::Value = serde_json::from_str(json).context("fio's output is not JSON")?;
    value["jobs"][0]["read"]["bw_bytes"].as_f64().context("fio's JSON has no jobs[0].read.bw_bytes")
}

/// Saves PNGs of the page's main states into target/screenshots, to look at.
fn screenshots() -> Result<()> {
    tools::page_tools()?;
    tools::browser()?;
    tools::japanese_font()?;
    build_page()?;
    run(cmd("cargo").args(["build", "-p", "native"]))?;
    run(cmd("cargo")
        .args(["run", "-p", "e2e", "--bin", "screenshots", "--", "target/screenshots"])
        .env("SYSLAB_DIST", tools::root().join("dist"))
        .env("SYSLAB_BIN", tools::root().join("target/debug/syslab"))
        .env("CHROMEDRIVER", tools::CHROMEDRIVER))
}

fn build_page() -> Result<()> {
    run(cmd("trunk").args(["build", "--release", "--offline"]))
}

/// The benchmarks: each figure is a ratio against a reference measured in the same run.
fn bench() -> Result<()> {
    tools::page_tools()?;
    tools::browser()?;
    run(cmd("cargo").args(["build", "--release", "-p", "native", "-p", "e2e", "--bins"]))?;
    build_page()?;
    tools::debian_tool("inotifywait", "inotify-tools")?;
    let dir = tools::root().join("target").join("bench");
    std::fs::create_dir_all(&dir)?;
    let (native_json, browser_json) = (dir.join("native-figures.json"), dir.join("browser-figures.json"));
    let native = cmd("target/release/syslab")
        .arg("bench")
        .arg("--figures")
        .arg(&native_json)
        .output()
        .context("running syslab bench")?;
    print!("{}", String::from_utf8_lossy(&native.stdout));
    if !native.status.success() {
        eprint!("{}", String::from_utf8_lossy(&native.stderr));
    }
    let native = read_figures(&native_json)?;
    let browser = cmd("target/release/browser-bench")
        .env("SYSLAB_FIGURES", &browser_json)
        .env("SYSLAB_DIST", tools::root().join("dist"))
        .env("SYSLAB_BIN", tools::root().join("target/release/syslab"))
        .env("SYSLAB_NATIVE_FIGURES", &native_json)
        .env("CHROMEDRIVER", tools::CHROMEDRIVER)
        .output()
        .context("running the in-browser benchmark")?;
    print!("{}", String::from_utf8_lossy(&browser.stdout));
    if !browser.status.success() {
        eprint!("{}", String::from_utf8_lossy(&browser.stderr));
    }
    let browser = read_figures(&browser_json)?;
    let (n, w) = (native.get("sim_events_per_sec")?, browser.get("wasm_events_per_sec")?);
    println!("simulation speed, wasm in headless Chromium / native: {:.2}×", w / n);
    let (n, w) = (native.get("pipeline_events_per_sec")?, browser.get("wasm_pipeline_events_per_sec")?);
    println!("pipeline simulation speed, wasm in headless Chromium / native: {:.2}×", w / n);
    // The same watch run, alone (syslab bench) and streamed live to the page (browser-bench).
    for key in ["inotify_p50", "inotify_p99", "poll_p50"] {
        let alone = native.get(&format!("watch_{key}_ns"))?;
        let streamed = browser.get(&format!("watch_client_{key}_ns"))?;
        println!(
            "watch {key}: {:.1} µs alone, {:.1} µs streamed to the page: {:.2}× (streaming overhead)",
            alone / 1e3,
            streamed / 1e3,
            streamed / alone.max(1.0)
        );
    }
    // The same Amdahl run, headless (syslab bench) and from the page with the page open (browser-bench).
    match (native.get("amdahl_fitted"), browser.get("amdahl_client_fitted")) {
        (Ok(alone), Ok(page)) => println!(
            "Amdahl fitted parallel fraction: {alone:.3} headless, {page:.3} from the page: differ by {:.3} (target ≤ 0.05)",
            (page - alone).abs()
        ),
        (alone, page) => println!(
            "Amdahl fitted parallel fraction: {} headless, {} from the page: no difference to report",
            alone.map_or_else(|_| "too noisy to fit".to_owned(), |v| format!("{v:.3}")),
            page.map_or_else(|_| "too noisy to fit".to_owned(), |v| format!("{v:.3}"))
        ),
    }
    fio_comparison(&native)?;
    // How far the models are from this machine: calibrated afresh (in a data directory of the bench's own, so
    // the user's stored calibration is neither used nor replaced), then the quick grid.
    let data = dir.join("data");
    let calibrated = cmd("target/release/syslab")
        .arg("calibrate")
        .env("XDG_DATA_HOME", &data)
        .output()
        .context("running syslab calibrate")?;
    if !calibrated.status.success() {
        eprint!("{}", String::from_utf8_lossy(&calibrated.stderr));
    }
    let fidelity = cmd("target/release/syslab")
        .args(["fidelity", "--quick"])
        .env("XDG_DATA_HOME", &data)
        .output()
        .context("running syslab fidelity")?;
    print!("{}", String::from_utf8_lossy(&fidelity.stdout));
    if !fidelity.status.success() {
        eprint!("{}", String::from_utf8_lossy(&fidelity.stderr));
    }
    for entry in std::fs::read_dir(tools::root().join("dist"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "wasm") {
            let raw = std::fs::metadata(&path)?.len();
            let gz = Command::new("gzip").args(["-9", "-c"]).arg(&path).output().context("running gzip")?.stdout.len();
            println!(
                "page wasm: {:.1} KB raw, {:.1} KB gzipped ({:.2}× smaller)",
                raw as f64 / 1e3,
                gz as f64 / 1e3,
                raw as f64 / gz as f64
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fio_s_bandwidth_from_its_json() {
        let json = r#"{"fio version": "fio-3.33", "jobs": [{"jobname": "psync", "read": {"bw_bytes": 6400000000,
            "iops": 6103.5}, "write": {"bw_bytes": 0}}]}"#;
        assert_eq!(fio_read_bandwidth(json).unwrap(), 6.4e9);
        assert!(fio_read_bandwidth(r#"{"jobs": []}"#).is_err());
        assert!(fio_read_bandwidth("fio: engine mmap not loadable").is_err());
    }
}
