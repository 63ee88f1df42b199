//! What the end-to-end tests and the in-browser benchmark share: a static server for the built page (with the
//! single-page fallback), chromedriver on a free loopback port, the companion, and a headless Chromium session.
//! Everything listens on 127.0.0.1 and is stopped when dropped.

pub mod large_trace;

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use thirtyfour::{ChromiumLikeCapabilities, DesiredCapabilities, WebDriver};

/// A path from the environment that `cargo xtask test` sets; a clear error when run any other way.
pub fn env_path(name: &str) -> Result<PathBuf> {
    let path = std::env::var_os(name)
        .map(PathBuf::from)
        .with_context(|| format!("{name} is not set: run the end-to-end tests through `cargo xtask test`"))?;
    if !path.exists() {
        bail!("{name}={} does not exist: run `cargo xtask test`, which builds it first", path.display());
    }
    Ok(path)
}

/// Serves a directory on a free loopback port; unknown paths get `index.html` (the page routes itself).
#[derive(Debug)]
pub struct StaticServer {
    pub port: u16,
}

impl StaticServer {
    pub fn start(dir: &Path) -> Result<StaticServer> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let port = listener.local_addr()?.port();
        let dir = dir.to_path_buf();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    let _ = serve_one(stream, &dir);
                });
            }
        });
        Ok(StaticServer { port })
    }

    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn serve_one(mut stream: TcpStream, dir: &Path) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Drain the headers.
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let path = path.split(['?', '#']).next().unwrap_or("/").trim_start_matches('/');
    let candidate = dir.join(path);
    let file = if !path.is_empty() && !path.contains("..") && candidate.is_file() {
        candidate
    } else {
        dir.join("index.html")
    };
    let mut body = Vec::new();
    std::fs::File::open(&file)?.read_to_end(&mut body)?;
    let content_type = match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        _ => "application/octet-stream",
    };
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body)
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

/// A child process killed and reaped on drop.
#[derive(Debug)]
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// chromedriver on a free loopback port.
#[derive(Debug)]
pub struct Chromedriver {
    pub port: u16,
    _process: Process,
}

impl Chromedriver {
    pub fn start() -> Result<Chromedriver> {
        let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned());
        let port = free_port()?;
        let child = Command::new(&bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {bin} (install chromium-driver, or run `cargo xtask test`)"))?;
        let process = Process(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("chromedriver did not start listening on port {port}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Chromedriver { port, _process: process })
    }

    /// A headless Chromium session, with the flags that keep it off the network.
    pub async fn browser(&self) -> Result<WebDriver> {
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary("/usr/bin/chromium")?;
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,1000",
        ] {
            caps.add_arg(arg)?;
        }
        Ok(WebDriver::new(format!("http://127.0.0.1:{}", self.port), caps).await?)
    }
}

/// What a test of the built page against a real companion needs: the page served, a companion for its origin
/// (no calibration stored) and a headless Chromium session (its driver dropped last).
#[derive(Debug)]
pub struct LiveSetup {
    pub browser: WebDriver,
    pub page: StaticServer,
    pub companion: Companion,
    _driver: Chromedriver,
}

impl LiveSetup {
    /// Starts all three from `SYSLAB_DIST` and `SYSLAB_BIN`.
    pub async fn start() -> Result<LiveSetup> {
        let (dist, bin) = (env_path("SYSLAB_DIST")?, env_path("SYSLAB_BIN")?);
        let page = StaticServer::start(&dist)?;
        let companion = Companion::start(&bin, &page.origin())?;
        let driver = Chromedriver::start()?;
        let browser = driver.browser().await?;
        Ok(LiveSetup { browser, page, companion, _driver: driver })
    }

    /// Ends the browser session, then gives the scenario's outcome.
    pub async fn finish(self, outcome: Result<()>) -> Result<()> {
        self.browser.quit().await?;
        outcome
    }
}

/// The companion, started with `syslab serve` on a free port for the given page origin.
#[derive(Debug)]
pub struct Companion {
    pub port: u16,
    pub token: String,
    _process: Process,
}

/// A data directory no calibration is stored in: the tests' expectations are of the models' reference values,
/// not of a calibration the machine's user may have stored.
pub fn uncalibrated() -> PathBuf {
    std::env::temp_dir().join("syslab-e2e-uncalibrated")
}

/// The simulated run's id that `syslab run LAB --simulate-only` prints for `query`'s parameters (`key=value&…`)
/// and `seed`, with the calibration stored under `data_home` (as `XDG_DATA_HOME`), if any.
pub fn cli_run_id(bin: &Path, lab: shared::LabId, query: &str, seed: u64, data_home: &Path) -> Result<String> {
    let mut cmd = Command::new(bin);
    cmd.env("XDG_DATA_HOME", data_home);
    cmd.args(["run", lab.as_str(), "--simulate-only", "--seed", &seed.to_string()]);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').context("a query pair without `=`")?;
        cmd.arg(format!("--{key}")).arg(value);
    }
    let out = cmd.output()?;
    anyhow::ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout)?;
    let line = table.lines().find_map(|l| l.strip_prefix("simulated run: id ")).context("no run id printed")?;
    Ok(line.split(',').next().unwrap_or_default().to_owned())
}

