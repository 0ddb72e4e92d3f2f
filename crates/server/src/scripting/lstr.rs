//! Long brackets as Redis's Lua reads them.
//!
//! Redis builds its Lua 5.1 without `LUA_COMPAT_LSTR`, so a level-0 long
//! string or comment (`[[ ... ]]`, `--[[ ... ]]`) simply ends at the first
//! `]]`, whatever `[[` it holds. The Lua that mlua vendors keeps 5.1's
//! default (`LUA_COMPAT_LSTR 1`) and refuses such a `[[` with "nesting of
//! [[...]] is deprecated". Rather than patch the interpreter, the source is
//! rewritten before it is compiled: each level-0 long bracket whose body
//! holds `[[` gets a higher level (`[=[ ... ]=]`), chosen so that its
//! closing bracket first appears where the old `]]` was. The body, and so
//! the string's value, is unchanged, and no line moves, so error messages
//! keep their line numbers. (An error message that quotes such a string
//! token itself shows its new brackets.)

/// Counts the `=` of a long bracket whose first `[` is at `at`: the level
/// when a second `[` follows them, None otherwise (a plain `[`, or an
/// invalid delimiter that Lua refuses either way).
fn level(code: &[u8], at: usize) -> Option<usize> {
    let eq = code[at + 1..].iter().take_while(|&&c| c == b'=').count();
    (code.get(at + 1 + eq) == Some(&b'[')).then_some(eq)
}

/// Where a level-0 long bracket's body that starts at `from` ends (the
/// index of its closing `]]`), if it ends.
fn close0(code: &[u8], from: usize) -> Option<usize> {
    code[from..].windows(2).position(|w| w == b"]]").map(|p| from + p)
}

/// The closing bracket of level `k`: `]`, k times `=`, `]`.
fn closing(k: usize) -> Vec<u8> {
    let mut close = Vec::with_capacity(k + 2);
    close.push(b']');
    close.resize(k + 1, b'=');
    close.push(b']');
    close
}

/// The smallest level >= 1 whose closing bracket, put after `body`, is
/// found first exactly there.
fn free_level(body: &[u8]) -> usize {
    let mut k = 1;
    loop {
        let close = closing(k);
        let mut all = body.to_vec();
        all.extend_from_slice(&close);
        if all.windows(close.len()).position(|w| w == close.as_slice()) == Some(body.len()) {
            return k;
        }
        k += 1;
    }
}

/// The source to compile: `None` when it needs no change (almost always).
pub fn unnest(code: &[u8]) -> Option<Vec<u8>> {
    // Quick exit: a body holding "[[" means at least two of them.
    code.windows(2).filter(|w| *w == b"[[").nth(1)?;
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0; // code[..copied] is already in `out`
    let mut i = 0;
    let n = code.len();
    while i < n {
        let c = code[i];
        // A long bracket (string or, after "--", comment) starting at `open`.
        let open = match c {
            b'-' if code.get(i + 1) == Some(&b'-') => {
                if code.get(i + 2) == Some(&b'[') && level(code, i + 2).is_some() {
                    i + 2
                } else {
                    // A short comment: to the end of the line.
                    i += 2;
                    while i < n && code[i] != b'\n' && code[i] != b'\r' {
                        i += 1;
                    }
                    continue;
                }
            }
            b'[' if level(code, i).is_some() => i,
            b'"' | b'\'' => {
                i += 1;
                while i < n && code[i] != c && code[i] != b'\n' && code[i] != b'\r' {
                    i += if code[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        let lv = level(code, open).unwrap_or(0);
        let body = open + lv + 2;
        if lv > 0 {
            // Read the same by both builds: skip to its closing bracket.
            let close = closing(lv);
            i = match code[body.min(n)..].windows(close.len()).position(|w| w == close.as_slice()) {
                Some(p) => body + p + close.len(),
                None => n,
            };
            continue;
        }
        let end = close0(code, body);
        let text = &code[body.min(n)..end.unwrap_or(n)];
        if !text.windows(2).any(|w| w == b"[[") {
            i = end.map_or(n, |e| e + 2);
            continue;
        }
        let k = free_level(text);
        let o = out.get_or_insert_with(|| Vec::with_capacity(n + 8));
        o.extend_from_slice(&code[copied..open]);
        o.push(b'[');
        o.resize(o.len() + k, b'=');
        o.push(b'[');
        o.extend_from_slice(text);
        match end {
            Some(e) => {
                o.extend_from_slice(&closing(k));
                i = e + 2;
            }
            None => i = n, // unfinished: Lua reports it, as Redis's does
        }
        copied = i;
    }
    let mut o = out?;
    o.extend_from_slice(&code[copied..]);
    Some(o)
}

#[cfg(test)]
mod tests {
    use super::unnest;

    fn u(s: &str) -> String {
        String::from_utf8(unnest(s.as_bytes()).unwrap_or_else(|| s.as_bytes().to_vec())).unwrap()
    }

    #[test]
    fn untouched_sources() {
        for s in [
            "return 1",
            "return [[a]] .. [[b]]",
            "return [=[a [[b]] c]=]",
            "return '[[' .. \"[[\" .. [[x]]",
            "-- [[ [[ nothing\nreturn 1",
            "local t = {} t[ [[k]] ] = 1 return t[\"k\"]",
        ] {
            assert_eq!(unnest(s.as_bytes()), None, "{s}");
        }
    }

    #[test]
    fn nested_strings_get_a_level() {
        assert_eq!(u("return [[a [[b]] c]]"), "return [=[a [[b]=] c]]");
        assert_eq!(u("return [[a [[b c]]"), "return [=[a [[b c]=]");
        assert_eq!(u("return [[x [[ ]=] y]]"), "return [==[x [[ ]=] y]==]");
        // A body ending in "]=" must not close early on the new bracket.
        assert_eq!(u("return [[a [[b]=]]"), "return [==[a [[b]=]==]");
        assert_eq!(u("--[[ a [[ b ]]\nreturn 1"), "--[=[ a [[ b ]=]\nreturn 1");
        assert_eq!(u("return [[a [[b"), "return [=[a [[b");
        // Quoted strings and higher levels are skipped as Lua reads them.
        assert_eq!(u("return '[[', [==[ [[ ]==], [[p [[q]]"), "return '[[', [==[ [[ ]==], [=[p [[q]=]");
        assert_eq!(u("return \"\\\"[[\", [[p [[q]]"), "return \"\\\"[[\", [=[p [[q]=]");
    }

    #[test]
    fn lines_stay_put() {
        let s = "local a = [[\n[[\n]]\nreturn a";
        assert_eq!(u(s).lines().count(), s.lines().count());
    }
}
