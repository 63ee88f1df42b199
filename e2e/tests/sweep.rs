//! A sweep in the built page against a real companion: bad values are refused naming the field; a measured
//! sweep of the lock lab's processes draws a simulated and a measured point per value with the model's error,
//! while the page keeps quiet; a point opens as an ordinary run whose figures are the chart's; a simulated sweep
//! of every choice needs no companion; and a cancelled sweep stops where it is.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::{Companion, LiveSetup, StaticServer, env_path, measured_value, wait_for};
use std::time::Duration;
use thirtyfour::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_draws_the_model_against_the_machine_and_opens_its_points() -> anyhow::Result<()> {
    let setup = LiveSetup::start().await?;
    let outcome = scenario(&setup.browser, &setup.page, &setup.companion).await;
    setup.finish(outcome).await
}

/// Puts `text` in the sweep's values field as typing would (its input event is what the page listens to).
async fn set_values(browser: &WebDriver, text: &str) -> anyhow::Result<()> {
    let script = "const f = document.querySelector('#sweep-values'); f.value = arguments[0]; \
                  f.dispatchEvent(new Event('input', { bubbles: true }));";
    browser.execute(script, vec![serde_json::json!(text)]).await?;
    Ok(())
}

async fn click(browser: &WebDriver, css: &str) -> anyhow::Result<()> {
    // A script click (the sticky parts of the page may cover the button at this scroll position), dispatched
    // as an event: a chart's point is an SVG element, which has no click().
    let script = "document.querySelector(arguments[0]).dispatchEvent(new MouseEvent('click', { bubbles: true }))";
    browser.execute(script, vec![serde_json::json!(css)]).await?;
    Ok(())
}

/// The chart's points: (value, simulated, measured, error) as its attributes say.
async fn points(browser: &WebDriver) -> anyhow::Result<Vec<(String, Option<f64>, Option<f64>, Option<String>)>> {
    let mut out = Vec::new();
    for g in browser.find_all(By::Css("svg.sweep-chart g.point")).await? {
        let number = |v: Option<String>| v.and_then(|v| v.parse::<f64>().ok());
        out.push((
            g.attr("data-value").await?.unwrap_or_default(),
            number(g.attr("data-simulated").await?),
            number(g.attr("data-measured").await?),
            g.attr("data-error").await?,
        ));
    }
    Ok(out)
}

/// Whether the companion under test was built without optimisations (cargo's debug profile directory).
fn companion_is_debug_build() -> bool {
    env_path("SYSLAB_BIN").is_ok_and(|bin| bin.components().any(|c| c.as_os_str() == "debug"))
}

