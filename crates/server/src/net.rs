//! Listener and connection loop.
//!
//! Connections are tokio tasks on a multi-threaded runtime, so they are
//! served on every core. Each loop: read what arrived, parse every complete
//! command in the buffer, run them in order appending replies to one buffer,
//! write that buffer once. A protocol error is answered and closes the
//! connection; nothing else does. Memory per connection is bounded by the
//! query buffer limit (a partial command larger than it closes the
//! connection) and by the inline and header limits of the parser.

use crate::argv::Argv;
use crate::blocking::Waiter;
use crate::client::{Client, ClientInfo};
use crate::ctx::After;
use crate::dispatch::{dispatch, flush_stats};
use crate::server::Server;
use bytes::{Buf, BytesMut};
use resp::{Limits, Out, Protocol};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// Replies are flushed early once this much is pending, so one pipeline of
/// huge replies does not pile up.
const FLUSH_AT: usize = 64 * 1024;

/// Accepts connections until shutdown, or until CONFIG SET port / bind
/// raised `stop_flag` (the listener closes when the loop ends).
pub async fn accept_loop(srv: Arc<Server>, listener: TcpListener, stop_flag: Arc<std::sync::atomic::AtomicBool>) {
    loop {
        // Registered before the flags are read, so a shutdown or a new
        // listener generation between the two is not missed.
        let stop = srv.shutdown_notify.notified();
        tokio::pin!(stop);
        stop.as_mut().enable();
        let moved = srv.listen_change.notified();
        tokio::pin!(moved);
        moved.as_mut().enable();
        if srv.shutting_down.load(Ordering::SeqCst) || stop_flag.load(Ordering::SeqCst) {
            return;
        }
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = &mut stop => return,
            _ = &mut moved => continue,
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

/// The reply to a connection refused by protected mode (Redis's words).
const PROTECTED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

async fn handle(srv: Arc<Server>, mut stream: TcpStream) {
    srv.stats.connections_received.fetch_add(1, Ordering::Relaxed);
    let maxclients = crate::cfg_num!(srv.config, "maxclients").max(1) as usize;
    if srv.clients.count() >= maxclients {
        srv.stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
        let _ = stream.write_all(b"-ERR max number of clients reached\r\n").await;
        return;
    }
    // Protected mode: with no password for the default user, only the
    // loopback address may connect (Redis's islocalClient: exactly
    // 127.0.0.1 or ::1).
    if crate::cfg_num!(srv.config, "protected-mode") != 0 && srv.acl.default_user().read().nopass() {
        let local = stream.peer_addr().map(|a| {
            let ip = a.ip().to_canonical();
            ip == std::net::IpAddr::from([127, 0, 0, 1]) || ip == std::net::Ipv6Addr::LOCALHOST
        });
        if !local.unwrap_or(true) {
            srv.stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
            let _ = stream.write_all(PROTECTED.as_bytes()).await;
            return;
        }
    }
    let id = srv.clients.next_id();
    let mut info = ClientInfo::new(id, stream.peer_addr().ok(), stream.local_addr().ok(), srv.clock.now_ms());
    info.mailbox.meter = Some(srv.clients.out_room.clone());
    let info = Arc::new(info);
    {
        use std::os::fd::AsRawFd;
        info.fd.store(stream.as_raw_fd() as i64, Ordering::Relaxed);
    }
    srv.clients.add(info.clone());
    let mut client = Client::new(info.clone(), srv.acl.default_open());
    client.user = Some(srv.acl.default_user());
    client.pending.batched = true;
    let _ = serve(&srv, &mut client, &mut stream).await;
    flush_stats(&srv, &mut client);
    crate::txn::on_disconnect(&srv, &mut client);
    srv.pubsub.forget_client(&info);
    srv.tracking.disable(&mut client);
    crate::commands::monitor::stop(&srv, &mut client);
    srv.clients.remove(id);
    srv.client_mem.forget(&info);
}

/// The settings read for every batch of input, looked up again only when
/// the configuration changes.
struct Settings {
    version: u64,
    max_bulk: i64,
    query_limit: usize,
    timeout_secs: i64,
    /// maxmemory-clients in bytes (0: client eviction off).
    client_limit: usize,
}

impl Settings {
    fn load(srv: &Server) -> Settings {
        let c = &srv.config;
        Settings {
            version: c.version(),
            max_bulk: c.get_num("proto-max-bulk-len"),
            query_limit: c.get_num("client-query-buffer-limit").max(1) as usize,
            timeout_secs: c.get_num("timeout"),
            client_limit: crate::clientmem::limit(srv),
        }
    }

    fn refresh(&mut self, srv: &Server) {
        if self.version != srv.config.version() {
            *self = Settings::load(srv);
        }
    }
}

async fn serve(srv: &Arc<Server>, client: &mut Client, stream: &mut TcpStream) -> std::io::Result<()> {
    let mut inbuf = BytesMut::with_capacity(READ_BUF);
    client.info.qbuf_cap.store(inbuf.capacity(), Ordering::Relaxed);
    let mut out = Out::new(Protocol::Resp2);
    let mut ranges = Vec::new();
    let mut look = crate::prefetch::Lookahead::default();
    let info = client.info.clone();
    let mut settings = Settings::load(srv);
    let mut unsent = Unsent::default();
    crate::clientmem::update_own(client, (0, inbuf.capacity()), (0, out.buf.capacity()));
    loop {
        if info.killed.load(Ordering::SeqCst) {
            return Ok(());
        }
        settings.refresh(srv);
        let woke = match idle_limit(srv, &info, settings.timeout_secs) {
            // `timeout`: an idle connection is closed; the limit is checked
            // again at least every 100 ms (it can change, and tests move the
            // clock).
            Some(left) if left <= 0 => return Ok(()),
            Some(left) => {
                let nap = std::time::Duration::from_millis(left.min(100) as u64);
                tokio::select! {
                    w = wake(srv, &info, stream, &mut inbuf, unsent.blocked) => w,
                    _ = tokio::time::sleep(nap) => continue,
                }
            }
            None => wake(srv, &info, stream, &mut inbuf, unsent.blocked).await,
        };
        let n = match woke {
            Wake::Read(r) => r?,
            Wake::Mail => {
                deliver_mail(srv, stream, &mut out, &info, &mut unsent).await?;
                continue;
            }
            Wake::Writable => {
                unsent.blocked = false;
                info.last_interaction_ms.store(srv.clock.now_ms(), Ordering::Relaxed);
                write_some(srv, stream, &mut out, &info, &mut unsent)?;
                continue;
            }
            Wake::Kill => return Ok(()),
        };
        if n == 0 {
            return Ok(());
        }
        srv.stats.net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
        // Client eviction: what was read may put this client (or the
        // total) over maxmemory-clients.
        settings.refresh(srv);
        if settings.client_limit != 0
            && srv.client_mem.check(srv, client, (inbuf.len(), inbuf.capacity()), (out.len(), out.buf.capacity()))
        {
            return Ok(());
        }
        let clock = crate::client::BatchClock::now();
        info.last_interaction_ms.store(srv.clock.at_mark(&clock), Ordering::Relaxed);
        client.batch_clock = Some(clock);
        let limits = Limits { max_bulk: settings.max_bulk, authenticated: client.authenticated };
        let mut pos = 0;
        let mut looked = 0;
        let mut ran = 0usize;
        let mut close = false;
        // While the batch runs, CLIENT LIST shows all of it as the query
        // buffer (Redis trims its buffer after the batch, not per command).
        info.qbuf.store(inbuf.len(), Ordering::Relaxed);
        loop {
            if pos >= looked && client.authenticated {
                looked = pos + crate::prefetch::batch(srv, client, &inbuf[pos..], pos, limits, &mut look).max(1);
            }
            let base = pos;
            let parsed;
            // (Parse limits are stricter before authentication: a client
            // that lost it, by RESET, parses anew.)
            let seen = if client.authenticated { look.take(pos) } else { None };
            let argv = match seen {
                // Parsed already by the look ahead.
                Some((len, args)) => {
                    pos += len;
                    Argv::from_ranges(&inbuf, base, args)
                }
                None => {
                    parsed = match resp::parse(&inbuf[pos..], limits, &mut ranges) {
                        Ok(Some(p)) => p,
                        Ok(None) => break,
                        Err(e) => {
                            out.error(e.message());
                            close = true;
                            break;
                        }
                    };
                    pos += parsed.consumed;
                    match &parsed.inline {
                        Some(v) => Argv::from_slices(v),
                        None => Argv::from_ranges(&inbuf, base, &ranges),
                    }
                }
            };
            if argv.is_empty() {
                continue;
            }
            // Killed (CLIENT KILL, output buffer limit) while running its
            // input: Redis runs nothing more of it.
            if info.killed.load(Ordering::Relaxed) {
                return Ok(());
            }
            if srv.pause.any() && must_wait(srv, &argv, queued_writes(srv, client)) {
                // CLIENT PAUSE: this command waits; earlier replies go out
                // as the socket takes them meanwhile (never waited for: the
                // client may read none before it has sent all).
                flush_stats(srv, client);
                write_some(srv, stream, &mut out, &info, &mut unsent)?;
                let exec_writes = queued_writes(srv, client);
                if !wait_pause(srv, &info, &argv, exec_writes, stream, &mut out, &mut unsent).await {
                    return Ok(());
                }
                client.batch_clock = Some(crate::client::BatchClock::now());
                client.key_hints.clear();
            }
            out.proto = client.proto;
            let after = dispatch(srv, client, &argv, &mut out);
            ran += 1;
            // What the command sent this connection (its own invalidations)
            // goes right after its reply, before the next command's.
            info.take_mail(&mut out.buf);
            drop(argv);
            // Client eviction before the next command, as Redis's
            // processCommand (a command may have grown this client's
            // buffers, or changed the limit); an evicted client runs
            // nothing more and gets no reply.
            if settings.client_limit != 0
                && srv.client_mem.check(
                    srv,
                    client,
                    (inbuf.len() - pos, inbuf.capacity()),
                    (out.len(), out.buf.capacity()),
                )
            {
                return Ok(());
            }
            let after = match after {
                After::Replica(req) => {
                    // The connection is a replica from now on: what was
                    // answered goes out first.
                    flush_stats(srv, client);
                    flush(srv, stream, &mut out, &info, &mut unsent).await?;
                    let rest = inbuf[pos..].to_vec();
                    return crate::replication::serve_replica(srv, client, stream, rest, req).await;
                }
                After::Wait { n, offset, deadline_ms } => {
                    flush_stats(srv, client);
                    write_some(srv, stream, &mut out, &info, &mut unsent)?;
                    let reply = wait_acks(srv, client, n, offset, deadline_ms).await;
                    // (CLIENT UNBLOCK's reply comes through the mailbox.)
                    info.take_mail(&mut out.buf);
                    out.raw(&reply);
                    continue;
                }
                a => a,
            };
            if let After::Block(w) = after {
                flush_stats(srv, client);
                write_some(srv, stream, &mut out, &info, &mut unsent)?;
                match await_unblock(srv, &w, stream, &mut inbuf, &mut out, &mut unsent).await {
                    // A served reply is in the mailbox, behind the messages
                    // that came before it; a timeout reply goes after them.
                    Some(reply) => {
                        info.take_mail(&mut out.buf);
                        out.raw(&reply);
                    }
                    None => return Ok(()),
                }
                client.batch_clock = Some(crate::client::BatchClock::now());
                client.key_hints.clear();
                continue;
            }
            if after == After::Close || client.close_after_reply {
                close = true;
                break;
            }
            if out.len() - unsent.sent >= FLUSH_AT && !unsent.blocked {
                flush_stats(srv, client);
                write_some(srv, stream, &mut out, &info, &mut unsent)?;
                client.batch_clock = Some(crate::client::BatchClock::now());
                client.key_hints.clear();
            }
        }
        client.batch_clock = None;
        client.key_hints.clear();
        look.clear();
        srv.tracking.flush_bcast(srv);
        info.take_mail(&mut out.buf);
        flush_stats(srv, client);
        inbuf.advance(pos);
        if inbuf.is_empty() && pos > 0 {
            // All input consumed: the next read goes to the start of the
            // buffer again (nothing moves), as Redis's query buffer, so a
            // connection keeps reading into the same few cache lines
            // rather than walking its whole buffer.
            let _ = inbuf.try_reclaim(inbuf.capacity() + 1);
        }
        info.qbuf.store(inbuf.len(), Ordering::Relaxed);
        crate::clientmem::update_own(client, (inbuf.len(), inbuf.capacity()), (out.len(), out.buf.capacity()));
        if ran > 1 && srv.clients.live() > 1 && !close && !unsent.blocked {
            // A pipeline: let the other connections with input run first,
            // then write: the replies of one scheduling round go out
            // together, as Redis writes them all before it sleeps, so a
            // peer serving many connections (a load generator, a proxy) is
            // woken once per round rather than once per reply. (For a
            // single command the wait costs more latency than it saves.)
            tokio::task::yield_now().await;
        }
        if close {
            flush(srv, stream, &mut out, &info, &mut unsent).await?;
            let _ = stream.shutdown().await;
            return Ok(());
        }
        write_some(srv, stream, &mut out, &info, &mut unsent)?;
        settings.refresh(srv);
        if inbuf.len() > settings.query_limit {
            return Ok(());
        }
        // Keep the buffers from staying huge after a big request. A consumed
        // BytesMut reports only the room after its start, not its allocation,
        // hence `pos` too.
        // A big argument being received: where its bytes start, how many
        // are still to come.
        let big_arg = if inbuf.is_empty() {
            None
        } else {
            resp::pending_bulk(&inbuf).filter(|&(start, missing)| inbuf.len() - start + missing >= BIG_ARG)
        };
        if let Some((start, _)) = big_arg {
            // CLIENT LIST shows a big argument's bytes as the query buffer
            // (Redis moves the arguments before it out of the buffer).
            info.qbuf.store(inbuf.len() - start, Ordering::Relaxed);
        }
        // A big argument is arriving: room for exactly the rest of it
        // (Redis's big-argument query buffer), not a doubling buffer. Past
        // 1 MiB the room reserved ahead is at most what has arrived, so a
        // length line alone cannot make the server reserve up to
        // proto-max-bulk-len (growth stays geometric: no quadratic copying).
        let ahead = big_arg.map(|(_, missing)| missing.min(BIG_AHEAD.max(inbuf.len())));
        if let Some(want) = ahead.filter(|&want| inbuf.capacity() - inbuf.len() < want) {
            let mut b = BytesMut::with_capacity(inbuf.len() + want);
            b.extend_from_slice(&inbuf);
            inbuf = b;
            info.qbuf_cap.store(inbuf.capacity(), Ordering::Relaxed);
            crate::clientmem::update_own(client, (inbuf.len(), inbuf.capacity()), (out.len(), out.buf.capacity()));
        } else if big_arg.is_some() {
            // Room enough already.
        } else if inbuf.is_empty() && (pos > 1024 * 1024 || inbuf.capacity() > 1024 * 1024) {
            // A huge request is done: back to the usual room at once (a
            // merely big one waits for clients_cron).
            inbuf = BytesMut::with_capacity(READ_BUF);
            info.qbuf_cap.store(inbuf.capacity(), Ordering::Relaxed);
        } else if inbuf.capacity() - inbuf.len() < 4096 {
            // Consumed input leaves less room after it with every batch; a
            // read that fills the room exactly cannot tell the socket is
            // drained, and costs an extra system call. Take the room back
            // (free when the buffer is empty: nothing moves).
            inbuf.reserve(READ_BUF);
            info.qbuf_cap.store(inbuf.capacity(), Ordering::Relaxed);
        }
        if ranges.capacity() > 4096 {
            ranges = Vec::new();
        }
        look.shrink();
    }
}

/// Why an idle connection task woke up.
enum Wake {
    Read(std::io::Result<usize>),
    Mail,
    /// Queued output can go on (the socket drained).
    Writable,
    Kill,
}

/// Waits for input on the socket (read into `inbuf`) or a signal from
/// another task (`client::Signal`), whichever comes first; signals first.
async fn wake(srv: &Server, info: &ClientInfo, stream: &mut TcpStream, inbuf: &mut BytesMut, unsent: bool) -> Wake {
    std::future::poll_fn(|cx| {
        let bits = info.mailbox.signal.poll_take(cx);
        if bits & crate::client::SIG_KILL != 0 {
            return std::task::Poll::Ready(Wake::Kill);
        }
        if bits & crate::client::SIG_MAIL != 0 {
            return std::task::Poll::Ready(Wake::Mail);
        }
        if unsent {
            match stream.poll_write_ready(cx) {
                std::task::Poll::Ready(Ok(())) => return std::task::Poll::Ready(Wake::Writable),
                std::task::Poll::Ready(Err(e)) => return std::task::Poll::Ready(Wake::Read(Err(e))),
                std::task::Poll::Pending => {}
            }
        }
        if bits & crate::client::SIG_SHRINK != 0 && inbuf.is_empty() {
            // From clients_cron, as Redis's: an idle connection gives its
            // empty buffer back; a busy one keeps the usual room only.
            if srv.clock.now_ms() - info.last_interaction_ms.load(Ordering::Relaxed) >= IDLE_FREE_MS {
                *inbuf = BytesMut::new();
            } else if inbuf.capacity() > SHRINK_ABOVE {
                *inbuf = BytesMut::with_capacity(READ_BUF);
            }
            info.qbuf_cap.store(inbuf.capacity(), Ordering::Relaxed);
        }
        if inbuf.capacity() == 0 {
            // A buffer again only once there is something to read.
            match stream.poll_read_ready(cx) {
                std::task::Poll::Ready(Ok(())) => {
                    inbuf.reserve(READ_BUF);
                    info.qbuf_cap.store(inbuf.capacity(), Ordering::Relaxed);
                }
                std::task::Poll::Ready(Err(e)) => return std::task::Poll::Ready(Wake::Read(Err(e))),
                std::task::Poll::Pending => return std::task::Poll::Pending,
            }
        }
        tokio_util::io::poll_read_buf(std::pin::Pin::new(&mut *stream), cx, inbuf).map(Wake::Read)
    })
    .await
}

/// Room a connection reads into (Redis's PROTO_IOBUF_LEN).
const READ_BUF: usize = 16 * 1024;
/// An argument this big gets a query buffer of its own size (Redis's
/// PROTO_MBULK_BIG_ARG).
const BIG_ARG: usize = 32 * 1024;
/// Room reserved ahead for a big argument without its bytes having come.
const BIG_AHEAD: usize = 1024 * 1024;
/// A query buffer larger than this shrinks back to `READ_BUF` once empty
/// (Redis's PROTO_RESIZE_THRESHOLD).
const SHRINK_ABOVE: usize = 32 * 1024;
/// An empty query buffer idle this long is given back.
const IDLE_FREE_MS: i64 = 2000;

/// Redis's clientsCron. Every 100 ms: client eviction (clientmem.rs), while
/// maxmemory-clients is on. Every 500 ms, query buffers: a connection idle for 2 seconds
/// or more gives its empty buffer back (it gets a new one when input
/// arrives), and one whose buffer grew past 32 KiB for a big request
/// shrinks it back once empty. Each is told through its signal; the
/// connection task does it, at its next wait.
/// WAIT: until `n` replicas acknowledged `offset`, the deadline passes,
/// CLIENT UNBLOCK (a blocked client's waiter is registered for it) or the
/// client is killed; the reply: the count then (or UNBLOCKED's error).
async fn wait_acks(srv: &Server, client: &Client, n: usize, offset: u64, deadline_ms: Option<i64>) -> Vec<u8> {
    let req = crate::blocking::BlockRequest::new(Vec::new(), None, |out| out.int(0));
    let w = Arc::new(crate::blocking::Waiter::new(
        client.info.clone(),
        client.db,
        client.proto,
        vec![crate::blocking::WAIT_ARGV.to_vec()],
        req,
    ));
    srv.blocking.register(w.clone());
    let mut rx = w.take_receiver();
    let count_reply = |c: usize| {
        let mut o = Out::new(client.proto);
        o.int(c as i64);
        o.buf
    };
    loop {
        let notified = srv.repl.acks.notified();
        let count = srv.repl.acked(offset);
        let due = deadline_ms.is_some_and(|d| srv.clock.now_ms() >= d);
        let gone = client.info.killed.load(Ordering::SeqCst) || srv.shutting_down.load(Ordering::Relaxed);
        if count >= n || due || gone {
            if w.claim() {
                srv.blocking.unregister(&w);
                return count_reply(count);
            }
        }
        let nap = deadline_ms.map_or(100, |d| (d - srv.clock.now_ms()).clamp(1, 100)) as u64;
        tokio::select! {
            note = async { match rx.as_mut() { Some(r) => r.await.ok(), None => std::future::pending().await } } => {
                // CLIENT UNBLOCK TIMEOUT: the count now, as Redis answers;
                // ERROR: its reply is in the mailbox.
                if note.as_deref() == Some(crate::blocking::WAIT_UNBLOCKED) {
                    return count_reply(srv.repl.acked(offset));
                }
                return Vec::new();
            }
            _ = notified => {}
            _ = tokio::time::sleep(std::time::Duration::from_millis(nap)) => {}
        }
    }
}

pub async fn clients_cron(srv: Arc<Server>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n = 0u64;
    loop {
        tick.tick().await;
        if srv.cron_paused.load(Ordering::Relaxed) {
            continue;
        }
        // Client eviction every tick (while maxmemory-clients is on),
        // query buffers every fifth.
        srv.client_mem.cron(&srv);
        n += 1;
        if !n.is_multiple_of(5) {
            continue;
        }
        let now = srv.clock.now_ms();
        for c in srv.clients.all() {
            let idle = now - c.last_interaction_ms.load(Ordering::Relaxed);
            let cap = c.qbuf_cap.load(Ordering::Relaxed);
            let due = (idle >= IDLE_FREE_MS && cap > 0) || cap > SHRINK_ABOVE;
            if due && c.qbuf.load(Ordering::Relaxed) == 0 {
                c.mailbox.signal.raise(crate::client::SIG_SHRINK);
            }
        }
    }
}

/// Writes out pub/sub messages and invalidations other connections left in
/// the mailbox. The task was just woken by the first of them; it lets the
/// tasks ready to run go first, again while their messages keep coming (up
/// to 16 rounds or 64 KiB), so what they publish joins this write: Redis
/// writes a subscriber's buffer once per event-loop pass, and the peer is
/// woken once for many messages. Order is unaffected: the mailbox is a FIFO
/// taken whole.
async fn deliver_mail(
    srv: &Server,
    stream: &mut TcpStream,
    out: &mut Out,
    info: &ClientInfo,
    unsent: &mut Unsent,
) -> std::io::Result<()> {
    let mut seen = info.omem.load(Ordering::Relaxed);
    for _ in 0..16 {
        tokio::task::yield_now().await;
        let now = info.omem.load(Ordering::Relaxed);
        if now == seen || now >= 64 * 1024 {
            break;
        }
        seen = now;
    }
    info.take_mail(&mut out.buf);
    write_some(srv, stream, out, info, unsent)
}

/// Milliseconds left before an idle connection times out; `None` when no
/// timeout applies (setting 0, or a subscriber, as Redis exempts those).
fn idle_limit(srv: &Server, info: &ClientInfo, secs: i64) -> Option<i64> {
    if secs <= 0 {
        return None;
    }
    let subs = info.sub.load(Ordering::Relaxed) + info.psub.load(Ordering::Relaxed) + info.ssub.load(Ordering::Relaxed);
    // Monitors are exempt too (Redis counts them as replicas).
    if subs > 0 || info.flags.lock().starts_with('O') {
        return None;
    }
    let idle = srv.clock.now_ms() - info.last_interaction_ms.load(Ordering::Relaxed);
    Some(secs * 1000 - idle)
}

/// True if the command may write, for a WRITE pause. A script command
/// whose script (by shebang, cached sha or function name) declares its
/// flags is judged by them, as Redis's getCommandFlags does: no-writes runs
/// on; an unknown script, or one without a shebang, counts as a write. The
/// script states are only tried, never waited for (a running script holds
/// them): then the command counts as a write, and the next check retries.
fn writes(srv: &Server, spec: &crate::cmdspec::CommandSpec, argv: &[&[u8]]) -> bool {
    if !(spec.has(crate::cmdspec::f::WRITE) || spec.may_replicate()) {
        return false;
    }
    if matches!(spec.name, "eval" | "evalsha" | "fcall") && argv.len() > 1 {
        use crate::scripting::flags::{EVAL_COMPAT, NO_WRITES};
        if let Some(fl) = crate::evict::script_flags(srv, spec, argv[1]) {
            return fl & EVAL_COMPAT != 0 || fl & NO_WRITES == 0;
        }
    }
    true
}

/// True if the client's open transaction has queued a command that writes
/// (its EXEC then waits for a WRITE pause, as in Redis).
fn queued_writes(srv: &Server, client: &Client) -> bool {
    client.multi.as_ref().is_some_and(|m| m.queue.iter().any(|q| writes(srv, q.entry.spec, &m.argv(q))))
}

/// True if a command must wait for the current CLIENT PAUSE.
fn must_wait(srv: &Server, argv: &[&[u8]], exec_writes: bool) -> bool {
    let now = srv.clock.now_ms();
    if !srv.pause.holds(now, true) {
        return false;
    }
    let writes = match crate::dispatch::resolve(argv) {
        Ok(e) => writes(srv, e.spec, argv) || (e.spec.name == "exec" && exec_writes),
        Err(_) => false,
    };
    srv.pause.holds(now, writes)
}

/// Waits out a pause; false if the connection was killed meanwhile (or
/// its socket failed). Queued replies and messages for the client are
/// written as the socket takes them, as Redis goes on writing to a paused
/// client.
async fn wait_pause(
    srv: &Server,
    info: &ClientInfo,
    argv: &[&[u8]],
    exec_writes: bool,
    stream: &TcpStream,
    out: &mut Out,
    unsent: &mut Unsent,
) -> bool {
    info.paused.store(true, Ordering::Relaxed);
    let mut alive = true;
    while must_wait(srv, argv, exec_writes) {
        let until = srv.pause.until_ms.load(Ordering::Relaxed);
        let left = if until == 0 { 100 } else { until - srv.clock.now_ms() };
        // Re-check at least every 100 ms: the clock can be moved by tests.
        let nap = std::time::Duration::from_millis(left.clamp(1, 100) as u64);
        let wrote = tokio::select! {
            _ = srv.pause.changed.notified() => Ok(()),
            _ = tokio::time::sleep(nap) => Ok(()),
            _ = info.kill.notified() => {
                alive = false;
                break;
            }
            r = stream.writable(), if unsent.blocked => r.and_then(|()| {
                unsent.blocked = false;
                write_some(srv, stream, out, info, unsent)
            }),
            bits = next_signal(info) => {
                if bits & crate::client::SIG_KILL != 0 {
                    alive = false;
                    break;
                }
                info.take_mail(&mut out.buf);
                write_some(srv, stream, out, info, unsent)
            }
        };
        if wrote.is_err() {
            alive = false;
            break;
        }
    }
    info.paused.store(false, Ordering::Relaxed);
    alive && !info.killed.load(Ordering::SeqCst)
}

/// Writes what is pending. A client killed meanwhile (CLIENT KILL, or its
/// output buffer limit reached while the socket is not drained) stops the
/// write at once.
/// What is left to write of a connection's output: `out.buf[sent..]`.
#[derive(Default)]
struct Unsent {
    sent: usize,
    /// The socket's buffer was full at the last try; the connection loop
    /// waits for it to drain (besides waiting for input) before trying
    /// again.
    blocked: bool,
    /// When the output first went past the soft limit of
    /// client-output-buffer-limit (0: it is not).
    soft_since_ms: i64,
}

/// Writes what the socket takes of `out` now, without waiting. The rest
/// stays queued (from `u.sent` on) and the connection goes on reading and
/// running input meanwhile, as Redis keeps a reply list: a client may send
/// a whole pipeline before it reads any reply, whatever their sizes. The
/// queue is bounded by client-output-buffer-limit (the connection is
/// closed past it) and maxmemory-clients.
/// While the socket is known to be full (`u.blocked`) nothing is tried:
/// only the queue's size is brought up to date (limits, CLIENT LIST omem).
fn write_some(
    srv: &Server,
    stream: &TcpStream,
    out: &mut Out,
    info: &ClientInfo,
    u: &mut Unsent,
) -> std::io::Result<()> {
    // A reply past the reply buffer's 16 KiB counts against the output
    // limits before it is written, as Redis's reply list (a single reply
    // over the hard limit closes the connection).
    if out.len() - u.sent > 16 * 1024 && over_limits(srv, info, out.len() - u.sent, u) {
        return Err(std::io::ErrorKind::ConnectionAborted.into());
    }
    srv.aof.before_replies();
    while !u.blocked && u.sent < out.len() {
        match stream.try_write(&out.buf[u.sent..]) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                u.sent += n;
                srv.stats.net_output_bytes.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                u.blocked = true;
                break;
            }
            Err(e) => return Err(e),
        }
    }
    if u.sent == out.len() {
        let was_queued = info.pending_out.load(Ordering::Relaxed) != 0;
        out.clear();
        u.sent = 0;
        u.soft_since_ms = 0;
        if out.buf.capacity() > 1024 * 1024 {
            out.buf = Vec::with_capacity(4096);
        }
        info.mailbox.written_out(&mut out.buf, 0);
        if was_queued {
            info.pending_out.store(0, Ordering::Relaxed);
            info.omem.store(info.mail_len(), Ordering::Relaxed);
        }
        return Ok(());
    }
    // Written bytes are dropped from the front once they are the larger
    // part (amortised: each byte moves at most once or twice).
    if u.sent >= 64 * 1024 && u.sent * 2 >= out.len() {
        out.buf.drain(..u.sent);
        u.sent = 0;
    }
    let left = out.len() - u.sent;
    info.mailbox.written_out(&mut out.buf, left);
    info.pending_out.store(left, Ordering::Relaxed);
    let queued = info.mail_len() + left;
    info.omem.store(queued, Ordering::Relaxed);
    if over_limits(srv, info, queued, u) {
        return Err(std::io::ErrorKind::ConnectionAborted.into());
    }
    let limit = crate::clientmem::limit(srv);
    if limit != 0 && srv.client_mem.report(info) >= limit {
        srv.client_mem.evict(srv, limit);
    }
    if info.killed.load(Ordering::SeqCst) {
        return Err(std::io::ErrorKind::ConnectionAborted.into());
    }
    Ok(())
}

