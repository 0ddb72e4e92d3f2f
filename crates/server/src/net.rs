//! Listener and connection loop.
//!
//! Connections are tokio tasks on a multi-threaded runtime, so they are
//! served on every core. Each loop: read what arrived, parse every complete
//! command in the buffer, run them in order appending replies to one buffer,
//! write that buffer once. A protocol error is answered and closes the
//! connection; nothing else does. Memory per connection is bounded by the
//! query buffer limit (a partial command larger than it closes the
//! connection) and by the inline and header limits of the parser.

use crate::client::{Client, ClientInfo};
use crate::ctx::After;
use crate::dispatch::dispatch;
use crate::server::Server;
use bytes::{Buf, BytesMut};
use resp::{Limits, Out, Protocol};
use smallvec::SmallVec;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Replies are flushed early once this much is pending, so one pipeline of
/// huge replies does not pile up.
const FLUSH_AT: usize = 64 * 1024;

pub async fn accept_loop(srv: Arc<Server>, listener: TcpListener) {
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = srv.shutdown_notify.notified() => return,
        };
        let (stream, _) = match accepted {
            Ok(x) => x,
            Err(_) => {
                // Out of file descriptors and the like: back off briefly.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        if srv.shutting_down.load(Ordering::SeqCst) {
            return;
        }
        let _ = stream.set_nodelay(true);
        let srv2 = srv.clone();
        tokio::spawn(async move { handle(srv2, stream).await });
    }
}

async fn handle(srv: Arc<Server>, mut stream: TcpStream) {
    srv.stats.connections_received.fetch_add(1, Ordering::Relaxed);
    let maxclients = srv.config.get_num("maxclients").max(1) as usize;
    if srv.clients.count() >= maxclients {
        srv.stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
        let _ = stream.write_all(b"-ERR max number of clients reached\r\n").await;
        return;
    }
    let id = srv.clients.next_id();
    let info = Arc::new(ClientInfo::new(id, stream.peer_addr().ok(), stream.local_addr().ok(), srv.clock.now_ms()));
    srv.clients.add(info.clone());
    let needs_auth = srv.config.get_text("requirepass").map(|p| !p.is_empty()).unwrap_or(false);
    let mut client = Client::new(info.clone(), !needs_auth);
    let _ = serve(&srv, &mut client, &mut stream).await;
    crate::txn::on_disconnect(&srv, &mut client);
    srv.clients.remove(id);
}

async fn serve(srv: &Server, client: &mut Client, stream: &mut TcpStream) -> std::io::Result<()> {
    let mut inbuf = BytesMut::with_capacity(16 * 1024);
    let mut out = Out::new(Protocol::Resp2);
    let mut ranges = Vec::new();
    let info = client.info.clone();
    loop {
        if info.killed.load(Ordering::SeqCst) {
            return Ok(());
        }
        let n = tokio::select! {
            r = stream.read_buf(&mut inbuf) => r?,
            _ = info.kill.notified() => return Ok(()),
        };
        if n == 0 {
            return Ok(());
        }
        srv.stats.net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
        info.last_interaction_ms.store(srv.clock.now_ms(), Ordering::Relaxed);
        let limits = Limits { max_bulk: srv.config.get_num("proto-max-bulk-len"), authenticated: client.authenticated };
        let mut pos = 0;
        let mut close = false;
        loop {
            let parsed = match resp::parse(&inbuf[pos..], limits, &mut ranges) {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => {
                    out.error(e.message());
                    close = true;
                    break;
                }
            };
            let base = pos;
            pos += parsed.consumed;
            let argv: SmallVec<[&[u8]; 8]> = match &parsed.inline {
                Some(v) => v.iter().map(|a| a.as_slice()).collect(),
                None => ranges.iter().map(|r| &inbuf[base + r.start..base + r.end]).collect(),
            };
            if argv.is_empty() {
                continue;
            }
            out.proto = client.proto;
            let after = dispatch(srv, client, &argv, &mut out);
            if after == After::Close || client.close_after_reply {
                close = true;
                break;
            }
            if out.len() >= FLUSH_AT {
                flush(srv, stream, &mut out).await?;
            }
        }
        inbuf.advance(pos);
        info.qbuf.store(inbuf.len(), Ordering::Relaxed);
        flush(srv, stream, &mut out).await?;
        if close {
            let _ = stream.shutdown().await;
            return Ok(());
        }
        let limit = srv.config.get_num("client-query-buffer-limit").max(1) as usize;
        if inbuf.len() > limit {
            return Ok(());
        }
        // Keep the buffer from staying huge after a big request.
        if inbuf.is_empty() && inbuf.capacity() > 1024 * 1024 {
            inbuf = BytesMut::with_capacity(16 * 1024);
        }
    }
}

async fn flush(srv: &Server, stream: &mut TcpStream, out: &mut Out) -> std::io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    stream.write_all(&out.buf).await?;
    srv.stats.net_output_bytes.fetch_add(out.len() as u64, Ordering::Relaxed);
    out.clear();
    if out.buf.capacity() > 1024 * 1024 {
        out.buf = Vec::with_capacity(4096);
    }
    Ok(())
}
