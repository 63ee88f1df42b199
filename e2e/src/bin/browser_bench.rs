//! The in-browser half of `cargo xtask bench`: opens the page's benchmark route in headless Chromium and prints
//! how many simulation events per second the wasm build produces on the same reference cases as `syslab bench`
//! (the lock and pipeline labs'), and how long the pipeline view takes to redraw with 500 items in flight;
//! then, with a companion, runs `syslab bench`'s watch case live from the page (every event streamed to it) and
//! prints the measured figures, which `cargo xtask bench` sets against the same run without a client; and a lock
//! run of up to a million events streamed to the page, against the same run headless (`syslab run … --json`),
//! and that run exported, opened in the page from its file and its lanes zoomed and panned.
//! The figures `cargo xtask bench` compares go to the JSON file `SYSLAB_FIGURES` names.

use anyhow::Context;
use e2e::{Chromedriver, Companion, StaticServer, env_path, run_live, wait_for};
use shared::figures::BenchFigures;
use std::path::Path;
use std::time::{Duration, Instant};
use thirtyfour::prelude::*;

/// The lock lab as fast as it goes, for as long as it may: it stops at the companion's budget of a million
/// events unless the machine is too slow to reach it in ten seconds; in one repeat, which then has the whole
/// budget.
const FAST_LOCK: [(&str, &str); 5] =
    [("procs", "4"), ("think_us", "0"), ("hold_us", "1"), ("duration_ms", "10000"), ("repeats", "1")];

/// The page's memory: its wasm memory (the page's own export) and V8's heap (through the DevTools protocol).
async fn page_bytes(browser: &WebDriver) -> Option<(f64, f64)> {
    let wasm = browser.execute("return window.wasmBindings.wasm_memory_bytes()", Vec::new()).await.ok()?;
    let heap = browser.cdp().send_raw("Runtime.getHeapUsage", serde_json::json!({})).await.ok()?;
    Some((wasm.json().as_f64()?, heap["usedSize"].as_f64()?))
}

/// A million events streamed to the page against the same run headless, in one run of this binary.
async fn million_events_live(
    browser: &WebDriver,
    page: &StaticServer,
    bin: &Path,
    figures: &mut BenchFigures,
) -> anyhow::Result<()> {
    let exported = std::env::temp_dir().join(format!("syslab-bench-million-{}.json", std::process::id()));
    let mut headless = std::process::Command::new(bin);
    headless.args(["run", "lock", "--json", "--export"]).arg(&exported);
    headless.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    for (key, value) in FAST_LOCK {
        headless.arg(format!("--{key}")).arg(value);
    }
    let started = Instant::now();
    let status = headless.status().context("running the lock lab headless")?;
    anyhow::ensure!(status.success(), "the headless run failed: {status}");
    let alone = started.elapsed().as_secs_f64();

    let companion = Companion::start(bin, &page.origin())?;
    let query: Vec<String> = FAST_LOCK.iter().map(|(k, v)| format!("{k}={v}")).collect();
    browser.goto(format!("{}/lab/lock?{}{}", page.origin(), query.join("&"), companion.fragment())).await?;
    wait_for("the companion", Duration::from_secs(20), || async {
        browser.find(By::Css(".status-pill.on")).await.ok()
    })
    .await?;
    let (page_before, rss_before) = (page_bytes(browser).await, companion.rss_kib());
    let started = Instant::now();
    browser.execute("document.querySelector('button.run-live').click()", Vec::new()).await?;
    let record = e2e::whole_live_run(browser, Duration::from_secs(300)).await?;
    let streamed = started.elapsed().as_secs_f64();
    let (page_after, rss_after) = (page_bytes(browser).await, companion.rss_kib());
    let (events, resent, missing, verified) =
        (record.events as f64, record.resent, record.missing_events, record.verified);
    println!(
        "live run of {events:.0} events: whole in the page in {streamed:.2} s, the same run headless {alone:.2} s: {:.2}× \
         (target ≤ 1.5×)",
        streamed / alone
    );
    println!(
        "live run: verified against the companion's record: {verified}; {missing} events missing; {resent} \
         messages sent again"
    );
    println!("live run: the page took in {:.0} k events/s", events / streamed / 1e3);
    let per_event = |kib: f64| kib * 1024.0 / events.max(1.0);
    println!(
        "live run memory per event: companion {:.0} B (resident, its log of the run), page {}",
        per_event(rss_after.saturating_sub(rss_before) as f64),
        match (page_before, page_after) {
            (Some((wasm_b, heap_b)), Some((wasm_a, heap_a))) => format!(
                "{:.0} B of wasm memory and {:.0} B of JavaScript heap",
                (wasm_a - wasm_b) / events.max(1.0),
                (heap_a - heap_b) / events.max(1.0)
            ),
            _ => "unknown (the page's memory could not be read)".to_owned(),
        }
    );
    let opened = exported_in_the_page(browser, page, &exported, figures).await;
    let _ = std::fs::remove_file(&exported);
    opened
}

