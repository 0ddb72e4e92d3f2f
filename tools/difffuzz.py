#!/usr/bin/env python3
"""Randomized differential fuzzer: the same random command stream goes to
redis-server and Hematite; the first reply that differs byte for byte is
reported with the commands before it.

    tools/difffuzz.py --a 8001 --b 8002 --family lists --seed 1 --n 5000

Replies that are random by design are not compared; replies in hash-table
order are compared as sorted multisets of their elements."""
import argparse
import random
import re
import socket
import sys

FAMILIES = ["strings", "keys", "lists", "hashes", "sets", "zsets", "sort", "bitmaps", "hll", "streams", "multi", "scripts",
            "geo", "generic"]


class Raw:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    def call(self, args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode("latin-1", "strict") if max(map(ord, str(a)), default=0) < 256 else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))
        return self.frame()

    def frame(self):
        """One reply as (raw bytes, list of raw element frames or None)."""
        line = self.f.readline()
        t = line[:1]
        if t in b"$=!":
            n = int(line[1:-2])
            return (line + (self.f.read(n + 2) if n >= 0 else b""), None)
        if t in b"*~>%|":
            n = int(line[1:-2])
            if n < 0:
                return (line, None)
            if t in b"%|":
                n *= 2
            els = [self.frame()[0] for _ in range(n)]
            if t in b"%|":
                els = [els[i] + els[i + 1] for i in range(0, n, 2)]
            return (line + b"".join(els), els)
        return (line, None)


def canon(raw):
    """A reply with every array sorted, nested ones too (hash-table order)."""
    def parse(i):
        t, j = raw[i:i + 1], raw.index(b"\r\n", i)
        head = raw[i:j + 2]
        if t in b"$=!":
            n = int(raw[i + 1:j])
            return (head + raw[j + 2:j + 4 + n] if n >= 0 else head), (j + 4 + n if n >= 0 else j + 2)
        if t in b"*~>%|":
            n = int(raw[i + 1:j])
            n = n * 2 if t in b"%|" else n
            els, k = [], j + 2
            for _ in range(max(n, 0)):
                e, k = parse(k)
                els.append(e)
            return (t, tuple(sorted(els, key=repr))), k
        return head, j + 2
    return parse(0)[0]


def notime(raw):
    """A reply with its clock fields masked: the values of seen-time, idle,
    inactive and active-time, the delivery times of XINFO STREAM FULL's
    pending entries and the idle times of XPENDING's extended form."""
    raw = re.sub(rb"(\$\d+\r\n(?:seen-time|idle|inactive|active-time)\r\n):-?\d+\r\n", rb"\1:T\r\n", raw)
    raw = re.sub(rb"(\*4\r\n\$\d+\r\n\d+-\d+\r\n\$\d+\r\n[^\r]*\r\n):\d+\r\n", rb"\1:T\r\n", raw)
    return re.sub(rb"(\*3\r\n\$\d+\r\n\d+-\d+\r\n):\d+\r\n", rb"\1:T\r\n", raw)


def pick(r, xs):
    return xs[r.randrange(len(xs))]


# DUMP payloads of redis-server 7.0.15 (list, intset, zset, hash, string, int) for RESTORE.
PAYLOADS = [b"\x12\x01\x02\x0f\x0f\x00\x00\x00\x03\x00\x81a\x02\x01\x01\x81b\x02\xff\n\x00\x90C\xa3L\xeb\x8e\x1b\x1c",
            b"\x0b\x0e\x02\x00\x00\x00\x03\x00\x00\x00\x01\x00\x02\x00\x03\x00\n\x00\xa5\x02\\\xe2mnM\x1b",
            b"\x11\x11\x11\x00\x00\x00\x04\x00\x81a\x02\x01\x01\x81b\x02\x02\x01\xff\n\x00\xba\x07\xf2$\xa9\xd2\x8fU",
            b"\x10\x12\x12\x00\x00\x00\x04\x00\x81f\x02\x81v\x02\x81g\x02\x01\x01\xff\n\x00#\xc1\xa5\xe3]\xfa\xe8\x1c",
            b"\x00\x05hello\n\x00cr\xdfve4 \n", b"\x00\xc190\n\x00\x9d\x94\xea'\x93\xfc\x08\xb9",
            b"\x00\x05hello\n\x00cr\xdfve4 \x0b", b"\x00\x05hello\x0b\x00cr\xdfve4 \n", b"\x00\x05"]


