#!/usr/bin/env python3
"""Randomized differential fuzzer: the same random command stream goes to
redis-server and Hematite; the first reply that differs byte for byte is
reported with the commands before it.

    tools/difffuzz.py --a 8001 --b 8002 --family lists --seed 1 --n 5000

Replies that are random by design are not compared; replies in hash-table
order are compared as sorted multisets of their elements."""
import argparse
import random
import socket
import sys

FAMILIES = ["strings", "keys", "lists", "hashes", "sets", "zsets", "bitmaps", "hll", "streams", "multi", "scripts"]


class Raw:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    def call(self, args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
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


def pick(r, xs):
    return xs[r.randrange(len(xs))]


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
        return pick(r, [["SET", k, v], ["SET", k, v, "NX"], ["SET", k, v, "XX", "GET"], ["GET", k], ["APPEND", k, v],
                        ["INCR", k], ["DECRBY", k, n], ["INCRBYFLOAT", k, sc], ["GETRANGE", k, n, n2], ["SETRANGE", k, n2, v],
                        ["STRLEN", k], ["MSET", k, v, k2, v], ["MSETNX", k, v, k2, v], ["MGET", k, k2], ["GETDEL", k],
                        ["SETNX", k, v], ["GETSET", k, v], ["LCS", k, k2], ["LCS", k, k2, "LEN"], ["LCS", k, k2, "IDX", "WITHMATCHLEN"],
                        ["SUBSTR", k, n, n2], ["INCRBY", k, n], ["DEL", k], ["SET", k, v, pick(r, ["EX", "PX", "EXAT", "PXAT"]), ttl],
                        ["SET", k, v, "KEEPTTL"], ["SET", k, v, "KEEPTTL", "EX", "100"], ["SET", k, v, "NX", "XX"], ["GETEX", k, "PERSIST"],
                        ["GETEX", k, pick(r, ["EX", "PX", "EXAT"]), ttl], ["TTL", k], ["SETRANGE", k, pick(r, ["536870911", "536870912", "-1"]), v],
                        ["DECR", k], ["INCRBYFLOAT", k, pick(r, ["1e308", "-1e308"])], ["PSETEX", k, ttl, v], ["SETEX", k, ttl, v],
                        ["LCS", k, k2, "IDX", "MINMATCHLEN", n2], ["OBJECT", "ENCODING", k], ["GETRANGE", k, "0", "-1"]])
    if fam == "keys":
        return pick(r, [["SET", k, v], ["RPUSH", k, v], ["SADD", k, m], ["DEL", k, k2], ["EXISTS", k, k2], ["TYPE", k],
                        ["RENAME", k, k2], ["RENAMENX", k, k2], ["COPY", k, k2], ["COPY", k, k2, "REPLACE"], ["EXPIRE", k, "100"],
                        ["EXPIRE", k, pick(r, ["50", "200"]), pick(r, ["NX", "XX", "GT", "LT"])], ["PERSIST", k], ["TTL", k], ["PEXPIRE", k, pick(r, ["-1", "0", "100000", "x"])],
                        ["EXPIRETIME", k], ["UNLINK", k], ["TOUCH", k, k2], ["OBJECT", "ENCODING", k], ["@sort", "KEYS", "*"],
                        ["DBSIZE"], ["@sort", "SCAN", "0", "COUNT", "100"], ["MOVE", k, "1"], ["EXPIRE", k, pick(r, ["-1", "0", "1000", "x", "99999999999999999"])], ["SETEX", k, "100", v]])
    if fam == "lists":
        return pick(r, [["LPUSH", k, v, m], ["RPUSH", k, m], ["LPOP", k], ["RPOP", k, n2], ["LRANGE", k, n, n2], ["LINDEX", k, n],
                        ["LSET", k, n, v], ["LREM", k, n, m], ["LTRIM", k, n, n2], ["LINSERT", k, pick(r, ["BEFORE", "AFTER"]), m, v],
                        ["LPOS", k, m], ["LPOS", k, m, "RANK", n, "COUNT", n2], ["LPOS", k, m, "MAXLEN", n2], ["LLEN", k],
                        ["LMOVE", k, k2, pick(r, ["LEFT", "RIGHT"]), pick(r, ["LEFT", "RIGHT"])], ["RPOPLPUSH", k, k2],
                        ["LMPOP", "2", k, k2, pick(r, ["LEFT", "RIGHT"]), "COUNT", n2], ["LPUSHX", k, v], ["RPUSHX", k, v],
                        ["BLPOP", k, k2, "0.01"], ["OBJECT", "ENCODING", k]])
    if fam == "hashes":
        return pick(r, [["HSET", k, f, v], ["HSET", k, f, v, m, v], ["HSETNX", k, f, v], ["HGET", k, f], ["HMGET", k, f, m], ["HDEL", k, f, m],
                        ["HLEN", k], ["HSTRLEN", k, f], ["HEXISTS", k, f], ["HINCRBY", k, f, n], ["HINCRBYFLOAT", k, f, sc],
                        ["@sort", "HKEYS", k], ["@sort", "HVALS", k], ["@sort", "HGETALL", k], ["@skip", "HRANDFIELD", k, n2],
                        ["@sort", "HRANDFIELD", k, "100"], ["HMSET", k, f, v], ["OBJECT", "ENCODING", k], ["@sort", "HSCAN", k, "0", "COUNT", "100"]])
    if fam == "sets":
        return pick(r, [["SADD", k, m, v], ["SREM", k, m], ["SCARD", k], ["SISMEMBER", k, m], ["SMISMEMBER", k, m, v], ["@sort", "SMEMBERS", k],
                        ["@skip", "SRANDMEMBER", k, n], ["SMOVE", k, k2, m], ["@sort", "SINTER", k, k2],
                        ["@sort", "SUNION", k, k2], ["@sort", "SDIFF", k, k2], ["SINTERCARD", "2", k, k2, "LIMIT", n2],
                        ["SINTERSTORE", k, k, k2], ["SUNIONSTORE", k2, k, k2], ["SDIFFSTORE", k, k2, k], ["OBJECT", "ENCODING", k],
                        ["@sort", "SRANDMEMBER", k, "-0"], ["@sort", "SPOP", k, "100"]])
    if fam == "zsets":
        return pick(r, [["ZADD", k, sc, m], ["ZADD", k, pick(r, ["NX", "XX", "GT", "LT", "CH", "INCR"]), sc, m], ["ZINCRBY", k, sc, m],
                        ["ZREM", k, m], ["ZCARD", k], ["ZSCORE", k, m], ["ZRANK", k, m], ["ZRANGE", k, n, n2, "WITHSCORES"],
                        ["ZRANGE", k, "(" + n2, sc, "BYSCORE"], ["ZRANGEBYLEX", k, "-", "+"], ["ZCOUNT", k, sc, "+inf"],
                        ["ZPOPMIN", k, n2], ["ZPOPMAX", k], ["ZREMRANGEBYRANK", k, n, n2], ["ZUNIONSTORE", k2, "2", k, k2],
                        ["ZINTER", "2", k, k2, "WITHSCORES"], ["ZDIFF", "2", k, k2], ["ZMSCORE", k, m, v], ["ZLEXCOUNT", k, "-", "+"]])
    if fam == "bitmaps":
        return pick(r, [["SETBIT", k, pick(r, ["0", "7", "100", "-1", "4294967296"]), pick(r, ["0", "1"])], ["GETBIT", k, n2],
                        ["BITCOUNT", k], ["BITCOUNT", k, n, n2, pick(r, ["BIT", "BYTE"])], ["BITPOS", k, pick(r, ["0", "1"]), n, n2],
                        ["BITOP", pick(r, ["AND", "OR", "XOR"]), k, k, k2], ["BITOP", "NOT", k, k2], ["SET", k, v],
                        ["BITFIELD", k, "INCRBY", pick(r, ["u8", "i5", "u63", "i64"]), n2, n, "GET", "i8", "0"],
                        ["BITFIELD", k, "OVERFLOW", pick(r, ["SAT", "FAIL", "WRAP"]), "SET", "u4", "#1", n]])
    if fam == "hll":
        return pick(r, [["PFADD", k, m, v], ["PFCOUNT", k], ["PFCOUNT", k, k2], ["PFMERGE", k, k2], ["SET", k, v], ["PFADD", k],
                        ["APPEND", k, v], ["GET", k]])
    if fam == "streams":
        ids = pick(r, ["1-1", "2-0", "2-*", "5", "0-1", "3-3", "9-*"])
        c = "@skip" if ids == "*" else None
        cmd = pick(r, [["XADD", k, ids, "f", v], ["XADD", k, "MAXLEN", n2, ids, "f", v], ["XLEN", k], ["XRANGE", k, "-", "+"],
                       ["XREVRANGE", k, "+", "-", "COUNT", n2], ["XDEL", k, ids], ["XTRIM", k, "MAXLEN", n2], ["XTRIM", k, "MINID", ids],
                       ["XGROUP", "CREATE", k, "g", "0", "MKSTREAM"], ["XREADGROUP", "GROUP", "g", "c", "COUNT", "2", "STREAMS", k, ">"],
                       ["XACK", k, "g", ids], ["XPENDING", k, "g"], ["@skip", "XPENDING", k, "g", "-", "+", "10"], ["XREAD", "STREAMS", k, "0"],
                       ["XSETID", k, ids], ["XGROUP", "SETID", k, "g", ids]])
        if c and cmd[0] in ("XADD",):
            return ["@skip"] + cmd
        return cmd
    if fam == "multi":
        return pick(r, [["MULTI"], ["EXEC"], ["DISCARD"], ["WATCH", k], ["UNWATCH"], ["SET", k, v], ["INCR", k], ["LPUSH", k, v],
                        ["GET", k], ["NOSUCH"], ["SET", k], ["GET", k, k]])
    if fam == "scripts":
        body = pick(r, ["return redis.call('incr', KEYS[1])", "return redis.call('get', KEYS[1])",
                        "return redis.pcall('lpush', KEYS[1], ARGV[1])", "return {1, 2, 3.7, 'x', {err='E1'}}",
                        "return redis.call('set', KEYS[1], ARGV[1])", "return tonumber(ARGV[1])", "return nil",
                        "return false", "return true", "return {ok='fine'}", "return redis.call('nosuch')",
                        "return redis.status_reply('S')", "return redis.error_reply('My Err')", "return 1.5",
                        "return redis.call('hgetall', KEYS[1])", "error('boom')", "return #KEYS + #ARGV"])
        return pick(r, [["EVAL", body, "1", k, v], ["EVAL", body, "0"], ["SET", k, v], ["RPUSH", k, v]])
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
    hist = []
    for i in range(n):
        cmd = gen(r, fam)
        mode = None
        if cmd[0].startswith("@"):
            mode, cmd = cmd[0], cmd[1:]
        hist.append(cmd)
        (ra, ea), (rb, eb) = ca.call(cmd), cb.call(cmd)
        if mode == "@skip":
            continue
        if mode == "@sort" and ea is not None and eb is not None:
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