/// client-output-buffer-limit for `queued` bytes of output.
fn over_limits(srv: &Server, info: &ClientInfo, queued: usize, u: &mut Unsent) -> bool {
    let class = if info.in_pubsub() { crate::client::ObufClass::Pubsub } else { crate::client::ObufClass::Normal };
    let over = srv.pubsub.limits(srv).exceeded(class, queued, &mut u.soft_since_ms, srv.clock.now_ms());
    if over {
        tracing::info!("Client id={} addr={} closed for overcoming of output buffer limits.", info.id, info.addr);
    }
    over
}

/// Writes all of `out`, waiting for the socket as long as needed (before
/// the connection waits for something else: a blocking command, a pause,
/// closing). A kill ends the wait.
async fn flush(
    srv: &Server,
    stream: &mut TcpStream,
    out: &mut Out,
    info: &ClientInfo,
    u: &mut Unsent,
) -> std::io::Result<()> {
    loop {
        write_some(srv, stream, out, info, u)?;
        if out.is_empty() {
            return Ok(());
        }
        tokio::select! {
            r = stream.writable() => r?,
            _ = info.kill.notified() => return Err(std::io::ErrorKind::ConnectionAborted.into()),
        }
        u.blocked = false;
    }
}

/// The next signal from another task (`client::Signal` bits).
async fn next_signal(info: &ClientInfo) -> u8 {
    std::future::poll_fn(|cx| match info.mailbox.signal.poll_take(cx) {
        0 => std::task::Poll::Pending,
        bits => std::task::Poll::Ready(bits),
    })
    .await
}

