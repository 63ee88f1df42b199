//! The accessibility audit: axe-core (npm's, at the version xtask pins) runs in headless Chromium over the front
//! page and every lab page, in English and in Japanese — simulated run drawn, at its end, shortcuts list open —
//! and must find no serious or critical violation of the WCAG 2.1 A and AA rules (colour contrast among them).
//! Every violation found, of any impact, is printed for the next engineer. The states the drawings tell apart by
//! colour must carry a hatch too. The front page is also checked for its order: the labs by chapter, each card
//! with its lab's live thumbnail.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::{Chromedriver, StaticServer, env_path, text, wait_for};
use serde_json::Value;
use std::time::Duration;
use thirtyfour::prelude::*;

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

/// Runs axe in the page as it is; returns its serious and critical violations, printing every one.
async fn run_axe(browser: &WebDriver, axe: &str, name: &str) -> anyhow::Result<Vec<String>> {
    browser.execute(axe, Vec::new()).await?;
    let found = browser.execute_async(RUN_AXE, Vec::new()).await?.json().clone();
    let passed = found["passed"].as_u64().unwrap_or(0);
    // An audit that checked nothing would pass anything.
    assert!(passed >= 10, "{name}: axe passed only {passed} rules: {found}");
    println!("{name}: axe passed {passed} rules");
    let mut serious = Vec::new();
    for violation in found["violations"].as_array().cloned().unwrap_or_default() {
        let impact = violation["impact"].as_str().unwrap_or("unknown").to_owned();
        let targets = violation["targets"].as_array().cloned().unwrap_or_default();
        let line = format!(
            "{name}: [{impact}] {} — {} ({} nodes, e.g. {})",
            violation["id"].as_str().unwrap_or("?"),
            violation["help"].as_str().unwrap_or("?"),
            violation["count"],
            targets.iter().map(Value::to_string).collect::<Vec<_>>().join(", "),
        );
        println!("{line}");
        if impact == "serious" || impact == "critical" {
            serious.push(line);
        }
    }
    Ok(serious)
}

async fn audit(browser: &WebDriver, page: &StaticServer, axe: &str) -> anyhow::Result<Vec<String>> {
    browser.goto(format!("{}/", page.origin())).await?;
    let cards = wait_for("the front page's cards", Duration::from_secs(30), || async {
        let cards = browser.find_all(By::Css(".chapter .card")).await.ok()?;
        (cards.len() == shared::LabId::ALL.len()).then_some(cards)
    })
    .await?;
    let mut order = Vec::new();
    for card in &cards {
        order.push(card.attr("data-lab").await?.unwrap_or_default());
        assert!(card.find(By::Css(".thumb-inner *")).await.is_ok(), "a card without its thumbnail");
    }
    let chapters: Vec<&str> = shared::catalogue::CHAPTERS.iter().flat_map(|c| c.labs).map(|l| l.as_str()).collect();
    assert_eq!(order, chapters, "the chapters' order");
    let mut serious = run_axe(browser, axe, "front page").await?;
    browser.goto(format!("{}/?lang=ja", page.origin())).await?;
    wait_for("the Japanese front page", Duration::from_secs(30), || async {
        text(browser, ".chapter h2").await.filter(|h| h.starts_with("第1章"))
    })
    .await?;
    serious.extend(run_axe(browser, axe, "front page (ja)").await?);
    // Every lab at its defaults, and the drawings a mode of their own adds (mmap writing, parallel for, processes).
    let pages = shared::LabId::ALL
        .map(|l| l.as_str())
        .into_iter()
        .chain(["mmap?mode=write&size_mib=16", "pipeline?pattern=parallel_for", "pipeline?pattern=processes"])
        .flat_map(|lab| [(lab, "en"), (lab, "ja")]);
    for (lab, lang) in pages {
        let joiner = if lab.contains('?') { '&' } else { '?' };
        browser.goto(format!("{}/lab/{lab}{joiner}lang={lang}", page.origin())).await?;
        wait_for("the simulated figures", Duration::from_secs(30), || async {
            text(browser, "table.metrics td.sim").await.filter(|t| !t.is_empty())
        })
        .await?;
        // Paused at the end, with the shortcuts list open: every part of the page is on it.
        browser.execute("document.querySelector('button.play[data-playing=true]')?.click()", Vec::new()).await?;
        let body = browser.find(By::Css("body")).await?;
        body.send_keys(Key::End).await?;
        body.send_keys("?").await?;
        browser.find(By::Css("#shortcuts")).await?;
        serious.extend(run_axe(browser, axe, &format!("{lab} ({lang})")).await?);
        let hatched = states_told_by_hatch(browser).await?;
        // At the end of the default runs the watch grid has cells both watchers noticed, and the polling
        // server's lane has spun: the check must have met them.
        if ["watch", "io"].contains(&lab) {
            assert!(hatched > 0, "{lab}: no hatched state drawn at the end of the run");
        }
    }
    // A sweep's chart, the history (which holds the runs above by now) and a comparison, in both languages.
    for lang in ["en", "ja"] {
        browser.goto(format!("{}/lab/lock?lang={lang}", page.origin())).await?;
        browser.query(By::Css("button.sweep-simulate")).first().await?;
        browser.execute("document.querySelector('button.sweep-simulate').click()", Vec::new()).await?;
        browser.query(By::Css("svg.sweep-chart g.point")).first().await?;
        serious.extend(run_axe(browser, axe, &format!("lock sweep ({lang})")).await?);
        browser.goto(format!("{}/history?lang={lang}", page.origin())).await?;
        browser.query(By::Css("table.history tr[data-entry]")).first().await?;
        serious.extend(run_axe(browser, axe, &format!("history ({lang})")).await?);
        browser.goto(format!("{}/compare?lab=lock&a=procs%3D2&b=procs%3D8&lang={lang}", page.origin())).await?;
        browser.query(By::Css(".compare-figures tr[data-metric]")).first().await?;
        serious.extend(run_axe(browser, axe, &format!("comparison ({lang})")).await?);
    }
    Ok(serious)
}

/// The states drawn in colour that also carry a hatch (who noticed a change, a polling thread, a thread blocked
/// on a full channel, a shared hold): every element in one of them must be filled with one of the page's
/// patterns, not a bare colour. Returns how many there were.
async fn states_told_by_hatch(browser: &WebDriver) -> anyhow::Result<u64> {
    const CHECK: &str = r#"
const selectors = ['.watch-grid .cell.notified', '.watch-grid .cell.polled', '.watch-grid .cell.both',
  '.io-lanes .span.polling', '.pipeline-stages .thread.send-wait', '.lock-lanes .span[fill]'];
let hatched = 0;
const plain = [];
for (const selector of selectors) {
  for (const el of document.querySelectorAll(selector)) {
    const fill = getComputedStyle(el).fill;
    const id = /url\("?#([^")]+)"?\)/.exec(fill);
    if (id && document.getElementById(id[1]) instanceof SVGPatternElement) hatched++;
    else plain.push(selector + ': ' + fill);
  }
}
return { hatched, plain: plain.slice(0, 5) };
"#;
    let found = browser.execute(CHECK, Vec::new()).await?.json().clone();
    let plain = found["plain"].as_array().cloned().unwrap_or_default();
    assert!(plain.is_empty(), "states told by colour alone: {plain:?}");
    Ok(found["hatched"].as_u64().unwrap_or(0))
}
