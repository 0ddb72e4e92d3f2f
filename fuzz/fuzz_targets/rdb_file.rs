//! Feeds arbitrary bytes to the RDB file parser (what startup and DEBUG
//! RELOAD read): it must never panic, allocate without bound or loop. The
//! checksum is not verified, so the fuzzer reaches the structure behind it.
#![no_main]

use hematite::rdb::file::{parse, Item};
use hematite::rdb::LoadConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut n = 0usize;
    let _ = parse(data, &LoadConfig::default(), false, |it| {
        if let Item::Key { key, .. } = it {
            n += key.len();
        }
        Ok(())
    });
    // A file that starts with a valid header gets through it.
    let mut f = b"REDIS0010".to_vec();
    f.extend_from_slice(data);
    let _ = parse(&f, &LoadConfig::default(), false, |_| Ok(()));
});
