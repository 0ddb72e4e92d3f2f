//! CONFIG GET/SET/RESETSTAT/REWRITE/HELP and the settings table, compared
//! with redis-server 7.0.15 where the reference can tell.

use crate::common::*;
use crate::server::reference;
use std::collections::BTreeMap;

fn pairs(frame: &[u8]) -> BTreeMap<String, String> {
    let (_, els) = elements(frame).expect("array");
    let text = |b: &[u8]| {
        let s = String::from_utf8_lossy(b).into_owned();
        let body = s.split_once("\r\n").map(|x| x.1).unwrap_or("");
        body.strip_suffix("\r\n").unwrap_or(body).to_string()
    };
    els.chunks(2).map(|p| (text(&p[0]), text(&p[1]))).collect()
}

/// Settings whose values depend on how each server was started.
const STARTUP_DEPENDENT: &[&str] =
    &["port", "bind", "dir", "save", "appendonly", "enable-debug-command", "daemonize", "requirepass"];

#[test]
fn every_setting_matches_the_reference() {
    let Some(rs) = reference() else { return };
    let t = TestServer::start();
    let mut a = t.raw();
    let mut b = Raw::connect(format!("127.0.0.1:{}", rs.port).parse().unwrap());
    let ours = pairs(&a.cmd_bytes("CONFIG GET *"));
    let theirs = pairs(&b.cmd_bytes("CONFIG GET *"));
    let on: Vec<&String> = ours.keys().filter(|k| !theirs.contains_key(*k)).collect();
    let ot: Vec<&String> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
    assert!(on.is_empty() && ot.is_empty(), "only ours: {on:?}\nonly theirs: {ot:?}");
    let mut diffs = Vec::new();
    for (k, v) in &theirs {
        if !STARTUP_DEPENDENT.contains(&k.as_str()) && ours[k] != *v {
            diffs.push(format!("{k}: ours {:?} theirs {v:?}", ours[k]));
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    // Hidden settings answer an exact name only.
    for line in ["CONFIG GET key-load-delay", "CONFIG GET watchdog-period", "CONFIG GET *delay*"] {
        assert_eq!(pairs(&a.cmd_bytes(line)), pairs(&b.cmd_bytes(line)), "{line}");
    }
}

#[test]
fn config_set_errors_match_the_reference() {
    let Some(rs) = reference() else { return };
    let t = TestServer::start();
    let mut a = t.raw();
    let mut b = Raw::connect(format!("127.0.0.1:{}", rs.port).parse().unwrap());
    let lines = [
        "CONFIG SET maxclients 0",
        "CONFIG SET maxclients abc",
        "CONFIG SET maxmemory -1",
        "CONFIG SET maxmemory 1xb",
        "CONFIG SET maxmemory-clients 101%",
        "CONFIG SET maxmemory-policy nope",
        "CONFIG SET appendfsync sometimes",
        "CONFIG SET daemonize yes",
        "CONFIG SET databases 3",
        "CONFIG SET dir /tmp",
        "CONFIG SET dbfilename x",
        "CONFIG SET nosuch 1",
        "CONFIG SET hz 5 nosuch 1",
        "CONFIG SET hz 5 hz 6",
        "CONFIG SET hz 5 maxclients 0",
        "CONFIG SET hz",
        "CONFIG SET hz 1 2",
        "CONFIG SET save 1",
        "CONFIG SET save \"a b\"",
        "CONFIG SET client-output-buffer-limit \"master 1 1 1\"",
        "CONFIG SET client-output-buffer-limit \"normal 1 1\"",
        "CONFIG SET client-output-buffer-limit \"normal x 1 1\"",
        "CONFIG SET notify-keyspace-events Q",
        "CONFIG SET oom-score-adj-values \"1 2\"",
        "CONFIG SET oom-score-adj-values \"1 2 3000\"",
        "CONFIG SET latency-tracking-info-percentiles \"50 101\"",
        "CONFIG SET latency-tracking-info-percentiles abc",
        "CONFIG SET shutdown-on-sigterm \"save nosave\"",
        "CONFIG SET activerehashing maybe",
        "CONFIG SET unixsocketperm 777",
        "CONFIG SET hash-max-listpack-value 1k",
        "CONFIG GET hash-max-listpack-value",
        "CONFIG SET maxmemory 1gb",
        "CONFIG GET maxmemory",
        "CONFIG SET maxmemory-clients 5%",
        "CONFIG GET maxmemory-clients",
        "CONFIG SET notify-keyspace-events KEA",
        "CONFIG GET notify-keyspace-events",
        "CONFIG SET notify-keyspace-events Kgx$lm",
        "CONFIG GET notify-keyspace-events",
        "CONFIG SET client-output-buffer-limit \"pubsub 64mb 16mb 90 replica 1gb 0 0\"",
        "CONFIG GET client-output-buffer-limit",
        "CONFIG SET save \"100 10 20 5\"",
        "CONFIG GET save",
        "CONFIG SET save \"\"",
        "CONFIG GET save",
        "CONFIG SET oom-score-adj-values \"-5 10 2000\"",
        "CONFIG GET oom-score-adj-values",
        "CONFIG SET shutdown-on-sigint \"NOW force save\"",
        "CONFIG GET shutdown-on-sigint",
        "CONFIG SET latency-tracking-info-percentiles \"0 12.5 100\"",
        "CONFIG GET latency-tracking-info-percentiles",
        "CONFIG SET loglevel WARNING hz 11 timeout 7",
        "CONFIG GET loglevel hz TIMEOUT hz",
        "CONFIG SET hash-max-ziplist-entries 99",
        "CONFIG GET hash-max-listpack-entries",
        "CONFIG GET HASH-MAX-ZIPLIST-ENTRIES",
        "CONFIG GET nosuch",
        "CONFIG GET",
    ];
    for l in lines {
        let (x, y) = (a.cmd_bytes(l), b.cmd_bytes(l));
        if l.starts_with("CONFIG GET") && x.starts_with(b"*") {
            // Several names come back in the server's own hash order.
            assert_eq!((x[..4].to_vec(), pairs(&x)), (y[..4].to_vec(), pairs(&y)), "{l}");
        } else {
            assert_eq!(String::from_utf8_lossy(&x), String::from_utf8_lossy(&y), "{l}");
        }
    }
    // Patterns: the same names and values, in an order of the server's own.
    for proto in ["2", "3"] {
        a.cmd(&format!("HELLO {proto}"));
        b.cmd(&format!("HELLO {proto}"));
        for l in ["CONFIG GET maxmemory* hz", "CONFIG GET *-max-*-entries", "CONFIG GET lazyfree-lazy-?ser-*"] {
            let (x, y) = (a.cmd_bytes(l), b.cmd_bytes(l));
            assert_eq!(x[..4], y[..4], "{l}");
            assert_eq!(pairs(&x), pairs(&y), "{l}");
        }
    }
}

#[test]
fn config_set_takes_effect_and_is_atomic() {
    let t = TestServer::start();
    let mut r = t.raw();
    assert_eq!(
        r.cmd("CONFIG SET hz 20 maxclients 0"),
        "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive\r\n"
    );
    assert_eq!(r.cmd("CONFIG GET hz"), "*2\r\n$2\r\nhz\r\n$2\r\n10\r\n");
    assert_eq!(r.cmd("CONFIG SET hz 20 maxclients 50"), "+OK\r\n");
    assert_eq!(t.srv.config.get_num("hz"), 20);
    assert_eq!(t.srv.config.get_num("maxclients"), 50);
    // requirepass applies to new connections.
    assert_eq!(r.cmd("CONFIG SET requirepass s3cret"), "+OK\r\n");
    let mut r2 = t.raw();
    assert_eq!(r2.cmd("PING"), "-NOAUTH Authentication required.\r\n");
    assert_eq!(r2.cmd("AUTH s3cret"), "+OK\r\n");
    assert_eq!(r.cmd("CONFIG SET requirepass \"\""), "+OK\r\n");
    // proto-max-bulk-len limits requests.
    assert_eq!(r.cmd("CONFIG SET proto-max-bulk-len 1mb"), "+OK\r\n");
    let mut r3 = t.raw();
    r3.send(b"*2\r\n$4\r\nECHO\r\n$2000000\r\n");
    assert_eq!(r3.read_reply(), b"-ERR Protocol error: invalid bulk length\r\n");
    // The same port is fine (test servers are configured with port 0: the
    // OS picks one); moving it is tested in port_and_bind_change_at_run_time.
    assert_eq!(r.cmd("CONFIG SET port 0"), "+OK\r\n");
    assert!(r.cmd("CONFIG HELP").starts_with("*"));
    r.cmd("HELLO 3");
    assert_eq!(r.cmd("CONFIG GET hz"), "%1\r\n$2\r\nhz\r\n$2\r\n20\r\n");
}

#[test]
fn config_rewrite() {
    let t = TestServer::start();
    let mut r = t.raw();
    assert_eq!(r.cmd("CONFIG REWRITE"), "-ERR The server is running without a config file\r\n");
    let dir = std::env::temp_dir().join(format!("hematite-rewrite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("redis.conf");
    std::fs::write(&file, "# my settings\nhz 15\nmaxclients 100\n").unwrap();
    t.srv.config.load_text(&std::fs::read_to_string(&file).unwrap(), "redis.conf").unwrap();
    t.srv.config.set_file(file.clone());
    assert_eq!(r.cmd("CONFIG SET maxclients 200 timeout 30"), "+OK\r\n");
    assert_eq!(r.cmd("CONFIG REWRITE"), "+OK\r\n");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("# my settings\nhz 15\nmaxclients 200\n"), "{text}");
    assert!(text.contains("# Generated by CONFIG REWRITE\n") && text.contains("\ntimeout 30\n"), "{text}");
    // Users are written from the current rules, replacing the old lines.
    std::fs::write(&file, "hz 15\nuser old on nopass\n").unwrap();
    assert_eq!(r.cmd("ACL SETUSER bob on nopass +get ~k*"), "+OK\r\n");
    assert_eq!(r.cmd("CONFIG REWRITE"), "+OK\r\n");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("user old"), "{text}");
    assert!(text.contains("\nuser bob on nopass ~k* resetchannels -@all +get\n"), "{text}");
    assert!(text.contains("\nuser default on nopass ~* &* +@all\n"), "{text}");
    // Such a file starts a server with those users.
    let c = hematite::Config::default();
    c.load_text(&text, "redis.conf").unwrap();
    assert_eq!(c.users.lock().len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_file_errors_name_line_and_directive() {
    let c = hematite::Config::default();
    let e = c.load_text("hz 10\nmaxclients zero\n", "/etc/x.conf").unwrap_err();
    assert!(e.contains("at line 2") && e.contains(">>> 'maxclients zero'") && e.contains("in file /etc/x.conf"), "{e}");
    assert!(e.contains("argument couldn't be parsed into an integer"), "{e}");
    let e = c.load_text("hz 1 2\n", "f").unwrap_err();
    assert!(e.contains("wrong number of arguments"), "{e}");
    // Multi-word settings take several words; deprecated names are ignored.
    c.load_text("save 900 1 300 10\nlist-max-ziplist-entries 5\n", "f").unwrap();
    assert_eq!(c.get_text("save").unwrap(), "900 1 300 10");
}

/// CONFIG SET port and bind at run time: new listeners replace the old
/// ones; a port or address that cannot be bound is refused and nothing
/// changes.
#[test]
fn port_and_bind_change_at_run_time() {
    let t = TestServer::start();
    let mut c = t.raw();
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    assert_eq!(c.cmd(&format!("CONFIG SET port {free}")), "+OK\r\n");
    let moved: std::net::SocketAddr = format!("127.0.0.1:{free}").parse().unwrap();
    let mut d = Raw::connect(moved);
    assert_eq!(d.cmd("CONFIG GET port"), format!("*2\r\n$4\r\nport\r\n${}\r\n{free}\r\n", free.to_string().len()));
    assert!(d.cmd("INFO server").contains(&format!("tcp_port:{free}\r\n")));
    wait_for(|| std::net::TcpStream::connect(t.addr).is_err());
    // The connection made before the change goes on.
    assert_eq!(c.cmd("PING"), "+PONG\r\n");
    // A port in use is refused.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    assert_eq!(
        d.cmd(&format!("CONFIG SET port {taken_port}")),
        "-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\r\n"
    );
    // An address that is not ours is refused; an optional one is skipped.
    assert_eq!(
        d.cmd("CONFIG SET bind \"127.0.0.1 192.0.2.1\""),
        "-ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.\r\n"
    );
    assert_eq!(d.cmd("CONFIG SET bind \"127.0.0.1 -192.0.2.1\""), "+OK\r\n");
    assert_eq!(Raw::connect(moved).cmd("PING"), "+PONG\r\n");
}