/// Waits, for a client blocked on keys, until one of: the reply arrives
/// (served or CLIENT UNBLOCK: it is then in the mailbox), the deadline passes
/// (timeout reply, returned), the client is killed, or the socket closes.
/// Meanwhile input keeps being read into `inbuf` (so a disconnect is
/// noticed) but not executed, and messages for the client (a RESP3
/// subscriber's pushes, invalidations) are written as they come, as Redis
/// writes them to a blocked client. `None` means the connection is to be
/// dropped.
async fn await_unblock(
    srv: &Server,
    w: &Arc<Waiter>,
    stream: &TcpStream,
    inbuf: &mut BytesMut,
    out: &mut Out,
    unsent: &mut Unsent,
) -> Option<Vec<u8>> {
    let mut rx = w.take_receiver()?;
    let mut deadline = w.deadline_ms;
    let limit = crate::cfg_num!(srv.config, "client-query-buffer-limit").max(1) as usize;
    let mut reading = true;
    loop {
        let sleep_ms = deadline.map(|d| (d - srv.clock.now_ms()).max(0) as u64);
        let mut mail = false;
        tokio::select! {
            r = &mut rx => return r.ok(),
            _ = tokio::time::sleep(std::time::Duration::from_millis(sleep_ms.unwrap_or(0))), if sleep_ms.is_some() => {
                if srv.clock.now_ms() < deadline.unwrap_or(0) {
                    continue;
                }
                if w.claim() {
                    srv.blocking.unregister(w);
                    return Some(w.timeout_bytes());
                }
                // Claimed by a server or CLIENT UNBLOCK: its reply is coming.
                deadline = None;
            }
            _ = w.info.kill.notified() => {
                if w.claim() {
                    srv.blocking.unregister(w);
                }
                return None;
            }
            bits = next_signal(&w.info) => {
                if bits & crate::client::SIG_KILL != 0 {
                    if w.claim() {
                        srv.blocking.unregister(w);
                    }
                    return None;
                }
                // Being served: the reply will join the mail; what the
                // served command sends the client itself goes after it.
                mail = !w.is_claimed();
            }
            r = stream.readable(), if reading => {
                match r.and_then(|()| stream.try_read_buf(inbuf)) {
                    Ok(n) if n > 0 => {
                        srv.stats.net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
                        // Past the query buffer limit: stop reading (the
                        // main loop closes the connection once unblocked).
                        reading = inbuf.len() <= limit;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    _ => {
                        if w.claim() {
                            srv.blocking.unregister(w);
                        }
                        return None;
                    }
                }
            }
            // Replies queued before the client blocked go out as the
            // socket takes them (the client may read none of them before
            // it has sent all it means to).
            r = stream.writable(), if unsent.blocked => {
                unsent.blocked = false;
                if r.and_then(|()| write_some(srv, stream, out, &w.info, unsent)).is_err() {
                    if w.claim() {
                        srv.blocking.unregister(w);
                    }
                    return None;
                }
            }
        }
        if mail {
            w.info.take_mail(&mut out.buf);
            if write_some(srv, stream, out, &w.info, unsent).is_err() {
                if w.claim() {
                    srv.blocking.unregister(w);
                }
                return None;
            }
        }
    }
}
