//! MIME (RFC 2045–2047) both ways: writing headers and base64 bodies, and a tolerant reader
//! for captured messages whose problems (truncation, unknown or misspelled
//! Content-Transfer-Encoding, bad base64) are findings while the rest is still read.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use segur_finding::Finding;

use crate::rules::{finding, finding_at};

/// Deepest multipart nesting read.
const MAX_DEPTH: usize = 8;
/// Most parts read in one message.
const MAX_PARTS: usize = 1000;
/// The fields a MIME entity carries at most once (RFC 2045 §3 `entity-headers`).
const ONCE_PER_ENTITY: [&str; 2] = ["Content-Type", "Content-Transfer-Encoding"];

/// A header value for the wire: as is when ASCII, else an RFC 2047 `B` encoded-word sequence.
pub fn encode_header(value: &str) -> String {
    if value.is_ascii() {
        return value.to_string();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in value.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?UTF-8?B?{}?=", STANDARD.encode(&chunk)));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", STANDARD.encode(&chunk)));
    }
    words.join("\r\n ")
}

/// Decode RFC 2047 encoded-words (UTF-8 or ISO-8859-1, `B` or `Q`); other text as is.
pub fn decode_header(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, tail) = rest.split_at(start);
        let decoded = tail[2..].splitn(3, '?').collect::<Vec<_>>();
        let word = match decoded.as_slice() {
            [charset, enc, more] => more.find("?=").and_then(|end| {
                let text = &more[..end];
                let bytes = match enc.to_ascii_uppercase().as_str() {
                    "B" => STANDARD.decode(text).ok()?,
                    "Q" => qp_decode(text.replace('_', " ").as_bytes()),
                    _ => return None,
                };
                let s = if charset.eq_ignore_ascii_case("utf-8") {
                    String::from_utf8_lossy(&bytes).into_owned()
                } else {
                    bytes.iter().map(|&b| b as char).collect()
                };
                let consumed = 2 + charset.len() + 1 + enc.len() + 1 + end + 2;
                Some((s, consumed))
            }),
            _ => None,
        };
        match word {
            Some((s, consumed)) => {
                if !(last_was_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&s);
                rest = &tail[consumed..];
                last_was_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = &tail[2..];
                last_was_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Base64 in lines of 76 characters, CRLF-terminated.
pub fn base64_lines(bytes: &[u8]) -> String {
    let text = STANDARD.encode(bytes);
    let mut out = String::with_capacity(text.len() + text.len() / 38 + 2);
    for chunk in text.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        out.push_str("\r\n");
    }
    out
}

/// Decode quoted-printable.
pub fn qp_decode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            let hex = |b: u8| (b as char).to_digit(16);
            match (bytes.get(i + 1), bytes.get(i + 2)) {
                (Some(b'\r'), Some(b'\n')) => i += 3,
                (Some(b'\n'), _) => i += 2,
                (Some(&a), Some(&b)) if hex(a).is_some() && hex(b).is_some() => {
                    out.push((hex(a).unwrap_or(0) * 16 + hex(b).unwrap_or(0)) as u8);
                    i += 3;
                }
                _ => {
                    out.push(b'=');
                    i += 1;
                }
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Decode base64 that may contain line breaks and spaces.
pub fn decode_base64(text: &[u8]) -> Result<Vec<u8>, base64::DecodeError> {
    let compact: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    STANDARD.decode(compact)
}

/// A MIME entity as read.
#[derive(Debug, Clone, Default)]
pub struct Part {
    /// Headers, names as written, values unfolded. Of a repeated Content-Type (a
    /// SEGUR-MIME-DUPLICATE), the multipart one with a boundary comes first: it is the one
    /// read, so that what one receiver would see inside is checked.
    pub headers: Vec<(String, String)>,
    /// The decoded body (empty for a multipart).
    pub body: Vec<u8>,
    /// The parts of a multipart.
    pub parts: Vec<Part>,
    /// Where it is, for findings (`part 2.1`).
    pub place: String,
    /// The 1-based line in the input of each header (beside [`Part::headers`]), when known.
    pub header_lines: Vec<Option<u32>>,
    /// The line of the blank line that ends the headers (where a missing header belongs), when
    /// known.
    pub end_line: Option<u32>,
}

impl Part {
    /// The line of the first header of that name, else of the end of the headers: where a
    /// finding about that header points.
    pub fn line_of(&self, name: &str) -> Option<u32> {
        self.headers
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|i| self.header_lines.get(i).copied().flatten())
            .or(self.end_line)
    }

    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    /// The index in [`Part::headers`] of every header of that name.
    fn positions(&self, name: &str) -> Vec<usize> {
        self.headers
            .iter()
            .enumerate()
            .filter(|(_, (n, _))| n.eq_ignore_ascii_case(name))
            .map(|(i, _)| i)
            .collect()
    }

    /// A finding of rule `id` when the header `name` appears more than once, placed on its
    /// second occurrence; `allowed_by` says which text allows one.
    pub(crate) fn repeated(
        &self,
        name: &str,
        id: &'static str,
        allowed_by: &str,
    ) -> Option<Finding> {
        let at = self.positions(name);
        if at.len() < 2 {
            return None;
        }
        let values: Vec<String> = at
            .iter()
            .map(|&i| {
                let v = self.headers[i].1.trim();
                match v.char_indices().nth(80) {
                    Some((cut, _)) => format!("`{}…`", &v[..cut]),
                    None => format!("`{v}`"),
                }
            })
            .collect();
        let place = &self.place;
        Some(finding_at(
            id,
            place,
            self.header_lines.get(at[1]).copied().flatten(),
            format!(
                "{place}: {name} appears {} times ({}); {allowed_by} allows one, and receivers may read either",
                at.len(),
                values.join(", ")
            ),
        ))
    }

    /// Every header of that name.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    /// The media type, lower case (`text/plain` when absent).
    pub fn media_type(&self) -> String {
        self.header("Content-Type")
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "text/plain".into())
    }

    /// A parameter of a header (`boundary`, `name`, `filename`…), unquoted.
    pub fn param(&self, header: &str, name: &str) -> Option<String> {
        param(self.header(header)?, name)
    }

    /// The file name: Content-Disposition `filename`, else Content-Type `name`.
    pub fn file_name(&self) -> Option<String> {
        self.param("Content-Disposition", "filename")
            .or_else(|| self.param("Content-Type", "name"))
            .map(|n| decode_header(&n))
    }

    /// Every leaf part, depth first.
    pub fn leaves(&self) -> Vec<&Part> {
        if self.parts.is_empty() {
            vec![self]
        } else {
            self.parts.iter().flat_map(Part::leaves).collect()
        }
    }
}

