//! Geo commands over the wire: stored scores, distances, searches, stores.

use crate::common::*;

#[test]
fn geoadd_stores_redis_scores() {
    let t = TestServer::start();
    let mut r = t.raw();
    assert_eq!(r.cmd("GEOADD s 13.361389 38.115556 Palermo 15.087269 37.502669 Catania"), ":2\r\n");
    assert_eq!(r.cmd("ZSCORE s Palermo"), "$16\r\n3479099956230698\r\n");
    assert_eq!(r.cmd("GEODIST s Palermo Catania"), "$11\r\n166274.1516\r\n");
    assert_eq!(r.cmd("GEODIST s Palermo Catania km"), "$8\r\n166.2742\r\n");
    assert_eq!(r.cmd("GEOHASH s Palermo nosuch"), "*2\r\n$11\r\nsqc8b49rny0\r\n$-1\r\n");
    assert_eq!(
        r.cmd("GEOPOS s Palermo nosuch"),
        "*2\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*-1\r\n"
    );
    assert_eq!(r.cmd("GEOADD s 181 0 x"), "-ERR invalid longitude,latitude pair 181.000000,0.000000\r\n");
    assert_eq!(r.cmd("GEOADD s NX XX 1 1 x"), "-ERR syntax error\r\n");
    assert_eq!(r.cmd("GEOADD s XX CH 1 1 Palermo"), ":1\r\n");
    r.cmd("HELLO 3");
    assert_eq!(r.cmd("GEOPOS s Catania"), "*1\r\n*2\r\n,15.08726745843887329\r\n,37.50266842333162032\r\n");
}

#[test]
fn searches_and_stores() {
    let t = TestServer::start();
    let mut r = t.raw();
    r.cmd("GEOADD s 13.361389 38.115556 Palermo 15.087269 37.502669 Catania 12.758489 38.788135 far");
    assert_eq!(r.cmd("GEOSEARCH s FROMLONLAT 15 37 BYRADIUS 200 km ASC"), "*2\r\n$7\r\nCatania\r\n$7\r\nPalermo\r\n");
    assert_eq!(r.cmd("GEOSEARCH s FROMLONLAT 15 37 BYRADIUS 200 km COUNT 1 DESC"), "*1\r\n$7\r\nPalermo\r\n");
    assert_eq!(
        r.cmd("GEOSEARCH s FROMMEMBER Palermo BYBOX 10 10 km WITHDIST"),
        "*1\r\n*2\r\n$7\r\nPalermo\r\n$6\r\n0.0000\r\n"
    );
    assert_eq!(r.cmd("GEOSEARCHSTORE d s FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST"), ":2\r\n");
    assert_eq!(r.cmd("ZRANGE d 0 -1"), "*2\r\n$7\r\nCatania\r\n$7\r\nPalermo\r\n");
    assert_eq!(r.cmd("GEORADIUS s 15 37 1 m STORE d"), ":0\r\n");
    assert_eq!(r.cmd("EXISTS d"), ":0\r\n");
    assert_eq!(r.cmd("GEORADIUSBYMEMBER s nosuch 1 km"), "-ERR could not decode requested zset member\r\n");
    assert_eq!(
        r.cmd("GEOSEARCH s BYRADIUS 1 km ASC WITHDIST"),
        "-ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH\r\n"
    );
    assert_eq!(
        r.cmd("GEOSEARCH s FROMLONLAT 1 1 BYRADIUS 1 km ANY"),
        "-ERR the ANY argument requires COUNT argument\r\n"
    );
    assert_eq!(
        r.cmd("GEORADIUS s 15 37 200 km WITHDIST STORE d"),
        "-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n"
    );
}

#[test]
fn many_points_search_matches_brute_force() {
    let t = TestServer::start();
    let mut c = t.client();
    let mut seed = 99u64;
    let mut rnd = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 11) as f64) / ((1u64 << 53) as f64)
    };
    for i in 0..500 {
        let lon = -5.0 + rnd() * 10.0;
        let lat = 40.0 + rnd() * 10.0;
        let _: i64 = redis::cmd("GEOADD").arg("g").arg(lon).arg(lat).arg(format!("p{i}")).query(&mut c).unwrap();
    }
    let all: Vec<(String, f64)> = redis::cmd("GEOSEARCH")
        .arg("g")
        .arg("FROMLONLAT")
        .arg(0)
        .arg(45)
        .arg("BYRADIUS")
        .arg(20000)
        .arg("km")
        .arg("WITHDIST")
        .arg("ASC")
        .query(&mut c)
        .unwrap();
    assert_eq!(all.len(), 500);
    let near: Vec<(String, f64)> = redis::cmd("GEOSEARCH")
        .arg("g")
        .arg("FROMLONLAT")
        .arg(0)
        .arg(45)
        .arg("BYRADIUS")
        .arg(200)
        .arg("km")
        .arg("WITHDIST")
        .arg("ASC")
        .query(&mut c)
        .unwrap();
    let expect: Vec<(String, f64)> = all.iter().filter(|(_, d)| *d <= 200.0).cloned().collect();
    assert_eq!(near, expect);
}
