//! Installs what syslab needs where a user's machine would keep it, skipping what is already there at the right
//! version: the wasm32 target, Trunk, wasm-bindgen-cli at Cargo.lock's version, wasm-opt from npm's binaryen
//! (Debian's is too old for Rust's wasm), and for tests Debian's Chromium and chromedriver.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const TRUNK_VERSION: &str = "0.21.14";
pub const BINARYEN_VERSION: &str = "132";
pub const AXE_CORE_VERSION: &str = "4.14.1";

/// The repository root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Where npm's binaryen goes.
pub fn tools_dir() -> PathBuf {
    root().join("target").join("tools")
}

fn cargo_bin() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default()
        .join("bin")
}

/// PATH with our tools first: binaryen's wasm-opt, then cargo's bin directory.
pub fn path_env() -> std::ffi::OsString {
    let mut dirs = vec![tools_dir().join("node_modules").join(".bin"), cargo_bin()];
    dirs.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    std::env::join_paths(dirs).unwrap_or_default()
}

/// A command with our PATH and the settings every tool needs here.
pub fn cmd(program: &str) -> Command {
    let mut c = Command::new(program);
    c.env("PATH", path_env()).env("TRUNK_SKIP_VERSION_CHECK", "true").current_dir(root());
    c
}

/// Runs a command, failing with its command line if it fails.
pub fn run(c: &mut Command) -> Result<()> {
    let args: Vec<String> = c.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
    let line = format!("{} {}", c.get_program().to_string_lossy(), args.join(" "));
    eprintln!("xtask: {line}");
    let status = c.status().with_context(|| format!("starting {line}"))?;
    if !status.success() {
        bail!("{line} failed ({status})");
    }
    Ok(())
}

/// The first line a tool prints for `--version`, or None if it is not there.
fn version_of(program: &str) -> Option<String> {
    let out = cmd(program).arg("--version").output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("").trim().to_owned())
}

/// The version of `wasm-bindgen` that Cargo.lock pins, as `cargo metadata` resolves it.
pub fn locked_wasm_bindgen() -> Result<String> {
    let out = cmd("cargo")
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(root())
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    version_in_metadata(&String::from_utf8_lossy(&out.stdout), "wasm-bindgen")
}

/// The version of `package` in `cargo metadata`'s JSON: exactly one, or an error.
fn version_in_metadata(json: &str, package: &str) -> Result<String> {
    let metadata: serde_json::Value = serde_json::from_str(json).context("cargo metadata's output is not JSON")?;
    let packages = metadata["packages"].as_array().context("cargo metadata lists no packages")?;
    let versions: Vec<&str> =
        packages.iter().filter(|p| p["name"] == package).filter_map(|p| p["version"].as_str()).collect();
    match versions.as_slice() {
        [version] => Ok((*version).to_owned()),
        [] => bail!("Cargo.lock has no {package} package"),
        several => bail!("Cargo.lock has {package} at several versions: {several:?}"),
    }
}

pub fn wasm_target() -> Result<()> {
    let out = cmd("rustup").args(["target", "list", "--installed"]).output().context("running rustup")?;
    if String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        return Ok(());
    }
    run(cmd("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

pub fn trunk() -> Result<()> {
    if version_of("trunk").is_some_and(|v| v == format!("trunk {TRUNK_VERSION}")) {
        return Ok(());
    }
    // 0.22 needs a newer rustc than this project's; --locked keeps its tested dependency set.
    run(cmd("cargo").args(["install", "trunk", "--locked", "--version", TRUNK_VERSION]))
}

pub fn wasm_bindgen() -> Result<()> {
    let want = locked_wasm_bindgen()?;
    let trunk_toml = std::fs::read_to_string(root().join("Trunk.toml")).context("reading Trunk.toml")?;
    if !trunk_toml.contains(&format!("wasm_bindgen = \"{want}\"")) {
        bail!("Trunk.toml's [tools] wasm_bindgen must be \"{want}\", the version in Cargo.lock");
    }
    let runner_ok = version_of("wasm-bindgen-test-runner").is_some_and(|v| v.ends_with(&want));
    if version_of("wasm-bindgen").is_some_and(|v| v == format!("wasm-bindgen {want}")) && runner_ok {
        return Ok(());
    }
    // Without --locked: the crate's own lock file wants a webpki-roots that the registry here lacks.
    run(cmd("cargo").args(["install", "wasm-bindgen-cli", "--version", &format!("={want}")]))
}

pub fn wasm_opt() -> Result<()> {
    let bin = tools_dir().join("node_modules").join(".bin").join("wasm-opt");
    let ok = Command::new(&bin)
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&format!("version {BINARYEN_VERSION}")));
    if ok {
        return Ok(());
    }
    npm_install(&format!("binaryen@{BINARYEN_VERSION}"))
}

/// `npm install PACKAGE@VERSION` into our tools directory.
fn npm_install(package: &str) -> Result<()> {
    std::fs::create_dir_all(tools_dir())?;
    run(cmd("npm").args(["install", "--no-audit", "--no-fund", "--prefix"]).arg(tools_dir()).arg(package))
}

