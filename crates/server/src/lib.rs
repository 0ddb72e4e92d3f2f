//! Hematite: a Redis-compatible server.
//!
//! Crate map (arrows point one way): `resp` (protocol) and `types` (data
//! structures, numbers) depend on nothing of ours; this crate ties them
//! together: `cmdspec` (the command table as data), `storage` (the sharded
//! keyspace), `ctx` + `dispatch` (how a command runs), `commands/*` (one file
//! per family), `net` (connections), `config`, `server` (shared state).
//! See docs/architecture.md.

pub mod alloc;
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
pub mod net;
pub mod notify;
pub mod prefetch;
pub mod pubsub;
pub mod rdb;
pub mod scripting;
pub mod server;
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

/// Binds the configured addresses and serves until shutdown. Returns the
/// bound addresses once listening (through `on_ready`).
pub async fn run(srv: Arc<Server>, on_ready: impl FnOnce(Vec<SocketAddr>)) -> std::io::Result<()> {
    let port = crate::cfg_num!(srv.config, "port") as u16;
    let bind = srv.config.get_text("bind").unwrap_or_default();
    let mut listeners = Vec::new();
    let mut addrs = Vec::new();
    for b in bind.split_whitespace() {
        // "-addr" means optional: skip it when it cannot be bound.
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
        match tokio::net::TcpListener::bind(&addr).await {
            Ok(l) => {
                addrs.push(l.local_addr()?);
                listeners.push(l);
            }
            Err(e) if optional => tracing::debug!("skipping optional bind {addr}: {e}"),
            Err(e) => return Err(e),
        }
    }
    if let Some(a) = addrs.first() {
        srv.port.store(a.port() as u64, Ordering::Relaxed);
    }
    tokio::spawn(expire::active_expire_loop(srv.clone()));
    tokio::spawn(evict::background(srv.clone()));
    tokio::spawn(net::clients_cron(srv.clone()));
    on_ready(addrs);
    let mut tasks = Vec::new();
    for l in listeners {
        tasks.push(tokio::spawn(net::accept_loop(srv.clone(), l)));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

/// Starts a server on 127.0.0.1 with an OS-chosen port on its own runtime
/// thread (for tests and benchmarks). Extra `(name, value)` settings are
/// applied first.
pub fn spawn_for_tests(settings: &[(&str, &str)]) -> (SocketAddr, Arc<Server>) {
    let cfg = Config::default();
    cfg.load_set("bind", "127.0.0.1").expect("bind");
    cfg.load_set("port", "0").expect("port");
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
            let _ = run(s2, |a| {
                let _ = tx.send(a);
            })
            .await;
        });
    });
    let addrs = rx.recv().expect("server started");
    (addrs[0], srv)
}
