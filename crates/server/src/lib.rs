//! Hematite: a Redis-compatible server.
//!
//! Crate map (arrows point one way): `resp` (protocol) and `types` (data
//! structures, numbers) depend on nothing of ours; this crate ties them
//! together: `cmdspec` (the command table as data), `storage` (the sharded
//! keyspace), `ctx` + `dispatch` (how a command runs), `commands/*` (one file
//! per family), `net` (connections), `config`, `server` (shared state).
//! See docs/architecture.md.

pub mod acl;
pub mod alloc;
pub mod aof;
pub mod args;
pub mod argv;
pub mod blocking;
pub mod client;
pub mod clientmem;
pub mod cmdlog;
pub mod cmdspec;
pub mod commands;
pub mod config;
pub mod ctx;
pub mod dispatch;
pub mod error;
pub mod evict;
pub mod expire;
pub mod glob;
pub mod latency;
pub mod lazyfree;
pub mod loading;
pub mod net;
pub mod notify;
pub mod persist;
pub mod prefetch;
pub mod propagate;
pub mod pubsub;
pub mod rdb;
pub mod replication;
pub mod scripting;
pub mod server;
pub mod shutdown;
pub mod storage;
pub mod tracking;
pub mod txn;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub use config::Config;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;
pub use server::Server;

/// Loads the RDB file of the working directory (`dir`/`dbfilename`) if
/// there is one, then serves as `serve` does.
/// `on_listening` runs once the listeners are bound, before the data is
/// loaded (where Redis prints its PID, which its test suite waits for).
pub async fn run(
    srv: Arc<Server>,
    on_listening: impl FnOnce(),
    on_ready: impl FnOnce(Vec<SocketAddr>),
) -> std::io::Result<()> {
    serve_inner(srv, Some(on_listening), on_ready).await
}

/// Loads the AOF (appendonly yes) or the RDB file at startup.
fn load_data(srv: &Server) -> Result<(), String> {
    if crate::cfg_num!(srv.config, "appendonly") != 0 {
        aof::load_at_start(srv).inspect_err(|e| tracing::warn!("{e}")).map(|_| ())
    } else {
        persist::load_at_start(srv)
    }
}

/// Binds the configured addresses and serves until shutdown. Returns the
/// bound addresses once listening (through `on_ready`).
pub async fn serve(srv: Arc<Server>, on_ready: impl FnOnce(Vec<SocketAddr>)) -> std::io::Result<()> {
    serve_inner(srv, None::<fn()>, on_ready).await
}

