//! "Calibrate to this machine" from the page: the companion measures this host as a queued run, stores what it
//! measured in its data directory and tells the page. The lock form then marks its model constants as this
//! machine's, and the page simulates the very run the command line simulates with the same stored calibration.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::{Chromedriver, Companion, StaticServer, cli_run_id, env_path, wait_for};
use shared::LabId;
use std::time::Duration;
use thirtyfour::prelude::*;

async fn run_id(browser: &WebDriver) -> Option<String> {
    browser.find(By::Css(".run-id[data-run-id]")).await.ok()?.attr("data-run-id").await.ok()?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_calibrates_and_then_simulates_as_the_command_line_does() -> anyhow::Result<()> {
    let (dist, bin) = (env_path("SYSLAB_DIST")?, env_path("SYSLAB_BIN")?);
    let data = std::env::temp_dir().join(format!("syslab-e2e-calibration-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let page = StaticServer::start(&dist)?;
    let companion = Companion::start_with_data(&bin, &page.origin(), &data)?;
    let driver = Chromedriver::start()?;
    let browser = driver.browser().await?;
    let outcome = async {
        let seed = 11;
        browser.goto(format!("{}/lab/lock?seed={seed}{}", page.origin(), companion.fragment())).await?;
        wait_for("the companion to connect", Duration::from_secs(30), || async {
            browser.find(By::Css(".status-pill.on")).await.ok()
        })
        .await?;
        // Before: the model constants are reference values, and the page says so.
        wait_for("the reference marks", Duration::from_secs(20), || async {
            browser.find(By::Css(".calibration.reference")).await.ok()
        })
        .await?;
        let reference = wait_for("the simulated run", Duration::from_secs(20), || run_id(&browser)).await?;
        assert!(browser.find(By::Css(".calibration.calibrated")).await.is_err(), "calibrated before calibrating");

        browser.execute("document.querySelector('button.calibrate-button').click()", Vec::new()).await?;
        wait_for("the calibration to be under way", Duration::from_secs(10), || async {
            browser.find(By::Css(".calibrate[data-state=measuring]")).await.ok()
        })
        .await?;
        let marks = wait_for("the calibrated marks", Duration::from_secs(120), || async {
            let marks = browser.find_all(By::Css(".calibration.calibrated[data-calibrated=true]")).await.ok()?;
            (marks.len() >= 3).then_some(marks.len())
        })
        .await?;
        let status = wait_for("the calibration's end", Duration::from_secs(20), || async {
            browser.find(By::Css(".calibrate[data-state=idle] .calibrate-status")).await.ok()?.text().await.ok()
        })
        .await?;
        assert!(status.contains("Calibrated"), "{status}");
        let mark = browser.find(By::Css(".calibration.calibrated")).await?.text().await?;
        assert!(mark.contains("calibrated on") && mark.contains(" ± "), "{mark}");
        assert!(data.join("syslab/calibration.json").is_file(), "the companion stored no calibration");

        // The page simulates again with the calibration: the run the command line simulates with it.
        let calibrated = wait_for("the calibrated simulation", Duration::from_secs(20), || async {
            run_id(&browser).await.filter(|id| *id != reference)
        })
        .await?;
        assert_eq!(calibrated, cli_run_id(&bin, LabId::Lock, "", seed, &data)?, "the page and the command line differ");
        println!("calibrated from the page: {marks} lock constants marked; run {reference} became {calibrated}");
        anyhow::Ok(())
    }
    .await;
    browser.quit().await?;
    let _ = std::fs::remove_dir_all(&data);
    outcome
}
