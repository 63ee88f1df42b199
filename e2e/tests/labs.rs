//! The built page in headless Chromium, driven through chromedriver: the lock lab simulates and its timeline
//! advances; a live run against a real companion streams events from several worker processes to the page; the
//! Amdahl, methods, mmap, watch, I/O and pipeline labs (threads, parallel for, processes over a message queue)
//! run live through the same companion; and a page from another origin is refused.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::{Chromedriver, Companion, StaticServer, env_path, measured_value, run_live, text, wait_for, whole_live_run};
use std::time::Duration;
use thirtyfour::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_labs_simulate_run_live_and_foreign_pages_are_refused() -> anyhow::Result<()> {
    let dist = env_path("SYSLAB_DIST")?;
    let bin = env_path("SYSLAB_BIN")?;
    let page = StaticServer::start(&dist)?;
    let foreign = StaticServer::start(&dist)?;
    let companion = Companion::start(&bin, &page.origin())?;
    let driver = Chromedriver::start()?;
    let browser = driver.browser().await?;
    let outcome = scenario(&browser, &page, &foreign, &companion).await;
    browser.quit().await?;
    outcome
}

async fn scenario(
    browser: &WebDriver,
    page: &StaticServer,
    foreign: &StaticServer,
    companion: &Companion,
) -> anyhow::Result<()> {
    // 1. Simulate: the page opens with the permalink's run simulated and playing.
    browser.goto(format!("{}/lab/lock?procs=4&duration_ms=300&seed=7", page.origin())).await?;
    // The page's wasm may still be loading: wait for the drawing rather than look once.
    wait_for("the lock drawing", Duration::from_secs(30), || async {
        browser.find(By::Css(".lock-view svg")).await.ok()
    })
    .await?;
    let first = wait_for("the playhead to move", Duration::from_secs(20), || async {
        text(browser, ".time-now").await.filter(|t| t != "0 ns")
    })
    .await?;
    let later = wait_for("the timeline to advance", Duration::from_secs(20), || async {
        text(browser, ".time-now").await.filter(|t| *t != first)
    })
    .await?;
    assert_ne!(first, later);
    let simulated = text(browser, "tr[data-metric=acquisitions] td.sim").await.unwrap_or_default();
    assert!(simulated.parse::<u32>().is_ok_and(|n| n > 0), "simulated acquisitions: {simulated:?}");
    browser.find(By::Css("button.simulate")).await?.click().await?;

    // 2. Live: the same page, told where the companion is, runs the experiment on this machine.
    browser.goto(format!("{}/lab/lock?procs=4&duration_ms=300&seed=7{}", page.origin(), companion.fragment())).await?;
    wait_for("the companion to connect", Duration::from_secs(20), || async {
        text(browser, ".status-pill").await.filter(|t| t.contains("connected"))
    })
    .await?;
    assert!(text(browser, ".connection .host").await.is_some_and(|h| h.contains("CPUs")), "no host description");
    browser.find(By::Css("button.run-live")).await?.click().await?;
    let measured = wait_for("the measured figures", Duration::from_secs(60), || async {
        measured_value(browser, "acquisitions").await.filter(|n| *n > 0.0)
    })
    .await?;
    // The lab's three repeats: each figure is their median with its spread, and the drawing shows one of them.
    let cell = text(browser, "tr[data-metric=acquisitions] td.real").await.unwrap_or_default();
    assert!(cell.contains(" ± "), "the measured figure has no spread: {cell:?}");
    // Where the model's error on a figure is marked, the table says what the model leaves out.
    if browser.find(By::Css("td.error.beyond")).await.is_ok() {
        let gaps = text(browser, ".model-gaps").await.unwrap_or_default();
        assert!(gaps.contains("leaves out"), "a marked error without the model's gaps: {gaps:?}");
    }
    assert_eq!(measured_value(browser, "repeats").await, Some(3.0));
    assert_eq!(browser.find_all(By::Css(".repeat-pick select option")).await?.len(), 3, "the repeat to draw");
    // The replay of the measured run: at its end, processes with real pids have acquired the lock.
    wait_for("the replay of the finished run", Duration::from_secs(30), || async {
        let tab = browser.find(By::Css("button.tab.active")).await.ok()?.text().await.ok()?;
        let player = browser.find(By::Css(".player button.play")).await.ok()?;
        tab.contains("Measured").then_some(player)
    })
    .await?
    .click()
    .await?;
    browser.find(By::Css("body")).await?.send_keys(Key::End).await?;
    let pids = wait_for("worker pids in the drawing", Duration::from_secs(20), || async {
        let mut pids = std::collections::BTreeSet::new();
        for g in browser.find_all(By::Css("g.proc[data-pid]")).await.ok()? {
            let acquired: u32 = g.attr("data-acquisitions").await.ok()??.parse().ok()?;
            if acquired > 0 {
                pids.insert(g.attr("data-pid").await.ok()??);
            }
        }
        (pids.len() >= 2).then_some(pids)
    })
    .await?;
    println!("measured {measured} acquisitions from worker pids {pids:?}");

    // 2b. The run from the issue that lost events: four processes as fast as they go, and a page too slow to
    // keep up. The companion skips ahead, the page asks for what it missed, and what it shows is the
    // companion's whole record (digest checked), so an exclusive lock has one holder at most.
    run_live(browser, format!("{}/lab/lock?procs=4&think_us=0&hold_us=1&duration_ms=2000", page.origin())).await?;
    // A page 20 times slower, as on a weak laptop busy with something else: it cannot keep up with the run.
    let cdp = browser.cdp();
    let throttle = |rate: u32| cdp.send_raw("Emulation.setCPUThrottlingRate", serde_json::json!({ "rate": rate }));
    throttle(20).await?;
    let record = whole_live_run(browser, Duration::from_secs(240)).await;
    throttle(1).await?;
    let record = record?;
    println!(
        "fast live run: {} events, {} messages asked for again; the page says: {}",
        record.events, record.resent, record.text
    );
    assert!(record.verified, "the page's copy is not the companion's record: {}", record.text);
    assert!(record.resent > 0, "the page never fell behind: nothing tested the resends");
    let holders = measured_value(browser, "max_holders").await;
    assert_eq!(holders, Some(1.0), "an exclusive flock held by {holders:?} at once");

    // 3. Another lab through the same companion (remembered from the link): Amdahl on real threads, long
    // enough to watch the page while it measures. The page opens playing its simulated run; from the moment the
    // run is asked until it ends, the page's clock stands still (no frames drawn, play disabled even on the
    // simulated tab), and once the run is whole its replay plays.
    run_live(browser, format!("{}/lab/amdahl?max_threads=3&work_ms=1000&repeats=3", page.origin())).await?;
    wait_for("the run to be measuring", Duration::from_secs(20), || async {
        browser.find(By::Css("button.cancel")).await.ok()
    })
    .await?;
    let frames = || async { browser.execute("return window.syslabFrames || 0", Vec::new()).await?.convert::<f64>() };
    let before = frames().await?;
    browser.execute("document.querySelector('button.tab').click()", Vec::new()).await?;
    // The run takes about 6 s on two cores (1, 2 and 3 threads, three repeats of a 1 s workload).
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let still_measuring = browser.find(By::Css("button.cancel")).await.is_ok();
    let during = frames().await?;
    let play_disabled = browser.find(By::Css(".player button.play")).await?.attr("disabled").await?.is_some();
    assert!(still_measuring, "the run ended before the page was watched: lengthen it");
    assert_eq!(during, before, "the page drew {} frames while the companion measured", during - before);
    assert!(play_disabled, "the simulated run can be played while the companion measures");
    let fitted = wait_for("the measured speed-up on 3 threads", Duration::from_secs(60), || async {
        text(browser, "tr[data-metric=speedup_3] td.real").await.filter(|t| t.parse::<f64>().is_ok())
    })
    .await?;
    let alone = text(browser, "tr[data-metric=others_cpu_share] td.real").await.unwrap_or_default();
    assert!(alone.ends_with('%'), "the run does not say what others took of the CPUs: {alone:?}");
    browser.execute("document.querySelector('.player button.play').click()", Vec::new()).await?;
    wait_for("the page to draw again once the run is over", Duration::from_secs(20), || async {
        frames().await.ok().filter(|f| *f > during)
    })
    .await?;
    println!("measured speed-up on 3 threads: {fitted}; other programs took {alone} of the CPUs meanwhile");

    // And the methods lab: what starting a process costs here, measured.
    run_live(browser, format!("{}/lab/methods?samples=20", page.origin())).await?;
    let process = wait_for("the measured process start", Duration::from_secs(60), || async {
        text(browser, "tr[data-metric=process_start_p50] td.real").await.filter(|t| t.ends_with('s'))
    })
    .await?;
    println!("measured process start (p50): {process}");

    // And mmap against read on a small file: the checksums of every method agree.
    run_live(browser, format!("{}/lab/mmap?size_mib=4", page.origin())).await?;
    wait_for("the measured checksums", Duration::from_secs(60), || async {
        measured_value(browser, "checksums_agree").await.filter(|v| *v == 1.0)
    })
    .await?;
    let gbps = text(browser, "tr[data-metric=mmap_seq_gbps] td.real").await.unwrap_or_default();
    println!("measured mmap sequential: {gbps} GB/s");
    // A debug build's figures say so on their column, as its provenance does.
    let provenance = text(browser, "section.provenance").await.unwrap_or_default();
    let caption = text(browser, "table.metrics caption").await.unwrap_or_default();
    assert!(provenance.contains("syslab "), "the measured run's provenance is shown: {provenance}");
    assert_eq!(
        provenance.contains("a debug build"),
        caption.contains("a debug build of the companion"),
        "provenance: {provenance}; the measured column's marks: {caption}"
    );

    // Writing it every way: each pass's file re-read from the disk is what it should be, the window's offset
    // between pages is refused, and the PROT_READ worker's SIGSEGV is the lesson, not a failed run.
    run_live(browser, format!("{}/lab/mmap?mode=write&size_mib=4&offset_kib=1001", page.origin())).await?;
    wait_for("the measured SIGSEGV", Duration::from_secs(60), || async {
        measured_value(browser, "protect_segv").await.filter(|v| *v == 1.0)
    })
    .await?;
    for method in ["pwrite", "mmap_shared", "mmap_private", "mmap_window", "mmap_protect"] {
        let ok = wait_for("the file checked", Duration::from_secs(30), || async {
            measured_value(browser, &format!("{method}_file_ok")).await
        })
        .await?;
        assert_eq!(ok, 1.0, "{method}: the file re-read from the disk");
    }
    assert_eq!(measured_value(browser, "window_refused").await, Some(1.0), "1 001 KiB is between pages");
    assert_eq!(measured_value(browser, "mmap_private_dirty").await, Some(0.0), "copy-on-write dirties no file page");
    // The drawing's lessons, once the replay reaches its end.
    browser.query(By::Css("body")).first().await?.send_keys(Key::End).await?;
    let lesson = wait_for("the SIGSEGV lesson", Duration::from_secs(30), || async {
        let p = browser.find(By::Css(".protect-lesson")).await.ok()?;
        (p.attr("data-signal").await.ok()?.as_deref() == Some("11")).then_some(())?;
        p.text().await.ok()
    })
    .await?;
    assert!(lesson.contains("SIGSEGV"), "{lesson}");
    let window = text(browser, ".window-lesson").await.unwrap_or_default();
    assert!(window.contains("EINVAL") && window.contains("1025024"), "the window's arithmetic: {window}");

    // The same measured in Japanese, with a cold cache: the companion's notes, the figures' names and the
    // provenance arrive in the page's language.
    run_live(browser, format!("{}/lab/mmap?size_mib=4&cache=cold&lang=ja", page.origin())).await?;
    wait_for("the measured checksums (ja)", Duration::from_secs(60), || async {
        measured_value(browser, "checksums_agree").await.filter(|v| *v == 1.0)
    })
    .await?;
    let label = text(browser, "tr[data-metric=checksums_agree] th").await.unwrap_or_default();
    assert!(label.starts_with("チェックサム一致"), "a Japanese figure name: {label}");
    // The notes come with the run's last message, which may follow the last figure.
    wait_for("the cold-cache note in Japanese", Duration::from_secs(30), || async {
        let mut said = Vec::new();
        for note in browser.find_all(By::Css("p.note")).await.ok()? {
            said.push(note.text().await.ok()?);
        }
        said.into_iter().find(|n| n.contains("コールド"))
    })
    .await?;
    let mut rows = Vec::new();
    for dt in browser.find_all(By::Css(".provenance dt")).await? {
        rows.push(dt.text().await?);
    }
    assert!(rows.iter().any(|r| r == "カーネル"), "the provenance in Japanese: {rows:?}");

    // And watching a small tree: both watchers' measured latencies reach the page.
    run_live(browser, format!("{}/lab/watch?files=100&changes=20&rate=200&interval_ms=20", page.origin())).await?;
    let notified = wait_for("the measured inotify latency", Duration::from_secs(60), || async {
        text(browser, "tr[data-metric=inotify_p50] td.real").await.filter(|t| t.ends_with('s'))
    })
    .await?;
    let polled = text(browser, "tr[data-metric=poll_p50] td.real").await.unwrap_or_default();
    assert!(polled.ends_with('s'), "no measured poller latency: {polled}");
    browser.find(By::Css(".watch-view .watch-backend")).await?;
    println!("measured detection latency p50: inotify {notified}, poller {polled}");

    // And the I/O models on a few pipes: epoll's measured latency reaches the page.
    run_live(browser, format!("{}/lab/io?sources=8&requests=80", page.origin())).await?;
    let epoll = wait_for("the measured epoll latency", Duration::from_secs(60), || async {
        text(browser, "tr[data-metric=epoll_p50] td.real").await.filter(|t| t.ends_with('s'))
    })
    .await?;
    browser.find(By::Css("svg.io-lanes.epoll")).await?;
    println!("measured epoll latency p50: {epoll}");

    // And a pipeline on real threads: the items delivered reach the page.
    run_live(browser, format!("{}/lab/pipeline?pattern=stages&items=60&work_us=200", page.origin())).await?;
    let delivered = wait_for("the measured pipeline", Duration::from_secs(60), || async {
        measured_value(browser, "delivered").await.filter(|n| *n == 60.0)
    })
    .await?;
    browser.find(By::Css(".pipeline-stages g.stage.bottleneck")).await?;
    println!("measured pipeline: {delivered} items delivered");
    // And parallel for: the loop's three ways, each on every item, with the speed-ups measured in one run.
    run_live(browser, format!("{}/lab/pipeline?pattern=parallel_for&items=24&workers=3&work_us=500", page.origin()))
        .await?;
    let speedup = wait_for("the measured speed-up", Duration::from_secs(60), || async {
        measured_value(browser, "pool_speedup").await
    })
    .await?;
    assert_eq!(measured_value(browser, "delivered").await, Some(72.0), "three ways of 24 items");
    let summary = text(browser, ".for-summary").await.unwrap_or_default();
    assert!(summary.contains('×'), "the drawing says the speed-ups: {summary}");
    println!("measured parallel for: the pool of 3 at {speedup:.2}× the loop");
    // And across processes, over a real message queue: consumer 0 killed at 30 %, what it held counted lost.
    run_live(
        browser,
        format!("{}/lab/pipeline?pattern=processes&items=60&work_us=300&capacity=4&kill_at=30", page.origin()),
    )
    .await?;
    let restart = wait_for("the measured restart", Duration::from_secs(60), || async {
        measured_value(browser, "restart").await
    })
    .await?;
    let lost = measured_value(browser, "lost").await.unwrap_or(f64::NAN);
    let delivered = measured_value(browser, "delivered").await.unwrap_or(f64::NAN);
    assert!(lost <= 1.0 && delivered + lost == 60.0, "every item delivered or lost: {delivered} + {lost}");
    assert!(measured_value(browser, "survived").await.is_some_and(|q| q <= 4.0), "the queue within its capacity");
    browser.find(By::Css(".pipeline-view .kill-summary")).await?;
    println!("measured across processes: {delivered} delivered, {lost} lost, successor ready after {restart} ns");

    // 4. A page from another origin, with the same link, is refused: it never connects.
    browser.goto(format!("{}/lab/lock{}", foreign.origin(), companion.fragment())).await?;
    // The page's wasm may still be loading: wait for the drawing rather than look once.
    wait_for("the lock drawing", Duration::from_secs(30), || async {
        browser.find(By::Css(".lock-view svg")).await.ok()
    })
    .await?;
    wait_for("the refusal to show", Duration::from_secs(20), || async {
        text(browser, ".connection h2").await.filter(|t| t.contains("not reachable"))
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pill = text(browser, ".status-pill").await.unwrap_or_default();
    assert!(!pill.contains("connected"), "a foreign page connected: {pill}");
    Ok(())
}
