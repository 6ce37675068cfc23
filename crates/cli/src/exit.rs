//! Exit codes of `segur`: a documented API, the same for every subcommand.

/// Everything ran and everything conforms.
pub const OK: u8 = 0;
/// Something was checked and found invalid (a wrong INS key, a document with error findings).
pub const INVALID: u8 = 1;
/// Usage or input error: bad arguments, unreadable or malformed input, an unknown type.
pub const USAGE: u8 = 2;
/// Infrastructure error: cannot write output, an external tool (the peer chain) failed to run.
pub const INFRA: u8 = 3;
