//! hematite-server [/path/to/redis.conf] [--port 7000] [--bind ...] [--dir ...] [--databases 16] [--requirepass ...]
//!
//! Redis's style of arguments: an optional config file, then `--directive
//! value...` pairs that override it (a directive takes every word up to the
//! next `--`). With no arguments it listens on 127.0.0.1:6379.

use hematite::{Config, Server};
use std::sync::Arc;

fn usage() -> ! {
    eprintln!("Usage: hematite-server [/path/to/redis.conf] [options]\n       hematite-server -v or --version\n       hematite-server -h or --help\n\nExamples:\n       hematite-server (listens on 127.0.0.1:6379)\n       hematite-server --port 7777\n       hematite-server /etc/redis/6379.conf --loglevel verbose");
    std::process::exit(1);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        usage();
    }
    if args.iter().any(|a| a == "-v" || a == "--version") {
        println!("Hematite server v={} (Redis 7.0.15 compatible)", env!("CARGO_PKG_VERSION"));
        return;
    }
    let cfg = Config::default();
    // Deliberately safer than Redis's "* -::*": only local clients unless told.
    cfg.load_set("bind", "127.0.0.1").expect("default bind");
    if let Err(e) = cfg.load_args(&args) {
        eprintln!("{e}");
        std::process::exit(1);
    }
    // Without RUST_LOG, warnings show (Redis's LL_WARNING lines, such as
    // DEBUG LOG's, are always written).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).init();
    // A file size limit (RLIMIT_FSIZE) makes a write fail with EFBIG, which
    // the AOF and RDB writers report and recover from; the signal would
    // kill the process instead.
    // SAFETY: setting a signal's disposition to SIG_IGN, before any thread
    // of ours starts.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let srv = Arc::new(Server::new(cfg));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .on_thread_stop(hematite::alloc::flush_thread)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let s2 = srv.clone();
    rt.block_on(async move {
        let s3 = s2.clone();
        tokio::spawn(async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
            loop {
                let setting = tokio::select! {
                    _ = tokio::signal::ctrl_c() => "shutdown-on-sigint",
                    _ = term.recv() => "shutdown-on-sigterm",
                };
                tracing::warn!(
                    "Received {}, scheduling shutdown...",
                    if setting.ends_with("int") { "SIGINT" } else { "SIGTERM" }
                );
                let s4 = s3.clone();
                let ok = tokio::task::spawn_blocking(move || hematite::persist::signal_shutdown(&s4, setting))
                    .await
                    .unwrap_or(true);
                if ok {
                    s3.request_shutdown();
                    return;
                }
            }
        });
        // The PID line once listening, before the data is loaded, as
        // Redis logs it (its test suite connects once it sees it, also to
        // a server that then fails to load).
        let pid_line = || println!("Hematite {} started, PID: {}", env!("CARGO_PKG_VERSION"), std::process::id());
        let r = hematite::run(s2, pid_line, |addrs| {
            // On standard output, worded as Redis's log lines, so tools
            // that wait for a Redis server to start (Redis's own test
            // suite among them) recognise it.
            for a in addrs {
                println!("Ready to accept connections tcp on {a}");
            }
        })
        .await;
        if let Err(e) = r {
            eprintln!("Could not start: {e}");
            std::process::exit(1);
        }
    });
    tracing::warn!("Hematite is now ready to exit, bye bye...");
    // The listeners are closed and every client was told to go: exit now,
    // rather than wait (as dropping the runtime would) for a connection
    // task or a blocking thread that may be stuck behind a long script,
    // DEBUG SLEEP or a client that never reads.
    std::process::exit(0);
}