def gen(r, fam):
    k = pick(r, ["k1", "k2", "k3"])
    k2 = pick(r, ["k1", "k2", "k3"])
    v = pick(r, ["a", "b", "c", "1", "2", "-3", "10", "3.5", "", "abc", "x" * 70, "18446744073709551616",
                   "9223372036854775807", "-9223372036854775808", "+1", " 1", "1.0", "0x10", "1e5", "-0", "007", "nan", "inf"])
    n = pick(r, ["0", "1", "2", "-1", "-2", "3", "5", "-100", "100", "x", "9223372036854775807",
                  "-9223372036854775808", "1.5", "+2", "", "4294967296"])
    n2 = pick(r, ["0", "1", "-1", "2", "4", "-3", "10"])
    ttl = pick(r, ["-1", "0", "1000000", "x", "", "9223372036854775807", "-9223372036854775808", "1.5", "100000000"])
    f = pick(r, ["f1", "f2", "f3", "f4"])
    m = pick(r, ["m1", "m2", "m3", "1", "2", "3", "100", "-1"])
    sc = pick(r, ["0", "1", "1.5", "-2", "inf", "-inf", "3", "1e3", "x", "nan", "1e308", "-0", "0.1", "+inf", "(1", "5e-324"])
    if fam == "strings":
        sv = pick(r, [v, v, "x" * 44, "x" * 45, "12345678901234567890", "1" * 19, "0", "-1", "1.10", "3.0e3", "  ", "hello world"])
        fl = pick(r, ["0", "1.1", "0.1", "-0.1", "1e17", "1e18", "-5", "3.0e3", "1.23456789012345678", "5e-324", "1e-310",
                      "-0", "x", "", "nan", "inf", "-inf", "1e308", "0x10", " 1", "1.5e", "17179869184", "0.30000000000000004"])
        st = pick(r, ["0", "-1", "-2", "1", "3", "5", "100", "-100", "9223372036854775807", "-9223372036854775808", "x", "2147483648"])
        ex = pick(r, [["EX", ttl], ["PX", ttl], ["EXAT", ttl], ["PXAT", ttl], ["EX", "1000"], ["PX", "5000000"], ["EXAT", "4000000000"],
                      ["PXAT", "4000000000000"], ["EXAT", "1"], ["PXAT", "1000"], ["KEEPTTL"], ["PERSIST"], []])
        return pick(r, [["SET", k, sv], ["SET", k, v, "NX"], ["SET", k, v, "XX", "GET"], ["GET", k], ["APPEND", k, sv],
                        ["INCR", k], ["DECRBY", k, n], ["INCRBYFLOAT", k, sc], ["INCRBYFLOAT", k, fl], ["INCRBYFLOAT", k, fl],
                        ["GETRANGE", k, n, n2], ["GETRANGE", k, st, st], ["SETRANGE", k, n2, v], ["SETRANGE", k, st, sv],
                        ["STRLEN", k], ["MSET", k, v, k2, sv], ["MSETNX", k, v, k2, v], ["MSETNX", k, v], ["MSETNX", k, v, k2],
                        ["MSET", k, v, k2], ["MGET", k, k2, "nokey"], ["GETDEL", k],
                        ["SETNX", k, v], ["GETSET", k, sv], ["LCS", k, k2], ["LCS", k, k2, "LEN"], ["LCS", k, k2, "IDX", "WITHMATCHLEN"],
                        ["LCS", k, k2, "IDX"], ["LCS", k, k2, "IDX", "MINMATCHLEN", n, "WITHMATCHLEN"], ["LCS", k, k2, "LEN", "IDX"],
                        ["LCS", k, k2, "MINMATCHLEN"], ["LCS", k, k2, "FOO"], ["LCS", k, "nokey", "IDX"], ["LCS", k, k2, "LEN", "MINMATCHLEN", "1"],
                        ["SUBSTR", k, n, n2], ["INCRBY", k, n], ["DEL", k], ["SET", k, v, pick(r, ["EX", "PX", "EXAT", "PXAT"]), ttl],
                        ["SET", k, v, "KEEPTTL"], ["SET", k, v, "KEEPTTL", "EX", "100"], ["SET", k, v, "NX", "XX"], ["GETEX", k, "PERSIST"],
                        ["GETEX", k, pick(r, ["EX", "PX", "EXAT"]), ttl], ["TTL", k], ["SETRANGE", k, pick(r, ["536870911", "536870912", "-1"]), pick(r, ["", "ab", "x" * 70])],
                        ["DECR", k], ["INCRBYFLOAT", k, pick(r, ["1e308", "-1e308"])], ["PSETEX", k, ttl, v], ["SETEX", k, ttl, v],
                        ["LCS", k, k2, "IDX", "MINMATCHLEN", n2], ["OBJECT", "ENCODING", k], ["GETRANGE", k, "0", "-1"],
                        ["SET", k, sv] + ex, ["SET", k, sv, pick(r, ["NX", "XX"]), pick(r, ["GET", "KEEPTTL", "NX", "XX"])] + ex,
                        ["SET", k, sv, "GET"] + ex + ex, ["GETEX", k] + ex, ["GETEX", k] + ex + ex, ["GETEX", k, "FOO"],
                        ["TTL", k], ["EXPIRETIME", k], ["PERSIST", k], ["RPUSH", k, v], ["EXISTS", k], ["TYPE", k],
                        ["INCRBY", k, pick(r, ["9223372036854775807", "-9223372036854775808", "1"])], ["DECRBY", k, "-9223372036854775808"],
                        ["GETSET", k, "1"], ["STRLEN", "nokey"], ["GETDEL", "nokey"], ["APPEND", k, ""], ["SETRANGE", k, "0", ""],
                        ["SETRANGE", "nokey", n2, ""], ["OBJECT", "ENCODING", k], ["DUMP", k], ["DUMP", k], ["MSETNX", k, v, k, sv],
                        ["SET", k, pick(r, ["a" * 25, "ab" * 30, "abc" * 100, "x" * 20 + "y" * 20])], ["GETSET", k, "a" * 25], ["SET", k, pick(r, ["1", "-5", "123", "10000", "9999", "007"])]])
    if fam == "keys":
        kk = pick(r, ["k1", "k2", "k3", "nokey"])
        db = pick(r, ["0", "1", "2", "15", "16", "-1", "x"])
        pat = pick(r, ["*", "k*", "k[12]", "k?", "k[^1]*", "\\k1", "*1", "[a-z]2", "nomatch*", "k[1-2]"])
        typ = pick(r, ["string", "list", "set", "zset", "hash", "stream", "nosuch", "STRING"])
        when = pick(r, ["1", "1000", "4000000000", "-1", "0", "x", "9223372036854775807", "4000000000000"])
        fl = pick(r, ["NX", "XX", "GT", "LT"])
        # GT/LT compare with the current TTL: a relative time given twice would tie or not
        # depending on the millisecond each server ran it in, so relative times are distinct.
        rel = str(r.randrange(1, 1000000))
        return pick(r, [["SET", k, v], ["RPUSH", k, v], ["SADD", k, m], ["DEL", k, k2], ["EXISTS", k, k2], ["TYPE", k],
                        ["RENAME", k, k2], ["RENAMENX", k, k2], ["COPY", k, k2], ["COPY", k, k2, "REPLACE"], ["EXPIRE", k, "100"],
                        ["EXPIRE", k, rel, fl], ["PERSIST", k], ["TTL", k], ["PEXPIRE", k, pick(r, ["-1", "0", "100000", "x"])],
                        ["EXPIRETIME", k], ["UNLINK", k], ["TOUCH", k, k2], ["OBJECT", "ENCODING", k], ["@sort", "KEYS", "*"],
                        ["DBSIZE"], ["@sort", "SCAN", "0", "COUNT", "100"], ["MOVE", k, "1"], ["EXPIRE", k, pick(r, ["-1", "0", "1000", "x", "99999999999999999"])], ["SETEX", k, "100", v],
                        ["HSET", k, f, v], ["ZADD", k, sc, m], ["XADD", k, "1-1", "f", v], ["SET", k, pick(r, ["1", "12345", "x" * 50])],
                        ["COPY", k, k2, "DB", db], ["COPY", k, k2, "DB", db, "REPLACE"], ["COPY", k, k, "DB", pick(r, ["0", "1"])], ["COPY", k, k],
                        ["COPY", k, k2, "FOO"], ["COPY", k, k2, "DB"], ["MOVE", k, db], ["SWAPDB", pick(r, ["0", "1", "2"]), pick(r, ["0", "1", "x", "16"])],
                        ["SELECT", pick(r, ["0", "0", "0", "1", "2"])], ["RENAME", k, k], ["RENAMENX", k, k], ["RENAME", kk, k2], ["RENAMENX", kk, k2],
                        ["EXPIRE", k, pick(r, [rel, rel, "0", "-5"]), fl, pick(r, ["NX", "XX", "GT", "LT", "FOO"])],
                        ["PEXPIRE", k, rel + "000", fl], ["EXPIREAT", k, when], ["PEXPIREAT", k, when], ["EXPIREAT", k, when, fl],
                        ["PEXPIREAT", k, when, fl], ["EXPIRE", k, "9223372036854775807"], ["PEXPIRE", k, "9223372036854775807"],
                        ["EXPIREAT", k, "9223372036854775807"], ["PEXPIREAT", k, "9223372036854775807"], ["EXPIRE", k, "-9223372036854775808"],
                        ["EXPIRE", k, "9223372036854775"], ["PERSIST", kk],
                        ["OBJECT", "FREQ", kk], ["OBJECT", "IDLETIME", "nokey"], ["OBJECT", "REFCOUNT", kk], ["SET", k, pick(r, ["1", "9999", "10000", "-1"])], ["OBJECT", "ENCODING", kk],
                        ["OBJECT", "FOO", k], ["OBJECT", "ENCODING"], ["@sort", "SCAN", "0", "MATCH", pat, "COUNT", "100"],
                        ["@sort", "SCAN", "0", "TYPE", typ, "COUNT", "100"], ["@sort", "SCAN", "0", "MATCH", pat, "TYPE", typ, "COUNT", "1000"],
                        ["SCAN", "x"], ["SCAN", "0", "COUNT", pick(r, ["0", "-1", "x"])], ["SCAN", "0", "FOO"], ["SCAN", "0", "MATCH"],
                        ["@sort", "KEYS", pat], ["@skip", "RANDOMKEY"], ["DBSIZE"], ["TYPE", kk], ["EXISTS", k, k, kk], ["DEL", k, k, kk],
                        ["TOUCH", kk], ["UNLINK", k, k2, kk], ["GET", k], ["LRANGE", k, "0", "-1"], ["@sort", "SMEMBERS", k],
                        ["SWAPDB", "0", "1"], ["SET", k, v, "EX", "1000"],
                        ["RESTORE", pick(r, ["r", "r", k]), pick(r, ["0", "0", "100000", "-1", "x", "4000000000000"]), pick(r, PAYLOADS)] + pick(r, [[], ["REPLACE"], ["REPLACE", "ABSTTL"],
                        ["ABSTTL"], ["IDLETIME", pick(r, ["10", "-1", "x"])], ["FREQ", pick(r, ["5", "256", "-1"])], ["REPLACE", "FOO"], ["IDLETIME"]]),
                        ["DUMP", "r"], ["TYPE", "r"], ["TTL", "r"], ["RENAME", "r", k], ["COPY", "r", k, "REPLACE"], ["COPY", k, "r", "REPLACE"],
                        ["DUMP", "nokey"], ["OBJECT", "ENCODING", "r"], ["DEL", "r"]])
    if fam == "lists":
        big = pick(r, ["9223372036854775807", "-9223372036854775808", "4294967296", "-4294967296", "100000", "-100000"])
        ix = pick(r, [n, n2, big, "-1", "0", "3", "-5"])
        side = pick(r, ["LEFT", "RIGHT"])
        to = pick(r, ["0.01", "0.01", "-1", "x", "0.001"])
        opt = pick(r, [["RANK", ix], ["COUNT", n2], ["MAXLEN", n2], ["RANK", pick(r, ["0", "-1", "-2", "2", "-9223372036854775808"])],
                       ["COUNT", pick(r, ["0", "-1", "x"])], ["MAXLEN", pick(r, ["0", "-1", "1"])], ["FOO"], ["RANK"]])
        return pick(r, [["LPUSH", k, v, m], ["RPUSH", k, m], ["LPOP", k], ["RPOP", k, n2], ["LRANGE", k, n, n2], ["LINDEX", k, n],
                        ["LSET", k, n, v], ["LREM", k, n, m], ["LTRIM", k, n, n2], ["LINSERT", k, pick(r, ["BEFORE", "AFTER"]), m, v],
                        ["LPOS", k, m], ["LPOS", k, m, "RANK", n, "COUNT", n2], ["LPOS", k, m, "MAXLEN", n2], ["LLEN", k],
                        ["LMOVE", k, k2, side, pick(r, ["LEFT", "RIGHT"])], ["RPOPLPUSH", k, k2],
                        ["LMPOP", "2", k, k2, side, "COUNT", n2], ["LPUSHX", k, v], ["RPUSHX", k, v],
                        ["BLPOP", k, k2, "0.01"], ["OBJECT", "ENCODING", k],
                        ["RPUSH", k, m, m, v, m], ["LPUSH", k, "x" * 70], ["LPUSHX", k, v, m], ["RPUSHX", "nokey", v],
                        ["LPOP", k, pick(r, ["0", "-1", "1", "3", "100", "x", big])], ["RPOP", k, pick(r, ["0", "-1", "x", big])],
                        ["LPOP", "nokey", "0"], ["RPOP", "nokey", "2"], ["LRANGE", k, ix, ix], ["LRANGE", k, "0", big], ["LINDEX", k, ix],
                        ["LSET", k, ix, v], ["LSET", "nokey", "0", v], ["LREM", k, pick(r, ["0", "-1", "2", "-2", big]), m], ["LTRIM", k, ix, ix],
                        ["LINSERT", k, pick(r, ["BEFORE", "AFTER", "after", "MIDDLE"]), m, v], ["LINSERT", "nokey", "BEFORE", m, v],
                        ["LPOS", k, m] + opt, ["LPOS", k, m] + opt + opt, ["LPOS", k, m] + opt + opt + opt, ["LPOS", "nokey", m] + opt,
                        ["LMOVE", k, k, side, side], ["LMOVE", k, k2, side, "UP"], ["RPOPLPUSH", k, k],
                        ["LMPOP", pick(r, ["1", "2", "3", "0", "-1", "x"]), k, k2, side], ["LMPOP", "1", k, side, "COUNT", pick(r, ["0", "-1", "1", "100", big])],
                        ["LMPOP", "2", k, k2, "MIDDLE"], ["LMPOP", "1", k, side, "COUNT", "1", "COUNT", "2"], ["LMPOP", "1", k],
                        ["BLMPOP", to, "2", k, k2, side, "COUNT", n2], ["BLMPOP", to, "1", k, side], ["BLMPOP", "0.01", "0", k, side],
                        ["BRPOP", k, to], ["BLPOP", k, "nokey", to], ["BLMOVE", k, k2, side, side, to], ["BRPOPLPUSH", k, k2, to],
                        ["SET", k, v], ["DEL", k], ["LRANGE", k, "0", "-1"], ["LLEN", "nokey"], ["LINDEX", "nokey", "0"], ["OBJECT", "ENCODING", k],
                        ["RPUSH", k, "1", "2", "3", "4", "5"], ["LREM", k, "0", m], ["LTRIM", k, "1", "0"],
                        # DUMP cuts a list into nodes as RPUSH would (a known limit, see rdb/encode.rs): only
                        # 'rl', which sees tail pushes and pops alone, is dumped.
                        ["RPUSH", "rl"] + [pick(r, [m, v, "y" * 3000, "z" * 50]) for _ in range(r.randrange(1, 8))], ["RPOP", "rl", n2], ["DUMP", "rl"], ["DUMP", "rl"],
                        ["RPUSH", k] + [pick(r, [m, v, "y" * 3000, "z" * 50]) for _ in range(r.randrange(1, 30))], ["LPUSH", k, "y" * 3000, "z" * 50],
                        ["LINSERT", k, "AFTER", m, "y" * 3000], ["LSET", k, n2, pick(r, ["y" * 3000, "z" * 50, "q"])],
                        ["CONFIG", "SET", "list-max-listpack-size", pick(r, ["-1", "-2", "1", "2", "3", "4", "8"])],
                        ["CONFIG", "SET", "list-compress-depth", pick(r, ["0", "1", "2"])], ["LRANGE", k, "0", "-1"]])
    if fam == "hashes":
        hv = pick(r, ["1", "-5", "a", "", "10.5", "9223372036854775807", "1e3", "abc", "x" * 30])
        fl = pick(r, ["0", "1.1", "0.1", "-0.1", "1e17", "5e-324", "1e-310", "-0", "x", "", "nan", "inf", "1e308", "-1e308",
                      "3.0e3", "17179869184", "0x10", " 1"])
        hf = pick(r, ["f1", "f2", "f3"])
        # Big negative counts ask for that many replies: only where Redis refuses them.
        hr = pick(r, ["0", "1", "-1", "-5", "5", "100", "-100", "x", "-9223372036854775808", "9223372036854775807"])
        hc = pick(r, ["0", "1", "-1", "-5", "5", "100", "-100", "x", "-9223372036854775808", "9223372036854775807", "-9223372036854775807"])
        return pick(r, [["HSET", k, f, v], ["HSET", k, f, v, m, v], ["HSETNX", k, f, v], ["HGET", k, f], ["HMGET", k, f, m], ["HDEL", k, f, m],
                        ["HLEN", k], ["HSTRLEN", k, f], ["HEXISTS", k, f], ["HINCRBY", k, f, n], ["HINCRBYFLOAT", k, f, sc],
                        ["@sort", "HKEYS", k], ["@sort", "HVALS", k], ["@sort", "HGETALL", k], ["@skip", "HRANDFIELD", k, n2],
                        ["@sort", "HRANDFIELD", k, "100"], ["HMSET", k, f, v], ["OBJECT", "ENCODING", k], ["@sort", "HSCAN", k, "0", "COUNT", "100"],
                        ["HSET", "hs", hf, hv], ["HSET", "hs", hf, hv, hf, hv], ["HDEL", "hs", hf], ["HKEYS", "hs"], ["HVALS", "hs"], ["HGETALL", "hs"],
                        ["HRANDFIELD", "hs", pick(r, ["100", "4", "5"])], ["HRANDFIELD", "hs", "100", "WITHVALUES"], ["HSCAN", "hs", "0"],
                        ["HSCAN", "hs", "0", "MATCH", pick(r, ["f*", "*1", "m?", "[fm]2"])], ["HINCRBY", "hs", hf, hc], ["HINCRBYFLOAT", "hs", hf, fl if "308" not in fl else "1"],
                        ["HSET", "one", "f1", hv], ["HDEL", "one", "f1"], ["HRANDFIELD", "one", hr], ["HRANDFIELD", "one", hr, "WITHVALUES"],
                        ["HRANDFIELD", "one"], ["HRANDFIELD", k, "0"], ["HRANDFIELD", k, "0", "WITHVALUES"], ["HRANDFIELD", "nokey"],
                        ["HRANDFIELD", "nokey", hr, "WITHVALUES"], ["HRANDFIELD", k, hr, "FOO"], ["HRANDFIELD", "one", "-9223372036854775807", "WITHVALUES"], ["HRANDFIELD", k, "-9223372036854775808", "WITHVALUES"],
                        ["HRANDFIELD", k, "-4611686018427387904", "WITHVALUES"], ["HINCRBY", k, f, hc], ["HINCRBYFLOAT", k, f, fl],
                        ["HINCRBYFLOAT", k, f, fl], ["HSET", k, f, hv], ["HSET", k, f], ["HMSET", k, f, v, m], ["HSETNX", k, f, hv],
                        ["HSTRLEN", k, "nofield"], ["HGET", "nokey", f], ["HMGET", "nokey", f, f], ["HDEL", k, f, f, "f1", "f2", "f3", "f4"],
                        ["@sort", "HSCAN", k, "0", "MATCH", "f*", "COUNT", "100"], ["HSCAN", k, "x"], ["HSCAN", k, "0", "COUNT", "0"],
                        ["HSCAN", "nokey", "0"], ["HSET", k, "x" * 70, v], ["SET", k, v], ["DEL", k], ["HLEN", "nokey"], ["HEXISTS", "nokey", f],
                        ["DUMP", "hs"], ["DUMP", "one"], ["HSET", k] + [pick(r, ["f1", "f2", "f3", "f4", "f5", "f6", "f7", "m1", "m2", v, m]) if i % 2 == 0 else hv for i in range(2 * r.randrange(1, 10))],
                        ["CONFIG", "SET", "hash-max-listpack-entries", pick(r, ["3", "4", "8"])], ["CONFIG", "SET", "hash-max-listpack-value", pick(r, ["32", "64"])],
                        ["OBJECT", "ENCODING", "hs"], ["@sort", "HGETALL", k]])
    if fam == "sets":
        # 'is' holds at most 4 integers: always an intset (its limit stays >= 4), exact order.
        iv = pick(r, ["1", "2"])
        sc2 = pick(r, ["0", "1", "2", "3", "-1", "-5", "100", "x", "-9223372036854775808", "9223372036854775807", "-0"])
        big = pick(r, ["100", "1000"])
        return pick(r, [["SADD", k, m, v], ["SREM", k, m], ["SCARD", k], ["SISMEMBER", k, m], ["SMISMEMBER", k, m, v], ["@sort", "SMEMBERS", k],
                        ["@skip", "SRANDMEMBER", k, n], ["SMOVE", k, k2, m], ["@sort", "SINTER", k, k2],
                        ["@sort", "SUNION", k, k2], ["@sort", "SDIFF", k, k2], ["SINTERCARD", "2", k, k2, "LIMIT", n2],
                        ["SINTERSTORE", k, k, k2], ["SUNIONSTORE", k2, k, k2], ["SDIFFSTORE", k, k2, k], ["OBJECT", "ENCODING", k],
                        ["@sort", "SRANDMEMBER", k, "-0"], ["@sort", "SPOP", k, "100"],
                        ["SADD", k, m, m, "x" * 70], ["SADD", k, pick(r, ["1", "2", "3", "100", "-1", "9223372036854775807", "-0", "01"])],
                        ["SREM", k, m, v, m], ["SMOVE", k, k, m], ["SMOVE", k, "dst", m], ["SMOVE", "nokey", k, m], ["SMISMEMBER", "nokey", m],
                        ["SINTERCARD", pick(r, ["1", "2", "3", "0", "-1", "x"]), k, k2], ["SINTERCARD", "2", k, k2, "LIMIT", sc2],
                        ["SINTERCARD", "1", k, "LIMIT"], ["SINTERCARD", "1", k, "FOO", "1"], ["SINTERCARD", "2", k, "nokey"],
                        ["@sort", "SINTER", k, k2, "k3"], ["@sort", "SUNION", k, "nokey"], ["@sort", "SDIFF", k, k2, "k3"], ["SDIFF", "nokey", k],
                        ["SINTERSTORE", "dst", k, k2], ["SUNIONSTORE", "dst", k, "nokey"], ["SDIFFSTORE", "dst", k, k2, "k3"], ["SINTERSTORE", k, "nokey"],
                        ["@sort", "SMEMBERS", "dst"], ["OBJECT", "ENCODING", "dst"], ["TYPE", "dst"],
                        ["@sort", "SPOP", k, big], ["@sort", "SRANDMEMBER", k, big], ["SPOP", k, "0"], ["SPOP", k, pick(r, ["-1", "x", "-0"])],
                        ["SRANDMEMBER", k, "0"], ["SPOP", "nokey"], ["SPOP", "nokey", "3"], ["SRANDMEMBER", "nokey"], ["SRANDMEMBER", "nokey", "-3"],
                        ["SRANDMEMBER", k, "-9223372036854775808"],
                        ["SADD", "is", iv], ["SREM", "is", iv], ["SMEMBERS", "is"], ["SPOP", "is", big], ["SRANDMEMBER", "is", big],
                        ["OBJECT", "ENCODING", "is"], ["SADD", "one", "m1"], ["SRANDMEMBER", "one", sc2], ["SPOP", "one", pick(r, ["1", "5"])],
                        ["SRANDMEMBER", "one"], ["SPOP", "one"], ["SINTER", "is", "one"], ["SUNION", "is", "is"], ["SINTERCARD", "2", "is", k],
                        ["SET", k, v], ["DEL", k], ["SCARD", "nokey"], ["SISMEMBER", "nokey", m], ["@sort", "SSCAN", k, "0", "COUNT", "100"],
                        ["SSCAN", "is", "0"], ["SSCAN", "is", "0", "MATCH", "1*"], ["@sort", "SSCAN", k, "0", "MATCH", "m*", "COUNT", "100"],
                        ["DUMP", "is"], ["DUMP", "one"], ["SADD", k] + [pick(r, [str(r.randrange(-5, 30)), m, v, "9223372036854775807"]) for _ in range(r.randrange(1, 20))],
                        ["SADD", "is", pick(r, ["-2147483649", "40000"])], ["SREM", "is", "-2147483649", "40000"],
                        ["CONFIG", "SET", "set-max-intset-entries", pick(r, ["4", "8", "512"])], ["@sort", "SMEMBERS", k]])
    if fam == "zsets":
        zs = pick(r, [sc, sc, "1e-310", "-0", "0.30000000000000004", "1.2345678901234567", "123456789012345678", "3.0000000000000004",
                      "1e17", "-1e-5", "2.5e+10", "0x10", " 1", "1.", ".5", "1e400", "-1e400", "4.9e-324"])
        lx = pick(r, ["-", "+", "[m1", "(m1", "[m", "(2", "[3", "m2", "", "[", "(", "[100", "(-"])
        lm = pick(r, ["a", "b", "c", "m1", "m2", "3", "100", "", "[x", "m", "-", "+"])
        lo = pick(r, [sc, "(" + n2, "-inf", "+inf", "(1.5", "((1", "(inf", "(-inf", "1e-310", "-0", "(-0"])
        hi = pick(r, [sc, "(" + n2, "-inf", "+inf", "(3", "inf", "(nan"])
        lim = pick(r, [[], [], ["LIMIT", pick(r, ["0", "1", "-1", "2", "100"]), pick(r, ["-1", "0", "1", "2", "-5", "100"])], ["LIMIT", "0"], ["LIMIT", "x", "1"]])
        ws = pick(r, [[], [], ["WITHSCORES"]])
        wt = pick(r, ["1", "2", "0", "-1", "inf", "-inf", "0.5", "x", "nan", "1e308"])
        agg = pick(r, [[], ["AGGREGATE", pick(r, ["SUM", "MIN", "MAX", "min", "AVG"])]])
        wts = pick(r, [[], ["WEIGHTS", wt, wt], ["WEIGHTS", wt], ["WEIGHTS", wt, wt, wt]])
        nk = pick(r, ["2", "2", "1", "3", "0", "-1", "x"])
        src = pick(r, [[k, k2], [k, k2], [k, "s1"], ["s1", k]])
        rng = pick(r, [[n, n2], [lo, hi, "BYSCORE"], [n, n2, "REV"], [hi, lo, "BYSCORE", "REV"]])
        # Lex ranges are unspecified when scores differ: only the all-zero key 'lx' gets them.
        lrng = pick(r, [[lx, lx, "BYLEX"], [lx, lx, "BYLEX", "REV"]])
        return pick(r, [["ZADD", k, sc, m], ["ZADD", k, pick(r, ["NX", "XX", "GT", "LT", "CH", "INCR"]), sc, m], ["ZINCRBY", k, sc, m],
                        ["ZREM", k, m], ["ZCARD", k], ["ZSCORE", k, m], ["ZRANK", k, m], ["ZRANGE", k, n, n2, "WITHSCORES"],
                        ["ZRANGE", k, "(" + n2, sc, "BYSCORE"], ["ZRANGEBYLEX", "lx", "-", "+"], ["ZCOUNT", k, sc, "+inf"],
                        ["ZPOPMIN", k, n2], ["ZPOPMAX", k], ["ZREMRANGEBYRANK", k, n, n2], ["ZUNIONSTORE", k2, "2", k, k2],
                        ["ZINTER", "2", k, k2, "WITHSCORES"], ["ZDIFF", "2", k, k2], ["ZMSCORE", k, m, v], ["ZLEXCOUNT", "lx", "-", "+"],
                        ["ZADD", k, zs, m, zs, pick(r, ["m1", "m2", "m3", "a", "b"])], ["ZADD", k, zs, m, zs], ["ZADD", k, zs, "x" * 70],
                        ["ZADD", k, "0", "a", "0", "b", "0", "c", "0", "m1"], ["ZADD", k] + pick(r, [["NX"], ["XX"], ["GT"], ["LT"], ["CH"], ["INCR"]]) +
                        pick(r, [[], ["NX"], ["XX"], ["GT"], ["LT"], ["CH"], ["INCR"]]) + [zs, m] + pick(r, [[], [zs, "m2"]]),
                        ["ZADD", k], ["ZADD", k, "INCR", zs, m], ["ZADD", k, "GT", "CH", zs, m, zs, "m3"], ["ZINCRBY", k, zs, m],
                        ["ZRANGE", k] + rng + ws + lim, ["ZRANGE", k] + rng + ws + lim, ["ZRANGE", k, lo, hi, "BYSCORE", "BYLEX"],
                        ["ZRANGESTORE", "dst", k] + rng + lim, ["ZRANGESTORE", "dst", k] + rng + ws, ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
                        ["ZRANGEBYSCORE", k, lo, hi] + ws + lim, ["ZREVRANGEBYSCORE", k, hi, lo] + ws + lim, ["ZRANGEBYLEX", "lx", lx, lx] + lim,
                        ["ZREVRANGEBYLEX", "lx", lx, lx] + lim, ["ZREVRANGE", k, n, n2] + ws, ["ZRANGEBYSCORE", k, lo, hi, "LIMIT", "0"],
                        ["ZREMRANGEBYSCORE", k, lo, hi], ["ZREMRANGEBYLEX", "lx", lx, lx], ["ZREMRANGEBYRANK", k, n, n2], ["ZCOUNT", k, lo, hi],
                        ["ZLEXCOUNT", "lx", lx, lx], ["ZREVRANK", k, m], ["ZRANK", k, m, "WITHSCORE"], ["ZSCORE", "nokey", m],
                        ["ZUNION", nk] + src + wts + agg + ws, ["ZINTER", nk] + src + wts + agg + ws, ["ZDIFF", nk] + src + ws,
                        ["ZUNIONSTORE", "dst", nk] + src + wts + agg, ["ZINTERSTORE", "dst", nk] + src + wts + agg, ["ZDIFFSTORE", "dst", nk] + src,
                        ["ZUNION", "2", k, k2, "WEIGHTS", "inf", "0", "WITHSCORES"], ["ZINTER", "2", k, k2, "WEIGHTS", "0", "-inf", "WITHSCORES"],
                        ["ZUNION", "2", k, k2, "AGGREGATE", "MIN", "AGGREGATE", "MAX", "WITHSCORES"], ["ZDIFF", "2", k, k2, "WEIGHTS", "1", "1"],
                        ["ZINTERCARD", nk] + src, ["ZINTERCARD", "2", k, k2, "LIMIT", pick(r, ["0", "1", "-1", "x", "100"])], ["ZINTERCARD", "1", k, "FOO"],
                        ["ZMPOP", nk] + src + [pick(r, ["MIN", "MAX", "min", "MID"])], ["ZMPOP", "2", k, k2, pick(r, ["MIN", "MAX"]), "COUNT", pick(r, ["0", "1", "-1", "3", "100", "x"])],
                        ["BZMPOP", "0.01", "2", k, k2, pick(r, ["MIN", "MAX"]), "COUNT", n2], ["BZPOPMIN", k, "0.01"], ["BZPOPMAX", k, k2, "0.01"],
                        ["BZMPOP", pick(r, ["-1", "x"]), "1", k, "MIN"], ["ZPOPMIN", k, pick(r, ["0", "-1", "1", "100", "x"])], ["ZPOPMAX", k, pick(r, ["0", "-1", "3"])],
                        ["ZRANDMEMBER", k, "100"], ["ZRANDMEMBER", k, "100", "WITHSCORES"], ["ZRANDMEMBER", k, "0"],
                        ["ZRANDMEMBER", "nokey"], ["ZRANDMEMBER", "nokey", "-5", "WITHSCORES"], ["ZRANDMEMBER", k, "-9223372036854775808"],
                        ["ZRANDMEMBER", k, "-4611686018427387904", "WITHSCORES"], ["ZADD", "one", zs, "m1"], ["ZRANDMEMBER", "one", pick(r, ["-3", "-1", "1", "3"]), "WITHSCORES"],
                        ["ZRANDMEMBER", "one"], ["ZMSCORE", "nokey", m], ["ZMSCORE", k, m, m], ["@sort", "ZSCAN", k, "0", "COUNT", "1000"], ["@sort", "ZSCAN", k, "0", "MATCH", "m*", "COUNT", "1000"], ["ZSCAN", "one", "0"],
                        ["SADD", "s1", m, v], ["SADD", "s1", "x" * 70], ["SREM", "s1", m], ["SET", k, v], ["DEL", k], ["OBJECT", "ENCODING", k],
                        ["ZRANGE", k, "0", "-1", "WITHSCORES"], ["ZRANGE", "lx", "0", "-1", "BYLEX"], ["ZRANGE", "lx"] + lrng + ws + lim, ["ZRANGESTORE", "dst", "lx"] + lrng + lim,
                        ["ZADD", "lx", "0", lm], ["ZADD", "lx", "0", lm, "0", lm], ["ZADD", "lx", "0", "x" * 70], ["ZREM", "lx", lm], ["ZPOPMIN", "lx"],
                        ["ZRANGE", "lx", "0", "-1"], ["OBJECT", "ENCODING", "lx"], ["ZADD", "lx", "NX", "0", lm], ["ZREMRANGEBYLEX", "lx", lx, lx], ["ZRANGE", k, "0", "-1", "LIMIT", "0", "1"],
                        ["ZRANGE", k, "0", "-1", "FOO"], ["ZCARD", "nokey"], ["ZREM", k, m, m, "a"], ["ZRANGEBYSCORE", k, "-inf", "+inf", "WITHSCORES"],
                        ["DUMP", k], ["DUMP", "lx"], ["DUMP", "one"], ["DUMP", "dst"],
                        ["ZADD", k] + [x for _ in range(r.randrange(1, 12)) for x in (pick(r, [sc, zs, "0", "1"]), pick(r, [m, "a", "b", "c", "d", "e", "f", "x" * 20]))],
                        ["ZADD", "lx"] + [x for _ in range(r.randrange(1, 12)) for x in ("0", pick(r, ["a", "b", "c", "d", "e", "f", "g", "m1", "m2", "m3", "aa", "ab"]))],
                        ["CONFIG", "SET", "zset-max-listpack-entries", pick(r, ["1", "2", "4", "128"])], ["CONFIG", "SET", "zset-max-listpack-value", pick(r, ["8", "64"])]])
    if fam == "sort":
        sk = pick(r, ["l", "s", "z", "ln", "sn", "zn", "nokey", "str", "h_a"])
        # Elements that name keys ('w_1', 'l', 'h_a'...) make BY * and GET * read keys of every type.
        el = pick(r, ["1", "2", "10", "-3", "3.5", "a", "b", "abc", "1e5", " 1", "nan", "inf", "-inf", "0x10", "", "B", "a1", "10.0",
                      "w_1", "h_1", "l", "str", "z"])
        num = pick(r, ["1", "2", "10", "-3", "3.5", "1e5", "-inf", "007", "0", "100", "2.0", "-0"])
        by = pick(r, ["w_*", "h_*->f", "nosort", "w_*->", "h_*->", "x_*", "nomatch", "*", "w_", "*->f", "h_*->g", "w_*_x"])
        get = pick(r, ["#", "w_*", "h_*->f", "h_*->g", "x_*", "nomatch", "*", "h_*->", "#x", "*->f", "**", "w_*", "h_*->f->g"])
        opts = []
        for _ in range(r.randrange(4)):
            opts += pick(r, [["BY", by], ["GET", get], ["GET", get], ["LIMIT", pick(r, ["0", "1", "-1", "2", "100"]), pick(r, ["-1", "0", "1", "2", "3", "100"])],
                             ["ASC"], ["DESC"], ["ALPHA"], ["ALPHA"], ["LIMIT", "x", "1"], ["BY"], ["FOO"]])
        w = pick(r, ["w_1", "w_2", "w_10", "w_a", "w_b", "w_3.5", "w_-3", "w_abc"])
        h = pick(r, ["h_1", "h_2", "h_10", "h_a", "h_b", "h_3.5", "h_-3", "h_abc"])
        wv = pick(r, ["1", "2", "5", "-1", "0", "3.5", "x", "", "10", "1e3", "nan"])
        dst = pick(r, ["dst", "l", "s"])
        cmd = pick(r, [["RPUSH", "l", el], ["RPUSH", "l", el, el], ["LPUSH", "ln", num], ["RPUSH", "ln", num, num], ["SADD", "s", el, el],
                        ["SADD", "sn", num], ["SADD", "sn", num, num], ["ZADD", "z", num, el], ["ZADD", "zn", num, num], ["ZADD", "z", "1", el, "1", el],
                        ["SET", w, wv], ["SET", w, wv], ["HSET", h, "f", wv], ["HSET", h, "g", wv], ["SET", "str", el], ["HSET", "h_a", "f", "1"],
                        ["SORT", sk] + opts, ["SORT", sk] + opts, ["SORT", sk] + opts, ["SORT_RO", sk] + opts, ["SORT_RO", sk] + opts,
                        ["SORT", sk] + opts + ["STORE", dst], ["SORT", sk, "STORE", dst] + opts, ["SORT_RO", sk, "STORE", dst],
                        ["SORT", sk, "BY", "nosort"] + opts, ["SORT", sk, "BY", "nosort", "STORE", dst] + opts, ["SORT", sk, "ALPHA"] + opts,
                        ["SORT", sk, "BY", by, "GET", "#", "GET", get], ["SORT", sk, "LIMIT", "0", "2", "ALPHA", "DESC", "GET", get],
                        ["LRANGE", "dst", "0", "-1"], ["TYPE", "dst"], ["LRANGE", "l", "0", "-1"], ["DEL", sk], ["DEL", "dst"],
                        ["LREM", "l", "1", el], ["SREM", "s", el], ["ZREM", "z", el], ["LPOP", "ln"], ["SREM", "sn", num], ["EXISTS", "dst"]])
        if cmd[0].startswith("SORT") and cmd[1] in ("s", "sn", "z", "zn"):
            # Sets and sorted sets are read in hash-table order: unsorted output of a set
            # (a BY without '*'), and ALPHA ties of BY weights (no tie-break by element), keep it.
            bys = [cmd[i + 1] for i in range(2, len(cmd) - 1) if cmd[i] == "BY"]
            nosort = any("*" not in b for b in bys) and cmd[1] in ("s", "sn")
            if "STORE" in cmd and not nosort and bys and "ALPHA" in cmd:
                i = cmd.index("STORE")
                cmd = cmd[:i] + cmd[i + 2:]
            if "STORE" not in cmd and (nosort or (bys and "ALPHA" in cmd)):
                return ["@skip" if "LIMIT" in cmd else "@sort"] + cmd
        return cmd
    if fam == "bitmaps":
        off = pick(r, ["0", "1", "7", "8", "15", "31", "63", "64", "100", "1000", "80000", "-1", "4294967295", "4294967296", "x", "1.5", ""])
        soff = pick(r, ["0", "1", "7", "8", "9", "15", "23", "31", "63", "64", "100", "1000", "80000"])
        bit = pick(r, ["0", "1", "0", "1", "2", "-1", "x"])
        lo = pick(r, ["0", "1", "2", "-1", "-2", "-3", "-100", "5", "10", "100", "x", "9223372036854775807", "-9223372036854775808"])
        hi = pick(r, ["0", "1", "-1", "-2", "3", "7", "8", "15", "-5", "100", "-100", "9223372036854775807"])
        unit = pick(r, ["BIT", "BYTE", "bit", "byte", "NOPE"])
        bv = pick(r, ["", "a", "\x00", "\xff", "\xff\xff\xff", "\x00\x00\x01", "\xf0\x0f", "foobar", "\x80", "\x01\x02\x03\x04\x05\x06\x07\x08\x09",
                      "\xff" * 9, "\x00" * 9 + "\x10", "1", "12345", v])
        ty = pick(r, ["i1", "i2", "i5", "i7", "i8", "i15", "i16", "i31", "i32", "i33", "i63", "i64", "u1", "u2", "u3", "u7", "u8", "u15", "u16",
                      "u31", "u32", "u33", "u62", "u63", "u64", "i65", "i0", "u0", "x8", "I8", "U8", "8", "i", "u"])
        fo = pick(r, ["0", "1", "3", "7", "8", "13", "64", "100", "#0", "#1", "#2", "#7", "-1", "#-1", "x", "#x", "4294967295", "4294967296", "#536870912"])
        fv = pick(r, ["0", "1", "-1", "2", "127", "128", "-128", "-129", "255", "256", "65535", "-32768", "2147483647", "-2147483648", "4294967295",
                      "9223372036854775807", "-9223372036854775808", "18446744073709551615", "x", "1.5", "100"])
        ov = pick(r, ["WRAP", "SAT", "FAIL", "wrap", "fail", "sat", "NOPE"])

        def sub():
            return pick(r, [["GET", ty, fo], ["SET", ty, fo, fv], ["INCRBY", ty, fo, fv], ["OVERFLOW", ov], ["GET", ty], ["NOPE"],
                            ["INCRBY", pick(r, ["u8", "i8", "u2", "i64", "u63", "i3"]), pick(r, ["0", "#1", "5"]), pick(r, ["1", "-1", "100", "-100", "300"])]])
        bf = ["BITFIELD", k]
        for _ in range(r.randrange(0, 4)):
            bf += sub()
        return pick(r, [["SETBIT", k, off, bit], ["SETBIT", k, soff, pick(r, ["0", "1"])], ["SETBIT", k, soff, "1"], ["GETBIT", k, off], ["GETBIT", k, soff],
                        ["BITCOUNT", k], ["BITCOUNT", k, lo, hi], ["BITCOUNT", k, lo, hi, unit], ["BITCOUNT", k, lo], ["BITCOUNT", k, lo, hi, "BIT", "x"],
                        ["BITPOS", k, bit], ["BITPOS", k, bit, lo], ["BITPOS", k, bit, lo, hi], ["BITPOS", k, bit, lo, hi, unit],
                        ["BITPOS", k, "0", lo, hi, "BIT"], ["BITPOS", k, "0"], ["BITPOS", k, "0", lo], ["BITPOS", k, "1", lo, hi, "BYTE"],
                        ["BITOP", pick(r, ["AND", "OR", "XOR", "and", "xor"]), k, k, k2], ["BITOP", pick(r, ["AND", "OR", "XOR"]), k, k2, "nokey"],
                        ["BITOP", pick(r, ["AND", "OR", "XOR"]), k, "nokey"], ["BITOP", "NOT", k, k2], ["BITOP", "NOT", k, k, k2],
                        ["BITOP", "NOPE", k, k2], ["BITOP", "AND", k], ["SET", k, bv], ["APPEND", k, bv], ["GET", k], ["STRLEN", k], ["DEL", k],
                        ["RPUSH", k, "x"], ["SETRANGE", k, pick(r, ["0", "3", "10"]), bv], ["INCR", k], ["OBJECT", "ENCODING", k],
                        bf, bf, bf, ["BITFIELD_RO", k, "GET", ty, fo], ["BITFIELD_RO", k, "GET", ty, fo, "GET", "u8", "0"],
                        ["BITFIELD_RO", k, "SET", "u8", "0", "1"], ["BITFIELD_RO", k, "OVERFLOW", "WRAP"], ["BITFIELD_RO", k], ["BITFIELD", k],
                        ["BITFIELD", k, "OVERFLOW", ov, pick(r, ["INCRBY", "SET"]), ty, fo, fv], ["BITFIELD", k, "GET", "u8"],
                        ["BITFIELD", k, "OVERFLOW", "FAIL", "INCRBY", "u2", "#0", pick(r, ["1", "3", "-1"]), "OVERFLOW", "SAT", "INCRBY", "i3", "#1", "100"]])
    if fam == "hll":
        ks = pick(r, ["k1", "k2", "k3", "h1", "h2"])
        if ks[0] == "h":
            k = ks
        many = ["e%d" % r.randrange(0, pick(r, [50, 500, 5000, 100000])) for _ in range(r.randrange(1, pick(r, [3, 50, 400])))]
        bad = pick(r, ["HYLL", "HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
                       "HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", "HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + "\x00" * 100,
                       "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff", "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff\x7f\xff",
                       "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x5f\xff\x80", "HYLX\x01\x00\x00\x00", "abc", "", v])
        hk, hk2 = pick(r, ["h1", "h2", "h3"]), pick(r, ["h1", "h2", "h3"])
        if r.random() < 0.8:
            return pick(r, [["PFADD", hk, m, v], ["PFADD", hk] + many, ["PFADD", hk] + many, ["PFADD", hk] + many, ["PFADD", hk], ["PFCOUNT", hk],
                            ["PFCOUNT", hk, hk2], ["PFCOUNT", "h1", "h2", "h3"], ["PFCOUNT", "nokey"], ["PFMERGE", hk, hk2], ["PFMERGE", hk, "h1", "h2"],
                            ["PFMERGE", hk], ["PFMERGE", hk, "nokey"], ["PFMERGE", "h4", hk, hk2], ["GET", hk], ["GET", hk], ["GET", "h4"], ["STRLEN", hk],
                            ["PFDEBUG", "GETREG", hk], ["PFDEBUG", "ENCODING", hk], ["PFDEBUG", "TODENSE", hk], ["PFDEBUG", "DECODE", hk],
                            ["DEL", hk], ["COPY", hk, hk2, "REPLACE"], ["PFCOUNT", hk, "h4"], ["PFADD", "h4", m],
                            ["CONFIG", "SET", "hll-sparse-max-bytes", pick(r, ["0", "10", "100", "3000", "20000"])]])
        return pick(r, [["PFADD", k, m, v], ["PFADD", k] + many, ["PFCOUNT", k], ["PFCOUNT", k, hk], ["PFMERGE", k, hk], ["PFMERGE", hk, k],
                        ["SET", k, v], ["SET", k, bad], ["SET", hk, bad], ["APPEND", k, v], ["GET", k], ["DEL", k],
                        ["SETRANGE", hk, pick(r, ["3", "4", "12", "15", "16", "100", "2000"]), pick(r, ["\x00", "\xff", "\x7f", "\x80\x01", "x"])],
                        ["SETRANGE", k, pick(r, ["3", "4", "12", "15", "16", "100"]), pick(r, ["\x00", "\xff", "\x7f", "\x80\x01", "x"])],
                        ["PFDEBUG", "GETREG", k], ["PFDEBUG", "ENCODING", k], ["PFDEBUG", "TODENSE", k], ["PFDEBUG", "DECODE", k],
                        ["PFDEBUG", "NOPE", hk], ["PFDEBUG", "GETREG", "nokey"], ["RPUSH", k, "x"], ["OBJECT", "ENCODING", hk], ["PFSELFTEST", "x"]])
    if fam == "streams":
        sk = pick(r, ["s1", "s2", "s1", "s2", "s1", "k1"])
        ids = pick(r, ["1-1", "2-0", "2-*", "5", "0-1", "3-3", "9-*", "10-0", "10-1", "4-*", "6-1", "7", "8-*", "20-5", "100-*", "50", "12-*", "30-*", "40"]
                   + ["18446744073709551615-18446744073709551615", "0-0", "1-18446744073709551615", "x", "-1", "3-"] * (r.random() < 0.2))
        if r.random() < 0.5:
            # a clock of our own (per seed), so that most XADDs succeed
            r.sid = getattr(r, "sid", 0) + r.randrange(0, 3)
            ids = pick(r, ["%d-*" % r.sid, "%d-%d" % (r.sid, r.randrange(0, 5)), "%d" % r.sid])
        rid = pick(r, ["-", "+", "0", "1", "1-1", "2", "3-3", "(1-1", "(2", "(3-3", "5-0", "9", "(9", "10", "(+", "(-", "x", "(18446744073709551615-18446744073709551615",
                       "18446744073709551615", "(0-0", "0-0"])
        rid2 = pick(r, ["-", "+", "0", "2", "5", "(5", "9-0", "10-1", "(10", "100"])
        g = pick(r, ["g1", "g2", "g1", "nog"])
        c = pick(r, ["c1", "c2", "c3"])
        cnt = pick(r, ["0", "1", "2", "3", "10", "-1", "x"])
        thr = pick(r, ["MAXLEN", "MINID"])
        thv = pick(r, ["0", "1", "2", "3", "5", "10", "-1", "x"]) if thr == "MAXLEN" else pick(r, ["0", "1-1", "3", "5-0", "9", "10-1", "x"])
        trim = pick(r, [[thr, thv], [thr, "=", thv], [thr, "~", thv], [thr, "~", thv, "LIMIT", pick(r, ["0", "1", "2", "100", "-1"])], [thr, "=", thv, "LIMIT", "1"], []])
        fields = pick(r, [["f", v], ["f", v, "g", "1"], ["a", "1", "b", "2", "c", "3"], ["f"], ["f", "1"]])
        cmd = pick(r, [["XADD", sk, ids] + fields, ["XADD", sk, ids] + fields, ["XADD", sk, ids] + fields, ["XADD", sk] + trim + [ids] + fields, ["XADD", sk, "NOMKSTREAM"] + trim + [ids] + fields,
                       ["XADD", sk, "NOMKSTREAM", ids, "f", "v"], ["XADD", sk, ids, "f", "v", "f", "w"],
                       ["XLEN", sk], ["XRANGE", sk, rid, rid2], ["XRANGE", sk, rid, "+", "COUNT", cnt], ["XRANGE", sk, "-", rid2, "COUNT", cnt],
                       ["XREVRANGE", sk, rid2, rid], ["XREVRANGE", sk, "+", rid, "COUNT", cnt], ["XRANGE", sk, "-", "+"], ["XRANGE", sk, "-", "+", "COUNT"],
                       ["XDEL", sk, ids], ["XDEL", sk, ids, pick(r, ["1-1", "2-0", "5-0"])], ["XTRIM", sk] + trim, ["XTRIM", sk, "MAXLEN", cnt],
                       ["XGROUP", "CREATE", sk, g, pick(r, ["0", "$", "1-1", "5", "x"])], ["XGROUP", "CREATE", sk, g, pick(r, ["0", "$"]), "MKSTREAM"],
                       ["XGROUP", "CREATE", sk, g, "0", "ENTRIESREAD", pick(r, ["0", "1", "3", "-1", "x", "100"])],
                       ["XGROUP", "SETID", sk, g, pick(r, ["0", "$", "2-0", "5", "x"])], ["XGROUP", "SETID", sk, g, "0", "ENTRIESREAD", pick(r, ["0", "2", "-1", "x"])],
                       ["XGROUP", "DESTROY", sk, g], ["XGROUP", "CREATECONSUMER", sk, g, c], ["XGROUP", "DELCONSUMER", sk, g, c], ["XGROUP", "NOPE", sk],
                       ["XREADGROUP", "GROUP", g, c, "COUNT", cnt, "STREAMS", sk, ">"], ["XREADGROUP", "GROUP", g, c, "STREAMS", sk, pick(r, [">", "0", "2-0", "$"])],
                       ["XREADGROUP", "GROUP", g, c, "NOACK", "STREAMS", sk, ">"], ["XREADGROUP", "GROUP", g, c, "COUNT", "1", "STREAMS", sk, "s2", ">", ">"],
                       ["XACK", sk, g, ids], ["XACK", sk, g, "1-1", "2-0", "3-3", "5-0", "9-0"], ["XPENDING", sk, g],
                       ["@notime", "XPENDING", sk, g, rid, rid2, cnt], ["@notime", "XPENDING", sk, g, "-", "+", "10", c],
                       ["@notime", "XPENDING", sk, g, "IDLE", pick(r, ["0", "100000000"]), "-", "+", "10"], ["XPENDING", sk, g, "-", "+"],
                       ["XREAD", "COUNT", cnt, "STREAMS", sk, pick(r, ["0", "2", "5-0", "$"])], ["XREAD", "STREAMS", sk, "s2", "0", "0"], ["XREAD", "STREAMS", sk],
                       ["XSETID", sk, ids], ["XSETID", sk, ids, "ENTRIESADDED", pick(r, ["0", "5", "100", "-1"]), "MAXDELETEDID", pick(r, ["0-1", "5-0", "100-0"])],
                       ["XCLAIM", sk, g, c, "0", ids], ["XCLAIM", sk, g, c, "0", "1-1", "2-0", "3-3", "5-0", "JUSTID"],
                       ["XCLAIM", sk, g, c, pick(r, ["0", "100000000", "-1", "x"]), ids, pick(r, ["FORCE", "JUSTID", "RETRYCOUNT", "LASTID", "IDLE", "NOPE"]),
                        pick(r, ["5", "9-0", "0"])],
                       ["XCLAIM", sk, g, c, "0", ids, "FORCE", "JUSTID"], ["XCLAIM", sk, g, c, "0", ids, "RETRYCOUNT", "7", "JUSTID", "LASTID", "20-0"],
                       ["XAUTOCLAIM", sk, g, c, "0", pick(r, ["0", "0-0", "2", "5-0", "x"]), "COUNT", pick(r, ["1", "2", "100", "0", "-1"])],
                       ["XAUTOCLAIM", sk, g, c, "0", "0", "JUSTID"], ["XAUTOCLAIM", sk, g, c, "0", "0", "COUNT", "2", "JUSTID"],
                       ["XINFO", "STREAM", sk], ["@notime", "XINFO", "STREAM", sk, "FULL"], ["@notime", "XINFO", "STREAM", sk, "FULL", "COUNT", cnt],
                       ["XINFO", "GROUPS", sk], ["@notime", "XINFO", "CONSUMERS", sk, g], ["XINFO", "NOPE"], ["XINFO", "STREAM", sk, "NOPE"],
                       ["DEL", pick(r, ["k1", sk])], ["SET", "k1", "x"], ["TYPE", sk], ["OBJECT", "ENCODING", sk],
                       ["CONFIG", "SET", "stream-node-max-entries", pick(r, ["1", "2", "4", "100"])],
                       ["CONFIG", "SET", "stream-node-max-bytes", pick(r, ["0", "50", "4096"])]])
        return cmd
    if fam == "multi":
        wk = pick(r, ["k1", "k2", "k3", "nokey"])
        x = r.random()
        if x < 0.35:
            # transaction control, WATCH from this and changes from another connection
            return pick(r, [["MULTI"], ["MULTI"], ["MULTI"], ["EXEC"], ["EXEC"], ["DISCARD"], ["WATCH", wk], ["WATCH", k, k2], ["UNWATCH"],
                            ["@other", "SET", k, v], ["@other", "DEL", k], ["@other", "INCR", k], ["@other", "GET", k], ["@other", "FLUSHDB"],
                            ["@other", "EXPIRE", k, "100"], ["@other", "RENAME", k, k2], ["@other", "SET", k, v, "XX"], ["@other", "SWAPDB", "0", "1"],
                            ["@other", "FLUSHALL"], ["@other", "LPUSH", k, v], ["@other", "EXPIRE", k, "0"], ["@other", "PERSIST", k], ["UNSUBSCRIBE"]])
        if x < 0.42:
            # errors at queue time (EXECABORT) and rare state changes
            return pick(r, [["NOSUCH"], ["SET", k], ["GET", k, k], ["WATCH"], ["SUBSCRIBE", "ch"] if r.random() < 0.1 else ["PING", "x"],
                            ["UNSUBSCRIBE"], ["RESET"], ["EVAL", "return redis.call('multi')", "0"], ["CONFIG", "SET", "maxmemory", "0"],
                            ["CLIENT", "SETNAME", "x"], ["SELECT", "1"], ["SELECT", "0"], ["SELECT", "x"]])
        # commands that succeed, or fail only when run (wrong type, not an integer)
        return pick(r, [["SET", k, v], ["INCR", k], ["LPUSH", k, v], ["GET", k], ["DEL", k], ["EXPIRE", k, pick(r, ["0", "100", "-1"])],
                        ["SWAPDB", "0", "1"], ["FLUSHDB"], ["EVAL", "return redis.call('incr', KEYS[1])", "1", k], ["PING"], ["ECHO", v],
                        ["SETNX", k, v], ["GETSET", k, v], ["TYPE", k], ["HSET", k, f, v], ["OBJECT", "ENCODING", k], ["MGET", k, k2],
                        ["INCRBY", k, n], ["RENAME", k, k2], ["TTL", k], ["EXISTS", k, k2], ["APPEND", k, v], ["LLEN", k]])
    if fam == "scripts":
        import hashlib
        lit = pick(r, ["1", "-1", "0", "3.7", "-3.7", "1e20", "-1e20", "0/0", "1/0", "'x'", "''", "true", "false", "nil", "{}", "{1,2,3}", "{1,nil,3}",
                       "{1,{2,{3,'x'}},false,true}", "{ok='fine'}", "{err='E1 bad'}", "{err='nocode'}", "{double=3.14}", "{double='x'}", "{double=1/0}",
                       "{map={a=1}}", "{set={x=true}}", "{big_number='123456789012345678901234567890'}", "{a=1}", "{ok=1}", "{err=1}",
                       "{verbatim_string={format='txt', string='hi'}}", "2^53", "2^63", "-2^63", "'\\0bin'", "{1,'two',{ok='three'},{err='FOUR x'}}",
                       "redis.status_reply('S')", "redis.error_reply('My Err')", "redis.error_reply('-X y')", "redis.error_reply('')",
                       "{err='ERR x', ok='y'}", "{1, {double=2.5}, {map={k='v'}}}"])
        call = pick(r, ["redis.call('incr', KEYS[1])", "redis.call('get', KEYS[1])", "redis.pcall('lpush', KEYS[1], ARGV[1])", "redis.call('set', KEYS[1], ARGV[1])",
                        "redis.call('hgetall', KEYS[1])", "redis.pcall('incr', KEYS[1])", "redis.pcall('nosuch')", "redis.pcall('get')",
                        "redis.call('ping')", "redis.call('zscore', KEYS[1], 'm')", "redis.call('smembers', KEYS[1])", "redis.call('lrange', KEYS[1], 0, -1)",
                        "redis.call('exists', KEYS[1])", "redis.call('type', KEYS[1])", "redis.call('config', 'get', 'maxmemory')",
                        "redis.call('hello', '3')", "redis.pcall('xadd', KEYS[1], 'x', 'f', 'v')", "redis.call('object', 'encoding', KEYS[1])",
                        "redis.pcall('zadd', KEYS[1], 'x', 'm')", "redis.call('zrange', KEYS[1], 0, -1, 'withscores')", "redis.call('del', KEYS[1])",
                        "redis.call('hset', KEYS[1], 'f', ARGV[1])", "redis.call('zadd', KEYS[1], ARGV[1] == '' and 1 or 2.5, 'm')",
                        "redis.call('sadd', KEYS[1], 'a', 'b')", "redis.pcall('eval', 'return 1', 0)", "redis.pcall('shutdown')",
                        "redis.pcall('bitfield', KEYS[1], 'get', 'u8', 0)", "redis.call('echo', ARGV[1])"])
        setresp = pick(r, ["", "", "redis.setresp(3) ", "redis.setresp(2) ", "redis.setresp(4) "])
        body = pick(r, ["return " + lit, "return " + call, setresp + "return " + call, setresp + "local t = " + call + " return type(t)",
                        setresp + "local t = " + call + " if type(t) == 'table' then local o = {} for k2, v2 in pairs(t) do o[#o+1] = tostring(k2) .. '=' .. type(v2) end table.sort(o) return o end return t",
                        setresp + "local t = " + call + " return cjson.encode({t})",
                        "return type(" + lit + ")", "return cjson.encode(" + lit + ")", "return cjson.decode(cjson.encode(" + lit + "))",
                        "return cjson.decode(ARGV[1])", "return cjson.encode(cjson.decode(ARGV[1]))", "return cmsgpack.unpack(cmsgpack.pack(" + lit + "))",
                        "return cmsgpack.pack(" + lit + ")", "return {cmsgpack.unpack(ARGV[1])}", "return cmsgpack.pack(cjson.decode(ARGV[1]))",
                        "return struct.pack(ARGV[2], 1, 2, 3)", "return {struct.unpack(ARGV[2], ARGV[1])}", "return struct.size(ARGV[2])",
                        "return {struct.unpack(ARGV[2], struct.pack(ARGV[2], -1, 2.5, 'abc', 4))}",
                        "return {bit.band(" + lit + ", 7), bit.bor(1, 2), bit.bxor(5, 3), bit.bnot(0), bit.lshift(1, 40), bit.arshift(-256, 4), bit.tohex(" + lit + ")}",
                        "return bit.tobit(" + lit + ")", "return bit.tohex(65535, " + pick(r, ["-4", "4", "0", "8"]) + ")",
                        "return redis.sha1hex(ARGV[1])", "return redis.sha1hex()", "error('boom')", "error({err='X custom'})", "error()", "error(nil)", "assert(false)",
                        "return tonumber(ARGV[1])", "return tostring(" + lit + ")" if lit[0] not in "{r" else "return tostring(1.5)", "x = 1", "return undefinedvar", "return #KEYS + #ARGV",
                        "return redis.REDIS_VERSION", "return redis.REDIS_VERSION_NUM", "return redis.replicate_commands()",
                        "redis.log(redis.LOG_WARNING, 'w') return 1", "return redis.setresp(3)", "return redis.call()", "return redis.call(1)",
                        "return redis.call('set', KEYS[1], {})", "return redis.call('set', KEYS[1], 1.5)", "return redis.call('set', KEYS[1], nil)",
                        "return pcall(redis.call, 'nosuch')", "local ok, e = pcall(redis.call, 'incr', KEYS[1]) return {tostring(ok), type(e) == 'table' and e.err or e}",
                        "return redis.error_reply((ARGV[1]:gsub('[\\128-\\255]', '?')))", "return redis.status_reply(ARGV[1])", "return {" + lit + ", " + lit + "}",
                        "return math.floor(" + lit + ")", "return string.format('%.17g', " + lit + ")", "return loadstring('return 1')()",
                        "return table.concat({1,2,3}, ARGV[1])", "return string.rep('x', 3)", "return unpack({1,2,3})", "return select('#', 1, 2)",
                        "return redis.call('get', KEYS[1] .. 'x')", "return os.time ~= nil", "return os.clock ~= nil", "return print ~= nil",
                        "#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], 'x')", "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])",
                        "#!lua flags=no-writes,allow-stale\nreturn 1", "#!lua flags=nope\nreturn 1", "#!lua name=x\nreturn 1", "#!lua\nreturn 2", "#!python\nreturn 1",
                        "#!lua flags=no-cluster\nreturn 3", "#!lua flags=allow-oom\nreturn redis.call('set', KEYS[1], 'y')", "return 'unterminated"])
        argv1 = pick(r, [v, "[1,2,{\"a\":null}]", "{\"a\":[1,2.5,\"x\"],\"b\":true}", "\"str\"", "1e400", "[", "null", "{\"a\":1,\"a\":2}",
                         "\x93\x01\x02\x03", "\x81\xa1a\x01", "\xcb\x40\x09\x21\xfb\x54\x44\x2d\x18", "\xc0", "\xdc\x00\x01\xc3", ">i4", "<h", "bB", "s", "d", "z", "i9", "!4i", "x"])
        # struct formats (ASCII: an error reply quoting a byte that is not UTF-8 is a known divergence)
        argv2 = pick(r, [">i4", "<h", "bB", "s", "d", "z", "i9", "!4i", "x", "i33", "!3i", "c0", "c2", "Q", " ", "<I2>l", "hbf", "i4s", "", "Bc0"])
        if r.random() < 0.4:
            # a few bodies again and again, so that EVALSHA finds what SCRIPT LOAD or EVAL cached
            body = pick(r, ["return redis.call('incr', KEYS[1])", "return {KEYS[1], ARGV[1]}", "return redis.pcall('get', KEYS[1])",
                            "return redis.call('set', KEYS[1], ARGV[1])", "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", "return cjson.encode(ARGV)"])
        sha = hashlib.sha1(body.encode("latin-1")).hexdigest()
        lib = pick(r, ["lib1", "lib2", "lib1", "lib2", "lib3", "1bad", ""])
        fn = pick(r, ["f1", "f2", "f_ro"])
        fbody = pick(r, ["return redis.call('set', keys[1], args[1])", "return redis.call('get', keys[1])", "return {keys[1], args[1]}",
                         "return " + lit, "error('fboom')", "return redis.call('incr', keys[1])"])
        flags = pick(r, ["", "flags={'no-writes'}, ", "flags={'allow-stale', 'no-writes'}, ", "flags={'nope'}, ", "flags='no-writes', ",
                         "flags={'allow-oom'}, ", "description='d', ", "flags={'no-cluster'}, "])
        reg = pick(r, ["redis.register_function('%s', function(keys, args) %s end)" % (fn, fbody)] * 3 + [
                       # the second name is the library's own: when two functions clash, Redis names the first in its hash order
                       "redis.register_function('%s', function(keys, args) %s end) redis.register_function{function_name='%s_%s', callback=function(keys, args) %s end, %s}"
                       % (fn, fbody, fn, lib, fbody, flags.rstrip(", ")),"redis.register_function('%s', function(keys, args) %s end)" % (fn, fbody),
                       "redis.register_function{function_name='%s', callback=function(keys, args) %s end, %s}" % (fn, fbody, flags.rstrip(", ")),
                       "redis.register_function{function_name='%s', callback=function(keys, args) %s end, %sdescription='desc'}" % (fn, fbody, flags),
                       "redis.register_function('%s', 1)" % fn, "redis.register_function('%s')" % fn, "redis.register_function{function_name='%s'}" % fn,
                       "redis.register_function{function_name='%s', callback=function() return 1 end, nope=1}" % fn,
                       "redis.call('ping')", "error('loaderr')", "return 1", "local x = redis.setresp",
                       "redis.register_function('f1', function() return 1 end) redis.register_function('f1', function() return 2 end)"])
        code = pick(r, ["#!lua name=%s\n%s" % (lib, reg)] * 10 + [
                        "#!lua\n" + reg, "#!lua name=%s foo=bar\n%s" % (lib, reg), "#!js name=%s\n%s" % (lib, reg), reg])
        return pick(r, [["EVAL", body, "1", k, argv1, argv2], ["EVAL", body, "1", k, argv1, argv2], ["EVAL", body, "0"], ["EVAL", body, "0", argv1],
                        ["EVAL_RO", body, "1", k, argv1], ["EVALSHA", sha, "1", k, argv1, argv2], ["EVALSHA", sha.upper(), "0"], ["EVALSHA_RO", sha, "1", k, argv1],
                        ["EVAL", body, pick(r, ["-1", "2", "x", "10"]), k], ["SCRIPT", "LOAD", body], ["SCRIPT", "EXISTS", sha, "0" * 40, sha],
                        ["SCRIPT", "LOAD", body], ["SCRIPT", "LOAD", body], ["EVALSHA", sha, "1", k, argv1, argv2], ["EVALSHA", sha, "1", k, argv1, argv2],
                        ["SCRIPT", "FLUSH", pick(r, ["SYNC", "ASYNC", "NOPE"])] if r.random() < 0.2 else ["SCRIPT", "EXISTS", sha],
                        ["SET", k, v], ["RPUSH", k, v], ["HSET", k, "f", v],
                        ["ZADD", k, sc, "m"], ["SADD", k, m], ["DEL", k], ["GET", k],
                        ["FUNCTION", "LOAD", code], ["FUNCTION", "LOAD", "REPLACE", code], ["FUNCTION", "LOAD", code], ["FCALL", fn, "1", k, argv1],
                        ["FCALL", fn, "1", k, argv1], ["FCALL", fn + "_" + lib, "1", k, argv1], ["FCALL_RO", fn + "_" + lib, "1", k, argv1], ["FCALL", fn, "1", k, argv1],
                        ["FCALL", fn, "0"], ["FCALL_RO", fn, "1", k, argv1], ["FCALL", fn, pick(r, ["-1", "x", "5"]), k], ["FCALL", "nofn", "0"],
                        ["@sort", "FUNCTION", "LIST"], ["@sort", "FUNCTION", "LIST", "WITHCODE"], ["@sort", "FUNCTION", "LIST", "LIBRARYNAME", pick(r, ["lib*", "lib1", "x", "*"])],
                        ["FUNCTION", "LIST", "NOPE"], ["FUNCTION", "DELETE", lib], ["FUNCTION", "FLUSH"] if r.random() < 0.2 else ["FUNCTION", "STATS"], ["FUNCTION", "STATS"], ["FUNCTION", "NOPE"],
                        ["@skip", "FUNCTION", "DUMP"], ["EVAL", "return redis.call('function', 'list')", "0"]])
    if fam == "geo":
        gk = pick(r, ["g1", "g2", "g1", "g2", "k1"])
        pts = [("13.361389", "38.115556", "Palermo"), ("15.087269", "37.502669", "Catania"), ("2.349014", "48.864716", "Paris"),
               ("179.9999", "0.5", "east"), ("-179.9999", "0.5", "west"), ("180", "-10", "e180"), ("-180", "10", "w180"),
               ("0", "85.05112878", "north"), ("0", "-85.05112878", "south"), ("100", "85", "n2"), ("-100", "-85", "s2"),
               ("13.3614", "38.1156", "p1"), ("13.3615", "38.1155", "p2"), ("13.36139", "38.11556", "p3"), ("13.36", "38.12", "p4"),
               ("0", "0", "zero"), ("-0.0001", "-0.0001", "z2"), ("1e2", "1.5e1", "sci"), ("179.99999", "85.05112877", "ne"),
               ("-179.99999", "-85.05112877", "sw"), ("0.00001", "0.00001", "z3"), ("13.36138", "38.11555", "p5")]
        if r.random() < 0.15:
            pts = pts + [("181", "0", "bad1"), ("0", "86", "bad2"), ("x", "0", "bad3"), ("0", "nan", "bad4"), ("-180.0000001", "0", "bad5")]
        add = ["GEOADD", gk] + pick(r, [[], [], ["NX"], ["XX"], ["CH"], ["NX", "CH"], ["XX", "CH"], ["NX", "XX"], ["CH", "CH"]])
        for _ in range(r.randrange(1, 5)):
            add += list(pick(r, pts))
        if r.random() < 0.1:
            add = add[:-1]
        mem = pick(r, ["Palermo", "Catania", "Paris", "east", "west", "north", "south", "p1", "p2", "p3", "zero", "nosuch", "e180", "n2"])
        mem2 = pick(r, ["Palermo", "Catania", "Paris", "east", "p1", "zero", "nosuch"])
        unit = pick(r, ["m", "km", "ft", "mi", "KM", "M", "Mi", "yd"])
        rad = pick(r, ["0", "1", "10", "100", "200", "1000", "5000", "20000", "20037", "40000", "0.5", "-1", "x", "1e10", "500000"])
        lonlat = pick(r, [["13.361389", "38.115556"], ["15", "37"], ["0", "0"], ["179.99", "0"], ["-180", "0"], ["0", "85"], ["181", "0"], ["0", "-86"], ["x", "1"]])
        frm = pick(r, [["FROMMEMBER", mem], ["FROMLONLAT"] + lonlat, ["FROMMEMBER"], ["FROMMEMBER", mem, "FROMLONLAT", "0", "0"]])
        by = pick(r, [["BYRADIUS", rad, unit], ["BYBOX", rad, pick(r, ["1", "100", "400", "5000", "-1", "0", "x"]), unit], ["BYRADIUS", rad],
                      ["BYRADIUS", rad, unit, "BYBOX", "1", "1", "km"], []])
        opts = []
        for o in r.sample([["ASC"], ["DESC"], ["COUNT", pick(r, ["1", "2", "3", "10", "0", "-1", "x"])], ["COUNT", pick(r, ["1", "2", "3"]), "ANY"],
                           ["WITHCOORD"], ["WITHDIST"], ["WITHHASH"], ["ANY"], ["NOPE"]], r.randrange(0, 4)):
            opts += o
        if r.random() < 0.9:
            opts = [o for o in opts if o != "NOPE" and not (o == "ANY" and "COUNT" not in opts)]
        ropts = [o for o in opts]
        if r.random() < 0.3:
            ropts += pick(r, [["STORE", "dst"], ["STOREDIST", "dst"], ["STORE", "dst", "STOREDIST", "dst2"], ["STORE"]])
        sopts = [o for o in opts if o not in ("WITHCOORD", "WITHDIST", "WITHHASH")] if r.random() < 0.9 else opts
        return pick(r, [add, add, add, ["GEOPOS", gk, mem, mem2], ["GEOPOS", gk], ["GEODIST", gk, mem, mem2], ["GEODIST", gk, mem, mem2, unit],
                        ["GEODIST", gk, mem, mem2, unit, "x"], ["GEOHASH", gk, mem, mem2], ["GEOHASH", gk],
                        ["GEOSEARCH", gk] + frm + by + opts, ["GEOSEARCH", gk] + frm + by + opts, ["GEOSEARCH", gk, "FROMMEMBER", mem, "BYRADIUS", rad, unit, "ASC", "WITHDIST", "WITHCOORD", "WITHHASH"],
                        ["GEOSEARCHSTORE", "dst", gk] + frm + by + sopts, ["GEOSEARCHSTORE", "dst", gk] + frm + by + sopts + ["STOREDIST"],
                        ["GEORADIUS", gk] + lonlat + [rad, unit] + ropts, ["GEORADIUSBYMEMBER", gk, mem, rad, unit] + ropts,
                        ["GEORADIUS_RO", gk] + lonlat + [rad, unit] + opts, ["GEORADIUSBYMEMBER_RO", gk, mem, rad, unit] + opts,
                        ["GEORADIUS_RO", gk] + lonlat + [rad, unit, "STORE", "dst"], ["GEORADIUS", gk] + lonlat + [rad],
                        ["ZRANGE", pick(r, ["dst", "dst2", gk]), "0", "-1", "WITHSCORES"], ["ZRANGE", "dst", "0", "-1"], ["ZCARD", gk],
                        ["ZREM", gk, mem], ["ZADD", gk, pick(r, ["0", "1", "4503599627370496", "-1", "3471579339700058", "-0.5", "-1e30", "1e30", "inf",
                                                                 "-inf", "1.8e19", "4503599627370495", "9.3e18"]), mem], ["DEL", gk], ["DEL", "dst"],
                        ["SET", "k1", "x"], ["TYPE", "dst"], ["GEOADD", gk, "0", "0"], ["GEOADD", gk, "XX", "NX", "0", "0", "m"], ["GEOADD", gk, "CH"]])
    if fam == "generic":
        tk = pick(r, ["t1", "t2", "t3", "nokey"])
        tk2 = pick(r, ["t1", "t2", "t3", "t4"])
        el = pick(r, ["1", "2", "300", "-5", "70000", "5000000000", "a", "b", "x" * 70, "", "3.5", "9223372036854775807"])
        creators = [["SET", tk, el], ["SET", tk, pick(r, ["123", "-1", "9999", "10000", "12345678901234567890", "x" * 50, "1.5"])], ["APPEND", tk, el], ["INCR", tk],
                    ["SETRANGE", tk, "2", el], ["RPUSH", tk, el, "b"], ["LPUSH", tk] + [el] * r.randrange(1, 8), ["LPOP", tk], ["LTRIM", tk, "0", "1"],
                    ["SADD", tk, el, pick(r, ["1", "2", "a"])], ["SADD", tk] + [str(i) for i in range(r.randrange(1, 8))], ["SREM", tk, el],
                    ["HSET", tk, el, el], ["HSET", tk, "f", el] + [x for i in range(r.randrange(0, 5)) for x in ("h%d" % i, "v")], ["HDEL", tk, "f"],
                    ["ZADD", tk, pick(r, ["1", "2.5", "-inf", "0"]), el], ["ZADD", tk] + [x for i in range(r.randrange(1, 7)) for x in (str(i), "z%d" % i)],
                    ["ZREM", tk, el], ["XADD", tk, pick(r, ["1-1", "2-*", "3-0", "5-*"]), "f", el], ["PFADD", tk, el, "x", "y"], ["GEOADD", tk, "1", "2", el],
                    ["EXPIRE", tk, pick(r, ["1000", "100000"])], ["PERSIST", tk], ["SETBIT", tk, "100", "1"],
                    ["XGROUP", "CREATE", tk, pick(r, ["g1", "g2"]), "0"], ["XREADGROUP", "GROUP", "g1", "c1", "COUNT", "1", "STREAMS", tk, ">"]]
        payload_opts = pick(r, [["0"], ["0", "REPLACE"], ["100000"], ["0", "ABSTTL"], ["4102444800000", "ABSTTL"], ["1", "ABSTTL"], ["-1"], ["x"],
                                ["0", "IDLETIME", pick(r, ["0", "100", "-1", "x"])], ["0", "FREQ", pick(r, ["0", "255", "256", "-1", "x"])],
                                ["0", "IDLETIME", "1", "FREQ", "1"], ["0", "REPLACE", "ABSTTL", "IDLETIME", "5"], ["0", "NOPE"], ["0", "REPLACE", "REPLACE"]])
        # DUMP bytes are compared except for hash-ordered encodings, lists (Redis's quicklist
        # nodes remember how the list was built) and streams with groups (clock fields);
        # the OBJECT FREQ of a restored key is compared unless it is a shared integer.
        dumpcmp = ("local e = redis.pcall('object', 'encoding', KEYS[1]) if type(e) == 'string' and e == 'hashtable' then return 'ht' end "
                   "local t = redis.call('type', KEYS[1]).ok if t == 'list' then return 'list' end "
                   "if t == 'stream' and #redis.call('xinfo', 'groups', KEYS[1]) > 0 then return 'groups' end "
                   "return redis.call('dump', KEYS[1])")
        roundtrip = ("local d = redis.call('dump', KEYS[1]) if not d then return 'none' end "
                     "local r = redis.pcall('restore', KEYS[2], unpack(ARGV, 1, 1), d, unpack(ARGV, 2)) "
                     "local e = redis.pcall('object', 'encoding', KEYS[2]) "
                     "return {r, (r.ok and e ~= 'int') and redis.pcall('object', 'freq', KEYS[2]) or 'shared', e}")
        badpay = pick(r, ["", "x", "\x00\x03abc\x0a\x00\xff\xff\xff\xff\xff\xff\xff\xff", "\x00\x03abc\x09\x00" + "\x00" * 8,
                          "\x00\x03abc\x0b\x00" + "\x00" * 8, "\x00\xc0\x01\x09\x00\xf6\x8a\xb6\x7a\x85\x87\x72\x8f"])
        reads = [["TYPE", tk], ["OBJECT", "ENCODING", tk], ["GET", tk], ["LRANGE", tk, "0", "-1"], ["@sort", "SMEMBERS", tk], ["@sort", "HGETALL", tk],
                 ["ZRANGE", tk, "0", "-1", "WITHSCORES"], ["XRANGE", tk, "-", "+"], ["@notime", "XINFO", "STREAM", tk, "FULL"], ["PFCOUNT", tk], ["EXPIRETIME", tk], ["EXISTS", tk, tk2],
                 ["OBJECT", "REFCOUNT", "absent"], ["@skip", "OBJECT", "FREQ", tk], ["@skip", "OBJECT", "IDLETIME", tk], ["OBJECT", "NOPE", tk], ["OBJECT", "ENCODING"]]
        return pick(r, creators + creators + reads + reads + [
            ["EVAL", dumpcmp, "1", tk], ["EVAL", dumpcmp, "1", tk], ["EVAL", roundtrip, "2", tk, tk2] + payload_opts,
            ["EVAL", roundtrip, "2", tk, tk2] + payload_opts, ["RESTORE", tk2, pick(r, ["0", "-5"]), badpay] + pick(r, [[], ["REPLACE"]]),
            ["DUMP", "absent"], ["COPY", tk, tk2], ["COPY", tk, tk2, "REPLACE"], ["COPY", tk, tk], ["COPY", tk, tk2, "DB", pick(r, ["0", "1", "16", "x"])],
            ["COPY", tk, tk2, "NOPE"], ["RENAME", tk, tk2], ["RENAME", tk, tk], ["RENAMENX", tk, tk2], ["DEL", tk], ["DEL", tk, tk2, "nokey"], ["UNLINK", tk],
            ["MOVE", tk, "1"], ["SELECT", pick(r, ["0", "1"])], ["SWAPDB", "0", "1"], ["DBSIZE"], ["@sort", "KEYS", "*"], ["TOUCH", tk, tk2],
            ["CONFIG", "SET", "maxmemory-policy", pick(r, ["noeviction", "allkeys-lfu", "allkeys-lru"])],
            ["CONFIG", "SET", "set-max-intset-entries", pick(r, ["4", "512"])], ["CONFIG", "SET", "hash-max-listpack-value", pick(r, ["64", "4"])],
            ["CONFIG", "SET", "zset-max-listpack-value", pick(r, ["64", "4"])]])
    raise ValueError(fam)


