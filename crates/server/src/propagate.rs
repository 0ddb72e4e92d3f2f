//! Propagation: the one serial order of writes that the append-only file
//! and replication consume.
//!
//! A command that changed the dataset (its own dirty count went up, see
//! `Ctx::modified`) is recorded, as it ran or as its handler rewrote it
//! (`Ctx::rewrite_propagation`: SET EX as SET PXAT, SPOP as SREM, BLPOP as
//! LPOP ...), in the call's pending list, after whatever the handler added
//! itself (`Ctx::also_propagate`: the DEL of a key found expired, the SREMs
//! of SPOP with a count). When the top-level call ends (a command, a whole
//! EXEC, a whole script, a blocked client served), and while it still holds
//! its shards, the list is committed to the feed under the feed's mutex:
//! wrapped in MULTI/EXEC if it holds more than one command, with a SELECT
//! before the first command of another database than the stream's last.
//!
//! Why the order is serial and right: two writes that conflict share a
//! shard, and each commits before it releases its shards, so they commit in
//! the order they ran; writes that do not conflict may commit in either
//! order, both of which are equivalent. Keyspace-wide commands hold every
//! shard. The background jobs that delete keys (active expiry, eviction,
//! field expiry) commit their DELs while they hold the key's shard.
//!
//! Nothing is recorded while no consumer is attached (`Feed::on`, one
//! relaxed load): consumers attach while every shard is held (the start of
//! a snapshot), so a command sees the flag stable while it holds a shard.