/// A parameter of a structured header value.
pub fn param(value: &str, name: &str) -> Option<String> {
    let mut in_quotes = false;
    let mut pieces = Vec::new();
    let mut cur = String::new();
    for c in value.chars() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                cur.push(c);
            }
            ';' if !in_quotes => pieces.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    pieces.push(cur);
    let pairs: Vec<(&str, &str)> = pieces
        .iter()
        .skip(1)
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    // An RFC 2231 value (`name*=utf-8''IHE%5FXDM.ZIP`, or continued as `name*0*=`,
    // `name*1*=`…) is what its writer meant, when there is one: mail clients send it for
    // names outside ASCII, and some always.
    extended_param(&pairs, name).or_else(|| {
        pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim_matches('"').to_string())
    })
}

/// The RFC 2231 value of parameter `name` among `pairs`: `name*` (charset'language'value,
/// percent-encoded), or the continuations `name*0`, `name*1`… in order, each encoded when its
/// key ends with `*` (the charset given by the first). UTF-8 and US-ASCII are read as UTF-8,
/// anything else as ISO-8859-1.
fn extended_param(pairs: &[(&str, &str)], name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let key = |k: &str| k.to_ascii_lowercase();
    // (section, encoded, value)
    let mut sections: Vec<(u32, bool, &str)> = Vec::new();
    for (k, v) in pairs {
        let k = key(k);
        let Some(rest) = k.strip_prefix(&lower).and_then(|r| r.strip_prefix('*')) else {
            continue;
        };
        if rest.is_empty() {
            sections = vec![(0, true, v)];
            break;
        }
        let (number, encoded) = match rest.strip_suffix('*') {
            Some(n) => (n, true),
            None => (rest, false),
        };
        // Sections are numbered without leading zeros, at most a few dozen of them.
        if let Ok(n) = number.parse::<u32>()
            && (number == "0" || !number.starts_with('0'))
            && n < 1000
        {
            sections.push((n, encoded, v));
        }
    }
    sections.sort_by_key(|(n, _, _)| *n);
    if sections.is_empty()
        || sections
            .iter()
            .enumerate()
            .any(|(i, (n, _, _))| *n as usize != i)
    {
        return None;
    }
    let mut latin1 = false;
    let mut bytes = Vec::new();
    for (i, (_, encoded, v)) in sections.iter().enumerate() {
        let mut v = v.trim_matches('"');
        if !encoded {
            bytes.extend_from_slice(v.as_bytes());
            continue;
        }
        if i == 0 {
            let mut fields = v.splitn(3, '\'');
            let (Some(charset), Some(_language), Some(value)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return None;
            };
            let charset = charset.to_ascii_lowercase();
            latin1 = !charset.is_empty() && charset != "utf-8" && charset != "us-ascii";
            v = value;
        }
        bytes.extend(percent_decode(v));
    }
    Some(if latin1 {
        bytes.iter().map(|&b| char::from(b)).collect()
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Percent-decoding (`%5F` → `_`), as RFC 2231 values and `cid:` URLs (RFC 2392) use it: a
/// `%` not followed by two hexadecimal digits stays as it is.
pub(crate) fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// The addresses of an address-list header (`A <a@x>, b@y`).
pub fn addresses(value: &str) -> Vec<String> {
    value
        .split(',')
        .filter_map(|a| {
            let a = a.trim();
            let addr = match (a.rfind('<'), a.rfind('>')) {
                (Some(s), Some(e)) if s < e => &a[s + 1..e],
                _ => a,
            };
            let addr = addr.trim();
            addr.contains('@').then(|| addr.to_string())
        })
        .collect()
}

struct Reader<'f> {
    findings: &'f mut Vec<Finding>,
    parts: usize,
    limited: bool,
    /// The whole input: every entity read is a slice of it, which gives its line.
    whole: &'f [u8],
    /// Added to a line of `whole` to give the line in the file (`whole` may start after an
    /// HTTP request line, or with headers that are not in the file).
    line_offset: i64,
    /// Whether RFC 5322's 998-octet line limit applies (mail; HTTP has none).
    line_limit: bool,
}

/// Read a MIME entity (a whole message, or an HTTP body with its headers); problems go to
/// `findings`, placed under `name`, with their lines in `bytes`. Lines longer than RFC 5322
/// allows are SEGUR-MIME-LINE-LENGTH.
pub fn parse(bytes: &[u8], name: &str, findings: &mut Vec<Finding>) -> Part {
    Reader::new(bytes, 0, true, findings).entity(bytes, name, 0)
}

/// [`parse`] of an HTTP capture (an ITI-41 request) whose line 1 is line `1 + line_offset` of
/// the file (a negative offset: lines added in front that the file does not have; their
/// findings carry no line). HTTP limits no line length, so none is checked.
pub fn parse_at(bytes: &[u8], name: &str, line_offset: i64, findings: &mut Vec<Finding>) -> Part {
    Reader::new(bytes, line_offset, false, findings).entity(bytes, name, 0)
}

/// Of several Content-Type headers, moves the first multipart one with a boundary first, so
/// that the parts a receiver reading it would see are read and checked too.
fn prefer_multipart(part: &mut Part) {
    let at = part.positions("Content-Type");
    let Some(&first) = at.first() else {
        return;
    };
    let multipart = at.iter().copied().find(|&i| {
        let v = &part.headers[i].1;
        v.trim_start()
            .to_ascii_lowercase()
            .starts_with("multipart/")
            && param(v, "boundary").is_some_and(|b| !b.is_empty())
    });
    if let Some(m) = multipart.filter(|&m| m != first) {
        part.headers.swap(first, m);
        if m < part.header_lines.len() && first < part.header_lines.len() {
            part.header_lines.swap(first, m);
        }
    }
}

/// The lines of `bytes` longer than [`MAX_LINE`] octets (line end excluded): how many, and
/// the first one's start and length.
fn long_lines(bytes: &[u8]) -> Option<(usize, &[u8], usize)> {
    let mut count = 0;
    let mut first = None;
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    for end in ends {
        let line = &bytes[start..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > MAX_LINE {
            count += 1;
            first.get_or_insert((line, line.len()));
        }
        start = end + 1;
    }
    first.map(|(line, len)| (count, line, len))
}

/// Split at the blank line ending the headers.
fn split_headers(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    // The first empty line: `\r\n\r\n` or `\n\n`, whichever starts first. Each is found at
    // its first `\n`, so the line ends are visited in order and the first that ends a header
    // block wins (memchr: a document part can be megabytes without either sequence).
    for p in memchr::memchr_iter(b'\n', bytes) {
        let next = &bytes[p + 1..];
        if p > 0 && bytes[p - 1] == b'\r' && next.starts_with(b"\r\n") {
            return Some((&bytes[..p - 1], &bytes[p + 3..]));
        }
        if next.starts_with(b"\n") {
            return Some((&bytes[..p], &bytes[p + 2..]));
        }
    }
    None
}

/// Position of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    memchr::memmem::find(hay, needle)
}

/// The headers, unfolded, each with its 0-based line in `raw`.
fn parse_headers(raw: &[u8]) -> Vec<(String, String, u32)> {
    let text = String::from_utf8_lossy(raw);
    let mut headers: Vec<(String, String, u32)> = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with([' ', '\t']) {
            if let Some((_, v, _)) = headers.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((n, v)) = line.split_once(':') {
            let n = n.trim();
            if !n.is_empty() && !n.contains(' ') {
                let i = u32::try_from(i).unwrap_or(u32::MAX);
                headers.push((n.to_string(), v.trim().to_string(), i));
            }
        }
    }
    headers
}

impl<'f> Reader<'f> {
    fn new(
        whole: &'f [u8],
        line_offset: i64,
        line_limit: bool,
        findings: &'f mut Vec<Finding>,
    ) -> Reader<'f> {
        Reader {
            findings,
            parts: 0,
            limited: false,
            whole,
            line_offset,
            line_limit,
        }
    }

    /// The line in the file of the start of `at`, a slice of the input (None for lines the
    /// file does not have, or a slice from elsewhere).
    fn line(&self, at: &[u8]) -> Option<u32> {
        let offset = (at.as_ptr() as usize).checked_sub(self.whole.as_ptr() as usize)?;
        let before = self.whole.get(..offset)?;
        let line = memchr::memchr_iter(b'\n', before).count() as i64 + 1 + self.line_offset;
        u32::try_from(line).ok().filter(|l| *l > 0)
    }

    /// A SEGUR-MIME-LINE-LENGTH finding on the first line of `bytes` (headers, or a body
    /// whose encoding limits its lines) over [`MAX_LINE`] octets.
    fn check_lines(&mut self, bytes: &[u8], place: &str, what: &str) {
        if !self.line_limit {
            return;
        }
        if let Some((count, line, len)) = long_lines(bytes) {
            let more = match count {
                1 => String::new(),
                n => format!(" ({n} such lines)"),
            };
            self.findings.push(finding_at(
                "SEGUR-MIME-LINE-LENGTH",
                place,
                self.line(line),
                format!(
                    "{place}: a {what} line of {len} octets{more}; RFC 5322 §2.1.1 and RFC 2045 §2.7–2.8 allow {MAX_LINE}"
                ),
            ));
        }
    }

    /// A SEGUR-MIME-CONTROL finding at the first control character of a header block that
    /// RFC 5322 does not allow there: NUL, a CR without its LF, another C0 but TAB, DEL.
    fn check_controls(&mut self, raw: &[u8], place: &str) {
        let bad = |i: usize, b: u8| match b {
            b'\t' | b'\n' => false,
            b'\r' => raw.get(i + 1) != Some(&b'\n'),
            0..0x20 | 0x7f => true,
            _ => false,
        };
        let mut found = raw.iter().enumerate().filter(|&(i, &b)| bad(i, b));
        let Some((first, &byte)) = found.next() else {
            return;
        };
        let more = found.count();
        let line_start = raw[..first]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let more = match more {
            0 => String::new(),
            n => format!(" ({} in all)", n + 1),
        };
        let what = if byte == b'\r' {
            "a CR not followed by LF".to_string()
        } else {
            format!("the control character 0x{byte:02X}")
        };
        self.findings.push(finding_at(
            "SEGUR-MIME-CONTROL",
            place,
            self.line(&raw[line_start..]),
            format!(
                "{place}: a header holds {what}{more}; RFC 5322 §2.2 allows printable characters, TAB and CRLF, and receivers split or cut such headers differently"
            ),
        ));
    }

    fn entity(&mut self, bytes: &[u8], place: &str, depth: usize) -> Part {
        self.parts += 1;
        let first = self.line(bytes);
        let (raw_headers, body) = match split_headers(bytes) {
            Some(split) => split,
            None => {
                let last = bytes
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(bytes, |i| &bytes[i + 1..]);
                let line = self.line(last);
                self.findings.push(finding_at(
                    "SEGUR-MIME-TRUNCATED",
                    place,
                    line,
                    format!("{place}: the headers never end (no blank line): truncated entity"),
                ));
                (bytes, &[][..])
            }
        };
        let headers = parse_headers(raw_headers);
        self.check_lines(raw_headers, place, "header");
        self.check_controls(raw_headers, place);
        let count = |n: u32| -> Option<u32> {
            let first = i64::from(first?);
            u32::try_from(first + i64::from(n)).ok()
        };
        let end_line = if raw_headers.len() < bytes.len() {
            count(memchr::memchr_iter(b'\n', raw_headers).count() as u32 + 1)
        } else {
            None
        };
        let mut part = Part {
            header_lines: headers.iter().map(|h| count(h.2)).collect(),
            headers: headers.into_iter().map(|(n, v, _)| (n, v)).collect(),
            place: place.to_string(),
            end_line,
            ..Part::default()
        };
        for name in ONCE_PER_ENTITY {
            if let Some(f) = part.repeated(name, "SEGUR-MIME-DUPLICATE", "RFC 2045 §3") {
                self.findings.push(f);
            }
        }
        prefer_multipart(&mut part);
        let media = part.media_type();
        if media.starts_with("multipart/") {
            match part.param("Content-Type", "boundary") {
                Some(b) if !b.is_empty() && b.len() <= 200 => {
                    if depth >= MAX_DEPTH {
                        self.findings.push(finding(
                            "SEGUR-PKG-LIMIT",
                            place,
                            format!("{place}: multipart nested deeper than {MAX_DEPTH}; not read"),
                        ));
                    } else {
                        part.parts = self.multipart(body, &b, place, depth);
                    }
                }
                _ => self.findings.push(finding_at(
                    "SEGUR-MIME-STRUCTURE",
                    place,
                    part.line_of("Content-Type"),
                    format!("{place}: {media} without a boundary parameter"),
                )),
            }
            return part;
        }
        part.body = self.decode(&part, body, place);
        part
    }

    fn decode(&mut self, part: &Part, body: &[u8], place: &str) -> Vec<u8> {
        let cte = match part.header("Content-Transfer-Encoding") {
            Some(v) => Some(v.to_string()),
            None => part.header("Content-Transfert-Encoding").map(|v| {
                self.findings.push(finding_at(
                    "SEGUR-MIME-CTE-HEADER",
                    place,
                    part.line_of("Content-Transfert-Encoding"),
                    format!("{place}: header `Content-Transfert-Encoding` is misspelled; read as Content-Transfer-Encoding"),
                ));
                v.to_string()
            }),
        };
        let cte = cte.unwrap_or_else(|| "7bit".into()).to_ascii_lowercase();
        match cte.trim() {
            "7bit" | "8bit" => {
                self.check_lines(body, place, "7bit or 8bit body");
                body.to_vec()
            }
            "binary" => body.to_vec(),
            "quoted-printable" => qp_decode(body),
            "base64" => match decode_base64(body) {
                Ok(d) => d,
                Err(e) => {
                    self.findings.push(finding_at(
                        "SEGUR-MIME-BASE64",
                        place,
                        self.line(body),
                        format!("{place}: base64 body does not decode ({e}); kept undecoded"),
                    ));
                    body.to_vec()
                }
            },
            other => {
                let header = if part.header("Content-Transfer-Encoding").is_some() {
                    "Content-Transfer-Encoding"
                } else {
                    "Content-Transfert-Encoding"
                };
                self.findings.push(finding_at(
                    "SEGUR-MIME-CTE",
                    place,
                    part.line_of(header),
                    format!(
                        "{place}: unknown Content-Transfer-Encoding `{other}`; body kept undecoded"
                    ),
                ));
                body.to_vec()
            }
        }
    }

    fn multipart(&mut self, body: &[u8], boundary: &str, place: &str, depth: usize) -> Vec<Part> {
        let delim = format!("--{boundary}");
        let delim = delim.as_bytes();
        // Delimiter lines: (start of line, start of next line, closing).
        let mut lines = Vec::new();
        let mut at = 0;
        while at < body.len() {
            let end = memchr::memchr(b'\n', &body[at..]).map_or(body.len(), |i| at + i + 1);
            let line = &body[at..end];
            if line.starts_with(delim) {
                let rest = &line[delim.len()..];
                let rest_trim: Vec<u8> = rest
                    .iter()
                    .copied()
                    .filter(|b| !b.is_ascii_whitespace())
                    .collect();
                if rest_trim.is_empty() || rest_trim == b"--" {
                    lines.push((at, end, rest_trim == b"--"));
                    if rest_trim == b"--" {
                        break;
                    }
                }
            }
            at = end;
        }
        let closed = lines.last().is_some_and(|l| l.2);
        if lines.is_empty() {
            self.findings.push(finding(
                "SEGUR-MIME-STRUCTURE",
                place,
                format!("{place}: no part delimited by boundary `{boundary}`"),
            ));
            return Vec::new();
        }
        let mut parts = Vec::new();
        for (i, w) in lines.iter().enumerate() {
            if w.2 {
                break;
            }
            if self.parts >= MAX_PARTS {
                if !self.limited {
                    self.limited = true;
                    self.findings.push(finding(
                        "SEGUR-PKG-LIMIT",
                        place,
                        format!("{place}: more than {MAX_PARTS} MIME parts; the rest is not read"),
                    ));
                }
                break;
            }
            let start = w.1;
            let end = match lines.get(i + 1) {
                Some(next) => {
                    // The CRLF before a delimiter belongs to the delimiter.
                    let mut e = next.0;
                    if e > start && body[e - 1] == b'\n' {
                        e -= 1;
                        if e > start && body[e - 1] == b'\r' {
                            e -= 1;
                        }
                    }
                    e
                }
                None => body.len(),
            };
            let sub = format!("{place} > part {}", parts.len() + 1);
            parts.push(self.entity(&body[start..end.max(start)], &sub, depth + 1));
        }
        if !closed {
            let end = body
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(body, |i| &body[i + 1..]);
            self.findings.push(finding_at(
                "SEGUR-MIME-TRUNCATED",
                place,
                self.line(end),
                format!("{place}: no closing boundary `--{boundary}--`: truncated message; the last part may be incomplete"),
            ));
        }
        parts
    }
}

/// The longest line RFC 5322 §2.1.1 allows, CRLF excluded.
pub const MAX_LINE: usize = 998;
/// Where segur folds a header field when it can (RFC 5322 §2.1.1's 78 recommended).
const FOLD_AT: usize = 78;

/// Why a header field cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// A word of the value, with no white space to fold at, makes a line longer than
    /// [`MAX_LINE`].
    #[error(
        "the {name} field holds a word of {len} octets with no space to fold at: RFC 5322 §2.1.1 limits a line to {MAX_LINE} octets"
    )]
    Unfoldable {
        /// The field name.
        name: String,
        /// The length of the line that word makes, in octets.
        len: usize,
    },
}

