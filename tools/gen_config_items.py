"""Prints the ITEMS rows of crates/server/src/config.rs from a running
redis-server 7.0.15 (its CONFIG GET values are the defaults: start it without
arguments) and its config.c (types, ranges, flags, aliases).

usage: tools/gen_config_items.py PORT [path/to/config.c]
Then fix by hand what depends on how the reference ran: port 6379, dir "".
"""
import os, re, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp_client import Conn
src = open(sys.argv[2] if len(sys.argv) > 2 else '/work/ref/src/config.c').read()
start = src.index('standardConfig static_configs[] = {')
end = src.index('{NULL}', start)
body = src[start:end]
# drop TLS block
body = body.replace('#ifdef USE_OPENSSL','').replace('#endif  /* USE_OPENSSL */','').replace('#endif','')
c = Conn(int(sys.argv[1]))
def get(name):
    r = c.call('CONFIG', 'GET', name)
    return r[1].decode() if r else None
items = []
for m in re.finditer(r'create(\w+)Config\((.*?)\),\s*(?:/\*.*?\*/)?\s*\n', body, re.S):
    kind, args = m.group(1), m.group(2)
    # split args on commas not inside parens or quotes
    parts, depth, cur, q = [], 0, '', False
    for ch in args:
        if ch == '"': q = not q
        if not q and ch == '(': depth += 1
        if not q and ch == ')': depth -= 1
        if ch == ',' and depth == 0 and not q:
            parts.append(cur.strip()); cur = ''
        else: cur += ch
    parts.append(cur.strip())
    name = parts[0].strip('"'); alias = parts[1]
    alias = None if alias == 'NULL' else alias.strip('"')
    flags = parts[2]
    items.append((kind, name, alias, flags, parts))
def rflags(fl):
    out = []
    for f in ['IMMUTABLE','PROTECTED','HIDDEN','SENSITIVE','MULTI_ARG','DENY_LOADING']:
        if f + '_CONFIG' in fl: out.append('fl::' + f)
    return ' | '.join(out) if out else '0'
def bound(s):
    s = s.strip()
    table = {'INT_MAX': str(2**31-1), 'INT_MIN': str(-2**31), 'UINT_MAX': str(2**32-1), 'LONG_MAX': str(2**63-1),
             'LLONG_MAX': str(2**63-1), 'ULLONG_MAX': str(2**64-1), 'SSIZE_MAX': str(2**63-1), '0777': '511',
             '1024*1024': str(1024*1024), '100<<20': str(100<<20)}
    return table.get(s, s)
def esc(s): return '"' + s.replace('\\','\\\\').replace('"','\\"') + '"'
enums = {}
for m in re.finditer(r'configEnum (\w+)\[\] = \{(.*?)\};', src, re.S):
    enums[m.group(1)] = re.findall(r'\{"([^"]+)"', m.group(2))
out = []
for kind, name, alias, flags, p in items:
    dv = get(name)
    if dv is None:
        print('missing', name, file=sys.stderr); continue
    if kind == 'Bool':
        k = 'K::Bool'
    elif kind in ('String', 'SDS'):
        k = 'K::Str { empty_is_null: %s }' % ('true' if p[3] == 'EMPTY_STRING_IS_NULL' else 'false')
    elif kind == 'Enum':
        k = 'K::Enum(&[%s])' % ', '.join(esc(x) for x in enums[p[3]])
    elif kind == 'Special':
        k = 'K::Special(Sp::%s)' % ''.join(w.capitalize() for w in re.split('[-_]', name))
    else:
        lo, hi = bound(p[3]), bound(p[4])
        nf = p[7]
        fmt = 'Num::Plain'
        if 'MEMORY_CONFIG' in nf and 'PERCENT_CONFIG' in nf: fmt = 'Num::MemoryPercent'
        elif 'MEMORY_CONFIG' in nf: fmt = 'Num::Memory'
        elif 'OCTAL_CONFIG' in nf: fmt = 'Num::Octal'
        unsigned = kind in ('UInt', 'ULongLong', 'SizeT')
        k = 'K::Num { min: %s, max: %s, fmt: %s, unsigned: %s }' % (lo, hi, fmt, 'true' if unsigned else 'false')
    a = ('Some(%s)' % esc(alias)) if alias else 'None'
    out.append('    Item { name: %s, alias: %s, kind: %s, default: %s, flags: %s },' % (esc(name), a, k, esc(dv), rflags(flags)))
print('\n'.join(out))
print(len(out), file=sys.stderr)
