//! Server and connection-management commands: COMMAND, CLIENT, INFO,
//! DBSIZE/FLUSH*/SWAPDB, TIME, LASTSAVE, DEBUG, SHUTDOWN, RESET, the
//! `timeout` and `maxclients` settings.

use crate::common::*;
use crate::diff::{from_difference, reference_bin, start_ref, RefServer};
use hematite::commands::registry;
use std::time::Duration;

/// The reference server, or None when the differential checks are skipped.
pub fn reference() -> Option<RefServer> {
    match reference_bin() {
        Some(bin) => Some(start_ref(&bin)),
        None if std::env::var("HEMATITE_SKIP_DIFF").as_deref() == Ok("1") => None,
        None => panic!("redis-server not found (set HEMATITE_SKIP_DIFF=1 to skip)"),
    }
}

fn ref_raw(r: &RefServer) -> Raw {
    Raw::connect(format!("127.0.0.1:{}", r.port).parse().unwrap())
}

/// Every bound command name: top-level commands and subcommands.
fn bound_names() -> Vec<String> {
    let reg = registry();
    let mut v = Vec::new();
    for e in reg.top_level() {
        v.push(e.spec.name.to_string());
        for s in reg.subs_of(e) {
            v.push(s.spec.name.to_string());
        }
    }
    v
}

/// Compares two COMMAND INFO entries. Redis lists subcommands in its
/// dictionary's random order, and other families bind the rest of a
/// container's subcommands: every subcommand we list must be among the
/// reference's, byte for byte, and everything else must be equal.
fn same_info(ours: &[u8], theirs: &[u8]) -> bool {
    let (oh, o) = elements(ours).expect("array");
    let (th, t) = elements(theirs).expect("array");
    if oh != th || o.len() != 10 || t.len() != 10 || o[..9] != t[..9] {
        return false;
    }
    let (_, osubs) = elements(&o[9]).unwrap_or_default();
    let (_, tsubs) = elements(&t[9]).unwrap_or_default();
    let known_to_ref = |s: &Vec<u8>| !(s.windows(14).any(|w| w == b"client|setinfo" || w == b"client|no-touc"));
    osubs.iter().filter(|s| known_to_ref(s)).all(|s| tsubs.contains(s))
        && (osubs.is_empty() == tsubs.is_empty())
        && o[9][0] == t[9][0]
}

