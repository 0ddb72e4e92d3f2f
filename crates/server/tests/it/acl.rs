//! ACL users over TCP: logging in, what each user may run, the ACL log,
//! DELUSER, requirepass and the ACL file. (Replies of the ACL command
//! itself are compared with Redis in tests/diff/96_acl.redis.)

use crate::common::*;

/// True once the server closes the connection (a reset counts: a
/// command sent as it closes may get one instead of the end of stream).
fn closes(c: &mut Raw) -> bool {
    use std::io::{ErrorKind, Read};
    let _ = std::io::Write::write_all(&mut c.s, b"PING\r\n");
    let mut b = [0u8; 256];
    loop {
        match c.s.read(&mut b) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return false,
            Err(_) => return true,
        }
    }
}

const NOPERM_KEYS: &str = "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n";

#[test]
fn users_log_in_and_are_held_to_their_rules() {
    let t = TestServer::start();
    let mut admin = t.raw();
    assert_eq!(
        admin.cmd("ACL SETUSER alice on >secret ~app:* %R~shared:* &news.* +get +set +publish +subscribe"),
        "+OK\r\n"
    );
    let mut a = t.raw();
    assert_eq!(a.cmd("AUTH alice wrong"), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    assert_eq!(a.cmd("ACL WHOAMI"), "$7\r\ndefault\r\n");
    assert_eq!(a.cmd("AUTH alice secret"), "+OK\r\n");
    // ACL WHOAMI is not among alice's commands.
    assert_eq!(a.cmd("ACL WHOAMI"), "-NOPERM this user has no permissions to run the 'acl|whoami' command\r\n");
    assert_eq!(a.cmd("SET app:1 v"), "+OK\r\n");
    assert_eq!(a.cmd("GET app:1"), "$1\r\nv\r\n");
    assert_eq!(a.cmd("GET shared:1"), "$-1\r\n");
    assert_eq!(a.cmd("SET shared:1 v"), NOPERM_KEYS);
    assert_eq!(a.cmd("GET other"), NOPERM_KEYS);
    assert_eq!(a.cmd("DEL app:1"), "-NOPERM this user has no permissions to run the 'del' command\r\n");
    assert_eq!(a.cmd("PUBLISH news.x m"), ":0\r\n");
    assert_eq!(
        a.cmd("PUBLISH other m"),
        "-NOPERM this user has no permissions to access one of the channels used as arguments\r\n"
    );
    // Rules change for connections already logged in.
    assert_eq!(admin.cmd("ACL SETUSER alice +del"), "+OK\r\n");
    assert_eq!(a.cmd("DEL app:1"), ":1\r\n");
    // A selector adds what the root does not allow.
    assert_eq!(admin.cmd("ACL SETUSER alice (+incr ~counter:*)"), "+OK\r\n");
    assert_eq!(a.cmd("INCR counter:1"), ":1\r\n");
    // (The root refuses the command, the selector the key: the key is
    // what is reported, as the furthest any selector got.)
    assert_eq!(a.cmd("INCR app:1"), NOPERM_KEYS);
    // A user turned off cannot log in; RESET goes back to "default".
    assert_eq!(admin.cmd("ACL SETUSER alice off"), "+OK\r\n");
    let mut b = t.raw();
    assert_eq!(b.cmd("AUTH alice secret"), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    assert_eq!(a.cmd("RESET"), "+RESET\r\n");
    assert_eq!(a.cmd("ACL WHOAMI"), "$7\r\ndefault\r\n");
}

#[test]
fn set_and_bitfield_need_only_the_access_they_use() {
    let t = TestServer::start();
    let mut admin = t.raw();
    admin.cmd("ACL SETUSER w on nopass %W~w* %R~r* +@all");
    let mut c = t.raw();
    assert_eq!(c.cmd("AUTH w x"), "+OK\r\n");
    assert_eq!(c.cmd("SET w1 v"), "+OK\r\n");
    assert_eq!(c.cmd("SET w1 get"), "+OK\r\n");
    assert_eq!(c.cmd("SET w1 v GET"), NOPERM_KEYS);
    assert_eq!(c.cmd("BITFIELD r1 GET u8 0"), "*1\r\n:0\r\n");
    assert_eq!(c.cmd("BITFIELD r1 SET u8 0 1"), NOPERM_KEYS);
    assert_eq!(admin.cmd("ACL DRYRUN w SORT r1 STORE w2"), "+OK\r\n");
    assert_eq!(
        admin.cmd("ACL DRYRUN w SORT r1 STORE r2"),
        "$51\r\nThis user has no permissions to access the 'r2' key\r\n"
    );
    // (MIGRATE reads and deletes its keys: w1 is only writable; the empty
    // key argument before KEYS is not a key.)
    assert_eq!(
        admin.cmd("ACL DRYRUN w MIGRATE h 1 \"\" 0 10 KEYS w1"),
        "$51\r\nThis user has no permissions to access the 'w1' key\r\n"
    );
    assert_eq!(c.cmd("SORT r1 BY x*"), "-ERR BY option of SORT denied due to insufficient ACL permissions.\r\n");
    assert_eq!(c.cmd("SORT r1 GET #"), "-ERR GET option of SORT denied due to insufficient ACL permissions.\r\n");
}

#[test]
fn scripts_and_transactions_are_checked() {
    let t = TestServer::start();
    let mut admin = t.raw();
    admin.cmd("ACL SETUSER s on nopass ~* +eval +get +multi +exec");
    let mut c = t.raw();
    c.cmd("AUTH s x");
    let r = c.cmd("EVAL \"return redis.call('set','k','v')\" 0");
    assert!(r.starts_with("-ERR The user executing the script can't run this command or subcommand"), "{r}");
    assert_eq!(c.cmd("EVAL \"return redis.call('get','k')\" 0"), "$-1\r\n");
    assert_eq!(c.cmd("MULTI"), "+OK\r\n");
    assert_eq!(c.cmd("SET k v"), "-NOPERM this user has no permissions to run the 'set' command\r\n");
    assert_eq!(c.cmd("EXEC"), "-EXECABORT Transaction discarded because of previous errors.\r\n");
    // Rules that change between queuing and EXEC apply at EXEC.
    assert_eq!(c.cmd("MULTI"), "+OK\r\n");
    assert_eq!(c.cmd("GET k"), "+QUEUED\r\n");
    admin.cmd("ACL SETUSER s -get");
    assert_eq!(
        c.cmd("EXEC"),
        "*1\r\n-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to execute the command or subcommand\r\n"
    );
    let log = admin.cmd("ACL LOG 1");
    assert!(log.contains("multi") && log.contains("\r\nget\r\n"), "{log}");
}

#[test]
fn acl_log_records_refusals_and_failed_logins() {
    let t = TestServer::start();
    let mut admin = t.raw();
    admin.cmd("ACL SETUSER u on >p +get ~k");
    let mut c = t.raw();
    c.cmd("AUTH u nope");
    c.cmd("AUTH u p");
    c.cmd("GET other");
    c.cmd("GET other");
    c.cmd("SET k v");
    let log = admin.cmd("ACL LOG");
    // Newest first: the command, the key (twice, merged), the login.
    let reasons: Vec<&str> = log.split("\r\n").filter(|l| ["command", "key", "auth"].contains(l)).collect();
    assert_eq!(reasons, vec!["command", "key", "auth"], "{log}");
    assert!(log.contains("$5\r\ncount\r\n:2\r\n"), "{log}");
    assert!(log.contains("toplevel") && log.contains("user=u"), "{log}");
    assert_eq!(admin.cmd("ACL LOG 1").matches("$6\r\nreason").count(), 1);
    assert_eq!(admin.cmd("ACL LOG RESET"), "+OK\r\n");
    assert_eq!(admin.cmd("ACL LOG"), "*0\r\n");
}

#[test]
fn requirepass_is_the_default_users_password() {
    let t = TestServer::with(&[("requirepass", "pw")]);
    let mut c = t.raw();
    assert_eq!(c.cmd("GET x"), "-NOAUTH Authentication required.\r\n");
    assert_eq!(c.cmd("AUTH default pw"), "+OK\r\n");
    assert_eq!(c.cmd("GET x"), "$-1\r\n");
    assert!(c.cmd("ACL GETUSER default").contains("passwords\r\n*1\r\n"));
    assert_eq!(c.cmd("CONFIG SET requirepass \"\""), "+OK\r\n");
    // No password now: new connections are logged in at once.
    let mut d = t.raw();
    assert_eq!(d.cmd("GET x"), "$-1\r\n");
    assert!(d.cmd("ACL GETUSER default").contains("nopass"));
    // Turning "default" off makes connections log in as someone else.
    d.cmd("ACL SETUSER admin on >a +@all ~* &*");
    d.cmd("ACL SETUSER default off");
    let mut e = t.raw();
    assert_eq!(e.cmd("GET x"), "-NOAUTH Authentication required.\r\n");
    assert_eq!(e.cmd("HELLO 3 AUTH admin a").starts_with("%7"), true);
    assert_eq!(e.cmd("ACL WHOAMI"), "$5\r\nadmin\r\n");
    e.cmd("ACL SETUSER default on");
}

#[test]
fn deleted_users_lose_their_connections() {
    let t = TestServer::start();
    let mut admin = t.raw();
    admin.cmd("ACL SETUSER gone on nopass +@all ~*");
    let mut c = t.raw();
    assert_eq!(c.cmd("AUTH gone x"), "+OK\r\n");
    assert_eq!(admin.cmd("ACL DELUSER default"), "-ERR The 'default' user cannot be removed\r\n");
    assert_eq!(admin.cmd("ACL DELUSER gone nosuch"), ":1\r\n");
    assert!(closes(&mut c));
    assert!(admin.cmd("CLIENT KILL USER gone").starts_with("-ERR No such user 'gone'"));
}

#[test]
fn subscribers_losing_their_channels_are_disconnected() {
    let t = TestServer::start();
    let mut admin = t.raw();
    admin.cmd("ACL SETUSER ps on nopass +@all ~* resetchannels &chan");
    let mut s = t.raw();
    s.cmd("AUTH ps x");
    assert!(s.cmd("SUBSCRIBE other").starts_with("-NOPERM"));
    assert!(s.cmd("SUBSCRIBE chan").contains("subscribe"));
    admin.cmd("ACL SETUSER ps resetchannels &elsewhere");
    assert!(closes(&mut s));
}

#[test]
fn acl_file_save_and_load() {
    let dir = std::env::temp_dir().join(format!("hematite-acl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("users.acl");
    std::fs::write(&file, "").unwrap();
    let t = TestServer::with(&[("aclfile", file.to_str().unwrap())]);
    let mut c = t.raw();
    c.cmd("ACL SETUSER keep on >k +get ~*");
    assert_eq!(c.cmd("ACL SAVE"), "+OK\r\n");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("user keep on #") && text.contains("user default on nopass ~* &* +@all"), "{text}");
    c.cmd("ACL SETUSER temp on");
    assert_eq!(c.cmd("ACL LOAD"), "+OK\r\n");
    assert_eq!(c.cmd("ACL USERS"), "*2\r\n$7\r\ndefault\r\n$4\r\nkeep\r\n");
    std::fs::write(&file, "user a on\nbogus line\nuser b +nosuch\n").unwrap();
    let e = c.cmd("ACL LOAD");
    assert!(e.contains(":2 should start with user keyword") && e.contains("no change"), "{e}");
    assert_eq!(c.cmd("ACL USERS"), "*2\r\n$7\r\ndefault\r\n$4\r\nkeep\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}
