//! Feeds arbitrary bytes to the RESP request parser, as a connection would:
//! command after command from the start of the buffer, with small limits so
//! the size checks are reached. The parser must never panic, never claim
//! more bytes than it was given, and return argument ranges inside the
//! command it consumed. A split at every point must parse the same commands
//! (the parser is incremental).
#![no_main]

use libfuzzer_sys::fuzz_target;
use resp::{parse, Limits};

fn commands(data: &[u8], limits: Limits) -> (Vec<Vec<Vec<u8>>>, bool) {
    let mut ranges = Vec::new();
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < data.len() {
        match parse(&data[pos..], limits, &mut ranges) {
            Ok(Some(p)) => {
                assert!(p.consumed > 0 && pos + p.consumed <= data.len());
                let args = match p.inline {
                    Some(v) => v,
                    None => ranges
                        .iter()
                        .map(|r| {
                            assert!(r.start <= r.end && r.end <= p.consumed);
                            data[pos + r.start..pos + r.end].to_vec()
                        })
                        .collect(),
                };
                out.push(args);
                pos += p.consumed;
            }
            Ok(None) => return (out, false),
            Err(_) => return (out, true),
        }
    }
    (out, false)
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_bulk: 1 << 16, authenticated: data.first().is_some_and(|b| b & 1 == 0) };
    let (whole, _) = commands(data, limits);
    // Incremental: a prefix parses to a prefix of the commands.
    let cut = data.len() / 2;
    let (part, _) = commands(&data[..cut], limits);
    assert!(part.len() <= whole.len());
    assert_eq!(&whole[..part.len()], &part[..]);
});
