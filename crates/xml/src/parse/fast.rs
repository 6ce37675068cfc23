//! The own tokenizer: the common well-formed document read straight from the validated text,
//! into the same [`Builder`] as quick-xml's events.
//!
//! quick-xml checks UTF-8 again on every event and finds the end of a start tag before the
//! attributes are scanned a second time; here the input is text already, so markup is cut at
//! ASCII delimiters (no character boundary to check) and a start tag is read once, attributes
//! and all. Every token is cut where quick-xml's reader cuts it (text up to `<` or `&`, a
//! reference up to `;`, a comment up to the first `-->`...) and handed to the builder's
//! handlers with the same offsets, so the document is the same. Anything else, malformed or
//! merely unusual (a DOCTYPE, a name that is not an XML `Name`, a `]]>` in text, two
//! attributes with no whitespace between them, a limit reached, an error of the builder: a
//! malformed XML declaration, a name that is not a `QName`...), gives up: the caller reads
//! the input again with quick-xml, whose reading (with the builder's checks) reports the
//! error, or reads what is unusual, exactly as before.

use std::borrow::Cow;

use memchr::{memchr_iter, memchr3, memmem};

use super::{Builder, Failure, RawAttr, TextKind, chars, swar_below, swar_eq};

/// The tokenizer gave up: quick-xml reads the input again from the start.
#[derive(Debug)]
pub(super) struct GiveUp;

impl From<Failure> for GiveUp {
    fn from(_: Failure) -> GiveUp {
        GiveUp
    }
}

/// XML whitespace (what quick-xml takes for whitespace).
const SPACE: u8 = 1;
/// An ASCII character that may follow the first of a name: letters, digits, `_ : - .` (the
/// characters of multi-byte names are read one by one, see [`read_name`]).
const NAME: u8 = 2;
/// An ASCII character that may start a name: the above but digits, `-` and `.`.
const NAME_START: u8 = 4;

/// The classes of every byte.
const CLASSES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            SPACE
        } else if b.is_ascii_alphabetic() || b == b'_' || b == b':' {
            NAME | NAME_START
        } else if b.is_ascii_digit() || b == b'-' || b == b'.' {
            NAME
        } else {
            0
        };
        i += 1;
    }
    table
};

/// Whether `b` (when there is one) is of `class`.
fn is(b: Option<&u8>, class: u8) -> bool {
    b.is_some_and(|&b| CLASSES[usize::from(b)] & class != 0)
}

/// The first index at or after `i` whose byte is not of `class`.
fn skip(bytes: &[u8], i: usize, class: u8) -> usize {
    let rest = bytes.get(i..).unwrap_or_default();
    i + rest
        .iter()
        .position(|&b| CLASSES[usize::from(b)] & class == 0)
        .unwrap_or(rest.len())
}

/// The end of the XML `Name` at `start` in `whole`; gives up where there is none. ASCII is
/// read by class; a name with another character is read by [`read_other_name`].
#[inline]
fn read_name(whole: &str, start: usize) -> Result<usize, GiveUp> {
    let bytes = whole.as_bytes();
    if !is(bytes.get(start), NAME_START) {
        return read_other_name(whole, start);
    }
    let end = skip(bytes, start + 1, NAME);
    if bytes.get(end).is_some_and(|&b| b >= 0x80) {
        return read_other_name(whole, start);
    }
    Ok(end)
}

/// [`read_name`] for a name with a character outside ASCII (or none): each such character is
/// decoded and checked against the production.
#[cold]
fn read_other_name(whole: &str, start: usize) -> Result<usize, GiveUp> {
    let bytes = whole.as_bytes();
    let mut i = start;
    let mut class = NAME_START;
    loop {
        match bytes.get(i) {
            Some(&c) if CLASSES[usize::from(c)] & class != 0 => i += 1,
            Some(&c) if c >= 0x80 => {
                let ch = whole
                    .get(i..)
                    .and_then(|s| s.chars().next())
                    .ok_or(GiveUp)?;
                let ok = if class == NAME_START {
                    chars::is_name_start_char(ch)
                } else {
                    chars::is_name_char(ch)
                };
                if !ok {
                    return Err(GiveUp);
                }
                i += ch.len_utf8();
            }
            _ if class == NAME_START => return Err(GiveUp),
            _ => return Ok(i),
        }
        if class == NAME_START {
            class = NAME;
        }
        i = skip(bytes, i, NAME);
    }
}