/// `Name: value` folded at its spaces (RFC 5322 §2.2.3) into lines of at most 78 octets where
/// the words allow, CRLF-terminated; an error when a line would pass [`MAX_LINE`]. Folds
/// already in the value (`CRLF SP`, as [`encode_header`] writes) are folded again.
pub fn fold_field(name: &str, value: &str) -> Result<String, FieldError> {
    fold_field_within(name, value, FOLD_AT)
}

/// [`fold_field`] with lines of at most `width` octets where the words allow (at least 78,
/// at most [`MAX_LINE`]).
pub fn fold_field_within(name: &str, value: &str, width: usize) -> Result<String, FieldError> {
    let width = width.clamp(FOLD_AT, MAX_LINE);
    let value = value.replace("\r\n ", " ");
    let mut out = String::with_capacity(name.len() + value.len() + 8);
    let mut line = format!("{name}:");
    let mut empty = true;
    for word in value.split(' ') {
        if !empty && !word.is_empty() && line.len() + 1 + word.len() > width {
            out.push_str(&line);
            out.push_str("\r\n");
            line.clear();
        }
        line.push(' ');
        line.push_str(word);
        empty = empty && word.is_empty();
        if line.len() > MAX_LINE {
            return Err(FieldError::Unfoldable {
                name: name.to_string(),
                len: line.len(),
            });
        }
    }
    out.push_str(&line);
    out.push_str("\r\n");
    Ok(out)
}

