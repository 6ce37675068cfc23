//! Test support shared by the sink's and the replay client's wire-format property tests
//! (`crates/replay/tests/response_props.rs` includes this file by path): a connection that
//! delivers its bytes in reads of given sizes, and byte-level edits of a message.

#![allow(dead_code)]

use std::io::{Read, Write};

/// A connection whose reads return the next `sizes` bytes at a time (cycled), and whose
/// writes (`100 Continue`, replies) are kept.
pub struct Trickle {
    data: Vec<u8>,
    at: usize,
    sizes: Vec<usize>,
    next: usize,
    /// What was written to it.
    pub written: Vec<u8>,
}

impl Trickle {
    /// `data` in reads of `sizes` bytes (cycled; a zero counts as one).
    pub fn new(data: Vec<u8>, sizes: Vec<usize>) -> Trickle {
        Trickle {
            data,
            at: 0,
            sizes,
            next: 0,
            written: Vec::new(),
        }
    }
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let size = self.sizes[self.next % self.sizes.len()].max(1);
        self.next += 1;
        let n = size.min(buf.len()).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Write for Trickle {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `bytes` with each edit applied in turn: at `at` thousandths of the length, set (`how` 0),
/// remove (1) or insert (2) `byte`.
pub fn edit(mut bytes: Vec<u8>, edits: &[(u16, u8, u8)]) -> Vec<u8> {
    for &(at, byte, how) in edits {
        let i = bytes.len() * usize::from(at) / 1000;
        match how {
            0 if i < bytes.len() => bytes[i] = byte,
            1 if i < bytes.len() => {
                bytes.remove(i);
            }
            _ => bytes.insert(i, byte),
        }
    }
    bytes
}
