//! The accessibility audit: axe-core (npm's, at the version xtask pins) runs in headless Chromium over every lab
//! page — simulated run drawn, paused at its end, shortcuts list open — and must find no serious or critical
//! violation of the WCAG 2.1 A and AA rules (colour contrast among them). Every violation found, of any impact,
//! is printed for the next engineer.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::{Chromedriver, StaticServer, env_path, text, wait_for};
use serde_json::Value;
use std::time::Duration;
use thirtyfour::prelude::*;

const LABS: [&str; 7] = ["lock", "amdahl", "methods", "mmap", "watch", "io", "pipeline"];

const RUN_AXE: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
  .then(r => done({ passed: r.passes.length, violations: r.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.slice(0, 3).map(n => n.target.join(' ')), count: v.nodes.length,
  })) }))
  .catch(e => done({ passed: 0, violations: [{ id: 'axe-error', impact: 'critical', help: String(e), targets: [], count: 0 }] }));
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_lab_page_passes_the_axe_audit() -> anyhow::Result<()> {
    let dist = env_path("SYSLAB_DIST")?;
    let axe = std::fs::read_to_string(env_path("SYSLAB_AXE")?)?;
    let page = StaticServer::start(&dist)?;
    let driver = Chromedriver::start()?;
    let browser = driver.browser().await?;
    let outcome = audit(&browser, &page, &axe).await;
    browser.quit().await?;
    let serious = outcome?;
    assert!(serious.is_empty(), "serious or critical accessibility violations:\n{}", serious.join("\n"));
    Ok(())
}

async fn audit(browser: &WebDriver, page: &StaticServer, axe: &str) -> anyhow::Result<Vec<String>> {
    let mut serious = Vec::new();
    for lab in LABS {
        browser.goto(format!("{}/lab/{lab}", page.origin())).await?;
        wait_for("the simulated figures", Duration::from_secs(30), || async {
            text(browser, "table.metrics td.sim").await.filter(|t| !t.is_empty())
        })
        .await?;
        // Paused at the end, with the shortcuts list open: every part of the page is on it.
        browser.execute("document.querySelector('button.play[aria-label=Pause]')?.click()", Vec::new()).await?;
        let body = browser.find(By::Css("body")).await?;
        body.send_keys(Key::End).await?;
        body.send_keys("?").await?;
        browser.find(By::Css("#shortcuts")).await?;
        browser.execute(axe, Vec::new()).await?;
        let found = browser.execute_async(RUN_AXE, Vec::new()).await?.json().clone();
        let passed = found["passed"].as_u64().unwrap_or(0);
        // An audit that checked nothing would pass anything.
        assert!(passed >= 10, "{lab}: axe passed only {passed} rules: {found}");
        println!("{lab}: axe passed {passed} rules");
        for violation in found["violations"].as_array().cloned().unwrap_or_default() {
            let impact = violation["impact"].as_str().unwrap_or("unknown").to_owned();
            let line = format!(
                "{lab}: [{impact}] {} — {} ({} nodes, e.g. {})",
                violation["id"].as_str().unwrap_or("?"),
                violation["help"].as_str().unwrap_or("?"),
                violation["count"],
                violation["targets"]
                    .as_array()
                    .map(|t| t.iter().map(Value::to_string).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default(),
            );
            println!("{line}");
            if impact == "serious" || impact == "critical" {
                serious.push(line);
            }
        }
    }
    Ok(serious)
}
