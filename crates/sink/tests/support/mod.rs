//! Support shared by the sink's integration tests.

pub mod wire;
