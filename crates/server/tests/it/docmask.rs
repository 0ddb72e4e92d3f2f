//! COMMAND DOCS replies with the prose masked, so ours and the reference's
//! can be compared byte for byte on everything else (arguments, flags,
//! versions, complexity).
//!
//! The summaries, history texts and replacement notes are ours and differ
//! from Redis's by design: `mask_docs` blanks them (empty bulk strings) in
//! both replies. It also puts the entries of name-keyed maps (the reply
//! itself and each `subcommands` map) in name order, since Redis walks a
//! randomised dictionary, and drops the `display_text` fields Redis 7.2+
//! adds to arguments (Redis 7.0 has none, nor do we).
//!
//! Works on RESP2 and RESP3 replies: a RESP2 map is a flat array of
//! key/value pairs; where such an array appears is known from the shape of
//! the reply (a docs map, an argument map, a map of names to docs).

/// A RESP value: a scalar as its exact bytes, or an aggregate.
#[derive(Clone, Debug)]
enum V {
    Scalar(Vec<u8>),
    /// Type byte (`*`, `%`, `~` ...) and items (a map's keys and values alternate).
    Agg(u8, Vec<V>),
}

fn line(b: &[u8], at: usize) -> (usize, usize) {
    let end = b[at..].windows(2).position(|w| w == b"\r\n").expect("complete reply") + at;
    (end, end + 2)
}

fn parse(b: &[u8], at: usize) -> (V, usize) {
    let (end, next) = line(b, at);
    let head: i64 = std::str::from_utf8(&b[at + 1..end]).unwrap_or("").parse().unwrap_or(-1);
    match b[at] {
        b'$' | b'=' | b'!' if head >= 0 => {
            let stop = next + head as usize + 2;
            (V::Scalar(b[at..stop].to_vec()), stop)
        }
        t @ (b'*' | b'~' | b'%' | b'>') if head >= 0 => {
            let n = if t == b'%' { head * 2 } else { head };
            let mut items = Vec::new();
            let mut p = next;
            for _ in 0..n {
                let (v, q) = parse(b, p);
                items.push(v);
                p = q;
            }
            (V::Agg(t, items), p)
        }
        _ => (V::Scalar(b[at..next].to_vec()), next),
    }
}

fn write(v: &V, out: &mut Vec<u8>) {
    match v {
        V::Scalar(b) => out.extend_from_slice(b),
        V::Agg(t, items) => {
            let n = if *t == b'%' { items.len() / 2 } else { items.len() };
            out.push(*t);
            out.extend_from_slice(format!("{n}\r\n").as_bytes());
            for i in items {
                write(i, out);
            }
        }
    }
}

/// The text of a bulk string scalar.
fn text(v: &V) -> Option<&[u8]> {
    match v {
        V::Scalar(b) if b.first() == Some(&b'$') => {
            let (_, next) = line(b, 0);
            Some(&b[next..b.len() - 2])
        }
        _ => None,
    }
}

fn blank() -> V {
    V::Scalar(b"$0\r\n\r\n".to_vec())
}

/// The key/value items of a map (RESP3) or flat pair array (RESP2).
fn pairs(v: &mut V) -> Option<&mut Vec<V>> {
    match v {
        V::Agg(b'%' | b'*', items) => (items.len() % 2 == 0).then_some(items),
        _ => None,
    }
}

/// A map from names to docs: entries in name order, each docs map masked;
/// subcommands for which `keep` says no are left out.
fn mask_named(v: &mut V, keep: &dyn Fn(&[u8]) -> bool) {
    let Some(items) = pairs(v) else { return };
    let mut entries: Vec<(V, V)> = Vec::new();
    let mut it = std::mem::take(items).into_iter();
    while let (Some(k), Some(mut d)) = (it.next(), it.next()) {
        if keep(text(&k).unwrap_or_default()) {
            mask_doc(&mut d, keep);
            entries.push((k, d));
        }
    }
    entries.sort_by(|a, b| text(&a.0).cmp(&text(&b.0)));
    for (k, d) in entries {
        items.push(k);
        items.push(d);
    }
}

/// One command's docs map.
fn mask_doc(v: &mut V, keep: &dyn Fn(&[u8]) -> bool) {
    let Some(items) = pairs(v) else { return };
    for i in (0..items.len()).step_by(2) {
        let key = text(&items[i]).unwrap_or_default().to_vec();
        let val = &mut items[i + 1];
        match &key[..] {
            b"summary" | b"replaced_by" => *val = blank(),
            b"history" => {
                if let V::Agg(_, entries) = val {
                    for e in entries {
                        if let V::Agg(_, pair) = e {
                            if pair.len() == 2 {
                                pair[1] = blank();
                            }
                        }
                    }
                }
            }
            b"arguments" => mask_args(val),
            b"subcommands" => mask_named(val, keep),
            _ => {}
        }
    }
}

/// An argument list: each argument map without `display_text`, nested lists too.
fn mask_args(v: &mut V) {
    let V::Agg(_, args) = v else { return };
    for a in args {
        let Some(items) = pairs(a) else { continue };
        let mut kept = Vec::new();
        let mut it = std::mem::take(items).into_iter();
        while let (Some(k), Some(mut val)) = (it.next(), it.next()) {
            match text(&k) {
                Some(b"display_text") => continue,
                Some(b"arguments") => mask_args(&mut val),
                _ => {}
            }
            kept.push(k);
            kept.push(val);
        }
        *items = kept;
    }
}

/// A whole COMMAND DOCS reply with the prose masked (see the module header).
/// Anything else (an error) is returned as it is.
pub fn mask_docs(reply: &[u8]) -> Vec<u8> {
    mask_docs_keeping(reply, &|_| true)
}