use crate::server::Server;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Targets of an op (Redis's PROPAGATE_AOF / PROPAGATE_REPL).
pub const AOF: u8 = 1;
pub const REPL: u8 = 2;
pub const ALL: u8 = AOF | REPL;

/// The ops one top-level call accumulated (Redis's also_propagate array),
/// each already in RESP form.
#[derive(Default)]
pub struct Pending {
    buf: Vec<u8>,
    /// (db, target, end offset in `buf`).
    ops: Vec<(usize, u8, usize)>,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Adds a command for database `db`.
    pub fn push<A: AsRef<[u8]>>(&mut self, db: usize, target: u8, argv: &[A]) {
        encode(&mut self.buf, argv);
        self.ops.push((db, target, self.buf.len()));
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.ops.clear();
    }

    /// The ops in order: (db, target, RESP bytes).
    pub fn iter(&self) -> impl Iterator<Item = (usize, u8, &[u8])> {
        let mut start = 0;
        self.ops.iter().map(move |&(db, t, end)| {
            let s = &self.buf[start..end];
            start = end;
            (db, t, s)
        })
    }
}

/// What a handler said about its own propagation (reset for every command
/// run, saved and restored around nested ones).
#[derive(Default)]
pub struct CallFlags {
    /// Propagate this instead of the command's arguments.
    pub rewrite: Option<Vec<Vec<u8>>>,
    /// Do not propagate the command itself (its `also_propagate` ops still
    /// go): EVAL, SPOP with a count, XREADGROUP ...
    pub prevent: bool,
    /// Propagate even without a change (FLUSHALL on empty databases: AOF
    /// and REPL; PUBLISH: REPL).
    pub force: u8,
}

/// The RESP form of a command.
pub fn encode<A: AsRef<[u8]>>(buf: &mut Vec<u8>, argv: &[A]) {
    let mut ib = itoa::Buffer::new();
    buf.push(b'*');
    buf.extend_from_slice(ib.format(argv.len()).as_bytes());
    buf.extend_from_slice(b"\r\n");
    for a in argv {
        let a = a.as_ref();
        buf.push(b'$');
        buf.extend_from_slice(ib.format(a.len()).as_bytes());
        buf.extend_from_slice(b"\r\n");
        buf.extend_from_slice(a);
        buf.extend_from_slice(b"\r\n");
    }
}

/// One consumer's view of the stream: the database its last SELECT chose.
pub trait Sink: Send {
    /// Which ops it takes (AOF or REPL).
    fn target(&self) -> u8;
    /// The database of its stream's last SELECT (None: none yet).
    fn selected(&mut self) -> &mut Option<usize>;
    /// Appends bytes of the stream.
    fn put(&mut self, bytes: &[u8]);
    /// Called before a commit puts anything (annotations).
    fn begin(&mut self) {}
    /// Called once after a commit put something.
    fn committed(&mut self) {}
}

#[derive(Default)]
pub struct Feed {
    on: AtomicBool,
    sinks: Mutex<Vec<Box<dyn Sink>>>,
}

const MULTI: &[u8] = b"*1\r\n$5\r\nMULTI\r\n";
const EXEC: &[u8] = b"*1\r\n$4\r\nEXEC\r\n";

fn select(sink: &mut dyn Sink, db: usize) {
    if *sink.selected() != Some(db) {
        let mut b = Vec::with_capacity(24);
        encode(&mut b, &[b"SELECT".as_slice(), itoa::Buffer::new().format(db).as_bytes()]);
        sink.put(&b);
        *sink.selected() = Some(db);
    }
}

impl Feed {
    /// True while some consumer takes the stream.
    #[inline]
    pub fn on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Attaches a consumer. Call while holding every shard (or before the
    /// server serves), so that no write is half recorded.
    pub fn attach(&self, sink: Box<dyn Sink>) {
        let mut s = self.sinks.lock();
        s.push(sink);
        self.on.store(true, Ordering::SeqCst);
    }

    /// Detaches the consumers `which` selects, returning them.
    pub fn detach(&self, which: impl Fn(&dyn Sink) -> bool) -> Vec<Box<dyn Sink>> {
        let mut s = self.sinks.lock();
        let (out, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut *s).into_iter().partition(|k| which(&**k));
        *s = keep;
        self.on.store(!s.is_empty(), Ordering::SeqCst);
        out
    }

    /// Runs `f` on the consumers under the feed's lock (nothing commits
    /// meanwhile).
    pub fn with_sinks<R>(&self, f: impl FnOnce(&mut Vec<Box<dyn Sink>>) -> R) -> R {
        let mut s = self.sinks.lock();
        let r = f(&mut s);
        self.on.store(!s.is_empty(), Ordering::SeqCst);
        r
    }

    /// Commits a call's ops (see the module docs) and empties `p`.
    pub fn commit(&self, p: &mut Pending) {
        if p.is_empty() {
            return;
        }
        let wrap = p.len() > 1;
        let mut sinks = self.sinks.lock();
        for sink in sinks.iter_mut() {
            let t = sink.target();
            let mut ops = p.iter().filter(|(_, tt, _)| tt & t != 0).peekable();
            let Some(&(first_db, _, _)) = ops.peek() else { continue };
            sink.begin();
            if wrap {
                select(&mut **sink, first_db);
                sink.put(MULTI);
            }
            for (db, _, bytes) in ops {
                select(&mut **sink, db);
                sink.put(bytes);
            }
            if wrap {
                sink.put(EXEC);
            }
            sink.committed();
        }
        drop(sinks);
        p.clear();
    }

    /// Commits one command at once (active expiry, eviction).
    pub fn commit_one<A: AsRef<[u8]>>(&self, db: usize, argv: &[A]) {
        self.commit_one_to(ALL, db, argv);
    }

    /// `commit_one` for the consumers of `target` only.
    pub fn commit_one_to<A: AsRef<[u8]>>(&self, target: u8, db: usize, argv: &[A]) {
        let mut p = Pending::default();
        p.push(db, target, argv);
        self.commit(&mut p);
    }
}

/// The command that deletes an expired or evicted key: UNLINK when the
/// matching lazyfree setting is on, as Redis's propagateDeletion.
pub fn deletion(srv: &Server, lazy_setting: &str) -> &'static [u8] {
    if srv.config.get_num(lazy_setting) != 0 {
        b"UNLINK"
    } else {
        b"DEL"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Mem(u8, Option<usize>, std::sync::Arc<Mutex<Vec<u8>>>);
    impl Sink for Mem {
        fn target(&self) -> u8 {
            self.0
        }
        fn selected(&mut self) -> &mut Option<usize> {
            &mut self.1
        }
        fn put(&mut self, b: &[u8]) {
            self.2.lock().extend_from_slice(b);
        }
    }

    #[test]
    fn wraps_selects_and_filters() {
        let feed = Feed::default();
        assert!(!feed.on());
        let aof = std::sync::Arc::new(Mutex::new(Vec::new()));
        let repl = std::sync::Arc::new(Mutex::new(Vec::new()));
        feed.attach(Box::new(Mem(AOF, None, aof.clone())));
        feed.attach(Box::new(Mem(REPL, None, repl.clone())));
        assert!(feed.on());
        let mut p = Pending::default();
        p.push(0, ALL, &["SET", "k", "v"]);
        feed.commit(&mut p);
        assert!(p.is_empty());
        p.push(1, ALL, &["DEL", "a"]);
        p.push(1, REPL, &["PUBLISH", "c", "m"]);
        feed.commit(&mut p);
        let set = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
        let sel = |d: usize| format!("*2\r\n$6\r\nSELECT\r\n$1\r\n{d}\r\n");
        let del = "*2\r\n$3\r\nDEL\r\n$1\r\na\r\n";
        let publ = "*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$1\r\nm\r\n";
        assert_eq!(
            String::from_utf8(aof.lock().clone()).unwrap(),
            format!("{}{set}{}*1\r\n$5\r\nMULTI\r\n{del}*1\r\n$4\r\nEXEC\r\n", sel(0), sel(1))
        );
        assert_eq!(
            String::from_utf8(repl.lock().clone()).unwrap(),
            format!("{}{set}{}*1\r\n$5\r\nMULTI\r\n{del}{publ}*1\r\n$4\r\nEXEC\r\n", sel(0), sel(1))
        );
        let gone = feed.detach(|s| s.target() == AOF);
        assert_eq!(gone.len(), 1);
        assert!(feed.on());
        feed.detach(|_| true);
        assert!(!feed.on());
    }
}
