//! One websocket connection: hello first, then run requests and cancels. Bad input gets one typed error reply
//! and the connection stays open; a disconnect cancels the connection's runs.

use super::ServerState;
use crate::experiment;
use axum::extract::ws::{Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use shared::LabId;
use shared::protocol::{ClientMsg, PROTOCOL_VERSION, ServerMsg, WireError};
use std::sync::Arc;
use tokio::sync::mpsc;

pub async fn serve(socket: WebSocket, conn: u64, state: Arc<ServerState>) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<ServerMsg>();
    let writer = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            if sink.send(Message::Text(msg.to_json().into())).await.is_err() {
                break;
            }
        }
    });
    tracing::info!(conn, "client connected");
    let mut greeted = false;
    let mut stopping = state.stopping.clone();
    loop {
        let frame = tokio::select! {
            frame = stream.next() => match frame {
                Some(frame) => frame,
                None => break,
            },
            _ = stopping.wait_for(|stop| *stop) => break,
        };
        let text = match frame {
            Ok(Message::Text(text)) => text,
            Ok(Message::Binary(_)) => {
                let error = WireError::Malformed { detail: "binary frames are not spoken here".to_owned() };
                let _ = tx.send(ServerMsg::Error { request: None, error });
                continue;
            }
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
        };
        if let Err((request, error)) = handle(text.as_str(), conn, &mut greeted, &state, &tx) {
            tracing::debug!(conn, %error, "refused a message");
            let _ = tx.send(ServerMsg::Error { request, error });
        }
    }
    state.runner.cancel_connection(conn);
    drop(tx);
    let _ = writer.await;
    tracing::info!(conn, "client disconnected; its runs were cancelled");
}

type Refused = (Option<u32>, WireError);

fn handle(
    text: &str,
    conn: u64,
    greeted: &mut bool,
    state: &ServerState,
    tx: &mpsc::UnboundedSender<ServerMsg>,
) -> Result<(), Refused> {
    let msg = ClientMsg::parse(text).map_err(|e| (None, e))?;
    match msg {
        ClientMsg::Hello { protocol } => {
            if protocol != PROTOCOL_VERSION {
                return Err((None, WireError::ProtocolMismatch { client: protocol, server: PROTOCOL_VERSION }));
            }
            *greeted = true;
            let _ = tx.send(ServerMsg::Hello { protocol: PROTOCOL_VERSION, host: state.host.clone() });
            Ok(())
        }
        _ if !*greeted => Err((None, WireError::HelloRequired)),
        ClientMsg::StartRun { request, lab, params, seed } => {
            let refuse = |error| (Some(request), error);
            let lab = LabId::parse(&lab).map_err(|error| refuse(WireError::Params { error }))?;
            let params = lab.validate(&params).map_err(|error| refuse(WireError::Params { error }))?;
            if !experiment::has_experiment(lab) {
                return Err(refuse(WireError::NoExperiment { lab }));
            }
            state
                .runner
                .submit(conn, request, lab, params, seed, tx.clone())
                .map(|_| ())
                .map_err(|limit| refuse(WireError::QueueFull { limit }))
        }
        ClientMsg::Cancel { run } => {
            if state.runner.cancel(conn, run) {
                Ok(())
            } else {
                Err((None, WireError::UnknownRun { run }))
            }
        }
    }
}
