//! CDA R2
