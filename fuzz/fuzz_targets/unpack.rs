//! Any bytes, as any package kind: `unpack` returns findings, never panics, and stays bounded.

#![no_main]

use libfuzzer_sys::fuzz_target;
use segur_exchange::unpack::{Kind, unpack};

fuzz_target!(|data: &[u8]| {
    let kind = match data.first().map(|b| b % 5) {
        Some(0) => Some(Kind::Mss),
        Some(1) => Some(Kind::Xdm),
        Some(2) => Some(Kind::Iti41),
        Some(3) => Some(Kind::Mhd),
        _ => None,
    };
    let _ = unpack(data.get(1..).unwrap_or_default(), "fuzz", kind);
});
