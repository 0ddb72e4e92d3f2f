//! Helpers for what handlers propagate (Redis's rewriteClientCommandVector
//! and alsoPropagate; see propagate.rs and `Ctx::rewrite_propagation`).
//! Rewritten forms are built only while something consumes the stream
//! (`Ctx::propagating`), so the hot path stays cheap.

use crate::ctx::Ctx;
use std::sync::atomic::Ordering;

/// Takes back `n` changes the running command counted: Redis does not count
/// them (server.dirty), so the command is not propagated for them.
pub fn uncount(ctx: &mut Ctx<'_>, n: u64) {
    let n = n.min(ctx.dirty);
    ctx.dirty -= n;
    ctx.srv.dirty.fetch_sub(n, Ordering::Relaxed);
}

/// Redis's signalModifiedKey without server.dirty++: WATCH and client-side
/// caches see a write, propagation does not.
pub fn signal_only(ctx: &mut Ctx<'_>, key: &[u8]) {
    let d = ctx.dirty;
    ctx.modified(key);
    let n = ctx.dirty - d;
    uncount(ctx, n);
}

/// A number as a propagated argument.
pub fn num<N: itoa::Integer>(n: N) -> Vec<u8> {
    itoa::Buffer::new().format(n).as_bytes().to_vec()
}

/// DEL, or UNLINK when the lazyfree `setting` is on (what Redis propagates
/// for a deletion it made under that setting).
pub fn del_cmd(ctx: &Ctx<'_>, setting: &str) -> &'static [u8] {
    crate::propagate::deletion(ctx.srv, setting)
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::client::{Client, ClientInfo};
    use crate::commands::registry;
    use crate::ctx::Ctx;
    use crate::server::Server;
    use std::sync::Arc;

    /// A consumer that drops what it is given (it only turns propagation on).
    struct Drop0(Option<usize>);

    impl crate::propagate::Sink for Drop0 {
        fn target(&self) -> u8 {
            crate::propagate::ALL
        }
        fn selected(&mut self) -> &mut Option<usize> {
            &mut self.0
        }
        fn put(&mut self, _: &[u8]) {}
    }

    /// The arguments of a command in RESP form.
    fn decode(mut b: &[u8]) -> Vec<String> {
        fn line(b: &mut &[u8]) -> usize {
            let at = b.windows(2).position(|w| w == b"\r\n").expect("line");
            let n = std::str::from_utf8(&b[1..at]).expect("utf8").parse().expect("number");
            *b = &b[at + 2..];
            n
        }
        let n = line(&mut b);
        let mut v = Vec::new();
        for _ in 0..n {
            let len = line(&mut b);
            v.push(String::from_utf8_lossy(&b[..len]).into_owned());
            b = &b[len + 2..];
        }
        v
    }

    /// Runs each line (words split on spaces) on one server that
    /// propagates; returns what each propagated, one command per string.
    pub fn propagated(lines: &[&str]) -> Vec<String> {
        let srv = Server::new(crate::Config::default());
        srv.feed.attach(Box::new(Drop0(None)));
        let mut client = Client::new(Arc::new(ClientInfo::new(1, None, None, 0)), true);
        let mut out = resp::Out::new(resp::Protocol::Resp2);
        let mut all = Vec::new();
        for line in lines {
            let argv: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
            let entry = registry().get(argv[0]).expect("command");
            let entry = if entry.handler.is_none() { registry().sub(entry, argv[1]).expect("sub") } else { entry };
            let now_ms = srv.clock.now_ms();
            let mut ctx = Ctx::new(&srv, &mut client, &mut out, srv.keyspace.lock_all(), now_ms, entry.spec);
            crate::dispatch::execute_locked(&mut ctx, entry, &argv);
            all.push(ctx.pending.iter().map(|(_, _, b)| decode(b).join(" ")).collect::<Vec<_>>().join(" | "));
        }
        all
    }

    /// Replaces the 13-digit times near now with "T".
    pub fn untimed(s: &str) -> String {
        s.split(' ')
            .map(
                |w| if w.len() == 13 && w.bytes().all(|c| c.is_ascii_digit()) && w < "4000000000000" { "T" } else { w },
            )
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn rewrites_are_built_and_no_ops_are_not_propagated() {
        let got = propagated(&[
            "SET k v EX 100",
            "SET k v NX",
            "getset k w",
            "EXPIRE k 10 GT",
            "PEXPIREAT k 4102444800000",
            "DEL nokey",
            "SADD s a",
            "SPOP s",
            "RPUSH l a b c",
            "LTRIM l 0 -1",
            "BLMPOP 0 1 l RIGHT COUNT 5",
        ]);
        let got: Vec<String> = got.iter().map(|s| untimed(s)).collect();
        assert_eq!(
            got,
            [
                "SET k v PXAT T",
                "",
                "SET k w",
                "",
                "PEXPIREAT k 4102444800000",
                "",
                "SADD s a",
                "SREM s a",
                "RPUSH l a b c",
                "",
                "RPOP l 3",
            ]
        );
    }
}