async fn scenario(browser: &WebDriver, page: &StaticServer, companion: &Companion) -> anyhow::Result<()> {
    browser
        .goto(format!("{}/lab/lock?duration_ms=150&repeats=1&seed=3{}", page.origin(), companion.fragment()))
        .await?;
    wait_for("the companion to connect", Duration::from_secs(30), || async {
        browser.find(By::Css(".status-pill.on")).await.ok()
    })
    .await?;
    // The lab's own sweep is offered first.
    let values = browser.find(By::Css("#sweep-values")).await?.prop("value").await?.unwrap_or_default();
    assert_eq!(values, shared::LabId::Lock.info().sweep.values);

    // A value out of the parameter's range is refused, naming it.
    set_values(browser, "1,99").await?;
    click(browser, "button.sweep-simulate").await?;
    let error =
        wait_for("the sweep's error", Duration::from_secs(10), || async { e2e::text(browser, ".sweep-error").await })
            .await?;
    assert!(error.contains("procs") && error.contains("64"), "{error}");

    // Measured: three points, one run after another, the page drawing nothing meanwhile.
    set_values(browser, "1,2,4").await?;
    let frames = || async { browser.execute("return window.syslabFrames || 0", Vec::new()).await?.convert::<f64>() };
    click(browser, "button.sweep-measure").await?;
    let before = frames().await?;
    let measured = wait_for("the sweep to be measured", Duration::from_secs(120), || async {
        browser.find(By::Css(".sweep-progress[data-state=done]")).await.ok()
    })
    .await;
    if let Err(err) = measured {
        let said = e2e::text(browser, ".sweep-progress").await.unwrap_or_default();
        anyhow::bail!("{err}: the sweep says {said:?}");
    }
    assert_eq!(frames().await?, before, "the page drew frames while the sweep measured");
    let drawn = points(browser).await?;
    assert_eq!(drawn.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(), ["1", "2", "4"]);
    for (value, simulated, measured, error) in &drawn {
        assert!(simulated.is_some_and(|s| s > 0.0), "{value}: no simulated figure");
        assert!(measured.is_some_and(|m| m > 0.0), "{value}: no measured figure");
        assert!(error.as_ref().is_some_and(|e| e.ends_with('%')), "{value}: no error over the point");
    }
    println!("lock throughput against procs, simulated and measured: {drawn:?}");
    // A debug build's timings are not the machine's: the sweep says so, as the figures' column does.
    let debug = companion_is_debug_build();
    assert_eq!(browser.find(By::Css(".sweep-debug-build")).await.is_ok(), debug, "debug build: {debug}");

    // A point opens as an ordinary run: its parameters in the form, its figures those the chart drew.
    click(browser, "svg.sweep-chart g.point[data-value='2']").await?;
    let table = wait_for("the opened point's measured figures", Duration::from_secs(10), || async {
        measured_value(browser, "throughput").await
    })
    .await?;
    assert_eq!(Some(table), drawn[1].2, "the table and the chart disagree on the point's throughput");
    let procs = browser.find(By::Css("#param-procs")).await?.prop("value").await?.unwrap_or_default();
    assert_eq!(procs, "2");
    let tab = e2e::text(browser, "button.tab.active").await.unwrap_or_default();
    assert!(tab.contains("Measured"), "the opened point shows its measured run: {tab}");

    // Kept in the history, the sweep reopens on its page with the figures it had.
    browser.goto(format!("{}/history", page.origin())).await?;
    let open = wait_for("the kept sweep", Duration::from_secs(20), || async {
        browser.find(By::Css("tr[data-kind=sweep] a.history-open")).await.ok()?.attr("href").await.ok()?
    })
    .await?;
    browser.goto(format!("{}{open}", page.origin())).await?;
    wait_for("the reopened sweep", Duration::from_secs(30), || async {
        browser.find(By::Css(".sweep-progress[data-state=done]")).await.ok()
    })
    .await?;
    assert_eq!(points(browser).await?, drawn, "the reopened sweep's points");

    // Simulated only: every choice of the mode, without the companion's help.
    browser.execute(
        "const s = document.querySelector('#sweep-param'); s.value = 'mode'; s.dispatchEvent(new Event('change', {bubbles: true}));",
        Vec::new(),
    )
    .await?;
    wait_for("the choices as values", Duration::from_secs(10), || async {
        let field = browser.find(By::Css("#sweep-values")).await.ok()?;
        field.prop("value").await.ok()?.filter(|v| v == "*")
    })
    .await?;
    click(browser, "button.sweep-simulate").await?;
    wait_for("the simulated sweep", Duration::from_secs(20), || async {
        browser.find(By::Css(".sweep-progress[data-state=simulated]")).await.ok()
    })
    .await?;
    let modes = points(browser).await?;
    assert_eq!(modes.len(), shared::params::choice_texts(shared::LabId::Lock.info().params, "mode").len());
    assert!(modes.iter().all(|p| p.1.is_some() && p.2.is_none()), "{modes:?}");

    // A long sweep cancelled in its first point stops there, with nothing measured.
    browser.goto(format!("{}/lab/lock?duration_ms=5000&repeats=1", page.origin())).await?;
    wait_for("the companion again", Duration::from_secs(30), || async {
        browser.find(By::Css(".status-pill.on")).await.ok()
    })
    .await?;
    set_values(browser, "2,3").await?;
    click(browser, "button.sweep-measure").await?;
    wait_for("the sweep to measure", Duration::from_secs(20), || async {
        browser.find(By::Css("button.sweep-cancel")).await.ok()
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    click(browser, "button.sweep-cancel").await?;
    let stopped = wait_for("the sweep to stop", Duration::from_secs(20), || async {
        let el = browser.find(By::Css(".sweep-progress[data-state=stopped]")).await.ok()?;
        el.text().await.ok()
    })
    .await?;
    assert!(stopped.contains("point 1") && stopped.contains("0 points measured"), "{stopped}");
    Ok(())
}