/// axe-core from npm, the accessibility audit the end-to-end tests run in the page; returns its script's path.
pub fn axe_core() -> Result<PathBuf> {
    let package = tools_dir().join("node_modules").join("axe-core");
    let script = package.join("axe.min.js");
    let installed = std::fs::read_to_string(package.join("package.json"))
        .is_ok_and(|p| p.contains(&format!("\"version\": \"{AXE_CORE_VERSION}\"")));
    if !(installed && script.exists()) {
        npm_install(&format!("axe-core@{AXE_CORE_VERSION}"))?;
    }
    Ok(script)
}

/// The tools to build and serve the page, and every crate of the lock file (Trunk builds offline, so the wasm
/// side's crates must be downloaded before it runs).
pub fn page_tools() -> Result<()> {
    wasm_target()?;
    run(cmd("cargo").arg("fetch"))?;
    wasm_bindgen()?;
    trunk()?;
    wasm_opt()
}

/// Debian's fio, the reference the mmap benchmark is set against.
/// A command from Debian's packages for the benchmark's reference runs (fio, inotifywait), installed when missing.
pub fn debian_tool(command: &str, package: &str) -> Result<()> {
    if Command::new(command).arg("--help").output().is_ok() {
        return Ok(());
    }
    apt_install(package)
}

fn apt_install(package: &str) -> Result<()> {
    run(Command::new("apt-get").args(["install", "-y", "-qq", package]).env("DEBIAN_FRONTEND", "noninteractive"))
}

/// A Japanese font (Debian's IPA Gothic) for the screenshots of the Japanese pages: without one, headless
/// Chromium draws every kana and kanji as an empty box.
pub fn japanese_font() -> Result<()> {
    if Path::new("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf").exists() {
        return Ok(());
    }
    apt_install("fonts-ipafont-gothic")
}

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Debian's Chromium and chromedriver, installed when missing and we are root.
pub fn browser() -> Result<()> {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return Ok(());
    }
    let uid = Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if uid.as_deref().ok() != Some("0") {
        bail!(
            "the browser tests need Chromium and chromedriver: run `sudo apt-get install -y chromium chromium-driver`"
        );
    }
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "chromium", "chromium-driver"])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Adds up the test runners' own summary lines (`test result: ok. 9 passed; 0 failed; ...`) while passing
/// their output through, so the run can end with one total.
#[derive(Debug, Default)]
pub struct Tally {
    pub passed: u64,
    pub failed: u64,
}

impl Tally {
    pub fn run(&mut self, c: &mut Command) -> Result<()> {
        use std::io::{BufRead, BufReader};
        let args: Vec<String> = c.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        let line = format!("{} {}", c.get_program().to_string_lossy(), args.join(" "));
        eprintln!("xtask: {line}");
        let mut child = c.stdout(std::process::Stdio::piped()).spawn().with_context(|| format!("starting {line}"))?;
        if let Some(out) = child.stdout.take() {
            for text in BufReader::new(out).lines().map_while(Result::ok) {
                println!("{text}");
                if let Some(rest) = text.trim().strip_prefix("test result: ") {
                    self.passed += count(rest, "passed");
                    self.failed += count(rest, "failed");
                }
            }
        }
        let status = child.wait()?;
        if !status.success() {
            bail!("{line} failed ({status})");
        }
        Ok(())
    }
}

/// The number before `word` in "ok. 9 passed; 0 failed; ...".
fn count(summary: &str, word: &str) -> u64 {
    let words: Vec<&str> = summary.split([' ', ';', '.']).filter(|w| !w.is_empty()).collect();
    words.windows(2).find(|w| w[1] == word).and_then(|w| w[0].parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_package_version_from_cargo_metadata() {
        let json = r#"{"packages": [{"name": "wasm-bindgen-macro", "version": "9"},
            {"name": "wasm-bindgen", "version": "0.2.130"}, {"name": "syn", "version": "1.0.0"},
            {"name": "syn", "version": "2.0.0"}]}"#;
        assert_eq!(version_in_metadata(json, "wasm-bindgen").unwrap(), "0.2.130");
        assert!(version_in_metadata(json, "trunk").is_err());
        assert!(version_in_metadata(json, "syn").is_err(), "two versions are not one");
        assert!(version_in_metadata("not json", "syn").is_err());
    }

    #[test]
    fn reads_the_current_lock_file() {
        assert!(locked_wasm_bindgen().unwrap().starts_with("0."));
    }

    #[test]
    fn counts_the_runners_summary_lines() {
        assert_eq!(count("ok. 9 passed; 1 failed; 0 ignored; 0 measured", "passed"), 9);
        assert_eq!(count("ok. 9 passed; 1 failed; 0 ignored", "failed"), 1);
        assert_eq!(count("FAILED. 3 passed; 2 failed; 0 ignored; 0 filtered out; finished in 0.9s", "failed"), 2);
    }
}
