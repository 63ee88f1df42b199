//! The in-browser half of `cargo xtask bench`: opens the page's benchmark route in headless Chromium and prints
//! how many simulation events per second the wasm build produces on the same reference case as `syslab bench`.

use anyhow::Context;
use e2e::{Chromedriver, StaticServer, env_path, wait_for};
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
        anyhow::Ok(())
    }
    .await;
    browser.quit().await?;
    outcome
}