/// The end of the attribute value at `from` (the offset of the first `quote`, else
/// `bytes.len()`) and whether the value is its own normalised value (no byte below 0x20, `&`
/// nor `<`: see [`super::plain_attribute`]), in one pass eight bytes at a time.
fn scan_value(bytes: &[u8], from: usize, quote: u8) -> (usize, bool) {
    let special = |w: u64| swar_below(w, 0x20) | swar_eq(w, b'&') | swar_eq(w, b'<');
    let mut i = from;
    let mut marks = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let w = u64::from_le_bytes(w);
        let quotes = swar_eq(w, quote);
        if quotes != 0 {
            // The lowest mark is exact, and a false mark only follows a true one: the marks
            // below the quote's byte tell whether a special byte comes before it.
            let at = quotes.trailing_zeros() / 8;
            let before = (1u64 << (8 * at)) - 1;
            return (i + at as usize, (marks | (special(w) & before)) == 0);
        }
        marks |= special(w);
        i += 8;
    }
    let special = |b: u8| b < 0x20 || b == b'&' || b == b'<';
    let mut plain = marks == 0;
    while let Some(&b) = bytes.get(i) {
        if b == quote {
            break;
        }
        plain &= !special(b);
        i += 1;
    }
    (i, plain)
}

/// Reads the body of `b`'s input into it; on [`GiveUp`] what `b` holds is to be thrown away.
pub(super) fn run(b: &mut Builder<'_>) -> Result<(), GiveUp> {
    let whole = b.whole;
    let bytes = whole.as_bytes();
    let mut i = b.base;
    // quick-xml drops a byte order mark at the start of what it reads without counting it in
    // its offsets: a second one (the first is not part of the body) is left to it.
    if whole[i..].starts_with('\u{feff}') {
        return Err(GiveUp);
    }
    b.begin()?;
    loop {
        // Text runs up to `<` or `&`; a `>` in it (rare) is looked at on the way, for the
        // `]]>` character data may not hold (left to quick-xml's reading, which reports it).
        let mut from = i;
        let next = loop {
            match memchr3(b'<', b'&', b'>', &bytes[from..]) {
                Some(k) if bytes[from + k] == b'>' => {
                    let gt = from + k;
                    if gt >= i + 2 && bytes[gt - 2..gt] == *b"]]" {
                        return Err(GiveUp);
                    }
                    from = gt + 1;
                }
                found => break found.map(|k| from + k),
            }
        };
        let stop = next.unwrap_or(bytes.len());
        if stop > i {
            b.text(Cow::Borrowed(&whole[i..stop]), i, TextKind::Raw)?;
        }
        let Some(at) = next else {
            break;
        };
        i = if bytes[at] == b'&' {
            reference(b, at)?
        } else {
            match bytes.get(at + 1) {
                Some(b'/') => end_tag(b, at)?,
                Some(b'!') => bang(b, at)?,
                Some(b'?') => question_mark(b, at)?,
                Some(_) => start_tag(b, at)?,
                None => return Err(GiveUp),
            }
        };
    }
    b.finish()?;
    Ok(())
}

/// A reference at `at` (the `&`), up to the first `;` when no `&` nor `<` comes before it.
/// Returns where the text goes on.
fn reference(b: &mut Builder<'_>, at: usize) -> Result<usize, GiveUp> {
    let whole = b.whole;
    let bytes = whole.as_bytes();
    let end = at + 1 + memchr3(b';', b'&', b'<', &bytes[at + 1..]).ok_or(GiveUp)?;
    if bytes[end] != b';' {
        return Err(GiveUp);
    }
    let name = &whole[at + 1..end];
    let resolved = match name {
        "lt" => Cow::Borrowed("<"),
        "gt" => Cow::Borrowed(">"),
        "amp" => Cow::Borrowed("&"),
        "quot" => Cow::Borrowed("\""),
        "apos" => Cow::Borrowed("'"),
        _ => {
            let mut s = String::new();
            super::push_reference(name, &mut s).map_err(|_| GiveUp)?;
            Cow::Owned(s)
        }
    };
    b.text(resolved, at, TextKind::Resolved)?;
    Ok(end + 1)
}

/// An end tag at `at`: the name of the open element exactly, whitespace, `>`.
fn end_tag(b: &mut Builder<'_>, at: usize) -> Result<usize, GiveUp> {
    let whole = b.whole;
    let bytes = whole.as_bytes();
    let from = at + 2;
    let len = match b.stack.last() {
        Some(frame) if frame.node != 0 && bytes[from..].starts_with(frame.raw_name.as_bytes()) => {
            frame.raw_name.len()
        }
        _ => return Err(GiveUp),
    };
    let close = skip(bytes, from + len, SPACE);
    if bytes.get(close) != Some(&b'>') {
        return Err(GiveUp);
    }
    b.end_tag(&whole[from..from + len], at)?;
    Ok(close + 1)
}