def run(a, b, fam, seed, n, resp3, verbose):
    r = random.Random(seed)
    ca, cb = Raw(a), Raw(b)
    for c in (ca, cb):
        c.call(["FLUSHALL"])
        if resp3:
            c.call(["HELLO", "3"])
        c.call(["CONFIG", "SET", "hash-max-listpack-entries", "4"])
        c.call(["CONFIG", "SET", "set-max-intset-entries", "4"])
        c.call(["CONFIG", "SET", "zset-max-listpack-entries", "4"])
        c.call(["CONFIG", "SET", "list-max-listpack-size", "4"])
        # settings the generators change, back to their defaults
        for kv in [("hll-sparse-max-bytes", "3000"), ("stream-node-max-entries", "100"), ("stream-node-max-bytes", "4096"),
                   ("maxmemory-policy", "noeviction"), ("hash-max-listpack-value", "64"), ("zset-max-listpack-value", "64")]:
            c.call(["CONFIG", "SET", *kv])
        c.call(["FUNCTION", "FLUSH"])
        c.call(["SCRIPT", "FLUSH"])
    hist = []
    oa = ob = None
    for i in range(n):
        cmd = gen(r, fam)
        mode = None
        if cmd[0].startswith("@"):
            mode, cmd = cmd[0], cmd[1:]
        hist.append(([mode] if mode else []) + cmd)
        if mode == "@other":
            if oa is None:
                oa, ob = Raw(a), Raw(b)
            (ra, ea), (rb, eb) = oa.call(cmd), ob.call(cmd)
        else:
            (ra, ea), (rb, eb) = ca.call(cmd), cb.call(cmd)
        if mode == "@skip":
            continue
        if mode == "@notime":
            same = notime(ra) == notime(rb)
        elif mode == "@sort" and ea is not None and eb is not None:
            same = canon(ra) == canon(rb)
        else:
            same = ra == rb
        if not same:
            print(f"[{fam} seed={seed} resp{'3' if resp3 else '2'}] divergence at command {i}:")
            for h in hist[-25:-1]:
                print("   ", " ".join(map(repr, h)))
            print("  >", " ".join(map(repr, cmd)))
            print("  redis:   ", ra[:400])
            print("  hematite:", rb[:400])
            return False
    for c in (ca, cb):
        c.call(["CONFIG", "SET", "hash-max-listpack-entries", "128"])
        c.call(["CONFIG", "SET", "set-max-intset-entries", "512"])
        c.call(["CONFIG", "SET", "zset-max-listpack-entries", "128"])
        c.call(["CONFIG", "SET", "list-max-listpack-size", "-2"])
    if verbose:
        print(f"[{fam} seed={seed}] {n} commands, no divergence")
    return True


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--a", type=int, default=8001, help="redis-server port")
    p.add_argument("--b", type=int, default=8002, help="hematite port")
    p.add_argument("--family", default="all")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--n", type=int, default=3000)
    p.add_argument("--resp3", action="store_true")
    o = p.parse_args()
    fams = FAMILIES if o.family == "all" else o.family.split(",")
    ok = True
    for fam in fams:
        ok &= run(o.a, o.b, fam, o.seed, o.n, o.resp3, True)
    sys.exit(0 if ok else 1)
