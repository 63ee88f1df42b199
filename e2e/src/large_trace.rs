//! A large run in the page, for the end-to-end test and the benchmark alike: a lock run at think time 0
//! exported by the command line, opened through the page's file picker, and its timelines zoomed and panned from
//! the keyboard with each redraw timed in the page.

use crate::wait_for;
use anyhow::{Context, Result, ensure};
use std::path::Path;
use std::time::{Duration, Instant};
use thirtyfour::prelude::*;

/// Runs the lock lab as fast as it goes for `duration_ms` (a million events at most) and exports it to `file`.
pub fn export_fast_lock(bin: &Path, duration_ms: u32, file: &Path) -> Result<()> {
    let status = std::process::Command::new(bin)
        .args(["run", "lock", "--procs", "4", "--think-us", "0", "--hold-us", "1", "--repeats", "1"])
        .args(["--duration-ms", &duration_ms.to_string(), "--export"])
        .arg(file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .context("running the lock lab to export it")?;
    ensure!(status.success(), "the exported run failed: {status}");
    Ok(())
}

/// Opens the lock lab's page, picks `file` in its import button and waits until the run's lanes are drawn;
/// returns how long that took from the pick.
pub async fn open_in_page(browser: &WebDriver, origin: &str, file: &Path) -> Result<Duration> {
    browser.goto(format!("{origin}/lab/lock")).await?;
    let picker = wait_for("the import button", Duration::from_secs(30), || async {
        browser.find(By::Css("#import-run")).await.ok()
    })
    .await?;
    let started = Instant::now();
    picker.send_keys(file.to_string_lossy()).await?;
    wait_for("the imported run's lanes", Duration::from_secs(120), || async {
        browser.find(By::Css(".provenance")).await.ok()?;
        browser.find(By::Css(".lock-lanes g.lane")).await.ok()
    })
    .await?;
    Ok(started.elapsed())
}

/// The window the lock lanes show: from and to, in nanoseconds of the run.
pub async fn lanes_window(browser: &WebDriver) -> Result<(u64, u64)> {
    let svg = browser.find(By::Css("svg.lock-lanes")).await?;
    let at = |name: &'static str| {
        let svg = svg.clone();
        async move { svg.attr(name).await.ok().flatten().and_then(|v| v.parse::<u64>().ok()).context(name) }
    };
    Ok((at("data-from").await?, at("data-to").await?))
}

/// Presses Alt with each key in turn (`Equal` zooms in, `Minus` out, `ArrowLeft`/`ArrowRight` pan, `Digit0` the
/// whole run) and times each redraw in the page: from the key to the drawing updated and laid out.
pub async fn zoom_frames(browser: &WebDriver, codes: &[&str]) -> Result<Vec<f64>> {
    const SCRIPT: &str = r#"
const [codes, done] = [arguments[0], arguments[arguments.length - 1]];
const keys = { Equal: '=', Minus: '-', Digit0: '0', ArrowLeft: 'ArrowLeft', ArrowRight: 'ArrowRight' };
const times = [];
const channel = new MessageChannel();
let i = 0, began = 0;
channel.port1.onmessage = () => {
  document.querySelector('svg.lock-lanes').getBBox();
  document.body.offsetHeight;
  times.push(performance.now() - began);
  step();
};
function step() {
  if (i >= codes.length) { done(times); return; }
  const code = codes[i++];
  began = performance.now();
  document.dispatchEvent(new KeyboardEvent('keydown', { key: keys[code], code, altKey: true, bubbles: true }));
  channel.port2.postMessage(0);
}
step();
"#;
    let codes = serde_json::to_value(codes)?;
    let times = browser.execute_async(SCRIPT, vec![codes]).await?;
    serde_json::from_value(times.json().clone()).context("reading the redraw times")
}

/// The `p`-th percentile of `times` (nearest rank).
pub fn percentile(times: &[f64], p: f64) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(((sorted.len() as f64 * p / 100.0).ceil() as usize).saturating_sub(1)).copied().unwrap_or(f64::NAN)
}
