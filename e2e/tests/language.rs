//! English and Japanese in the built page: the header's switch changes the page's words (the run's figures and
//! drawing included), the permalink keeps the choice through a reload, the front page follows it, and no lab page
//! in Japanese is left with an English sentence.

// Test helpers may unwrap: a panic there is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::{Chromedriver, StaticServer, env_path, text, wait_for};
use shared::i18n::Lang;
use std::time::Duration;
use thirtyfour::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_to_japanese_changes_the_page_and_survives_a_reload() -> anyhow::Result<()> {
    let dist = env_path("SYSLAB_DIST")?;
    let page = StaticServer::start(&dist)?;
    let driver = Chromedriver::start()?;
    let browser = driver.browser().await?;
    let outcome = scenario(&browser, &page).await;
    browser.quit().await?;
    outcome
}

async fn heading(browser: &WebDriver, want: &str) -> anyhow::Result<String> {
    wait_for(&format!("the heading “{want}”"), Duration::from_secs(20), || async {
        text(browser, "h1").await.filter(|h| h == want)
    })
    .await
}

/// Waits until the element says `want` (trimmed).
async fn said(browser: &WebDriver, css: &str, want: &str) -> anyhow::Result<String> {
    wait_for(&format!("{css} to say “{want}”"), Duration::from_secs(20), || async {
        text(browser, css).await.filter(|t| t.trim() == want)
    })
    .await
}

/// Code that reads as English words but is the same in both languages (a command, crate names).
const CODE: [&str; 2] = ["syslab run", "crossbeam"];

/// Runs of four or more English words in `text`: what a Japanese page should not show.
fn english_runs(text: &str) -> Vec<String> {
    let mut runs = Vec::new();
    for line in text.lines() {
        let mut run: Vec<&str> = Vec::new();
        for word in line.split(|c: char| c.is_whitespace() || "、。,.:;()（）「」".contains(c)) {
            if word.len() >= 2 && word.chars().all(|c| c.is_ascii_alphabetic() || c == '\'' || c == '-') {
                run.push(word);
                continue;
            }
            if !word.is_empty() || run.is_empty() {
                if run.len() >= 4 {
                    runs.push(run.join(" "));
                }
                run.clear();
            }
        }
        if run.len() >= 4 {
            runs.push(run.join(" "));
        }
    }
    runs
}

async fn scenario(browser: &WebDriver, page: &StaticServer) -> anyhow::Result<()> {
    browser.goto(format!("{}/lab/lock?lang=en", page.origin())).await?;
    heading(browser, "File locks").await?;
    assert_eq!(text(browser, "button.simulate").await.as_deref(), Some("Simulate"));
    said(browser, "tr[data-metric=throughput] th", "Throughput").await?;

    browser.find(By::Css("button.lang[lang=ja]")).await?.click().await?;
    heading(browser, "ファイルロック").await?;
    assert_eq!(text(browser, "button.simulate").await.as_deref(), Some("シミュレーション"));
    assert_eq!(text(browser, "label[for=param-procs]").await.as_deref(), Some("プロセス数"));
    // The run's own words change too: its figures, the drawing and the narrated log.
    said(browser, "tr[data-metric=throughput] th", "スループット").await?;
    said(browser, ".lock-view .queue strong", "待ち行列:").await?;
    let legend = text(browser, ".lock-view .legend li").await.unwrap_or_default();
    assert!(legend.contains("書き手"), "the drawing's legend is Japanese: {legend}");
    assert!(browser.current_url().await?.as_str().contains("lang=ja"), "the permalink keeps the language");
    let root_lang = browser.find(By::Css("html")).await?.attr("lang").await?;
    assert_eq!(root_lang.as_deref(), Some("ja"));

    // A reload through the permalink opens in Japanese, with the parameters it had.
    browser.refresh().await?;
    heading(browser, "ファイルロック").await?;
    assert!(text(browser, ".explanation summary").await.is_some_and(|s| s == "このラボで分かること"));

    // The front page follows the choice.
    browser.find(By::Css(".site-header a.brand")).await?.click().await?;
    heading(browser, "OS が本当はどう動くのか、見てから測る").await?;
    assert!(text(browser, ".chapter h2").await.is_some_and(|h| h.starts_with("第1章")), "a Japanese chapter heading");

    // And back to English.
    browser.find(By::Css("button.lang[lang=en]")).await?.click().await?;
    heading(browser, "See, then measure, how the OS really behaves").await?;

    // Every lab page in Japanese: no English sentence is left (a run of four or more English words), apart
    // from commands and names that are the same in both.
    for lab in shared::LabId::ALL {
        browser.goto(format!("{}/lab/{lab}?lang=ja", page.origin())).await?;
        said(browser, "h1", Lang::Ja.lab_title(lab)).await?;
        wait_for("the simulated figures", Duration::from_secs(20), || async {
            text(browser, "table.metrics td.sim").await.filter(|t| !t.is_empty())
        })
        .await?;
        let body = browser.find(By::Css("main")).await?.text().await?;
        let english: Vec<String> =
            english_runs(&body).into_iter().filter(|run| !CODE.iter().any(|code| run.contains(code))).collect();
        assert!(english.is_empty(), "{lab} in Japanese still shows English: {english:?}");
    }

    Ok(())
}

#[test]
fn the_scan_finds_english_sentences_and_passes_japanese_with_terms() {
    assert_eq!(english_runs("待ち 3。the lock is held by P1"), ["the lock is held by"]);
    assert!(english_runs("flock、ブロッキング: LOCK_NB と mmap の read").is_empty());
}
