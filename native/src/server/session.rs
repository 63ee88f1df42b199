//! One websocket connection: hello first, then run and calibration requests, cancels and resends of what the
//! live stream left out (from the connection's [`RunLog`]); a new calibration of the host is passed on as it comes. Bad input gets one typed error reply and the connection stays open; a protocol violation (a message over the size limit, invalid UTF-8 in a text
//! frame) closes it with the matching close code; a disconnect cancels the connection's runs.

use super::ServerState;
use crate::runlog::RUN_LOG_CAP;
use crate::runner::{Client, Work};
use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use futures_util::{SinkExt, StreamExt};
use shared::LabId;
use shared::protocol::{ClientMsg, PROTOCOL_VERSION, ServerMsg, WireError};
use std::sync::Arc;

pub async fn serve(socket: WebSocket, conn: u64, state: Arc<ServerState>) {
    let (mut sink, mut stream) = socket.split();
    let log = state.logs.open(RUN_LOG_CAP);
    let (tx, mut rx) = crate::outbox::outbox(crate::outbox::OUTBOX_LIMIT, log.clone());
    let client = Client { outbox: tx, log };
    // The reader's last word, if it closes the connection for a protocol violation.
    let (close_tx, mut close_rx) = tokio::sync::oneshot::channel::<CloseFrame>();
    let writer = tokio::spawn(async move {
        loop {
            tokio::select! {
                // A close for a violation goes before anything else; the reader has stopped by then.
                biased;
                Ok(frame) = &mut close_rx => {
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    // Closing a socket with the rest of a refused message unread resets it: give the client
                    // a moment to read the close frame first.
                    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                    break;
                }
                text = rx.next() => match text {
                    Some(text) => {
                        if sink.send(Message::Text(text.into())).await.is_err() {
                            break;
                        }
                    }
                    None => break,
                },
            }
        }
    });
    let mut close_tx = Some(close_tx);
    tracing::info!(conn, "client connected");
    let mut greeted = false;
    let mut stopping = state.stopping.clone();
    // A calibration stored while the connection is open reaches it at once; hello carries the one before.
    let mut calibration = state.calibration.subscribe();
    loop {
        let frame = tokio::select! {
            frame = stream.next() => match frame {
                Some(frame) => frame,
                None => break,
            },
            Ok(()) = calibration.changed() => {
                let calibration = calibration.borrow_and_update().clone();
                if greeted {
                    client.outbox.send(&ServerMsg::Calibration { calibration });
                }
                continue;
            }
            _ = stopping.wait_for(|stop| *stop) => break,
        };
        let text = match frame {
            Ok(Message::Text(text)) => text,
            Ok(Message::Binary(_)) => {
                let error = WireError::Malformed { detail: "binary frames are not spoken here".to_owned() };
                client.outbox.send(&ServerMsg::Error { request: None, error });
                continue;
            }
            Ok(Message::Close(_)) => break,
            Err(err) => {
                let frame = violation(&err);
                tracing::info!(conn, code = frame.code, %err, "closing a connection that broke the protocol");
                if let Some(close) = close_tx.take() {
                    let _ = close.send(frame);
                }
                break;
            }
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
        };
        if let Err((request, error)) = handle(text.as_str(), conn, &mut greeted, &state, &client) {
            tracing::debug!(conn, %error, "refused a message");
            client.outbox.send(&ServerMsg::Error { request, error });
        }
    }
    state.runner.cancel_connection(conn);
    drop(client);
    let _ = writer.await;
    tracing::info!(conn, "client disconnected; its runs were cancelled");
}

/// The close frame for a protocol violation: 1009 for a message over the limit, 1007 for invalid UTF-8 in a
/// text frame, 1002 for anything else the websocket layer refused. axum hides the websocket library's error
/// type, so its message is what tells them apart.
fn violation(err: &axum::Error) -> CloseFrame {
    let text = err.to_string();
    let (code, reason) = if text.contains("too long") || text.contains("Space limit") {
        (close_code::SIZE, "message too big")
    } else if text.contains("UTF-8") || text.contains("utf-8") {
        (close_code::INVALID, "invalid UTF-8 in a text frame")
    } else {
        (close_code::PROTOCOL, "websocket protocol error")
    };
    CloseFrame { code, reason: reason.into() }
}

type Refused = (Option<u32>, WireError);

fn handle(text: &str, conn: u64, greeted: &mut bool, state: &ServerState, client: &Client) -> Result<(), Refused> {
    let msg = ClientMsg::parse(text).map_err(|e| (None, e))?;
    match msg {
        ClientMsg::Hello { protocol } => {
            if protocol != PROTOCOL_VERSION {
                return Err((None, WireError::ProtocolMismatch { client: protocol, server: PROTOCOL_VERSION }));
            }
            *greeted = true;
            let calibration = state.calibration.borrow().clone();
            client.outbox.send(&ServerMsg::Hello { protocol: PROTOCOL_VERSION, host: state.host.clone(), calibration });
            Ok(())
        }
        _ if !*greeted => Err((None, WireError::HelloRequired)),
        ClientMsg::StartRun { request, lab, params, seed } => {
            let refuse = |error| (Some(request), error);
            let lab = LabId::parse(&lab).map_err(|error| refuse(WireError::Params { error }))?;
            let params = lab.validate(&params).map_err(|error| refuse(WireError::Params { error }))?;
            state
                .runner
                .submit(conn, request, Work::Lab { lab, params, seed }, client.clone())
                .map(|_| ())
                .map_err(|limit| refuse(WireError::QueueFull { limit }))
        }
        ClientMsg::Calibrate { request } => state
            .runner
            .submit(conn, request, Work::Calibrate, client.clone())
            .map(|_| ())
            .map_err(|limit| (Some(request), WireError::QueueFull { limit })),
        ClientMsg::Cancel { run } => {
            if state.runner.cancel(conn, run) {
                Ok(())
            } else {
                Err((None, WireError::UnknownRun { run }))
            }
        }
        // Only this connection's log is searched: another connection's run is an unknown run here.
        ClientMsg::Resend { run, from_seq, to_seq } => client.log.resend(run, from_seq, to_seq).map_err(|e| (None, e)),
    }
}
