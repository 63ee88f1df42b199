//! A permalink of each lab opened in the page shows the simulated run's id that `syslab run LAB …
//! --simulate-only` prints for the same parameters and seed: both simulate the same run, wasm32 and native.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::{Chromedriver, StaticServer, cli_run_id, env_path, uncalibrated, wait_for};
use shared::LabId;
use std::time::Duration;
use thirtyfour::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_labs_permalink_shows_the_run_id_the_command_line_prints() -> anyhow::Result<()> {
    let (dist, bin) = (env_path("SYSLAB_DIST")?, env_path("SYSLAB_BIN")?);
    let page = StaticServer::start(&dist)?;
    let driver = Chromedriver::start()?;
    let browser = driver.browser().await?;
    let outcome = async {
        for lab in LabId::ALL {
            // The defaults, and one parameter away from them (the first choice's other value, where there is one).
            let other = lab.info().params.iter().find_map(|spec| match spec.kind {
                shared::params::ParamKind::Choice { choices, default } => {
                    choices.iter().find(|c| c.value != default).map(|c| format!("{}={}", spec.key, c.value))
                }
                _ => None,
            });
            for query in [String::new()].into_iter().chain(other) {
                let seed = 11;
                // The page here has no companion, so its models keep their reference values: so must the
                // command line's, whatever calibration this machine's user has stored.
                let want = cli_run_id(&bin, lab, &query, seed, &uncalibrated())?;
                browser.goto(format!("{}/lab/{lab}?{query}&seed={seed}", page.origin())).await?;
                let shown = wait_for("the simulated run's id", Duration::from_secs(30), || async {
                    browser.find(By::Css(".run-id[data-run-id]")).await.ok()?.attr("data-run-id").await.ok()?
                })
                .await?;
                assert_eq!(shown, want, "{lab}?{query}: the page and the command line simulate different runs");
                println!("{lab}?{query}&seed={seed}: run {shown} in the page and on the command line");
            }
        }
        anyhow::Ok(())
    }
    .await;
    browser.quit().await?;
    outcome
}
