"""A tiny RESP2/RESP3 client for the project's scripts (no dependencies)."""
import socket


class Conn:
    def __init__(self, port, host="127.0.0.1"):
        self.s = socket.create_connection((host, port))
        self.f = self.s.makefile("rb")

    def send_raw(self, data: bytes):
        self.s.sendall(data)

    def call(self, *args):
        self.send_raw(encode(args))
        return read(self.f)

    def read(self):
        return read(self.f)

    def close(self):
        self.s.close()


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Err(Exception):
    pass


def read(f):
    line = f.readline()
    if not line:
        raise EOFError
    t, rest = line[:1], line[1:-2]
    if t in (b"+",):
        return rest.decode()
    if t == b"-":
        return Err(rest.decode())
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        d = f.read(n + 2)
        return d[:-2]
    if t in (b"*", b"~", b">"):
        n = int(rest)
        if n < 0:
            return None
        return [read(f) for _ in range(n)]
    if t == b"%":
        n = int(rest)
        return {_key(read(f)): read(f) for _ in range(n)}
    if t == b"_":
        return None
    if t == b",":
        return float(rest)
    if t == b"#":
        return rest == b"t"
    if t == b"=":
        n = int(rest)
        return f.read(n + 2)[4:-2]
    if t == b"(":
        return int(rest)
    raise ValueError(line)


def _key(k):
    return k.decode() if isinstance(k, bytes) else k
