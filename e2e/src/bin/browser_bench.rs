//! The in-browser half of `cargo xtask bench`: opens the page's benchmark route in headless Chromium and prints
//! how many simulation events per second the wasm build produces on the same reference cases as `syslab bench`
//! (the lock and pipeline labs'), and how long the pipeline view takes to redraw with 500 items in flight;
//! then, with a companion, runs `syslab bench`'s watch case live from the page (every event streamed to it) and
//! prints the measured figures, which `cargo xtask bench` sets against the same run without a client.

use anyhow::Context;
use e2e::{Chromedriver, Companion, StaticServer, env_path, run_live, wait_for};
use std::time::Duration;
use thirtyfour::prelude::*;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let page = StaticServer::start(&env_path("SYSLAB_DIST")?)?;
    let driver = Chromedriver::start()?;
    let browser = driver.browser().await?;
    let outcome = async {
        browser.goto(format!("{}/bench", page.origin())).await?;
        let rate = wait_for("the benchmark result", Duration::from_secs(60), || async {
            let el = browser.find(By::Id("bench-result")).await.ok()?;
            el.attr("data-events-per-sec").await.ok().flatten()
        })
        .await?;
        let rate: f64 = rate.parse().context("reading the rate")?;
        println!("simulation, wasm in headless Chromium: {:.2} M events/s", rate / 1e6);
        println!("wasm_events_per_sec={rate:.0}");
        let attr = |id: &'static str, name: &'static str| {
            let browser = &browser;
            async move { browser.find(By::Id(id)).await.ok()?.attr(name).await.ok().flatten() }
        };
        if let Some(pipeline) = attr("bench-pipeline", "data-events-per-sec").await {
            println!("pipeline simulation, wasm in headless Chromium: {pipeline} events/s");
            println!("wasm_pipeline_events_per_sec={pipeline}");
        }
        let p50 =
            wait_for("the frame measurement", Duration::from_secs(120), || attr("bench-frames", "data-p50-ms")).await?;
        let p99 = attr("bench-frames", "data-p99-ms").await.unwrap_or_default();
        println!("pipeline view, 500 items in flight: redraw p50 {p50} ms, p99 {p99} ms (against the 16.7 ms frame)");
        if let Ok(case) = std::env::var("SYSLAB_WATCH_CASE")
            && !case.is_empty()
        {
            let companion = Companion::start(&env_path("SYSLAB_BIN")?, &page.origin())?;
            run_live(&browser, format!("{}/lab/watch?{case}{}", page.origin(), companion.fragment())).await?;
            for key in ["inotify_p50", "inotify_p99", "poll_p50"] {
                let value = wait_for("the measured figures", Duration::from_secs(120), || async {
                    let cell = browser.find(By::Css(format!("tr[data-metric={key}] td.real"))).await.ok()?;
                    cell.attr("data-value").await.ok().flatten()
                })
                .await?;
                println!("watch_client_{key}_ns={value}");
            }
        }
        anyhow::Ok(())
    }
    .await;
    browser.quit().await?;
    outcome
}
