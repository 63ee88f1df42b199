//! The one protocol between the companion and its worker processes (the lock lab's workers, the watch lab's
//! watchers, the I/O lab's feeder), and the one way to start a worker and hear it.
//!
//! A worker is this binary again (`__worker LAB SPEC`, its spec as JSON in the argument). It speaks JSON lines
//! on its stdout: first a [`Hello`] with the protocol's [`VERSION`] and its lab, then one report a line, of its
//! lab's report type. The companion speaks JSON lines on the worker's stdin ([`Control`]); closing that stdin
//! asks the worker to stop. Anything else on stdout (a wrong hello, a line that is not a report of the lab's
//! type) is a [`LinkError`] that names the worker, and the companion stops listening to it. Only a worker killed
//! in the middle of a line leaves a last line without its newline; that part is no report and is dropped.

use super::ExperimentError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shared::LabId;
use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, Sender};
use std::time::Duration;

/// The protocol's version: raised when a report type of any lab changes its shape.
pub const VERSION: u32 = 1;

/// A worker's first line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: u32,
    pub lab: LabId,
}

/// What the companion tells a worker on its stdin (besides closing it, which asks it to stop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    /// Start now (the I/O feeder waits for it once it holds every pipe).
    Go,
}

/// Why what a worker said was not heard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{worker}: {problem}")]
pub struct LinkError {
    /// Which worker, as the reader would name it ("lock worker 3", "the poll watcher").
    pub worker: String,
    pub problem: LinkProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkProblem {
    #[error("it exited before it said hello")]
    NoHello,
    #[error("it speaks protocol {protocol} of the {lab} lab, not protocol {VERSION} of the {want} lab")]
    Mismatch { protocol: u32, lab: LabId, want: LabId },
    #[error("its line {line} is not a report ({reason}): `{text}`")]
    Malformed { line: u64, reason: String, text: String },
    #[error("its output could not be read: {0}")]
    Unreadable(String),
}

// ---------------------------------------------------------------------------------------------------------
// The worker's side.

/// A worker's reports on its way out. Lines gather in a buffer until [`Reports::flush`], so a worker decides
/// when writing costs its measurement nothing. It counts the time it spends, so a worker can say what its
/// reporting cost the run.
#[derive(Debug)]
pub struct Reports<W: Write> {
    out: io::BufWriter<W>,
    spent_ns: u64,
}

impl<W: Write> Reports<W> {
    /// Says hello for `lab`, at once.
    pub fn open(out: W, lab: LabId) -> io::Result<Self> {
        let mut reports = Reports { out: io::BufWriter::with_capacity(64 * 1024, out), spent_ns: 0 };
        reports.say(&Hello { protocol: VERSION, lab })?;
        reports.flush()?;
        Ok(reports)
    }

    /// One report, as one line (kept until the next flush).
    pub fn say(&mut self, report: &impl Serialize) -> io::Result<()> {
        let start = crate::clock::monotonic_ns();
        let said = serde_json::to_writer(&mut self.out, report).map_err(io::Error::from);
        let said = said.and_then(|()| self.out.write_all(b"\n"));
        self.spent_ns += crate::clock::monotonic_ns().saturating_sub(start);
        said
    }

    pub fn flush(&mut self) -> io::Result<()> {
        let start = crate::clock::monotonic_ns();
        let flushed = self.out.flush();
        self.spent_ns += crate::clock::monotonic_ns().saturating_sub(start);
        flushed
    }

    /// The time spent so far turning reports into lines and writing them out.
    pub fn spent_ns(&self) -> u64 {
        self.spent_ns
    }
}

/// Waits on the worker's stdin for [`Control::Go`]; anything else is an error.
pub fn await_go(input: impl BufRead) -> Result<(), ExperimentError> {
    let line = input.lines().next().transpose().map_err(ExperimentError::io("waiting for go"))?;
    match line.as_deref().map(serde_json::from_str::<Control>) {
        Some(Ok(Control::Go)) => Ok(()),
        Some(Err(e)) => Err(ExperimentError::Worker(format!("not a control line: {e}"))),
        None => Err(ExperimentError::Worker("the companion closed the control pipe before go".into())),
    }
}

// ---------------------------------------------------------------------------------------------------------
// The companion's side.

/// What a listener hands on: which worker, and a batch of its reports (all a read brought) or why it stopped
/// listening.
pub type Heard<K, M> = (K, Result<Vec<M>, LinkError>);

/// What workers said, one report at a time, each with the moment its batch arrived here (CLOCK_MONOTONIC ns),
/// for runs that wait on a report rather than take batches as they come.
#[derive(Debug)]
pub struct Inbox<K, M> {
    rx: Receiver<Heard<K, M>>,
    pending: VecDeque<(K, M, u64)>,
}

impl<K: Copy, M> Inbox<K, M> {
    pub fn new(rx: Receiver<Heard<K, M>>) -> Self {
        Inbox { rx, pending: VecDeque::new() }
    }