/// `mask_docs`, leaving out the subcommands (`container|sub`) for which
/// `keep` says no, wherever they appear.
pub fn mask_docs_keeping(reply: &[u8], keep: &dyn Fn(&[u8]) -> bool) -> Vec<u8> {
    let (mut v, _) = parse(reply, 0);
    mask_named(&mut v, keep);
    let mut out = Vec::new();
    write(&v, &mut out);
    out
}

/// The docs map of `name` in a COMMAND DOCS reply (top level, or in a
/// container's `subcommands`) as (key, value) pairs.
fn find_doc(v: &V, name: &str) -> Option<Vec<(String, V)>> {
    let V::Agg(b'%' | b'*', items) = v else { return None };
    for kv in items.chunks(2) {
        let Some(k) = text(&kv[0]) else { continue };
        let doc: Vec<(String, V)> = match &kv[1] {
            V::Agg(_, d) if d.len() % 2 == 0 => d
                .chunks(2)
                .map(|p| (String::from_utf8_lossy(text(&p[0]).unwrap_or_default()).into(), p[1].clone()))
                .collect(),
            _ => continue,
        };
        if k == name.as_bytes() {
            return Some(doc);
        }
        if let Some((_, subs)) = doc.iter().find(|(k, _)| k == "subcommands") {
            if let Some(d) = find_doc(subs, name) {
                return Some(d);
            }
        }
    }
    None
}

/// A scalar or a set/array of scalars as text (`a,b` for several).
fn plain(v: &V) -> String {
    match v {
        V::Agg(_, items) => items.iter().map(plain).collect::<Vec<_>>().join(","),
        V::Scalar(b) => match text(v) {
            Some(t) => String::from_utf8_lossy(t).into(),
            None => String::from_utf8_lossy(&b[1..b.len() - 2]).into(),
        },
    }
}

/// The fields of command `name`'s docs in a COMMAND DOCS reply, in order.
pub fn doc_fields(reply: &[u8], name: &str) -> Vec<String> {
    let (v, _) = parse(reply, 0);
    find_doc(&v, name).unwrap_or_default().into_iter().map(|(k, _)| k).collect()
}

/// One field of command `name`'s docs as text (`plain`), if present.
pub fn doc_field(reply: &[u8], name: &str, field: &str) -> Option<String> {
    let (v, _) = parse(reply, 0);
    find_doc(&v, name)?.into_iter().find(|(k, _)| k == field).map(|(_, v)| plain(&v))
}

/// The argument tree of command `name` in a COMMAND DOCS reply, one
/// argument a line (`key=value` in the reply's order), nested arguments
/// indented by two spaces. The same for RESP2 and RESP3 replies.
pub fn args_outline(reply: &[u8], name: &str) -> String {
    fn walk(args: &V, depth: usize, out: &mut String) {
        let V::Agg(_, list) = args else { return };
        for a in list {
            let V::Agg(_, items) = a else { continue };
            let mut nested = None;
            let mut fields = Vec::new();
            for kv in items.chunks(2) {
                let k = String::from_utf8_lossy(text(&kv[0]).unwrap_or_default()).to_string();
                if k == "arguments" {
                    nested = Some(&kv[1]);
                } else {
                    fields.push(format!("{k}={}", plain(&kv[1])));
                }
            }
            out.push_str(&format!("{}{}\n", "  ".repeat(depth), fields.join(" ")));
            if let Some(n) = nested {
                walk(n, depth + 1, out);
            }
        }
    }
    let (v, _) = parse(reply, 0);
    let mut out = String::new();
    if let Some((_, args)) = find_doc(&v, name).unwrap_or_default().into_iter().find(|(k, _)| k == "arguments") {
        walk(&args, 0, &mut out);
    }
    out
}

#[test]
fn masks_prose_and_orders_names() {
    // RESP3: two commands out of order, a summary, a history entry, a
    // display_text, and subcommands out of order.
    let reply = b"%2\r\n$1\r\nz\r\n%2\r\n$7\r\nsummary\r\n$2\r\nhi\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n1.0.0\r\n$3\r\nabc\r\n\
$1\r\na\r\n%2\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$1\r\nk\r\n$12\r\ndisplay_text\r\n$1\r\nk\r\n\
$11\r\nsubcommands\r\n%2\r\n$3\r\na|y\r\n%1\r\n$7\r\nsummary\r\n$1\r\ny\r\n$3\r\na|x\r\n%1\r\n$7\r\nsummary\r\n$1\r\nx\r\n";
    let want = "%2\r\n$1\r\na\r\n%2\r\n$9\r\narguments\r\n*1\r\n%1\r\n$4\r\nname\r\n$1\r\nk\r\n\
$11\r\nsubcommands\r\n%2\r\n$3\r\na|x\r\n%1\r\n$7\r\nsummary\r\n$0\r\n\r\n$3\r\na|y\r\n%1\r\n$7\r\nsummary\r\n$0\r\n\r\n\
$1\r\nz\r\n%2\r\n$7\r\nsummary\r\n$0\r\n\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n1.0.0\r\n$0\r\n\r\n";
    assert_eq!(String::from_utf8_lossy(&mask_docs(reply)), want);
    // RESP2: the same shapes as flat arrays.
    let reply = b"*2\r\n$1\r\nz\r\n*4\r\n$7\r\nsummary\r\n$2\r\nhi\r\n$5\r\ngroup\r\n$1\r\ng\r\n";
    let want = "*2\r\n$1\r\nz\r\n*4\r\n$7\r\nsummary\r\n$0\r\n\r\n$5\r\ngroup\r\n$1\r\ng\r\n";
    assert_eq!(String::from_utf8_lossy(&mask_docs(reply)), want);
    assert_eq!(mask_docs(b"-ERR x\r\n"), b"-ERR x\r\n");
}
