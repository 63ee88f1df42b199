//! A permalink of each lab opened in the page shows the simulated run's id that `syslab run LAB …
//! --simulate-only` prints for the same parameters and seed: both simulate the same run, wasm32 and native.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::{Chromedriver, StaticServer, env_path, wait_for};
use shared::LabId;
use std::time::Duration;
use thirtyfour::prelude::*;

/// The id the command line prints for `lab` with `query`'s parameters (`key=value&…`) and `seed`.
fn cli_run_id(bin: &std::path::Path, lab: LabId, query: &str, seed: u64) -> String {
    let mut cmd = std::process::Command::new(bin);
    // The page here has no companion, so its models keep their reference values: so must the command line's,
    // whatever calibration this machine's user has stored.
    cmd.env("XDG_DATA_HOME", std::env::temp_dir().join("syslab-e2e-uncalibrated"));
    cmd.args(["run", lab.as_str(), "--simulate-only", "--seed", &seed.to_string()]);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap();
        cmd.arg(format!("--{key}")).arg(value);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout).unwrap();
    let line = table.lines().find(|l| l.starts_with("simulated run: id ")).unwrap_or_else(|| panic!("no id: {table}"));
    line["simulated run: id ".len()..].split(',').next().unwrap().to_owned()
}

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
                let want = cli_run_id(&bin, lab, &query, seed);
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