/// Appends [`fold_field`] of `name` and `value` to a message being written.
pub(crate) fn push_header(m: &mut String, name: &str, value: &str) -> Result<(), FieldError> {
    m.push_str(&fold_field(name, value)?);
    Ok(())
}

/// The domain of a mail address (`segur.invalid` when it has none): the right-hand side of
/// the Message-IDs segur writes.
pub(crate) fn mail_domain(address: &str) -> &str {
    address.rsplit_once('@').map_or("segur.invalid", |(_, d)| d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.rule.as_str()).collect()
    }

    #[test]
    fn control_characters_in_headers_are_reported_at_their_line() {
        for (header, what) in [
            ("Subject: a\0b", "0x00"),
            ("Subject: a\rb", "CR not followed by LF"),
            ("Subject: a\x1bb", "0x1B"),
            ("Subject: a\x7f", "0x7F"),
        ] {
            let m = format!("From: a@b.fr\r\n{header}\r\nTo: c@d.fr\r\n\r\nbody\r\n");
            let mut f = Vec::new();
            parse(m.as_bytes(), "m.eml", &mut f);
            assert_eq!(ids(&f), ["SEGUR-MIME-CONTROL"], "{header:?}");
            assert!(f[0].message.contains(what), "{}", f[0].message);
            assert_eq!(f[0].location.line, Some(2), "{header:?}");
        }
        // TAB, CRLF and folding are fine; a control in the body is the body's business.
        let m = "From: a@b.fr\r\nSubject: a\tb\r\n c\r\n\r\nx\0y\r\n";
        let mut f = Vec::new();
        parse(m.as_bytes(), "m.eml", &mut f);
        assert_eq!(ids(&f), Vec::<&str>::new());
    }

    #[test]
    fn rfc_2231_parameters_are_read() {
        let disposition = |v: &str| param(v, "filename");
        for (value, name) in [
            ("attachment; filename*=UTF-8''IHE%5FXDM.ZIP", "IHE_XDM.ZIP"),
            ("attachment; FILENAME*=utf-8'fr'IHE_XDM.ZIP", "IHE_XDM.ZIP"),
            // The extended value is preferred to the plain one.
            (
                "attachment; filename=\"x.zip\"; filename*=UTF-8''IHE_XDM.ZIP",
                "IHE_XDM.ZIP",
            ),
            // Continuations, in any order, encoded or not.
            (
                "attachment; filename*1=\"XDM.ZIP\"; filename*0*=UTF-8''IHE%5F",
                "IHE_XDM.ZIP",
            ),
            (
                "attachment; filename*=UTF-8''compte-rendu%20%C3%A9t%C3%A9.pdf",
                "compte-rendu été.pdf",
            ),
            ("attachment; filename*=iso-8859-1''%E9t%E9.pdf", "été.pdf"),
            ("attachment; filename=\"plain.zip\"", "plain.zip"),
        ] {
            assert_eq!(disposition(value).as_deref(), Some(name), "{value}");
        }
        // A gap in the sections, or no charset part: not an RFC 2231 value; the plain one.
        assert_eq!(
            disposition("a; filename=\"p\"; filename*0=\"a\"; filename*2=\"c\"").as_deref(),
            Some("p")
        );
        assert_eq!(disposition("a; filename*=IHE_XDM.ZIP"), None);
        assert_eq!(
            param("multipart/mixed; boundary=\"b\"", "boundary").as_deref(),
            Some("b")
        );
    }

    /// The definition: the first of `\r\n\r\n` and `\n\n` by where it starts.
    fn split_headers_naive(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
        let at = |needle: &[u8]| bytes.windows(needle.len()).position(|w| w == needle);
        let crlf = at(b"\r\n\r\n").map(|i| (i, i + 4));
        let lf = at(b"\n\n").map(|i| (i, i + 2));
        let (end, body) = match (crlf, lf) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some((&bytes[..end], &bytes[body..]))
    }

    #[test]
    fn headers_end_at_the_first_empty_line_whatever_the_line_ends() {
        // Every string of up to 8 bytes over CR, LF and a letter.
        let alphabet = [b'\r', b'\n', b'a'];
        let mut inputs: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..8 {
            let longer: Vec<Vec<u8>> = inputs
                .iter()
                .filter(|s| s.len() == inputs.last().map_or(0, Vec::len))
                .flat_map(|s| {
                    alphabet.iter().map(move |&c| {
                        let mut t = s.clone();
                        t.push(c);
                        t
                    })
                })
                .collect();
            inputs.extend(longer);
        }
        assert_eq!(inputs.len(), (0..=8).map(|n| 3usize.pow(n)).sum::<usize>());
        for s in &inputs {
            assert_eq!(split_headers(s), split_headers_naive(s), "{s:?}");
        }
        assert_eq!(find(b"abcabd", b"abd"), Some(3));
        assert_eq!(find(b"ab", b"abc"), None);
        assert_eq!(find(b"abc", b""), None);
    }

    const MSG: &str = "Subject: =?UTF-8?B?w6l0w6k=?= x\r\nContent-Type: multipart/mixed;\r\n boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b1\r\nContent-Type: application/zip; name=\"IHE_XDM.ZIP\"\r\nContent-Transfer-Encoding: base64\r\n\r\naGVs\r\nbG8=\r\n--b1--\r\n";

    #[test]
    fn reads_multipart_and_headers() {
        let mut f = Vec::new();
        let m = parse(MSG.as_bytes(), "m.eml", &mut f);
        assert!(f.is_empty(), "{f:?}");
        assert_eq!(decode_header(m.header("Subject").unwrap_or("")), "été x");
        assert_eq!(m.parts.len(), 2);
        assert_eq!(m.parts[0].body, b"hello");
        assert_eq!(m.parts[1].body, b"hello");
        assert_eq!(m.parts[1].file_name().as_deref(), Some("IHE_XDM.ZIP"));
    }

    #[test]
    fn truncated_message_keeps_what_was_read() {
        let cut = &MSG.as_bytes()[..MSG.len() - 10];
        let mut f = Vec::new();
        let m = parse(cut, "m.eml", &mut f);
        assert_eq!(ids(&f), ["SEGUR-MIME-TRUNCATED"]);
        assert_eq!(m.parts[0].body, b"hello");
    }

    #[test]
    fn misspelled_and_unknown_encodings() {
        let typo = MSG.replace("Content-Transfer-Encoding", "Content-Transfert-Encoding");
        let mut f = Vec::new();
        let m = parse(typo.as_bytes(), "m.eml", &mut f);
        assert_eq!(ids(&f), ["SEGUR-MIME-CTE-HEADER"]);
        assert_eq!(m.parts[1].body, b"hello");
        let unknown = MSG.replace("base64", "base46");
        let mut f = Vec::new();
        let m = parse(unknown.as_bytes(), "m.eml", &mut f);
        assert_eq!(ids(&f), ["SEGUR-MIME-CTE"]);
        assert_eq!(m.parts[1].body, b"aGVs\r\nbG8=");
    }

    #[test]
    fn invalid_base64() {
        let bad = MSG.replace("aGVs", "a*Vs");
        let mut f = Vec::new();
        parse(bad.as_bytes(), "m.eml", &mut f);
        assert_eq!(ids(&f), ["SEGUR-MIME-BASE64"]);
    }

    #[test]
    fn long_fields_fold_at_spaces_and_an_unfoldable_word_is_refused() {
        assert_eq!(fold_field("To", "a@x.fr").as_deref(), Ok("To: a@x.fr\r\n"));
        let list: Vec<String> = (0..200)
            .map(|i| format!("dr.{i}@ch-test.mssante.fr"))
            .collect();
        let folded = fold_field("To", &list.join(", ")).expect("folds");
        assert!(folded.split("\r\n").all(|l| l.len() <= 78), "{folded}");
        let mut f = Vec::new();
        let m = parse(format!("{folded}\r\n").as_bytes(), "m", &mut f);
        assert!(f.is_empty(), "{f:?}");
        assert_eq!(addresses(m.header("To").unwrap_or("")), list);
        let word = format!("{}@x.fr", "a".repeat(5000));
        assert_eq!(
            fold_field("To", &word),
            Err(FieldError::Unfoldable {
                name: "To".into(),
                len: 5009
            })
        );
        // The longest line allowed passes; one more octet does not.
        assert!(fold_field("X", &"a".repeat(MAX_LINE - 3)).is_ok());
        assert!(fold_field("X", &"a".repeat(MAX_LINE - 2)).is_err());
        // Encoded words are folded again, between words.
        let subject = encode_header(&"é".repeat(200));
        let folded = fold_field("Subject", &subject).expect("folds");
        // An encoded word is 72 octets: only the first line, after `Subject: `, passes 78.
        let lines: Vec<&str> = folded.split("\r\n").collect();
        assert!(lines.len() > 5, "{folded}");
        assert!(lines[1..].iter().all(|l| l.len() <= 78), "{folded}");
        assert!(lines[0].len() <= 78 + 3, "{folded}");
        assert_eq!(
            decode_header(&folded["Subject: ".len()..].replace("\r\n", "")),
            "é".repeat(200)
        );
        // Folded only past a width: the notification fields of an MDN stay whole lines.
        let long = format!("a {}", "b".repeat(100));
        assert_eq!(
            fold_field_within("X", &long, MAX_LINE),
            Ok(format!("X: {long}\r\n"))
        );
    }

    #[test]
    fn lines_over_998_octets_are_reported_with_their_line() {
        let long = format!("Subject: {}\r\n", "x".repeat(1000));
        let text = MSG.replacen(
            "Content-Type: text/plain\r\n",
            &format!("Content-Type: text/plain\r\n{long}"),
            1,
        );
        let mut f = Vec::new();
        parse(text.as_bytes(), "m.eml", &mut f);
        assert_eq!(ids(&f), ["SEGUR-MIME-LINE-LENGTH"]);
        assert_eq!(f[0].location.line, Some(8), "{f:?}");
        assert!(f[0].message.contains("1009 octets"), "{f:?}");
        let body = MSG.replacen("hello", &"y".repeat(999), 1);
        let mut f = Vec::new();
        parse(body.as_bytes(), "m.eml", &mut f);
        assert_eq!(ids(&f), ["SEGUR-MIME-LINE-LENGTH"]);
        let fits = MSG.replacen("hello", &"y".repeat(998), 1);
        let mut f = Vec::new();
        parse(fits.as_bytes(), "m.eml", &mut f);
        assert!(f.is_empty(), "{f:?}");
        // An HTTP capture (ITI-41) has no line limit.
        let mut f = Vec::new();
        parse_at(body.as_bytes(), "req", 0, &mut f);
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn encoded_words_round_trip() {
        let s = "XDM/1.0/DDM+Compte rendu d'examens biologiques ANDRÉ MICHEL 16/09/1936";
        let e = encode_header(s);
        assert!(e.is_ascii());
        assert_eq!(decode_header(&e.replace("\r\n", "")), s);
        assert_eq!(
            addresses("A <a@x.fr>, b@y.fr, nobody"),
            ["a@x.fr", "b@y.fr"]
        );
    }
}