/// `load`: the dataset is loaded (`load_data`) after the listeners are
/// up, as Redis does: clients that connect meanwhile get LOADING for
/// every command without the `loading` flag; `on_ready` is called once
/// the data is in.
async fn serve_inner(
    srv: Arc<Server>,
    on_listening: Option<impl FnOnce()>,
    on_ready: impl FnOnce(Vec<SocketAddr>),
) -> std::io::Result<()> {
    let load = on_listening.is_some();
    persist::Persist::attach(&srv);
    let port = crate::cfg_num!(srv.config, "port") as u16;
    let bind = srv.config.get_text("bind").unwrap_or_default();
    let backlog = crate::cfg_num!(srv.config, "tcp-backlog").clamp(1, u32::MAX as i64) as u32;
    let mut listeners = bind_all(port, &bind, backlog, &[]).inspect_err(|e| {
        // Redis's words, which tools watching the log look for.
        tracing::warn!("Failed listening on port {port} (tcp), aborting: {e}");
    })?;
    let addrs: Vec<SocketAddr> = listeners.iter().map(|(a, _)| *a).collect();
    if let Some(a) = addrs.first() {
        srv.port.store(a.port() as u64, Ordering::Relaxed);
    }
    if let Some(f) = on_listening {
        f();
        acl::load_at_start(&srv).map_err(std::io::Error::other)?;
    }
    let aof_start = |srv: &Arc<Server>| {
        aof::start(srv).map_err(|e| {
            tracing::warn!("{e}");
            e
        })
    };
    let files = load
        && if crate::cfg_num!(srv.config, "appendonly") != 0 {
            aof::files_exist(&srv)
        } else {
            std::path::Path::new(&srv.config.get_text("dbfilename").unwrap_or_else(|| "dump.rdb".into())).exists()
        };
    if files {
        // Clients are let in while the data loads, and get LOADING until
        // it is in and the AOF (when on) is open again.
        srv.loading.active.store(true, Ordering::SeqCst);
        serve_listeners(&srv, std::mem::take(&mut listeners));
        let s2 = srv.clone();
        let job = tokio::task::spawn_blocking(move || load_data(&s2).and_then(|()| aof_start(&s2)));
        // SHUTDOWN or a signal while loading: nothing is saved.
        let r = until_shutdown(&srv, job).await;
        srv.loading.active.store(false, Ordering::SeqCst);
        match r {
            None => return Ok(()),
            Some(Ok(Ok(()))) => {}
            Some(Ok(Err(e))) => return Err(std::io::Error::other(e)),
            Some(Err(e)) => return Err(std::io::Error::other(e.to_string())),
        }
    } else {
        // Nothing to load: clients come in once the AOF (a first base
        // written, when on) is ready.
        aof_start(&srv).map_err(std::io::Error::other)?;
    }
    tokio::spawn(expire::active_expire_loop(srv.clone()));
    tokio::spawn(evict::background(srv.clone()));
    tokio::spawn(net::clients_cron(srv.clone()));
    tokio::spawn(replication::master_cron(srv.clone()));
    // `replicaof host port` in the configuration: a replica from the start.
    let master = srv.config.get_text("replicaof").unwrap_or_default();
    let mut w = master.split_whitespace();
    if let (Some(h), Some(p)) = (w.next(), w.next().and_then(|p| p.parse::<u16>().ok())) {
        replication::replicaof(&srv, h.to_string(), p);
    }
    on_ready(addrs);
    serve_listeners(&srv, listeners);
    // CONFIG SET port / bind: new listeners replace these (Redis's
    // changeListenPort / changeBindAddr).
    let weak = Arc::downgrade(&srv);
    let rt = tokio::runtime::Handle::current();
    srv.config.set_listen_hook(Box::new(move |port, bind| {
        let Some(srv) = weak.upgrade() else { return Err(std::io::ErrorKind::NotConnected.into()) };
        let _enter = rt.enter();
        let backlog = crate::cfg_num!(srv.config, "tcp-backlog").clamp(1, u32::MAX as i64) as u32;
        let held: Vec<SocketAddr> = srv.listeners.lock().iter().map(|(a, _)| *a).collect();
        // Addresses already listened on are kept; the others are bound
        // first (nothing changes if one fails), then the old ones stop.
        let new = bind_all(port, bind, backlog, &held)?;
        let wanted: Vec<SocketAddr> = resolve_all(port, bind);
        let first = wanted.first().copied();
        {
            let mut reg = srv.listeners.lock();
            for (a, stop) in reg.iter() {
                if !wanted.contains(a) {
                    stop.store(true, Ordering::SeqCst);
                }
            }
            reg.retain(|(a, _)| wanted.contains(a));
        }
        serve_listeners(&srv, new);
        if let Some(a) = first.or_else(|| srv.listeners.lock().first().map(|(a, _)| *a)) {
            srv.port.store(a.port() as u64, Ordering::Relaxed);
        }
        srv.listen_change.notify_waiters();
        Ok(())
    }));
    // Runs until shutdown (the accept loops end with it).
    until_shutdown(&srv, std::future::pending::<()>()).await;
    Ok(())
}

/// Runs `work` until it ends (Some) or the server shuts down (None).
async fn until_shutdown<F: std::future::Future>(srv: &Server, work: F) -> Option<F::Output> {
    tokio::pin!(work);
    loop {
        let stop = srv.shutdown_notify.notified();
        tokio::pin!(stop);
        stop.as_mut().enable();
        if srv.shutting_down.load(Ordering::SeqCst) {
            return None;
        }
        tokio::select! {
            r = &mut work => return Some(r),
            _ = stop => {}
        }
    }
}

