//! Feeds arbitrary bytes to the RDB value loader, as RESTORE would after
//! the footer check: it must never panic, allocate without bound or loop.
//! A value that loads must dump again, and that dump must load back to a
//! value that dumps the same (our own encoding is a fixed point).
#![no_main]

use hematite::rdb::{dump, load, LoadConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Small encoding thresholds as well as Redis's defaults, so both the
    // compact and the large forms are built from the same bytes.
    let small = LoadConfig { list_fill: 2, max_intset: 4, ..LoadConfig::default() };
    for cfg in [LoadConfig::default(), small] {
        if let Some(v) = load(data, &cfg) {
            let d = dump(&v);
            let again = load(&d, &cfg).expect("our own dump loads");
            assert_eq!(dump(&again), d, "dump of a reloaded dump is the same");
        }
    }
});
