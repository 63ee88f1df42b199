//! The history in the built page against a real companion: two measured runs are kept, survive a reload and
//! a rename; compared, their parameters are diffed and their figures set side by side with B − A and B ÷ A
//! (the numbers the two runs' own tables show); a kept run opens on its lab page with its figures; a deleted
//! one is gone; and a comparison of two simulated configurations travels as an address.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::{Companion, LiveSetup, StaticServer, measured_value, run_live, text, wait_for, whole_live_run};
use std::time::Duration;
use thirtyfour::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_are_kept_across_reloads_and_two_compare_with_their_deltas() -> anyhow::Result<()> {
    let setup = LiveSetup::start().await?;
    let outcome = scenario(&setup.browser, &setup.page, &setup.companion).await;
    setup.finish(outcome).await
}

/// The history's measured rows, newest first: (entry id, name).
async fn measured_rows(browser: &WebDriver) -> anyhow::Result<Vec<(String, String)>> {
    let mut rows = Vec::new();
    for row in browser.find_all(By::Css("table.history tr[data-kind=measured]")).await? {
        let id = row.attr("data-entry").await?.unwrap_or_default();
        let name = row.find(By::Css(".history-name")).await?.prop("value").await?.unwrap_or_default();
        rows.push((id, name));
    }
    Ok(rows)
}

async fn open_history(
    browser: &WebDriver,
    page: &StaticServer,
    at_least: usize,
) -> anyhow::Result<Vec<(String, String)>> {
    browser.goto(format!("{}/history", page.origin())).await?;
    wait_for("the kept measured runs", Duration::from_secs(20), || async {
        measured_rows(browser).await.ok().filter(|rows| rows.len() >= at_least)
    })
    .await
}

async fn script(browser: &WebDriver, js: &str, args: Vec<serde_json::Value>) -> anyhow::Result<()> {
    browser.execute(js, args).await?;
    Ok(())
}

async fn scenario(browser: &WebDriver, page: &StaticServer, companion: &Companion) -> anyhow::Result<()> {
    let origin = page.origin();
    let mut measured = Vec::new();
    for procs in [2, 6] {
        run_live(
            browser,
            format!("{origin}/lab/lock?procs={procs}&duration_ms=150&repeats=1&seed=5{}", companion.fragment()),
        )
        .await?;
        whole_live_run(browser, Duration::from_secs(60)).await?;
        let throughput = wait_for("the measured throughput", Duration::from_secs(20), || async {
            measured_value(browser, "throughput").await
        })
        .await?;
        measured.push(throughput);
    }
    // Both are kept (newest first), and still there after a reload.
    let rows = open_history(browser, page, 2).await?;
    assert_eq!(
        (rows[0].1.as_str(), rows[1].1.as_str()),
        ("procs=6, duration_ms=150, repeats=1", "procs=2, duration_ms=150, repeats=1")
    );
    browser.refresh().await?;
    let again = open_history(browser, page, 2).await?;
    assert_eq!(again[..2], rows[..2], "the history did not survive a reload");

    // A rename is kept too.
    let rename = "const f = document.querySelector(`tr[data-entry='${arguments[0]}'] .history-name`); \
                  f.value = arguments[1]; f.dispatchEvent(new Event('change', { bubbles: true }));";
    script(browser, rename, vec![serde_json::json!(rows[1].0), serde_json::json!("two processes")]).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let renamed = open_history(browser, page, 2).await?;
    assert_eq!(renamed[1].1, "two processes");

    // Compared: A the older (2 processes), B the newer (6).
    let tick = "document.querySelector(`tr[data-entry='${arguments[0]}'] input[type=checkbox]`).click()";
    script(browser, tick, vec![serde_json::json!(rows[1].0)]).await?;
    script(browser, tick, vec![serde_json::json!(rows[0].0)]).await?;
    script(browser, "document.querySelector('button.history-compare').click()", Vec::new()).await?;
    let row = wait_for("the compared throughput", Duration::from_secs(20), || async {
        browser.find(By::Css(".compare-figures tr[data-metric=throughput]")).await.ok()
    })
    .await?;
    let number = |name: &'static str| {
        let row = row.clone();
        async move { row.attr(name).await.ok().flatten().and_then(|v| v.parse::<f64>().ok()) }
    };
    let (a, b, delta, ratio) =
        (number("data-a").await, number("data-b").await, number("data-delta").await, number("data-ratio").await);
    assert_eq!((a, b), (Some(measured[0]), Some(measured[1])), "the compared figures are the runs' own");
    assert_eq!(delta, Some(measured[1] - measured[0]));
    assert!(ratio.is_some_and(|r| (r - measured[1] / measured[0]).abs() < 1e-9), "{ratio:?}");
    let procs = text(browser, ".compare-params tr[data-param=procs]").await.unwrap_or_default();
    assert!(procs.contains('2') && procs.contains('6'), "the parameters' diff: {procs}");
    assert!(
        browser.find(By::Css(".compare-a figure")).await.is_ok()
            && browser.find(By::Css(".compare-b figure")).await.is_ok(),
        "both timelines"
    );
    println!("compared lock throughput: 2 processes {a:?}, 6 processes {b:?}, ratio {ratio:?}");

    // A kept run opens on its lab page with its figures.
    script(
        browser,
        "document.querySelector(`tr[data-entry='${arguments[0]}'] a.history-open`).click()",
        vec![serde_json::json!(rows[0].0)],
    )
    .await?;
    // Read in one script, so that the figure and the tab are of one moment of the new page.
    let reopened = wait_for("the reopened run's figures", Duration::from_secs(30), || async {
        let js = "const e = document.querySelector('tr[data-metric=throughput] td.real'); \
                  const tab = document.querySelector('button.tab.active'); \
                  return e && tab && tab.textContent.startsWith('Measured') ? e.getAttribute('data-value') : null";
        browser.execute(js, Vec::new()).await.ok()?.json().as_str()?.parse::<f64>().ok()
    })
    .await?;
    assert_eq!(reopened, measured[1], "the reopened run's throughput");

    // Deleted, it is gone.
    let rows = open_history(browser, page, 2).await?;
    let delete = "document.querySelector(`tr[data-entry='${arguments[0]}'] button.history-delete`).click()";
    script(browser, delete, vec![serde_json::json!(rows[0].0)]).await?;
    wait_for("the deleted run to go", Duration::from_secs(10), || async {
        measured_rows(browser).await.ok().filter(|now| !now.iter().any(|r| r.0 == rows[0].0))
    })
    .await?;

    // Two simulated configurations compared by address.
    browser.goto(format!("{origin}/compare?lab=lock&a=procs%3D2&b=procs%3D8&seed=3")).await?;
    let diff = wait_for("the compared parameters", Duration::from_secs(20), || async {
        text(browser, ".compare-params tr[data-param=procs]").await
    })
    .await?;
    assert!(diff.contains('2') && diff.contains('8'), "{diff}");
    // Its own link says the same comparison again.
    let link = browser.find(By::Css("a.compare-link")).await?.attr("href").await?.unwrap_or_default();
    browser.goto(format!("{origin}{link}")).await?;
    let again = wait_for("the linked comparison", Duration::from_secs(20), || async {
        text(browser, ".compare-params tr[data-param=procs]").await
    })
    .await?;
    assert_eq!(again, diff, "the link at {link}");
    Ok(())
}