#[test]
fn command_info_matches_reference_for_every_bound_command() {
    let Some(r) = reference() else { return };
    let t = TestServer::start();
    let (mut a, mut b) = (t.raw(), ref_raw(&r));
    let mut diffs = Vec::new();
    for proto in ["2", "3"] {
        a.cmd(&format!("HELLO {proto}"));
        b.cmd(&format!("HELLO {proto}"));
        for name in bound_names() {
            if hematite::cmdspec::extra::ALL.iter().any(|s| s.name == name) {
                continue; // newer than 7.0: the reference lacks them
            }
            let line = format!("COMMAND INFO {name}");
            let (ours, theirs) = (a.cmd_bytes(&line), b.cmd_bytes(&line));
            let (_, o) = elements(&ours).unwrap();
            let (_, th) = elements(&theirs).unwrap();
            if !same_info(&o[0], &th[0]) {
                diffs.push(format!(
                    "RESP{proto} {name}:\n  ours:   {:?}\n  theirs: {:?}",
                    String::from_utf8_lossy(&o[0]),
                    String::from_utf8_lossy(&th[0])
                ));
            }
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// COMMAND DOCS argument trees, deprecation and subcommands, in both
/// protocols (the expected trees are redis-server 7.0.15's).
#[test]
fn command_docs_argument_trees() {
    use crate::docmask::{args_outline, doc_field, doc_fields};
    let t = TestServer::start();
    let mut r = t.raw();
    let trees: &[(&str, &str, &str)] = &[
        (
            "set",
            "set",
            "name=key type=key key_spec_index=0
name=value type=string
name=condition type=oneof since=2.6.12 flags=optional
  name=nx type=pure-token token=NX
  name=xx type=pure-token token=XX
name=get type=pure-token token=GET since=6.2.0 flags=optional
name=expiration type=oneof flags=optional
  name=seconds type=integer token=EX since=2.6.12
  name=milliseconds type=integer token=PX since=2.6.12
  name=unix-time-seconds type=unix-time token=EXAT since=6.2.0
  name=unix-time-milliseconds type=unix-time token=PXAT since=6.2.0
  name=keepttl type=pure-token token=KEEPTTL since=6.0.0
",
        ),
        (
            "zadd",
            "zadd",
            "name=key type=key key_spec_index=0
name=condition type=oneof since=3.0.2 flags=optional
  name=nx type=pure-token token=NX
  name=xx type=pure-token token=XX
name=comparison type=oneof since=6.2.0 flags=optional
  name=gt type=pure-token token=GT
  name=lt type=pure-token token=LT
name=change type=pure-token token=CH since=3.0.2 flags=optional
name=increment type=pure-token token=INCR since=3.0.2 flags=optional
name=score_member type=block flags=multiple
  name=score type=double
  name=member type=string
",
        ),
        (
            "xadd",
            "xadd",
            "name=key type=key key_spec_index=0
name=nomkstream type=pure-token token=NOMKSTREAM since=6.2.0 flags=optional
name=trim type=block flags=optional
  name=strategy type=oneof
    name=maxlen type=pure-token token=MAXLEN
    name=minid type=pure-token token=MINID since=6.2.0
  name=operator type=oneof flags=optional
    name=equal type=pure-token token==
    name=approximately type=pure-token token=~
  name=threshold type=string
  name=count type=integer token=LIMIT since=6.2.0 flags=optional
name=id_or_auto type=oneof
  name=auto_id type=pure-token token=*
  name=id type=string
name=field_value type=block flags=multiple
  name=field type=string
  name=value type=string
",
        ),
        (
            "client|kill",
            "client|kill",
            "name=filter type=oneof
  name=ip:port type=string deprecated_since=2.8.12
  name=new-format type=oneof flags=multiple
    name=client-id type=integer token=ID since=2.8.12 flags=optional
    name=normal_master_slave_pubsub type=oneof token=TYPE since=2.8.12 flags=optional
      name=normal type=pure-token token=NORMAL
      name=master type=pure-token token=MASTER since=3.2.0
      name=slave type=pure-token token=SLAVE
      name=replica type=pure-token token=REPLICA since=5.0.0
      name=pubsub type=pure-token token=PUBSUB
    name=username type=string token=USER flags=optional
    name=ip:port type=string token=ADDR flags=optional
    name=ip:port type=string token=LADDR since=6.2.0 flags=optional
    name=yes/no type=string token=SKIPME flags=optional
",
        ),
        // A subcommand inside its container's reply.
        (
            "xgroup",
            "xgroup|create",
            "name=key type=key key_spec_index=0
name=groupname type=string
name=id type=oneof
  name=id type=string
  name=new_id type=pure-token token=$
name=mkstream type=pure-token token=MKSTREAM flags=optional
name=entries_read type=integer token=ENTRIESREAD flags=optional
",
        ),
    ];
    for proto in ["2", "3"] {
        r.cmd(&format!("HELLO {proto}"));
        for (asked, name, want) in trees {
            let reply = r.cmd_bytes(&format!("COMMAND DOCS {asked}"));
            assert_eq!(args_outline(&reply, name), *want, "RESP{proto} {name}");
        }
        // Field order of a plain, a deprecated and a container command.
        let reply = r.cmd_bytes("COMMAND DOCS set getset xgroup");
        let fields = |n| doc_fields(&reply, n).join(" ");
        assert_eq!(fields("set"), "summary since group complexity history arguments");
        assert_eq!(fields("getset"), "summary since group complexity doc_flags deprecated_since replaced_by arguments");
        assert_eq!(fields("xgroup"), "summary since group complexity subcommands");
        assert_eq!(doc_field(&reply, "getset", "doc_flags").as_deref(), Some("deprecated"));
        assert_eq!(doc_field(&reply, "getset", "deprecated_since").as_deref(), Some("6.2.0"));
        // Versions only: the masked texts are empty.
        let history = doc_field(&crate::docmask::mask_docs(&reply), "set", "history").unwrap();
        assert_eq!(history, "2.6.12,,6.0.0,,6.2.0,,7.0.0,");
        assert_eq!(doc_fields(&reply, "xgroup|setid").join(" "), "summary since group complexity history arguments");
    }
    // RESP3 types: history a set of pairs, argument flags a set of simple strings.
    let reply = r.cmd("COMMAND DOCS set");
    assert!(reply.contains("$7\r\nhistory\r\n~4\r\n*2\r\n$6\r\n2.6.12\r\n"), "{reply}");
    assert!(reply.contains("$5\r\nflags\r\n~1\r\n+optional\r\n"), "{reply}");
    r.cmd("HELLO 2");
    let reply = r.cmd("COMMAND DOCS set");
    assert!(reply.contains("$7\r\nhistory\r\n*4\r\n*2\r\n$6\r\n2.6.12\r\n"), "{reply}");
    assert!(reply.contains("$5\r\nflags\r\n*1\r\n+optional\r\n"), "{reply}");
}

/// Commands redis-server 7.0.15 has that Hematite does not bind (yet).
const UNBOUND: &[&str] = &[
    "lolwut",
    "module",
    "module|help",
    "module|list",
    "module|load",
    "module|loadex",
    "module|unload",
    "script|debug",
];

#[test]
fn command_docs_matches_reference_for_every_bound_command() {
    let Some(r) = reference() else { return };
    let t = TestServer::start();
    let (mut a, mut b) = (t.raw(), ref_raw(&r));
    let names = |r: &mut Raw| -> Vec<String> {
        let (_, v) = elements(&r.cmd_bytes("COMMAND LIST")).unwrap();
        v.iter().map(|n| String::from_utf8_lossy(n).split("\r\n").nth(1).unwrap().to_string()).collect()
    };
    let (ours, theirs) = (names(&mut a), names(&mut b));
    assert_eq!(ours.len(), bound_names().len());
    // What one side lacks is accounted for: ours has the newer commands,
    // the reference has the ones we do not bind.
    for n in ours.iter().filter(|n| !theirs.contains(n)) {
        assert!(hematite::cmdspec::extra::ALL.iter().any(|s| s.name == *n), "{n} is not in redis-server 7.0.15");
    }
    for n in theirs.iter().filter(|n| !ours.contains(n)) {
        assert!(UNBOUND.contains(&n.as_str()), "{n} is not bound");
    }
    for n in UNBOUND {
        assert!(!ours.iter().any(|o| o == n), "{n} is bound now: take it off UNBOUND");
    }
    // Subcommands only one side has are left out of the containers' docs.
    let both = |n: &[u8]| {
        let n = String::from_utf8_lossy(n);
        ours.contains(&n.to_string()) && theirs.contains(&n.to_string())
    };
    let mut diffs = Vec::new();
    let mut compared = 0;
    for proto in ["2", "3"] {
        a.cmd(&format!("HELLO {proto}"));
        b.cmd(&format!("HELLO {proto}"));
        for name in ours.iter().filter(|n| theirs.contains(n)) {
            let line = format!("COMMAND DOCS {name}");
            let mine = crate::docmask::mask_docs_keeping(&a.cmd_bytes(&line), &both);
            let reference = crate::docmask::mask_docs_keeping(&b.cmd_bytes(&line), &both);
            compared += 1;
            if mine != reference {
                diffs.push(format!(
                    "RESP{proto} {name}:\n  ours:   {:?}\n  theirs: {:?}",
                    String::from_utf8_lossy(&from_difference(&mine, &reference)),
                    String::from_utf8_lossy(&from_difference(&reference, &mine))
                ));
            }
        }
    }
    assert!(compared > 600, "only {compared} replies compared");
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
}

#[test]
fn command_getkeys_matches_reference() {
    let Some(r) = reference() else { return };
    let t = TestServer::start();
    let (mut a, mut b) = (t.raw(), ref_raw(&r));
    let lines = [
        "COMMAND GETKEYS get k",
        "COMMAND GETKEYS set k v",
        "COMMAND GETKEYS set k v get",
        "COMMAND GETKEYSANDFLAGS set k v",
        "COMMAND GETKEYSANDFLAGS set k v GET",
        "COMMAND GETKEYSANDFLAGS del a b c",
        "COMMAND GETKEYS del",
        "COMMAND GETKEYS get a b",
        "COMMAND GETKEYS ping",
        "COMMAND GETKEYS nosuch a",
        "COMMAND GETKEYS config get x",
        "COMMAND GETKEYS exists a b",
        "COMMAND GETKEYS",
        "COMMAND GETKEYSANDFLAGS type k",
    ];
    for l in lines {
        assert_eq!(a.cmd(l), b.cmd(l), "{l}");
    }
}

#[test]
fn command_count_list_docs() {
    let t = TestServer::start();
    let mut r = t.raw();
    let n = registry().top_level().len();
    assert_eq!(r.cmd("COMMAND COUNT"), format!(":{n}\r\n"));
    let all = r.cmd_bytes("COMMAND");
    let (_, els) = elements(&all).unwrap();
    assert_eq!(els.len(), n);
    let list = r.cmd_bytes("COMMAND LIST");
    let (_, names) = elements(&list).unwrap();
    assert_eq!(names.len(), bound_names().len());
    assert_eq!(
        r.cmd("COMMAND LIST FILTERBY PATTERN client|g*"),
        "*2\r\n$14\r\nclient|getname\r\n$15\r\nclient|getredir\r\n"
    );
    assert_eq!(r.cmd("COMMAND LIST FILTERBY MODULE x"), "*0\r\n");
    assert_eq!(r.cmd("COMMAND LIST FILTERBY ACLCAT nosuch"), "*0\r\n");
    let dangerous = r.cmd("COMMAND LIST FILTERBY ACLCAT dangerous");
    assert!(dangerous.contains("flushall") && !dangerous.contains("\r\nget\r\n"), "{dangerous}");
    assert_eq!(r.cmd("COMMAND LIST FILTERBY BOGUS x"), "-ERR syntax error\r\n");
    assert_eq!(r.cmd("COMMAND LIST FILTERBY PATTERN"), "-ERR syntax error\r\n");
    assert_eq!(r.cmd("COMMAND LIST foo"), "-ERR syntax error\r\n");
    assert_eq!(r.cmd("COMMAND INFO nosuch"), "*1\r\n$-1\r\n");
    assert_eq!(r.cmd("COMMAND FOO"), "-ERR unknown subcommand 'FOO'. Try COMMAND HELP.\r\n");
    // DOCS: our summary, the spec's facts; unknown names are left out.
    let d = r.cmd("COMMAND DOCS get nosuch");
    assert!(d.starts_with("*2\r\n$3\r\nget\r\n*10\r\n$7\r\nsummary\r\n"), "{d}");
    assert!(d.contains("$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n"), "{d}");
    let d = r.cmd("COMMAND DOCS config");
    assert!(d.contains("$11\r\nsubcommands\r\n") && d.contains("config|get"), "{d}");
    r.cmd("HELLO 3");
    assert!(r.cmd("COMMAND DOCS get").starts_with("%1\r\n$3\r\nget\r\n%5\r\n"));
    let h = r.cmd("COMMAND HELP");
    assert!(h.starts_with("*") && h.contains("GETKEYSANDFLAGS"), "{h}");
}

#[test]
fn client_identity_and_list() {
    let t = TestServer::start();
    let mut r = t.raw();
    let id = r.cmd("CLIENT ID");
    let id: u64 = id.trim_start_matches(':').trim().parse().unwrap();
    assert_eq!(r.cmd("CLIENT GETNAME"), "$-1\r\n");
    assert_eq!(r.cmd("CLIENT SETNAME a b"), "-ERR wrong number of arguments for 'client|setname' command\r\n");
    assert_eq!(
        r.cmd("CLIENT SETNAME \"a b\""),
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(r.cmd("CLIENT SETNAME conn1"), "+OK\r\n");
    assert_eq!(r.cmd("CLIENT GETNAME"), "$5\r\nconn1\r\n");
    let info = r.cmd("CLIENT INFO");
    let fields: Vec<&str> = info.lines().nth(1).unwrap().split(' ').map(|f| f.split('=').next().unwrap()).collect();
    assert_eq!(
        fields.join(" "),
        "id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free argv-mem multi-mem rbs rbp obl \
         oll omem tot-mem events cmd user redir resp"
    );
    assert!(info.contains(&format!("id={id} ")) && info.contains(" name=conn1 ") && info.contains(" cmd=client|info "));
    // The query buffer holds the command being run (26 bytes for CLIENT
    // INFO), as Redis shows it; a pipeline shows all of its batch.
    assert!(info.contains(" qbuf=26 qbuf-free="), "{info}");
    let mut piped = Vec::new();
    piped.extend(encode(&[b"PING"]));
    piped.extend(encode(&[b"CLIENT", b"INFO"]));
    r.send(&piped);
    assert_eq!(r.read_reply(), b"+PONG\r\n");
    let info = String::from_utf8_lossy(&r.read_reply()).into_owned();
    assert!(info.contains(" qbuf=40 qbuf-free="), "{info}");
    let mut other = t.raw();
    other.cmd("SELECT 3");
    let list = r.cmd("CLIENT LIST");
    assert_eq!(list.matches("id=").count(), 2, "{list}");
    assert!(list.contains(" db=3 "), "{list}");
    assert_eq!(r.cmd(&format!("CLIENT LIST ID {id}")).matches("id=").count(), 1);
    assert_eq!(r.cmd("CLIENT LIST ID x"), "-ERR Invalid client ID\r\n");
    assert_eq!(r.cmd("CLIENT LIST ID"), "-ERR syntax error\r\n");
    assert_eq!(r.cmd("CLIENT LIST TYPE foo"), "-ERR Unknown client type 'foo'\r\n");
    assert_eq!(r.cmd("CLIENT LIST TYPE pubsub"), "$0\r\n\r\n");
    assert_eq!(r.cmd("CLIENT LIST TYPE normal").matches("id=").count(), 2);
    r.cmd("HELLO 3");
    assert!(r.cmd("CLIENT INFO").starts_with("="), "verbatim in RESP3");
    assert!(r.cmd("CLIENT HELP").starts_with("*"));
}

#[test]
fn client_kill_forms() {
    let t = TestServer::start();
    let mut me = t.raw();
    let mut victim = t.raw();
    let vid = victim.cmd("CLIENT ID").trim_start_matches(':').trim().to_string();
    let vinfo = victim.cmd("CLIENT INFO");
    let vaddr = vinfo.split(' ').find_map(|f| f.strip_prefix("addr=")).unwrap().to_string();
    assert_eq!(me.cmd("CLIENT KILL 1.2.3.4:5"), "-ERR No such client\r\n");
    assert_eq!(me.cmd("CLIENT KILL ID 0"), "-ERR client-id should be greater than 0\r\n");
    assert_eq!(me.cmd("CLIENT KILL ID x"), "-ERR client-id should be greater than 0\r\n");
    assert_eq!(me.cmd("CLIENT KILL TYPE foo"), "-ERR Unknown client type 'foo'\r\n");
    assert_eq!(me.cmd("CLIENT KILL USER nobody"), "-ERR No such user 'nobody'\r\n");
    assert_eq!(me.cmd("CLIENT KILL SKIPME maybe"), "-ERR syntax error\r\n");
    assert_eq!(me.cmd("CLIENT KILL ID 1 foo"), "-ERR syntax error\r\n");
    assert_eq!(me.cmd("CLIENT KILL LADDR 1.2.3.4:1 SKIPME yes"), ":0\r\n");
    assert_eq!(me.cmd(&format!("CLIENT KILL ADDR {vaddr} ID {vid}")), ":1\r\n");
    assert!(victim.is_closed());
    // MAXAGE: nobody is a day old; SKIPME spares the caller.
    assert_eq!(me.cmd("CLIENT KILL MAXAGE 86400"), ":0\r\n");
    assert_eq!(me.cmd("CLIENT KILL TYPE normal"), ":0\r\n");
    let mut v2 = t.raw();
    v2.cmd("PING");
    assert_eq!(me.cmd("CLIENT KILL USER default"), ":1\r\n");
    assert!(v2.is_closed());
    // The old form can kill the caller: the reply still arrives.
    let info = me.cmd("CLIENT INFO");
    let myaddr = info.split(' ').find_map(|f| f.strip_prefix("addr=")).unwrap().to_string();
    assert_eq!(me.cmd(&format!("CLIENT KILL {myaddr}")), "+OK\r\n");
    assert!(me.is_closed());
}

#[test]
fn client_reply_modes() {
    let t = TestServer::start();
    let mut r = t.raw();
    r.send_cmd(&[b"CLIENT", b"REPLY", b"OFF"]);
    r.send_cmd(&[b"SET", b"k", b"1"]);
    r.send_cmd(&[b"GET", b"nokey-error", b"extra"]);
    r.send_cmd(&[b"CLIENT", b"REPLY", b"ON"]);
    assert_eq!(r.read_reply(), b"+OK\r\n");
    r.send_cmd(&[b"CLIENT", b"REPLY", b"SKIP"]);
    r.send_cmd(&[b"GET", b"k"]);
    r.send_cmd(&[b"ECHO", b"after"]);
    assert_eq!(r.read_reply(), b"$5\r\nafter\r\n");
    assert_eq!(r.cmd("CLIENT REPLY maybe"), "-ERR syntax error\r\n");
    assert_eq!(r.cmd("GET k"), "$1\r\n1\r\n");
}

#[test]
fn client_flags_and_setinfo() {
    let t = TestServer::start();
    let mut r = t.raw();
    assert_eq!(r.cmd("CLIENT NO-EVICT maybe"), "-ERR syntax error\r\n");
    assert_eq!(r.cmd("CLIENT NO-EVICT on"), "+OK\r\n");
    assert_eq!(r.cmd("CLIENT NO-TOUCH on"), "+OK\r\n");
    assert!(r.cmd("CLIENT INFO").contains(" flags=eT "));
    assert_eq!(r.cmd("CLIENT NO-EVICT off"), "+OK\r\n");
    assert!(r.cmd("CLIENT INFO").contains(" flags=T "));
    assert_eq!(r.cmd("CLIENT NO-TOUCH off"), "+OK\r\n");
    assert!(r.cmd("CLIENT INFO").contains(" flags=N "));
    assert_eq!(r.cmd("CLIENT SETINFO lib-name redis-py"), "+OK\r\n");
    assert_eq!(r.cmd("CLIENT SETINFO LIB-VER 1.0"), "+OK\r\n");
    assert_eq!(r.cmd("CLIENT SETINFO lib-foo x"), "-ERR Unrecognized option 'lib-foo'\r\n");
    assert_eq!(
        r.cmd("CLIENT SETINFO lib-name \"a b\""),
        "-ERR lib-name cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(
        r.cmd("CLIENT SETINFO LIB-VER \"a b\""),
        "-ERR lib-ver cannot contain spaces, newlines or special characters.\r\n"
    );
}

#[test]
fn client_pause_holds_commands() {
    let t = TestServer::start();
    let mut admin = t.raw();
    let mut writer = t.raw();
    let mut reader = t.raw();
    assert_eq!(admin.cmd("CLIENT PAUSE 10 foo"), "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n");
    assert_eq!(admin.cmd("CLIENT PAUSE -1"), "-ERR timeout is negative\r\n");
    assert_eq!(admin.cmd("CLIENT PAUSE x"), "-ERR timeout is not an integer or out of range\r\n");
    // WRITE: reads pass, writes wait until UNPAUSE.
    assert_eq!(admin.cmd("CLIENT PAUSE 100000 WRITE"), "+OK\r\n");
    assert_eq!(reader.cmd("GET k"), "$-1\r\n");
    writer.send_cmd(&[b"SET", b"k", b"v"]);
    writer.s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut buf = [0u8; 16];
    assert!(std::io::Read::read(&mut writer.s, &mut buf).is_err(), "the write must wait");
    assert_eq!(admin.cmd("CLIENT LIST").matches("id=").count(), 3, "non-writes still run");
    assert_eq!(admin.cmd("CLIENT UNPAUSE"), "+OK\r\n");
    writer.s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert_eq!(writer.read_reply(), b"+OK\r\n");
    // ALL: everything waits; the pause ends when the (test) clock passes it.
    assert_eq!(admin.cmd("CLIENT PAUSE 50000"), "+OK\r\n");
    reader.send_cmd(&[b"GET", b"k"]);
    reader.s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    assert!(std::io::Read::read(&mut reader.s, &mut buf).is_err(), "the read must wait");
    t.advance_ms(60_000);
    reader.s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert_eq!(reader.read_reply(), b"$1\r\nv\r\n");
}

#[test]
fn info_sections() {
    let t = TestServer::start();
    let mut r = t.raw();
    r.cmd("SET a 1");
    r.cmd("SET b 2");
    r.cmd("SELECT 2");
    r.cmd("SET c 3");
    r.cmd("SELECT 0");
    r.cmd("GET a");
    r.cmd("GET a b c");
    r.cmd("NOSUCH");
    let info = r.cmd("INFO");
    for s in [
        "Server",
        "Clients",
        "Memory",
        "Persistence",
        "Stats",
        "Replication",
        "CPU",
        "Modules",
        "Errorstats",
        "Cluster",
        "Keyspace",
    ] {
        assert!(info.contains(&format!("# {s}\r\n")), "missing {s}");
    }
    assert!(!info.contains("# Commandstats"));
    assert!(info.contains("redis_version:7.0.15\r\nhematite_version:"));
    assert!(info.contains("\r\ndb0:keys=2,expires=0,avg_ttl=0\r\ndb2:keys=1,expires=0,avg_ttl=0\r\n"), "{info}");
    assert!(info.contains("errorstat_ERR:count=2\r\n"), "{info}");
    assert!(info.contains("used_memory:") && info.contains("used_cpu_user:"));
    let stats = r.cmd("INFO commandstats");
    assert!(stats.contains("cmdstat_set:calls=3,"), "{stats}");
    assert!(stats.contains("cmdstat_get:calls=1,") && stats.contains("rejected_calls=1,failed_calls=0"), "{stats}");
    let two = r.cmd("INFO server CLIENTS");
    assert!(two.contains("# Server") && two.contains("\r\n\r\n# Clients") && !two.contains("# Memory"));
    assert_eq!(r.cmd("INFO nosuch"), "$0\r\n\r\n");
    let all = r.cmd("INFO all");
    assert!(all.contains("# Commandstats") && all.contains("# Keyspace") && all.contains("# Latencystats"));
    assert!(all.contains("\r\nlatency_percentiles_usec_set:p50="), "{all}");
    assert!(all.contains(",p99.9="), "{all}");
    assert!(r.cmd("INFO everything").contains("# Modules"));
    let def = r.cmd("INFO default");
    assert!(!def.contains("# Commandstats") && def.contains("# Keyspace"));
    assert_eq!(r.cmd("CONFIG RESETSTAT"), "+OK\r\n");
    let after = r.cmd("INFO commandstats");
    assert!(!after.contains("cmdstat_set"), "{after}");
    r.cmd("HELLO 3");
    assert!(r.cmd("INFO server").starts_with("="));
}

#[test]
fn keyspace_commands() {
    let t = TestServer::start();
    let mut r = t.raw();
    r.cmd("SET a 1");
    r.cmd("SET b 1");
    assert_eq!(r.cmd("DBSIZE"), ":2\r\n");
    assert_eq!(r.cmd("SWAPDB 0 1"), "+OK\r\n");
    assert_eq!(r.cmd("DBSIZE"), ":0\r\n");
    r.cmd("SELECT 1");
    assert_eq!(r.cmd("DBSIZE"), ":2\r\n");
    assert_eq!(r.cmd("SWAPDB x 1"), "-ERR invalid first DB index\r\n");
    assert_eq!(r.cmd("SWAPDB 1 x"), "-ERR invalid second DB index\r\n");
    assert_eq!(r.cmd("SWAPDB 1 16"), "-ERR DB index is out of range\r\n");
    r.cmd("SELECT 0");
    r.cmd("SET c 1");
    assert_eq!(r.cmd("FLUSHDB foo"), "-ERR syntax error\r\n");
    assert_eq!(r.cmd("FLUSHDB ASYNC"), "+OK\r\n");
    assert_eq!(r.cmd("DBSIZE"), ":0\r\n");
    r.cmd("SELECT 1");
    assert_eq!(r.cmd("DBSIZE"), ":2\r\n");
    assert_eq!(r.cmd("FLUSHALL SYNC"), "+OK\r\n");
    assert_eq!(r.cmd("DBSIZE"), ":0\r\n");
    let time = r.cmd_bytes("TIME");
    let (_, parts) = elements(&time).unwrap();
    assert_eq!(parts.len(), 2);
    let lastsave = r.cmd("LASTSAVE");
    assert!(lastsave.starts_with(':'));
}

#[test]
fn debug_and_shutdown() {
    // A file name the save cannot be renamed to (a directory): SHUTDOWN
    // SAVE fails.
    let t = TestServer::with(&[("enable-debug-command", "yes"), ("dbfilename", ".")]);
    let mut r = t.raw();
    assert_eq!(r.cmd("DEBUG SLEEP 0"), "+OK\r\n");
    assert_eq!(r.cmd("DEBUG SET-ACTIVE-EXPIRE 0"), "+OK\r\n");
    assert!(!t.srv.active_expire.load(std::sync::atomic::Ordering::Relaxed));
    assert_eq!(r.cmd("DEBUG SET-ACTIVE-EXPIRE 1"), "+OK\r\n");
    assert_eq!(
        r.cmd("DEBUG nosuch"),
        "-ERR unknown subcommand or wrong number of arguments for 'nosuch'. Try DEBUG HELP.\r\n"
    );
    let off = TestServer::start();
    assert!(off.raw().cmd("DEBUG SLEEP 0").starts_with("-ERR DEBUG command not allowed."));
    assert_eq!(r.cmd("SHUTDOWN ABORT"), "-ERR No shutdown in progress.\r\n");
    assert_eq!(r.cmd("SHUTDOWN SAVE NOSAVE"), "-ERR syntax error\r\n");
    assert_eq!(r.cmd("SHUTDOWN NOW ABORT"), "-ERR syntax error\r\n");
    assert_eq!(r.cmd("SHUTDOWN foo"), "-ERR syntax error\r\n");
    assert_eq!(r.cmd("SHUTDOWN SAVE"), "-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
    r.send_cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    assert!(r.is_closed());
    assert!(t.srv.shutting_down.load(std::sync::atomic::Ordering::SeqCst));
}

#[test]
fn reset_restores_the_connection() {
    let t = TestServer::with(&[("requirepass", "pw")]);
    let mut r = t.raw();
    r.cmd("AUTH pw");
    r.cmd("HELLO 3");
    r.cmd("SELECT 2");
    r.cmd("CLIENT SETNAME x");
    r.cmd("CLIENT NO-EVICT on");
    assert_eq!(r.cmd("RESET"), "+RESET\r\n");
    assert_eq!(r.cmd("GET a"), "-NOAUTH Authentication required.\r\n");
    r.cmd("AUTH pw");
    let info = r.cmd("CLIENT INFO");
    assert!(
        info.contains(" db=0 ") && info.contains(" name= ") && info.contains(" flags=N ") && info.contains(" resp=2")
    );
    assert_eq!(r.cmd("GET a"), "$-1\r\n");
}

#[test]
fn idle_clients_time_out() {
    let t = TestServer::with(&[("timeout", "10")]);
    let mut r = t.raw();
    assert_eq!(r.cmd("PING"), "+PONG\r\n");
    t.advance_ms(11_000);
    assert!(r.is_closed());
    // Changing the setting at run time takes effect.
    let mut r2 = t.raw();
    assert_eq!(r2.cmd("CONFIG SET timeout 0"), "+OK\r\n");
    t.advance_ms(60_000);
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(r2.cmd("PING"), "+PONG\r\n");
}

#[test]
fn maxclients_refuses_extra_connections() {
    let t = TestServer::with(&[("maxclients", "2")]);
    let mut a = t.raw();
    let mut b = t.raw();
    assert_eq!(a.cmd("PING"), "+PONG\r\n");
    assert_eq!(b.cmd("PING"), "+PONG\r\n");
    let mut c = t.raw();
    assert_eq!(c.read_reply(), b"-ERR max number of clients reached\r\n");
    assert!(c.is_closed());
    assert_eq!(a.cmd("CONFIG SET maxclients 3"), "+OK\r\n");
    let mut d = t.raw();
    assert_eq!(d.cmd("PING"), "+PONG\r\n");
}

/// The CLIENT LIST line of the client named `name`.
fn client_line(r: &mut Raw, name: &str) -> String {
    let list = r.cmd("CLIENT LIST");
    list.lines()
        .find(|l| l.contains(&format!(" name={name} ")))
        .unwrap_or_else(|| panic!("{name} in {list}"))
        .to_string()
}

/// A connection idle for 2 seconds gives its query buffer back (qbuf and
/// qbuf-free 0, as Redis's clientsCron frees it) and gets a new one when
/// input arrives; a big request's buffer shrinks back to the usual room.
#[test]
fn query_buffer_is_given_back_when_idle() {
    let t = TestServer::start();
    let mut a = t.raw();
    a.cmd("CLIENT SETNAME qb");
    let mut b = t.raw();
    assert!(client_line(&mut b, "qb").contains(" qbuf=0 qbuf-free=16384 "));
    t.advance_ms(3000);
    let mut freed = false;
    for _ in 0..500 {
        // The server's cron runs every 500 ms; the clock was moved past 2 s.
        if client_line(&mut b, "qb").contains(" qbuf=0 qbuf-free=0 ") {
            freed = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(freed, "{}", client_line(&mut b, "qb"));
    assert_eq!(a.cmd("PING"), "+PONG\r\n");
    let l = client_line(&mut b, "qb");
    assert!(!l.contains(" qbuf-free=0 "), "{l}");
    // A big request leaves a big buffer, until the cron's next round.
    let big = "A".repeat(400_000);
    assert_eq!(a.cmd(&format!("SET x {big}")), "+OK\r\n");
    let free = |b: &mut Raw| -> usize {
        client_line(b, "qb").split(' ').find_map(|f| f.strip_prefix("qbuf-free=")).and_then(|v| v.parse().ok()).unwrap()
    };
    assert!(free(&mut b) > 32 * 1024);
    let mut shrunk = false;
    for _ in 0..500 {
        if free(&mut b) <= 16384 {
            shrunk = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(shrunk && free(&mut b) > 0, "{}", client_line(&mut b, "qb"));
}

/// WAIT without replicas: 0 at once when none is asked for or inside
/// MULTI; otherwise the client waits (here until CLIENT UNBLOCK).
#[test]
fn wait_without_replicas() {
    let t = TestServer::start();
    let mut a = t.raw();
    let mut b = t.raw();
    assert_eq!(a.cmd("WAIT 0 0"), ":0\r\n");
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("WAIT 1 0"), "+QUEUED\r\n");
    assert_eq!(a.cmd("EXEC"), "*1\r\n:0\r\n");
    let id = a.cmd("CLIENT ID");
    let id = id.trim_start_matches(':').trim();
    a.send_cmd(&[b"WAIT", b"1", b"0"]);
    // Unblocked once it is seen blocked.
    let t0 = std::time::Instant::now();
    while b.cmd(&format!("CLIENT UNBLOCK {id}")) != ":1\r\n" {
        assert!(t0.elapsed() < std::time::Duration::from_secs(10));
    }
    assert_eq!(a.read_reply(), b":0\r\n");
    assert_eq!(a.cmd("ROLE"), "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n");
}

/// MEMORY STATS: Redis's fields, with the key count and per-database
/// tables of the keyspace; MEMORY DOCTOR answers in text; INFO memory has
/// the same overhead split.
#[test]
fn memory_stats_and_doctor() {
    let t = TestServer::start();
    let mut r = t.raw();
    for i in 0..100 {
        r.cmd(&format!("SET k{i} v"));
    }
    r.cmd("SELECT 3");
    r.cmd("SET x 1 EX 100");
    let mut c = t.client();
    let stats: Vec<redis::Value> = redis::cmd("MEMORY").arg("STATS").query(&mut c).unwrap();
    let names: Vec<String> = stats
        .iter()
        .step_by(2)
        .map(|v| match v {
            redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(names.len(), 29, "{names:?}");
    assert_eq!(&names[..3], ["peak.allocated", "total.allocated", "startup.allocated"]);
    assert!(names.contains(&"db.0".to_string()) && names.contains(&"db.3".to_string()), "{names:?}");
    let pos = names.iter().position(|n| n == "keys.count").unwrap();
    assert_eq!(stats[pos * 2 + 1], redis::Value::Int(101));
    let doctor = r.cmd("MEMORY DOCTOR");
    assert!(doctor.starts_with('$') && doctor.len() > 20, "{doctor}");
    // Inside MULTI and scripts, which hold shards already.
    r.cmd("MULTI");
    r.cmd("SET k0 v");
    r.cmd("INFO memory");
    r.cmd("MEMORY STATS");
    assert!(r.cmd("EXEC").starts_with("*3\r\n+OK\r\n$"));
    assert!(r.cmd("EVAL \"return redis.call('INFO','memory')\" 1 k1").contains("used_memory_dataset:"));
    let info = r.cmd("INFO memory");
    for f in ["used_memory_overhead:", "used_memory_startup:", "used_memory_dataset:", "used_memory_dataset_perc:"] {
        assert!(info.contains(f), "{f}");
    }
}

/// The change counter (INFO rdb_changes_since_last_save) counts RENAME and
/// MOVE once each, as Redis does; SET, DEL of two keys count 1 and 2.
#[test]
fn rename_and_move_count_one_change() {
    let t = TestServer::start();
    let mut r = t.raw();
    let changes = |r: &mut crate::common::Raw| -> i64 {
        r.info_field("persistence", "rdb_changes_since_last_save").parse().unwrap()
    };
    r.cmd("SET a 1");
    r.cmd("SET b 2");
    let c0 = changes(&mut r);
    assert_eq!(r.cmd("RENAME a c"), "+OK\r\n");
    assert_eq!(changes(&mut r), c0 + 1);
    assert_eq!(r.cmd("RENAME c b"), "+OK\r\n");
    assert_eq!(changes(&mut r), c0 + 2);
    assert_eq!(r.cmd("MOVE b 3"), ":1\r\n");
    assert_eq!(changes(&mut r), c0 + 3);
    r.cmd("SET x 1");
    r.cmd("SET y 1");
    let c1 = changes(&mut r);
    assert_eq!(r.cmd("DEL x y"), ":2\r\n");
    assert_eq!(changes(&mut r), c1 + 2);
}
