#!/usr/bin/env python3
"""Helpers for tools/bench.sh: data generators, load generators, subscribers.

  gen KIND COUNT            RESP commands on stdout, for `redis-cli --pipe`
                            (KIND: strings hashes zset list set stream xs
                            hll hll2 hll3 geo locks myset bitmap)
  txn PORT N CLIENTS PIPE   MULTI + 5 INCR + EXEC, N transactions
  xrg PORT N CLIENTS        XREADGROUP COUNT 10 then XACK of what was read,
                            N rounds (stream `bench:xs`, group `g` must exist)
  sub PORT CHANNEL COUNT    COUNT subscribers of CHANNEL that read and discard
                            everything; prints "ready" once all are
                            subscribed, runs until killed

Load generators print "requests_per_second p99_ms" on stdout. They are
single-threaded Python, so for fast servers they may be the bottleneck; the
server CPU time per operation measured by bench.sh stays meaningful.
Only 127.0.0.1 is ever used.
"""
import asyncio
import random
import socket
import sys
import time

HOST = "127.0.0.1"


def cmd(*args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)


def gen(kind, n):
    """Writes the commands that build data set KIND of size N to stdout."""
    out = sys.stdout.buffer
    rnd = random.Random(42)
    batch = 100
    w = out.write
    if kind == "strings":
        val = b"v" * 16
        for i in range(n):
            w(cmd(b"SET", b"key:%d" % i, val))
    elif kind == "hashes":
        for i in range(n):
            args = [b"HSET", b"hash:%d" % i]
            for f in range(10):
                args += [b"field%d" % f, b"value%d" % (i % 1000 + f)]
            w(cmd(*args))
    elif kind in ("zset", "list", "set", "myset", "hll", "hll2", "hll3"):
        key, verb = {
            "zset": (b"bench:zset", b"ZADD"),
            "list": (b"bench:list", b"RPUSH"),
            "set": (b"bench:set", b"SADD"),
            "myset": (b"myset", b"SADD"),
            "hll": (b"bench:hll1", b"PFADD"),
            "hll2": (b"bench:hll2", b"PFADD"),
            "hll3": (b"bench:hll3", b"PFADD"),
        }[kind]
        for start in range(0, n, batch):
            args = [verb, key]
            for i in range(start, min(n, start + batch)):
                if kind == "zset":
                    args += [b"%.3f" % (rnd.random() * 1e6), b"member:%d" % i]
                elif kind == "list":
                    args.append(b"element:%d" % i)
                elif kind in ("set", "myset"):
                    args.append(b"%d" % i)
                else:
                    args.append(b"%s-%d" % (kind.encode(), i))
            w(cmd(*args))
    elif kind in ("stream", "xs"):
        key = b"bench:stream" if kind == "stream" else b"bench:xs"
        for i in range(n):
            w(cmd(b"XADD", key, b"*", b"a", b"%d" % i, b"b", b"small", b"c", b"42"))
    elif kind == "geo":
        # Points spread over about 1 x 1 degree around (13.5, 38.5).
        for start in range(0, n, batch):
            args = [b"GEOADD", b"bench:geo"]
            for i in range(start, min(n, start + batch)):
                args += [b"%.6f" % (13 + rnd.random()), b"%.6f" % (38 + rnd.random()), b"p:%d" % i]
            w(cmd(*args))
    elif kind == "locks":
        for i in range(n):
            w(cmd(b"SET", b"lock:%012d" % i, b"token"))
    elif kind == "bitmap":
        w(cmd(b"SETRANGE", b"bench:bitmap", b"0", bytes(rnd.getrandbits(8) for _ in range(1 << 20))))
    else:
        sys.exit("unknown data set " + kind)
    out.flush()


def p99(lat):
    if not lat:
        return 0.0
    lat.sort()
    return lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000


async def read_reply(r):
    """Reads one RESP2 reply; returns it (bulk strings as bytes)."""
    line = await r.readline()
    t, rest = line[:1], line[1:-2]
    if t in (b"+", b":"):
        return rest
    if t == b"-":
        raise RuntimeError(rest.decode())
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        return (await r.readexactly(n + 2))[:-2]
    if t == b"*":
        n = int(rest)
        if n < 0:
            return None
        return [await read_reply(r) for _ in range(n)]
    raise RuntimeError("bad reply %r" % line)


async def run_clients(port, n, clients, one_round):
    """Runs N rounds spread over CLIENTS connections; returns (rps, p99 ms)."""
    left = [n]
    lat = []

    async def client():
        r, w = await asyncio.open_connection(HOST, port)
        while left[0] > 0:
            left[0] -= 1
            t0 = time.perf_counter()
            await one_round(r, w)
            lat.append(time.perf_counter() - t0)
        w.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    dt = time.perf_counter() - t0
    return n / dt, p99(lat)


def txn(port, n, clients, pipe):
    one = cmd(b"MULTI") + b"".join(cmd(b"INCR", b"txn:%d" % i) for i in range(5)) + cmd(b"EXEC")
    batch = one * pipe

    async def round_(r, w):
        w.write(batch)
        for _ in range(pipe):
            for _ in range(7):
                await read_reply(r)

    rounds = max(1, n // pipe)
    rps, lat = asyncio.run(run_clients(port, rounds, clients, round_))
    print("%.2f %.3f" % (rps * pipe, lat))


def xrg(port, n, clients):
    counter = iter(range(1 << 62))

    async def round_(r, w):
        w.write(cmd(b"XREADGROUP", b"GROUP", b"g", b"c%d" % (next(counter) % clients), b"COUNT", b"10",
                    b"STREAMS", b"bench:xs", b">"))
        rep = await read_reply(r)
        ids = [e[0] for e in rep[0][1]] if rep else []
        if ids:
            w.write(cmd(b"XACK", b"bench:xs", b"g", *ids))
            await read_reply(r)

    rps, lat = asyncio.run(run_clients(port, n, clients, round_))
    print("%.2f %.3f" % (rps, lat))


def sub(port, channel, count):
    socks = []
    for _ in range(count):
        s = socket.create_connection((HOST, port))
        s.sendall(cmd(b"SUBSCRIBE", channel.encode()))
        socks.append(s)
    for s in socks:
        got = b""
        while got.count(b"\r\n") < 6:
            got += s.recv(4096)
        s.setblocking(False)
    print("ready", flush=True)
    import selectors

    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    buf = bytearray(1 << 20)
    while True:
        for key, _ in sel.select():
            try:
                if key.fileobj.recv_into(buf) == 0:
                    sel.unregister(key.fileobj)
            except BlockingIOError:
                pass
        if not sel.get_map():
            return


def main():
    a = sys.argv[1:]
    if not a:
        sys.exit(__doc__)
    if a[0] == "gen":
        gen(a[1], int(a[2]))
    elif a[0] == "txn":
        txn(int(a[1]), int(a[2]), int(a[3]), int(a[4]))
    elif a[0] == "xrg":
        xrg(int(a[1]), int(a[2]), int(a[3]))
    elif a[0] == "sub":
        sub(int(a[1]), a[2], int(a[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
