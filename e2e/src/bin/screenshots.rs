//! `cargo xtask screenshots`: drives the built page through its main states in headless Chromium and saves a
//! PNG of each into `target/screenshots/`, so a person can look at what the page really shows.

use anyhow::Context;
use e2e::{Chromedriver, Companion, StaticServer, env_path, wait_for};
use std::path::{Path, PathBuf};
use std::time::Duration;
use thirtyfour::prelude::*;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "target/screenshots".to_owned()));
    std::fs::create_dir_all(&out)?;
    let page = StaticServer::start(&env_path("SYSLAB_DIST")?)?;
    let companion = Companion::start(&env_path("SYSLAB_BIN")?, &page.origin())?;
    let driver = Chromedriver::start()?;
    let browser = driver.browser().await?;
    let mut outcome = shoot_calibration(&browser, &page, &out).await;
    if outcome.is_ok() {
        outcome = shoot_sweep(&browser, &page, &companion, &out).await;
    }
    if outcome.is_ok() {
        outcome = shoot_all(&browser, &page, &companion, &out).await;
    }
    browser.quit().await?;
    outcome
}

/// The lock page before and after "Calibrate to this machine", with a companion of its own whose data
/// directory is a fresh one (the other shots keep the reference values).
async fn shoot_calibration(browser: &WebDriver, page: &StaticServer, out: &Path) -> anyhow::Result<()> {
    let data = std::env::temp_dir().join(format!("syslab-screenshots-calibration-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let companion = Companion::start_with_data(&env_path("SYSLAB_BIN")?, &page.origin(), &data)?;
    browser.set_window_rect(0, 0, 1280, 1400).await?;
    open_paused(browser, &format!("{}/lab/lock?seed=3{}", page.origin(), companion.fragment()), 500).await?;
    wait_for("the companion", Duration::from_secs(20), || async {
        browser.find(By::Css(".status-pill.on")).await.ok()
    })
    .await?;
    let form = "window.scrollTo(0, document.querySelector('.lab-grid').offsetTop - 10)";
    browser.execute(form, vec![]).await?;
    shoot(browser, out, "lock-uncalibrated").await?;
    browser.execute("document.querySelector('button.calibrate-button').click()", vec![]).await?;
    wait_for("the calibrated marks", Duration::from_secs(120), || async {
        browser.find(By::Css(".calibrate[data-state=idle] .calibrate-status")).await.ok()?;
        browser.find(By::Css(".calibration.calibrated")).await.ok()
    })
    .await?;
    browser.execute(form, vec![]).await?;
    shoot(browser, out, "lock-calibrated").await?;
    browser.execute("window.scrollTo(0, document.body.scrollHeight)", vec![]).await?;
    shoot(browser, out, "lock-calibrated-figures").await?;
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}

/// The lock lab's own sweep (processes 1 to 32) measured, and the pipeline's workers simulated only.
async fn shoot_sweep(
    browser: &WebDriver,
    page: &StaticServer,
    companion: &Companion,
    out: &Path,
) -> anyhow::Result<()> {
    let origin = page.origin();
    browser.set_window_rect(0, 0, 1280, 1400).await?;
    open_paused(browser, &format!("{origin}/lab/lock?duration_ms=200&repeats=2&seed=3{}", companion.fragment()), 300)
        .await?;
    wait_for("the companion", Duration::from_secs(20), || async {
        browser.find(By::Css(".status-pill.on")).await.ok()
    })
    .await?;
    browser.execute("document.querySelector('button.sweep-measure').click()", vec![]).await?;
    wait_for("the measured sweep", Duration::from_secs(180), || async {
        browser.find(By::Css(".sweep-progress[data-state=done]")).await.ok()
    })
    .await?;
    browser.execute("document.querySelector('.sweep-panel').scrollIntoView()", vec![]).await?;
    shoot(browser, out, "lock-sweep-measured").await?;
    open_paused(browser, &format!("{origin}/lab/pipeline?pattern=worker_pool"), 300).await?;
    browser.execute("document.querySelector('button.sweep-simulate').click()", vec![]).await?;
    browser.query(By::Css(".sweep-progress[data-state=simulated]")).first().await?;
    browser.execute("document.querySelector('.sweep-panel').scrollIntoView()", vec![]).await?;
    shoot(browser, out, "pipeline-sweep-simulated").await
}

async fn shoot(browser: &WebDriver, out: &Path, name: &str) -> anyhow::Result<()> {
    let path = out.join(format!("{name}.png"));
    browser.screenshot(&path).await.with_context(|| format!("saving {}", path.display()))?;
    println!("{}", path.display());
    Ok(())
}

/// Opens a lab URL, lets it play for `play_ms`, then pauses. (Elements are waited for with `query`: a bare
/// `find` looks once, and the page may still be loading its wasm.)
async fn open_paused(browser: &WebDriver, url: &str, play_ms: u64) -> anyhow::Result<()> {
    browser.goto(url).await?;
    browser.query(By::Css(".view figure")).first().await?;
    tokio::time::sleep(Duration::from_millis(play_ms)).await;
    let play = browser.query(By::Css(".player button.play")).first().await?;
    if play.attr("data-playing").await?.as_deref() == Some("true") {
        browser.execute("document.querySelector('.player button.play').click()", vec![]).await?;
    }
    Ok(())
}

async fn shoot_all(browser: &WebDriver, page: &StaticServer, companion: &Companion, out: &Path) -> anyhow::Result<()> {
    let origin = page.origin();
    browser.set_window_rect(0, 0, 1280, 900).await?;
    browser.goto(format!("{origin}/")).await?;
    browser.query(By::Css(".lab-cards")).first().await?;
    shoot(browser, out, "home").await?;
    // The same in Japanese (the address's `lang` decides; later pages without it are in the browser's English).
    browser.goto(format!("{origin}/?lang=ja")).await?;
    browser.query(By::Css(".lab-cards")).first().await?;
    shoot(browser, out, "home-ja").await?;
    browser.goto(format!("{origin}/lab/lock?procs=8&readers=25&seed=3&lang=ja")).await?;
    browser.query(By::Css(".view figure")).first().await?;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    shoot(browser, out, "lock-ja").await?;
    browser.execute("window.scrollTo(0, document.querySelector('.lab-grid').offsetTop - 10)", vec![]).await?;
    shoot(browser, out, "lock-ja-drawing").await?;

    open_paused(browser, &format!("{origin}/lab/lock?procs=8&readers=25&seed=3"), 2_500).await?;
    browser.execute("window.scrollTo(0, document.querySelector('.lab-grid').offsetTop - 10)", vec![]).await?;
    shoot(browser, out, "lock-simulated-blocking").await?;

    open_paused(
        browser,
        &format!("{origin}/lab/lock?procs=12&mode=nonblocking&retry_us=100&think_us=200&seed=5"),
        2_000,
    )
    .await?;
    browser.execute("window.scrollTo(0, document.querySelector('.lab-grid').offsetTop - 10)", vec![]).await?;
    shoot(browser, out, "lock-simulated-nonblocking").await?;

    open_paused(browser, &format!("{origin}/lab/lock?procs=6&mode=lockfile&demo=kill_holder&seed=42"), 500).await?;
    browser.query(By::Css("body")).first().await?.send_keys(Key::End).await?;
    browser.execute("window.scrollTo(0, document.querySelector('.lab-grid').offsetTop - 10)", vec![]).await?;
    shoot(browser, out, "lock-simulated-stale-lockfile").await?;

    // Live: run on this machine, then replay the measured run next to the simulated figures.
    browser
        .goto(format!("{origin}/lab/lock?procs=6&readers=33&duration_ms=400&seed=9{}", companion.fragment()))
        .await?;
    wait_for("the companion", Duration::from_secs(20), || async {
        browser.find(By::Css(".status-pill.on")).await.ok()
    })
    .await?;
    // A script click: the sticky header may cover the button at this scroll position.
    browser.execute("document.querySelector('button.run-live').click()", vec![]).await?;
    wait_for("the replay", Duration::from_secs(60), || async {
        browser.find(By::Css(".player button.play")).await.ok()
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(3_000)).await;
    browser.execute("document.querySelector('.player button.play').click()", vec![]).await?;
    browser.execute("window.scrollTo(0, document.querySelector('.lab-grid').offsetTop - 10)", vec![]).await?;
    shoot(browser, out, "lock-measured-replay").await?;
    browser.execute("window.scrollTo(0, document.body.scrollHeight)", vec![]).await?;
    shoot(browser, out, "lock-metrics-side-by-side").await?;

    // The fast run that used to lose events: while it streams the page keeps still and counts; once whole, the
    // record line says how it knows.
    browser.goto(format!("{origin}/lab/lock?procs=4&think_us=0&hold_us=1&duration_ms=2000")).await?;
    wait_for("the companion", Duration::from_secs(20), || async {
        browser.find(By::Css(".status-pill.on")).await.ok()
    })
    .await?;
    browser.execute("document.querySelector('button.run-live').click()", vec![]).await?;
    wait_for("events arriving", Duration::from_secs(30), || async {
        e2e::live_record(browser).await.filter(|r| r.events > 0)
    })
    .await?;
    browser.execute("window.scrollTo(0, document.querySelector('.lab-grid').offsetTop - 10)", vec![]).await?;
    shoot(browser, out, "lock-fast-streaming").await?;
    e2e::whole_live_run(browser, Duration::from_secs(120)).await?;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    browser.execute("document.querySelector('.live-record').scrollIntoView({block: 'center'})", vec![]).await?;
    shoot(browser, out, "lock-fast-whole").await?;
    // Its figures' errors are marked (think 0, 1 µs holds): under the table, what the model leaves out.
    browser
        .execute("document.querySelector('table.metrics tfoot:last-of-type').scrollIntoView({block: 'end'})", vec![])
        .await?;
    shoot(browser, out, "lock-fast-model-gaps").await?;

    // The other labs, simulated then measured through the same companion; then each simulated in Japanese.
    let others = [
        ("amdahl", "parallel=0.9&max_threads=6&work_ms=60&repeats=2", "amdahl"),
        ("methods", "tasks=12&samples=100", "methods"),
        ("mmap", "size_mib=64&fraction_pct=5", "mmap"),
        ("mmap", "mode=write&size_mib=64", "mmap-write"),
        ("watch", "files=2000&changes=100&rate=100&interval_ms=50", "watch"),
        ("watch", "files=100000&sweep=on&changes=20&rate=100&repeats=1", "watch-sweep"),
        ("io", "sources=16&requests=200", "io"),
        ("pipeline", "pattern=stages&items=200", "pipeline-stages"),
        ("pipeline", "pattern=dependency_graph&items=48&workers=3", "pipeline-graph"),
        ("pipeline", "pattern=parallel_for&items=24&workers=3&work_us=500", "pipeline-parallel-for"),
    ];
    for (lab, query, name) in others {
        open_paused(browser, &format!("{origin}/lab/{lab}?{query}"), 1_500).await?;
        browser.execute("window.scrollTo(0, document.querySelector('.lab-grid').offsetTop - 10)", vec![]).await?;
        shoot(browser, out, &format!("{name}-simulated")).await?;
        browser.execute("document.querySelector('button.run-live').click()", vec![]).await?;
        // The measured side is drawn once the run is whole; the tab turns to it as soon as the run is asked for.
        e2e::whole_live_run(browser, Duration::from_secs(90)).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        browser.query(By::Css("body")).first().await?.send_keys(Key::End).await?;
        browser.execute("window.scrollTo(0, document.querySelector('.lab-grid').offsetTop - 10)", vec![]).await?;
        shoot(browser, out, &format!("{name}-measured")).await?;
    }
    for (lab, query, name) in others {
        open_paused(browser, &format!("{origin}/lab/{lab}?{query}&lang=ja"), 1_500).await?;
        browser.execute("window.scrollTo(0, document.querySelector('.lab-grid').offsetTop - 10)", vec![]).await?;
        shoot(browser, out, &format!("{name}-ja")).await?;
    }

    // The history of everything above, and two of its measured lock runs compared.
    browser.goto(format!("{origin}/history")).await?;
    let lock_runs =
        browser.query(By::Css("tr[data-lab=lock][data-kind=measured]")).all_from_selector_required().await?;
    shoot(browser, out, "history").await?;
    for row in lock_runs.iter().take(2) {
        row.find(By::Css("input[type=checkbox]")).await?.click().await?;
    }
    browser.execute("document.querySelector('button.history-compare').click()", vec![]).await?;
    browser.query(By::Css(".compare-figures")).first().await?;
    browser.execute("document.querySelector('.compare').scrollIntoView()", vec![]).await?;
    shoot(browser, out, "history-compare").await?;
    browser.goto(format!("{origin}/history?lang=ja")).await?;
    browser.query(By::Css("table.history tr[data-entry]")).first().await?;
    shoot(browser, out, "history-ja").await?;
    open_paused(browser, &format!("{origin}/lab/lock?lang=ja"), 300).await?;
    browser.execute("document.querySelector('button.sweep-simulate').click()", vec![]).await?;
    browser.query(By::Css(".sweep-progress[data-state=simulated]")).first().await?;
    browser.execute("document.querySelector('.sweep-panel').scrollIntoView()", vec![]).await?;
    shoot(browser, out, "lock-sweep-ja").await?;

    // A laptop-sized window, and the page without a companion.
    browser.set_window_rect(0, 0, 1024, 700).await?;
    open_paused(browser, &format!("{origin}/lab/lock?procs=4&seed=1"), 1_000).await?;
    shoot(browser, out, "lock-laptop-top").await?;
    browser.goto(format!("{origin}/lab/nope")).await?;
    browser.query(By::Css(".not-found")).first().await?;
    shoot(browser, out, "not-found").await?;
    Ok(())
}