/// A comment or a CDATA section at `at` (a DOCTYPE and anything else give up).
fn bang(b: &mut Builder<'_>, at: usize) -> Result<usize, GiveUp> {
    let whole = b.whole;
    let bytes = whole.as_bytes();
    let rest = &bytes[at..];
    if rest.starts_with(b"<!--") {
        let from = at + 4;
        // The first `-->` after `<!--` (quick-xml's first `>` after two `-`, `<!---->` the
        // shortest comment).
        let to = memchr_iter(b'>', &bytes[from..])
            .map(|k| from + k)
            .find(|&gt| gt >= from + 2 && bytes[gt - 2..gt] == *b"--")
            .ok_or(GiveUp)?
            - 2;
        // quick-xml refuses `--` in a comment, and a comment that ends with `-` (`--->`): a
        // `-` of the content followed by a `-`, the first of `-->` included.
        if memchr_iter(b'-', &bytes[from..to]).any(|k| bytes[from + k + 1] == b'-') {
            return Err(GiveUp);
        }
        let end = to + 3;
        b.comment(&whole[from..to], at, end)?;
        Ok(end)
    } else if rest.starts_with(b"<![CDATA[") {
        let from = at + 9;
        let to = from + memmem::find(&bytes[from..], b"]]>").ok_or(GiveUp)?;
        b.text(Cow::Borrowed(&whole[from..to]), at, TextKind::CData)?;
        Ok(to + 3)
    } else {
        Err(GiveUp)
    }
}

/// The XML declaration or a processing instruction at `at`, up to the first `?>`.
fn question_mark(b: &mut Builder<'_>, at: usize) -> Result<usize, GiveUp> {
    let whole = b.whole;
    let bytes = whole.as_bytes();
    let question = at + 1 + memmem::find(&bytes[at + 1..], b"?>").ok_or(GiveUp)?;
    if question == at + 1 {
        // `<?>`: quick-xml's error.
        return Err(GiveUp);
    }
    let end = question + 2;
    let content = &whole[at + 2..question];
    let cb = content.as_bytes();
    if cb.starts_with(b"xml") && (cb.len() == 3 || is(cb.get(3), SPACE)) {
        b.declaration(at, end)?;
    } else {
        let target = cb
            .iter()
            .position(|&c| is(Some(&c), SPACE))
            .unwrap_or(cb.len());
        b.processing_instruction(&content[..target], &content[target..], at, end)?;
    }
    Ok(end)
}

/// A start tag at `at`, read once: the name, then attributes (a name, `=`, a quoted value,
/// whitespace anywhere quick-xml allows it) up to `>` or `/>`.
fn start_tag<'a>(b: &mut Builder<'a>, at: usize) -> Result<usize, GiveUp> {
    let whole: &'a str = b.whole;
    let bytes = whole.as_bytes();
    let name_start = at + 1;
    let name_end = read_name(whole, name_start)?;
    b.open(at)?;
    b.attrs.clear();
    let mut i = name_end;
    let (end, empty) = loop {
        let key_start = skip(bytes, i, SPACE);
        match bytes.get(key_start) {
            Some(b'>') => break (key_start + 1, false),
            Some(b'/') if bytes.get(key_start + 1) == Some(&b'>') => break (key_start + 2, true),
            _ => {}
        }
        // The name took every name byte: an attribute right after it is whitespace away. After
        // a value, an attribute with no whitespace before it (which quick-xml reads as well)
        // is refused by the builder's checks.
        if key_start == i {
            return Err(GiveUp);
        }
        let key_end = read_name(whole, key_start)?;
        let equals = skip(bytes, key_end, SPACE);
        if bytes.get(equals) != Some(&b'=') {
            return Err(GiveUp);
        }
        let open = skip(bytes, equals + 1, SPACE);
        let quote = match bytes.get(open) {
            Some(&q @ (b'"' | b'\'')) => q,
            _ => return Err(GiveUp),
        };
        let value_start = open + 1;
        let (value_end, plain) = scan_value(bytes, value_start, quote);
        if value_end >= bytes.len() {
            return Err(GiveUp);
        }
        let key = &whole[key_start..key_end];
        if b.attrs.iter().any(|p| *p.key == *key)
            || b.attrs.len() >= b.limits.max_attributes_per_element
        {
            return Err(GiveUp);
        }
        b.attrs.push(RawAttr {
            key: Cow::Borrowed(key),
            value: Cow::Borrowed(&whole[value_start..value_end]),
            offset: key_start,
            value_at: Some(value_start),
            plain,
        });
        i = value_end + 1;
    };
    b.element(Cow::Borrowed(&whole[name_start..name_end]), at, end, empty)?;
    Ok(end)
}

#[cfg(test)]
mod tests;