    /// The next report; `None` when none came within `timeout` or every worker has closed its output.
    pub fn next(&mut self, timeout: Duration) -> Result<Option<(K, M, u64)>, LinkError> {
        loop {
            if let Some(heard) = self.pending.pop_front() {
                return Ok(Some(heard));
            }
            let Ok((key, heard)) = self.rx.recv_timeout(timeout) else { return Ok(None) };
            let at = crate::clock::monotonic_ns();
            self.pending.extend(heard?.into_iter().map(|report| (key, report, at)));
        }
    }
}

/// A started worker: its process and the pipe to its stdin. Dropping it kills the worker's process group and
/// reaps it, unless it was reaped already, so no exit path leaks a worker.
#[derive(Debug)]
pub struct Link {
    child: Child,
    stdin: Option<ChildStdin>,
    reaped: bool,
}

impl Link {
    /// Starts `lab`'s worker with `spec`, recorded for cleanup, and a thread that reads its reports into `tx`
    /// under `key`, calling `tally` on each batch as it is read (before it is queued). The channel's sender
    /// is dropped when the worker's stdout closes.
    pub fn spawn<K, M>(
        exe: &Path,
        lab: LabId,
        key: K,
        worker: String,
        spec: &impl Serialize,
        tx: &Sender<Heard<K, M>>,
        tally: impl Fn(&[M]) + Send + 'static,
    ) -> Result<Link, ExperimentError>
    where
        K: Copy + Send + 'static,
        M: DeserializeOwned + Send + 'static,
    {
        let spec = serde_json::to_string(spec).map_err(|e| ExperimentError::Worker(e.to_string()))?;
        let mut child = super::worker_command(exe, lab, &spec)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .inspect(|child| crate::state::record(child.id()))
            .map_err(ExperimentError::io(format!("starting {worker}")))?;
        let stdout = child.stdout.take().ok_or_else(|| ExperimentError::Worker(format!("{worker}: no stdout")))?;
        let stdin = child.stdin.take();
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut listener = Listener::new(lab, worker);
            let mut input = BufReader::with_capacity(64 * 1024, stdout);
            loop {
                let heard = listener.read(&mut input);
                let ended = !matches!(&heard, Ok(Some(_)));
                let sent = match heard {
                    Ok(Some(batch)) => {
                        tally(&batch);
                        tx.send((key, Ok(batch)))
                    }
                    Ok(None) => break,
                    Err(e) => tx.send((key, Err(e))),
                };
                if ended || sent.is_err() {
                    break;
                }
            }
        });
        Ok(Link { child, stdin, reaped: false })
    }

    /// Tells the worker to start.
    pub fn go(&mut self) -> Result<(), ExperimentError> {
        let pipe = self.stdin.as_mut().ok_or_else(|| ExperimentError::Worker("told to go after stop".into()))?;
        let mut line = serde_json::to_vec(&Control::Go).map_err(|e| ExperimentError::Worker(e.to_string()))?;
        line.push(b'\n');
        pipe.write_all(&line).and_then(|()| pipe.flush()).map_err(ExperimentError::io("starting a worker"))
    }

    /// Asks the worker to stop, by closing its stdin.
    pub fn ask_to_stop(&mut self) {
        drop(self.stdin.take());
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the worker's process group and reaps it; returns whether it was still running.
    pub fn kill(&mut self) -> bool {
        if self.has_exited() {
            return false;
        }
        self.reaped = true;
        super::kill_worker(&mut self.child);
        true
    }

    /// Waits for the worker to exit.
    pub fn wait(&mut self) {
        if !std::mem::replace(&mut self.reaped, true) {
            let _ = self.child.wait();
        }
    }

    /// Whether the worker has exited (reaping it if so).
    pub fn has_exited(&mut self) -> bool {
        self.reaped = self.reaped || matches!(self.child.try_wait(), Ok(Some(_)));
        self.reaped
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// Reads one worker's lines: the hello, then reports of type `M`. Pure over any `BufRead`, so a test feeds it.
#[derive(Debug)]
pub struct Listener {
    lab: LabId,
    worker: String,
    lines: u64,
    line: Vec<u8>,
}

impl Listener {
    pub fn new(lab: LabId, worker: String) -> Self {
        Listener { lab, worker, lines: 0, line: Vec::new() }
    }

    /// The next batch: at least one report, and every further whole line already buffered; `None` at the end.
    pub fn read<M: DeserializeOwned>(&mut self, input: &mut BufReader<impl Read>) -> Result<Option<Vec<M>>, LinkError> {
        let mut batch = Vec::new();
        loop {
            self.line.clear();
            let n = input
                .read_until(b'\n', &mut self.line)
                .map_err(|e| self.error(LinkProblem::Unreadable(e.to_string())))?;
            // The end, or a last line cut short by a kill.
            if n == 0 || self.line.last() != Some(&b'\n') {
                if self.lines == 0 {
                    return Err(self.error(LinkProblem::NoHello));
                }
                return Ok((!batch.is_empty()).then_some(batch));
            }
            self.lines += 1;
            if self.lines == 1 {
                self.hello()?;
            } else {
                batch.push(self.parse()?);
            }
            // Hand on what this read brought; block for more only with nothing to hand on.
            if !batch.is_empty() && !input.buffer().contains(&b'\n') {
                return Ok(Some(batch));
            }
        }
    }

    fn hello(&self) -> Result<(), LinkError> {
        let hello: Hello = self.parse()?;
        if hello.protocol != VERSION || hello.lab != self.lab {
            return Err(self.error(LinkProblem::Mismatch { protocol: hello.protocol, lab: hello.lab, want: self.lab }));
        }
        Ok(())
    }

    fn parse<T: DeserializeOwned>(&self) -> Result<T, LinkError> {
        serde_json::from_slice(&self.line).map_err(|e| {
            let mut text = String::from_utf8_lossy(self.line.trim_ascii_end()).into_owned();
            if text.len() > 200 {
                let cut = (0..=200).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
                text.truncate(cut);
                text.push('…');
            }
            self.error(LinkProblem::Malformed { line: self.lines, reason: e.to_string(), text })
        })
    }

    fn error(&self, problem: LinkProblem) -> LinkError {
        LinkError { worker: self.worker.clone(), problem }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Said {
        Tick { t: u64 },
    }

    fn spoken(lab: LabId, reports: &[Said]) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut out = Reports::open(&mut bytes, lab).unwrap();
        for r in reports {
            out.say(r).unwrap();
        }
        out.flush().unwrap();
        drop(out);
        bytes
    }

    fn heard(bytes: &[u8]) -> Result<Vec<Said>, LinkError> {
        let mut listener = Listener::new(LabId::Watch, "the poll watcher".into());
        // A small buffer, so reports arrive over several reads as they do from a pipe.
        let mut input = BufReader::with_capacity(7, bytes);
        let mut all = Vec::new();
        while let Some(batch) = listener.read(&mut input)? {
            assert!(!batch.is_empty());
            all.extend(batch);
        }
        Ok(all)
    }

    #[test]
    fn what_a_worker_says_is_heard_whole_and_a_cut_last_line_is_dropped() {
        let said = [Said::Tick { t: 1 }, Said::Tick { t: u64::MAX }];
        let bytes = spoken(LabId::Watch, &said);
        assert_eq!(heard(&bytes).unwrap(), said);
        let mut cut = bytes.clone();
        cut.extend_from_slice(b"{\"tick\":{\"t\"");
        assert_eq!(heard(&cut).unwrap(), said);
        let batch = Listener::new(LabId::Watch, "w".into()).read::<Said>(&mut BufReader::new(&bytes[..])).unwrap();
        assert_eq!(batch.map(|b| b.len()), Some(2), "lines already buffered come as one batch");
    }

    #[test]
    fn a_bad_hello_or_line_is_a_typed_error_naming_the_worker() {
        let problem = |bytes: &[u8]| heard(bytes).unwrap_err();
        let e = problem(b"");
        assert_eq!((e.worker.as_str(), e.problem), ("the poll watcher", LinkProblem::NoHello));
        let e = problem(&spoken(LabId::Lock, &[]));
        assert_eq!(e.problem, LinkProblem::Mismatch { protocol: VERSION, lab: LabId::Lock, want: LabId::Watch });
        let old = b"{\"protocol\":0,\"lab\":\"watch\"}\n";
        assert!(matches!(problem(old).problem, LinkProblem::Mismatch { protocol: 0, .. }));
        let mut bytes = spoken(LabId::Watch, &[Said::Tick { t: 1 }]);
        bytes.extend_from_slice(b"detect 7 99\n");
        let e = problem(&bytes);
        assert!(matches!(&e.problem, LinkProblem::Malformed { line: 3, text, .. } if text == "detect 7 99"), "{e}");
        assert!(e.to_string().starts_with("the poll watcher: its line 3 is not a report"), "{e}");
    }

    #[test]
    fn an_inbox_hands_on_reports_one_at_a_time_then_says_when_all_are_silent() {
        let (tx, rx) = std::sync::mpsc::channel::<Heard<u8, Said>>();
        tx.send((1, Ok(vec![Said::Tick { t: 1 }, Said::Tick { t: 2 }]))).unwrap();
        drop(tx);
        let mut inbox = Inbox::new(rx);
        let next = |inbox: &mut Inbox<u8, Said>| inbox.next(Duration::from_millis(10)).unwrap().map(|(k, m, _)| (k, m));
        assert_eq!(next(&mut inbox), Some((1, Said::Tick { t: 1 })));
        assert_eq!(next(&mut inbox), Some((1, Said::Tick { t: 2 })));
        assert_eq!(next(&mut inbox), None);
    }

    #[test]
    fn go_is_awaited_and_anything_else_refused() {
        assert!(await_go(&b"\"go\"\n"[..]).is_ok());
        assert!(matches!(await_go(&b"stop\n"[..]), Err(ExperimentError::Worker(_))));
        assert!(matches!(await_go(&b""[..]), Err(ExperimentError::Worker(_))));
    }
}