/// The same run, exported by the command line, opened in the page from its file, and its lanes zoomed in and
/// out and panned from the keyboard, each redraw timed in the page.
async fn exported_in_the_page(
    browser: &WebDriver,
    page: &StaticServer,
    file: &Path,
    figures: &mut BenchFigures,
) -> anyhow::Result<()> {
    let megabytes = std::fs::metadata(file).map(|m| m.len() as f64 / 1e6).unwrap_or(f64::NAN);
    let took = e2e::large_trace::open_in_page(browser, &page.origin(), file).await?.as_secs_f64();
    println!("exported run of {megabytes:.0} MB opened in the page, its lanes drawn, in {took:.2} s (target < 2 s)");
    figures.record("open_exported_s", took);
    let codes: Vec<&str> =
        std::iter::repeat_n(["Equal", "ArrowRight", "Equal", "ArrowLeft"], 10).flatten().chain(["Minus"; 20]).collect();
    let times = e2e::large_trace::zoom_frames(browser, &codes).await?;
    let (p50, p99) = (e2e::large_trace::percentile(&times, 50.0), e2e::large_trace::percentile(&times, 99.0));
    println!("its lanes zoomed and panned: redraw p50 {p50:.1} ms, p99 {p99:.1} ms (target p99 ≤ 16.7 ms)");
    figures.record("zoom_redraw_p99_ms", p99);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let page = StaticServer::start(&env_path("SYSLAB_DIST")?)?;
    let driver = Chromedriver::start()?;
    let browser = driver.browser().await?;
    let mut figures = BenchFigures::default();
    let outcome = async {
        browser.goto(format!("{}/bench", page.origin())).await?;
        let rate = wait_for("the benchmark result", Duration::from_secs(60), || async {
            let el = browser.find(By::Id("bench-result")).await.ok()?;
            el.attr("data-events-per-sec").await.ok().flatten()
        })
        .await?;
        let rate: f64 = rate.parse().context("reading the rate")?;
        println!("simulation, wasm in headless Chromium: {:.2} M events/s", rate / 1e6);
        figures.record("wasm_events_per_sec", rate);
        let attr = |id: &'static str, name: &'static str| {
            let browser = &browser;
            async move { browser.find(By::Id(id)).await.ok()?.attr(name).await.ok().flatten() }
        };
        if let Some(pipeline) = attr("bench-pipeline", "data-events-per-sec").await {
            println!("pipeline simulation, wasm in headless Chromium: {pipeline} events/s");
            figures.record("wasm_pipeline_events_per_sec", pipeline.parse().context("reading the pipeline rate")?);
        }
        let p50 =
            wait_for("the frame measurement", Duration::from_secs(120), || attr("bench-frames", "data-p50-ms")).await?;
        let p99 = attr("bench-frames", "data-p99-ms").await.unwrap_or_default();
        println!("pipeline view, 500 items in flight: redraw p50 {p50} ms, p99 {p99} ms (against the 16.7 ms frame)");
        // The runs the native bench ran headless, repeated live from the page.
        let cases = match std::env::var("SYSLAB_NATIVE_FIGURES") {
            Ok(path) => {
                BenchFigures::from_json(&std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?)?
                    .cases
            }
            Err(_) => Default::default(),
        };
        if !cases.is_empty() {
            let companion = Companion::start(&env_path("SYSLAB_BIN")?, &page.origin())?;
            if let Some(case) = cases.get("watch") {
                run_live(&browser, format!("{}/lab/watch?{case}{}", page.origin(), companion.fragment())).await?;
                e2e::quietly_until_whole(&browser, Duration::from_secs(120)).await?;
                for key in ["inotify_p50", "inotify_p99", "poll_p50"] {
                    let value = wait_for("the measured figures", Duration::from_secs(120), || async {
                        e2e::measured_value(&browser, key).await
                    })
                    .await?;
                    figures.record(format!("watch_client_{key}_ns"), value);
                }
            }
            if let Some(case) = cases.get("amdahl") {
                // The page open and quiet while it measures (not watched live), as a reader would run it: opened
                // a few seconds before (its wasm compiled), and looked at once a second until the run is whole.
                browser.goto(format!("{}/lab/amdahl?{case}{}", page.origin(), companion.fragment())).await?;
                wait_for("the companion to connect", Duration::from_secs(20), || async {
                    browser.find(By::Css(".status-pill.on")).await.ok()
                })
                .await?;
                tokio::time::sleep(Duration::from_secs(5)).await;
                browser.execute("document.querySelector('button.run-live').click()", Vec::new()).await?;
                e2e::quietly_until_whole(&browser, Duration::from_secs(120)).await?;
                let others = e2e::measured_value(&browser, "others_cpu_share").await.unwrap_or(f64::NAN);
                match e2e::measured_value(&browser, "fitted_parallel").await {
                    Some(fitted) => {
                        println!(
                            "Amdahl run from the page: fitted {fitted:.3}; others took {:.1} % of the CPUs",
                            others * 100.0
                        );
                        figures.record("amdahl_client_fitted", fitted);
                    }
                    None => println!(
                        "Amdahl run from the page: too noisy to fit; others took {:.1} % of the CPUs",
                        others * 100.0
                    ),
                }
            }
        }
        if let Ok(bin) = env_path("SYSLAB_BIN") {
            million_events_live(&browser, &page, &bin, &mut figures).await?;
        }
        anyhow::Ok(())
    }
    .await;
    browser.quit().await?;
    if let Ok(path) = std::env::var("SYSLAB_FIGURES") {
        std::fs::write(&path, figures.to_json()).with_context(|| format!("writing {path}"))?;
    }
    outcome
}
