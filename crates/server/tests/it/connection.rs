use crate::common::*;

#[test]
fn ping_echo_select() {
    let t = TestServer::start();
    let mut c = t.client();
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
    let e: String = redis::cmd("ECHO").arg("hi").query(&mut c).unwrap();
    assert_eq!(e, "hi");
    let mut r = t.raw();
    assert_eq!(r.cmd("SELECT 16"), "-ERR DB index is out of range\r\n");
    assert_eq!(r.cmd("SELECT x"), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(r.cmd("SELECT 1"), "+OK\r\n");
    assert_eq!(r.cmd("SET k v"), "+OK\r\n");
    assert_eq!(r.cmd("SELECT 0"), "+OK\r\n");
    assert_eq!(r.cmd("GET k"), "$-1\r\n");
}

#[test]
fn hello_switches_protocol() {
    let t = TestServer::start();
    let mut r = t.raw();
    let h = r.cmd("HELLO 3");
    assert!(h.starts_with("%7\r\n$6\r\nserver\r\n"), "{h}");
    assert_eq!(r.cmd("GET nokey"), "_\r\n");
    assert_eq!(r.cmd("HELLO 4"), "-NOPROTO unsupported protocol version\r\n");
    assert!(r.cmd("HELLO 2").starts_with("*14\r\n"));
    assert_eq!(r.cmd("GET nokey"), "$-1\r\n");
}

#[test]
fn requirepass() {
    let t = TestServer::with(&[("requirepass", "secret")]);
    let mut r = t.raw();
    assert_eq!(r.cmd("GET a"), "-NOAUTH Authentication required.\r\n");
    assert_eq!(r.cmd("AUTH nope"), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    assert_eq!(r.cmd("AUTH secret"), "+OK\r\n");
    assert_eq!(r.cmd("GET a"), "$-1\r\n");
    let mut r2 = t.raw();
    assert!(r2.cmd("HELLO 3 AUTH default secret").starts_with("%7"));
}

#[test]
fn quit_closes() {
    let t = TestServer::start();
    let mut r = t.raw();
    assert_eq!(r.cmd("QUIT"), "+OK\r\n");
    assert!(r.is_closed());
}

/// A non-loopback address of this machine, if it has one (the source
/// address of a route out; no packet is sent).
fn nonloopback_addr() -> Option<std::net::IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.77:9").or_else(|_| s.connect("10.255.255.1:9")).ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// Protected mode: without a password for the default user, only
/// 127.0.0.1 / ::1 may connect; a password or protected-mode no opens it.
#[test]
fn protected_mode_refuses_other_addresses() {
    let Some(ip) = nonloopback_addr() else {
        eprintln!("no non-loopback address: protected mode not exercised");
        return;
    };
    let t = TestServer::with(&[("bind", "*")]);
    let outside = std::net::SocketAddr::new(ip, t.addr.port());
    let mut admin = t.raw();
    let mut c = Raw::connect(outside);
    let reply = String::from_utf8(c.read_reply()).unwrap();
    assert!(reply.starts_with("-DENIED Redis is running in protected mode"), "{reply}");
    assert!(c.is_closed());
    assert_eq!(admin.info_field("stats", "rejected_connections"), "1");
    assert_eq!(admin.cmd("CONFIG SET requirepass secret"), "+OK\r\n");
    let mut c = Raw::connect(outside);
    assert_eq!(c.cmd("AUTH secret"), "+OK\r\n");
    assert_eq!(c.cmd("PING"), "+PONG\r\n");
    assert_eq!(c.cmd("CONFIG SET requirepass \"\""), "+OK\r\n");
    assert_eq!(admin.cmd("CONFIG SET protected-mode no"), "+OK\r\n");
    let mut c = Raw::connect(outside);
    assert_eq!(c.cmd("PING"), "+PONG\r\n");
}