/// Binds a listener per address of `bind` ("-addr": optional, skipped when
/// it cannot be bound; "*" / "::*": every IPv4 / IPv6 address), within a
/// runtime context, except the addresses in `held` (already listened on).
fn bind_all(
    port: u16,
    bind: &str,
    backlog: u32,
    held: &[SocketAddr],
) -> std::io::Result<Vec<(SocketAddr, tokio::net::TcpListener)>> {
    let mut listeners = Vec::new();
    for b in bind.split_whitespace() {
        let (optional, host) = match b.strip_prefix('-') {
            Some(h) => (true, h),
            None => (false, b),
        };
        let host = match host {
            "*" => "0.0.0.0",
            "::*" => "::",
            h => h,
        };
        let addr = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        if resolve(&addr).is_some_and(|a| held.contains(&a)) {
            continue;
        }
        match listen_on(&addr, backlog) {
            Ok(l) => listeners.push((l.local_addr()?, l)),
            Err(e) if optional => tracing::debug!("skipping optional bind {addr}: {e}"),
            Err(e) => return Err(e),
        }
    }
    Ok(listeners)
}

fn resolve(addr: &str) -> Option<SocketAddr> {
    use std::net::ToSocketAddrs;
    addr.to_socket_addrs().ok()?.next()
}

/// The addresses a bind list names (for the ones it keeps).
fn resolve_all(port: u16, bind: &str) -> Vec<SocketAddr> {
    bind.split_whitespace()
        .filter_map(|b| {
            let host = match b.trim_start_matches('-') {
                "*" => "0.0.0.0",
                "::*" => "::",
                h => h,
            };
            resolve(&if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") })
        })
        .collect()
}

fn listen_on(addr: &str, backlog: u32) -> std::io::Result<tokio::net::TcpListener> {
    let a = resolve(addr).ok_or(std::io::ErrorKind::AddrNotAvailable)?;
    let s = if a.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    s.set_reuseaddr(true)?;
    s.bind(a)?;
    s.listen(backlog)
}

/// Starts an accept loop per listener and records it.
fn serve_listeners(srv: &Arc<Server>, listeners: Vec<(SocketAddr, tokio::net::TcpListener)>) {
    for (a, l) in listeners {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        srv.listeners.lock().push((a, stop.clone()));
        tokio::spawn(net::accept_loop(srv.clone(), l, stop));
    }
}

/// Starts a server on 127.0.0.1 with an OS-chosen port on its own runtime
/// thread (for tests and benchmarks). Extra `(name, value)` settings are
/// applied first.
pub fn spawn_for_tests(settings: &[(&str, &str)]) -> (SocketAddr, Arc<Server>) {
    let cfg = Config::default();
    cfg.load_set("bind", "127.0.0.1").expect("bind");
    cfg.load_set("port", "0").expect("port");
    // No save points: a test server never writes a file unless told to.
    cfg.load_set("save", "").expect("save");
    for (k, v) in settings {
        cfg.load_set(k, v).expect("setting");
    }
    let srv = Arc::new(Server::new(cfg));
    // The server's threads count their memory apart from the rest of the
    // test process (see alloc.rs), so maxmemory tests see their own server.
    let domain = alloc::new_domain();
    srv.evictor.set_domain(domain);
    let (tx, rx) = std::sync::mpsc::channel();
    let s2 = srv.clone();
    std::thread::spawn(move || {
        alloc::enter_domain(domain);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .on_thread_start(move || alloc::enter_domain(domain))
            .on_thread_stop(alloc::flush_thread)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let _ = serve(s2, |a| {
                let _ = tx.send(a);
            })
            .await;
        });
    });
    let addrs = rx.recv().expect("server started");
    (addrs[0], srv)
}
