//! A native client of the companion's websocket, as the page is one: it greets, starts a run and receives it
//! whole through [`shared::live::LiveRuns`], asking for whatever the live stream left out. The load harness, the
//! streaming tests and the benchmarks use it; `pace` lets a caller read slowly, as a busy page would.

use futures_util::{SinkExt, StreamExt};
use shared::live::{LiveRuns, Progress, Verification};
use shared::protocol::{ClientMsg, PROTOCOL_VERSION, RunId, ServerMsg};
use shared::{LabId, ParamSet, Trace};
use std::time::Duration;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a websocket to the companion on `port` as a page from `origin` would, and says hello.
pub async fn connect(port: u16, token: &str, origin: &str) -> anyhow::Result<Socket> {
    connect_with_window(port, token, origin, None).await
}

/// The same with the socket's receive buffer fixed at `window` bytes (the kernel then stops growing it): a
/// client that stops reading fills the companion's outbox after that much, not after the megabytes loopback
/// would otherwise buffer.
pub async fn connect_with_window(port: u16, token: &str, origin: &str, window: Option<u32>) -> anyhow::Result<Socket> {
    let mut request = format!("ws://127.0.0.1:{port}/ws?token={token}").into_client_request()?;
    request.headers_mut().insert("Origin", origin.parse()?);
    let socket = tokio::net::TcpSocket::new_v4()?;
    if let Some(window) = window {
        socket.set_recv_buffer_size(window)?;
    }
    let tcp = socket.connect(std::net::SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(tcp);
    let (mut ws, _) = tokio_tungstenite::client_async(request, stream).await?;
    send(&mut ws, &ClientMsg::Hello { protocol: PROTOCOL_VERSION }).await?;
    Ok(ws)
}

pub async fn send(ws: &mut Socket, msg: &ClientMsg) -> anyhow::Result<()> {
    ws.send(Message::Text(msg.to_json().into())).await?;
    Ok(())
}

/// The next message from the companion, within `timeout`.
pub async fn recv(ws: &mut Socket, timeout: Duration) -> anyhow::Result<ServerMsg> {
    let text = recv_text(ws, timeout).await?;
    ServerMsg::parse(&text).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The next text frame from the companion, as it came.
pub async fn recv_text(ws: &mut Socket, timeout: Duration) -> anyhow::Result<String> {
    loop {
        let frame = tokio::time::timeout(timeout, ws.next()).await?;
        let frame = frame.ok_or_else(|| anyhow::anyhow!("the companion closed the connection"))??;
        if let Message::Text(text) = frame {
            return Ok(text.as_str().to_owned());
        }
    }
}

/// A run received whole.
#[derive(Debug)]
pub struct Received {
    pub run: RunId,
    pub trace: Trace,
    pub verification: Verification,
    pub progress: Progress,
    /// Messages the live stream left out, as the `lagged` notices counted them.
    pub skipped: u64,
}

/// Starts `lab` and receives it until it is whole, calling `pace` after each message (it may sleep). Other
/// messages than the run's are ignored; a refusal is an error.
pub async fn run_whole(
    ws: &mut Socket,
    lab: LabId,
    params: ParamSet,
    seed: u64,
    mut pace: impl FnMut(u64) -> Option<Duration>,
) -> anyhow::Result<Received> {
    let request = 1;
    send(ws, &ClientMsg::StartRun { request, lab: lab.as_str().to_owned(), params, seed }).await?;
    let mut runs = LiveRuns::default();
    let (mut run, mut skipped, mut n) = (None, 0, 0u64);
    loop {
        let text = recv_text(ws, Duration::from_secs(60)).await?;
        let msg = ServerMsg::parse(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
        let hash = shared::digest::message_hash(&text);
        n += 1;
        match &msg {
            ServerMsg::Queued { request: r, run: id, .. } if *r == request => run = Some(*id),
            ServerMsg::Lagged { missed, .. } => skipped += missed,
            ServerMsg::Error { error, .. } if run.is_none() => anyhow::bail!("the companion refused the run: {error}"),
            _ => {}
        }
        for ask in runs.handle(msg, hash).asks {
            send(ws, &ask).await?;
        }
        if let Some(id) = run
            && let Some(live) = runs.get_mut(id)
        {
            if let Some(why) = live.lost() {
                anyhow::bail!("{id} cannot be completed: {why}");
            }
            let progress = live.progress();
            if let Some((trace, verification)) = live.take_trace() {
                return Ok(Received { run: id, trace, verification, progress, skipped });
            }
        }
        if let Some(pause) = pace(n) {
            tokio::time::sleep(pause).await;
        }
    }
}
