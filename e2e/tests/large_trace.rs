//! A large exported run opens in the page: a real lock run at think time 0, exported by the command line and
//! picked in the page's import button, draws its lanes by level of detail (at most a mark per pixel column a
//! lane), and zooming from the keyboard narrows the range the lanes show and the narration says it.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::large_trace::{export_fast_lock, lanes_window, open_in_page, zoom_frames};
use e2e::{Chromedriver, StaticServer, env_path, text};
use thirtyfour::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_exported_run_draws_its_lanes_and_zooms() -> anyhow::Result<()> {
    let (dist, bin) = (env_path("SYSLAB_DIST")?, env_path("SYSLAB_BIN")?);
    let file = std::env::temp_dir().join(format!("syslab-large-{}.json", std::process::id()));
    export_fast_lock(&bin, 400, &file)?;
    let page = StaticServer::start(&dist)?;
    let driver = Chromedriver::start()?;
    let browser = driver.browser().await?;
    let outcome = async {
        let took = open_in_page(&browser, &page.origin(), &file).await?;
        let acquisitions = e2e::measured_value(&browser, "acquisitions").await.unwrap_or(0.0);
        assert!(acquisitions > 2_000.0, "a large run: {acquisitions} acquisitions");
        let lanes = browser.find_all(By::Css(".lock-lanes g.lane")).await?;
        assert_eq!(lanes.len(), 4);
        for lane in &lanes {
            let marks: u32 = lane.attr("data-marks").await?.unwrap_or_default().parse()?;
            assert!(marks > 0 && marks <= 640, "a lane draws at most a mark per column: {marks}");
        }
        let whole = lanes_window(&browser).await?;
        assert!(text(&browser, ".narration-range").await.is_none(), "the whole run says no range");
        let times = zoom_frames(&browser, &["Equal"; 8]).await?;
        let zoomed = lanes_window(&browser).await?;
        assert!(zoomed.1 - zoomed.0 < (whole.1 - whole.0) / 100, "zoomed 256×: {zoomed:?} of {whole:?}");
        let said = text(&browser, ".narration-range").await.unwrap_or_default();
        assert!(said.contains("the timelines show"), "the narration says the range: {said}");
        zoom_frames(&browser, &["Digit0"]).await?;
        assert_eq!(lanes_window(&browser).await?, whole);
        println!(
            "{acquisitions} acquisitions opened in {:.2} s; zoom redraws {:?} ms",
            took.as_secs_f64(),
            times.iter().map(|t| t.round()).collect::<Vec<_>>()
        );
        anyhow::Ok(())
    }
    .await;
    browser.quit().await?;
    let _ = std::fs::remove_file(&file);
    outcome
}