impl Companion {
    /// A companion with no calibration stored ([`uncalibrated`]).
    pub fn start(bin: &Path, page_origin: &str) -> Result<Companion> {
        Self::start_with_data(bin, page_origin, &uncalibrated())
    }

    /// A companion whose user data directory (`XDG_DATA_HOME`, where calibrations are stored) is `data_home`.
    pub fn start_with_data(bin: &Path, page_origin: &str, data_home: &Path) -> Result<Companion> {
        let mut child = Command::new(bin)
            .args(["serve", "--port", "0", "--page-origin", page_origin])
            .env("XDG_DATA_HOME", data_home)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("the companion's stdout")?;
        let process = Process(child);
        let mut lines = BufReader::new(stdout).lines();
        let (mut port, mut token) = (None, None);
        for line in lines.by_ref() {
            let line = line?;
            if let Some(fragment) =
                line.strip_prefix("open ").and_then(|url| url.split_once('#')).map(|(_, f)| f.to_owned())
            {
                for pair in fragment.split('&') {
                    match pair.split_once('=') {
                        Some(("companion", p)) => port = p.parse().ok(),
                        Some(("token", t)) => token = Some(t.to_owned()),
                        _ => {}
                    }
                }
                break;
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Companion {
            port: port.context("the companion printed no port")?,
            token: token.context("the companion printed no token")?,
            _process: process,
        })
    }

    /// The companion's process id.
    pub fn pid(&self) -> u32 {
        self._process.0.id()
    }

    /// Its resident memory in KiB, from /proc (0 if unreadable).
    pub fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ok()
            .and_then(|s| {
                s.lines().find_map(|l| l.strip_prefix("VmRSS:")?.trim().strip_suffix("kB")?.trim().parse().ok())
            })
            .unwrap_or(0)
    }

    /// The URL fragment that tells the page where the companion is.
    pub fn fragment(&self) -> String {
        format!("#companion={}&token={}", self.port, self.token)
    }
}

/// Polls `check` until it returns `Some` or the time is up.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The text of the first element matching `css`, if there is one.
pub async fn text(browser: &thirtyfour::WebDriver, css: &str) -> Option<String> {
    browser.find(thirtyfour::By::Css(css)).await.ok()?.text().await.ok()
}

/// A measured figure exactly as the page holds it (the cell's `data-value`: for a repeated run the median,
/// whatever the cell's words and spread), once the page shows it.
pub async fn measured_value(browser: &thirtyfour::WebDriver, key: &str) -> Option<f64> {
    let cell = browser.find(thirtyfour::By::Css(format!("tr[data-metric={key}] td.real"))).await.ok()?;
    cell.attr("data-value").await.ok()??.parse().ok()
}

/// What the page's `.live-record` line says of a live run: how far it has got and how the page knows it is whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRecord {
    pub events: u64,
    pub missing_events: u64,
    /// Messages the page asked the companion for again.
    pub resent: u64,
    pub complete: bool,
    /// Its digest matched the companion's record.
    pub verified: bool,
    pub text: String,
}

/// The live run's record line, if the page shows one.
pub async fn live_record(browser: &thirtyfour::WebDriver) -> Option<LiveRecord> {
    let el = browser.find(thirtyfour::By::Css(".live-record")).await.ok()?;
    let attr = |name: &'static str| {
        let el = el.clone();
        async move { el.attr(name).await.ok().flatten().unwrap_or_default() }
    };
    let number = |text: String| text.parse::<u64>().unwrap_or(0);
    Some(LiveRecord {
        events: number(attr("data-events").await),
        missing_events: number(attr("data-missing-events").await),
        resent: number(attr("data-resent").await),
        complete: attr("data-complete").await == "true",
        verified: attr("data-verified").await == "true",
        text: el.text().await.ok()?,
    })
}

/// Waits until the live run is whole in the page and returns its record line.
pub async fn whole_live_run(browser: &thirtyfour::WebDriver, timeout: Duration) -> Result<LiveRecord> {
    wait_for("the whole run in the page", timeout, || async { live_record(browser).await.filter(|r| r.complete) }).await
}

/// Waits for the live run to be whole while disturbing it as little as a reader would: one look a second (every
/// WebDriver query costs the browser, the driver and the page CPU time that the measured run would then count as
/// other programs'), for the benchmark's runs whose figures are timings.
pub async fn quietly_until_whole(browser: &thirtyfour::WebDriver, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if browser.find(thirtyfour::By::Css(".live-record.whole[data-complete=true]")).await.is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("timed out waiting for the whole run in the page");
        }
    }
}

/// Opens a lab page (the companion comes from the link's fragment or is remembered from an earlier one), waits
/// for the connection and presses "Run on this machine".
pub async fn run_live(browser: &thirtyfour::WebDriver, url: String) -> Result<()> {
    browser.goto(url).await?;
    // By the pill's state, not its words: the page may be in Japanese.
    wait_for("the companion to connect", Duration::from_secs(20), || async {
        browser.find(thirtyfour::By::Css(".status-pill.on")).await.ok()
    })
    .await?;
    // A script click: the sticky parts of the page may cover the button at this scroll position.
    browser.execute("document.querySelector('button.run-live').click()", Vec::new()).await?;
    Ok(())
}
