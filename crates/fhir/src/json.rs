//! A JSON reader that keeps positions: the document as a [`serde_json::Value`] plus a side
//! table from element path (`entry[2].resource.identifier[0].system`, relative to the root
//! object) to the line and column where the value starts.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};

/// Limits on what the reader accepts, so that hostile input keeps memory bounded.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nesting of arrays and objects.
    pub max_depth: usize,
    /// Largest input, in bytes.
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 128,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Why the input is not JSON the reader accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// Malformed JSON at a place.
    #[error("{line}:{column}: {what}")]
    Syntax {
        /// 1-based line.
        line: u32,
        /// 1-based column (characters).
        column: u32,
        /// What was expected or found.
        what: &'static str,
    },
    /// The same key twice in one object (FHIR JSON forbids it).
    #[error("{line}:{column}: duplicate key \"{key}\"")]
    DuplicateKey {
        /// 1-based line.
        line: u32,
        /// 1-based column (characters).
        column: u32,
        /// The key.
        key: String,
    },
    /// Nested deeper than [`Limits::max_depth`].
    #[error("{line}:{column}: nested deeper than {max}")]
    TooDeep {
        /// 1-based line.
        line: u32,
        /// 1-based column (characters).
        column: u32,
        /// The limit.
        max: usize,
    },
    /// Larger than [`Limits::max_bytes`].
    #[error("input larger than {max} bytes ({size})")]
    TooLarge {
        /// The input size.
        size: usize,
        /// The limit.
        max: usize,
    },
}

impl JsonError {
    /// Line and column of the error, when it has a place.
    pub fn position(&self) -> Option<(u32, u32)> {
        match self {
            JsonError::Syntax { line, column, .. }
            | JsonError::DuplicateKey { line, column, .. }
            | JsonError::TooDeep { line, column, .. } => Some((*line, *column)),
            JsonError::TooLarge { .. } => None,
        }
    }
}

/// A parsed JSON document with the position of every value.
#[derive(Debug, Clone)]
pub struct Document {
    /// The value.
    pub value: Value,
    positions: HashMap<String, (u32, u32)>,
}

impl Document {
    /// Line and column (1-based) where the value at `path` starts; `path` is relative to the
    /// root (`""` for the root, `identifier[0].system`).
    pub fn position(&self, path: &str) -> Option<(u32, u32)> {
        self.positions.get(path).copied()
    }

    /// The position of a FHIR element path (`Patient.identifier[0].system`): the first
    /// segment (the root resource type) is dropped; when the exact path has no entry, the
    /// nearest enclosing one.
    pub fn position_of_element(&self, element_path: &str) -> Option<(u32, u32)> {
        let mut rel = match element_path.find(['.', '[']) {
            Some(i) if element_path.as_bytes()[i] == b'.' => &element_path[i + 1..],
            Some(i) => &element_path[i..],
            None => "",
        };
        loop {
            if let Some(p) = self.position(rel) {
                return Some(p);
            }
            if rel.is_empty() {
                return None;
            }
            rel = match rel.rfind(['.', '[']) {
                Some(i) => &rel[..i],
                None => "",
            };
        }
    }
}

/// Parse `bytes` as JSON (UTF-8, an optional BOM), keeping positions.
pub fn parse(bytes: &[u8], limits: Limits) -> Result<Document, JsonError> {
    if bytes.len() > limits.max_bytes {
        return Err(JsonError::TooLarge {
            size: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(bytes);
    let mut p = Parser {
        b: bytes,
        i: 0,
        line: 1,
        line_start: 0,
        column_at: std::cell::Cell::new((1, 0, 1)),
        limits,
        positions: HashMap::new(),
        path: String::new(),
    };
    p.ws();
    let value = p.value(0)?;
    p.ws();
    if p.i < p.b.len() {
        return Err(p.err("trailing characters after the JSON value"));
    }
    Ok(Document {
        value,
        positions: p.positions,
    })
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    line: u32,
    line_start: usize,
    /// The last column computed: `(line, byte offset, column)`, so that the next one counts
    /// only the characters since (a minified document is one long line: counting from the
    /// line start for every value made parsing quadratic).
    column_at: std::cell::Cell<(u32, usize, u32)>,
    limits: Limits,
    positions: HashMap<String, (u32, u32)>,
    path: String,
}

impl Parser<'_> {
    fn column(&self) -> u32 {
        // Characters, not bytes: count the UTF-8 lead bytes since the line start, or since
        // the last column computed on this line.
        let i = self.i.min(self.b.len());
        let (line, at, column) = self.column_at.get();
        let (from, base) = if line == self.line && at >= self.line_start && at <= i {
            (at, column)
        } else {
            (self.line_start, 1)
        };
        let n = self.b[from..i]
            .iter()
            .filter(|&&c| (c & 0xC0) != 0x80)
            .count() as u32;
        self.column_at.set((self.line, i, base + n));
        base + n
    }

    fn err(&self, what: &'static str) -> JsonError {
        JsonError::Syntax {
            line: self.line,
            column: self.column(),
            what,
        }
    }

    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b' ' | b'\t' | b'\r' => self.i += 1,
                b'\n' => {
                    self.i += 1;
                    self.line += 1;
                    self.line_start = self.i;
                }
                _ => break,
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.positions
            .insert(self.path.clone(), (self.line, self.column()));
        match self.b.get(self.i) {
            None => Err(self.err("unexpected end of input, expected a value")),
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("expected a value")),
        }
    }

    fn check_depth(&self, depth: usize) -> Result<(), JsonError> {
        if depth > self.limits.max_depth {
            return Err(JsonError::TooDeep {
                line: self.line,
                column: self.column(),
                max: self.limits.max_depth,
            });
        }
        Ok(())
    }

    fn literal(&mut self, word: &[u8], v: Value) -> Result<Value, JsonError> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(self.err("invalid literal (expected true, false or null)"))
        }
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let digits = |p: &mut Self| {
            let s = p.i;
            while p.b.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i - s
        };
        let int_start = self.i;
        let n = digits(self);
        if n == 0 || (n > 1 && self.b[int_start] == b'0') {
            return Err(self.err("invalid number"));
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return Err(self.err("invalid number: digits expected after '.'"));
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(self.err("invalid number: digits expected in the exponent"));
            }
        }
        // serde_json's `arbitrary_precision` keeps the text as written: a FHIR decimal keeps
        // its precision (`1.50`), and a value beyond f64 (`1e400`) is read, for the validator
        // to judge against its element's type.
        let text = std::str::from_utf8(&self.b[start..self.i]).unwrap_or("");
        text.parse::<Number>()
            .map(Value::Number)
            .map_err(|_| self.err("number not representable"))
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.i += 1; // opening quote
        let mut out = Vec::new();
        loop {
            let rest = &self.b[self.i..];
            let Some(k) = memchr::memchr3(b'"', b'\\', b'\n', rest) else {
                self.i = self.b.len();
                return Err(self.err("unterminated string"));
            };
            let chunk = &rest[..k];
            if chunk.iter().any(|&c| c < 0x20) {
                self.i += chunk.iter().position(|&c| c < 0x20).unwrap_or(0);
                return Err(self.err("control character in a string"));
            }
            out.extend_from_slice(chunk);
            self.i += k;
            match self.b[self.i] {
                b'"' => {
                    self.i += 1;
                    break;
                }
                b'\n' => return Err(self.err("unescaped line break in a string")),
                _ => {
                    self.i += 1;
                    let Some(&e) = self.b.get(self.i) else {
                        return Err(self.err("unterminated escape"));
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut c = self.hex4()?;
                            if (0xD800..0xDC00).contains(&c) {
                                if !self.b[self.i..].starts_with(b"\\u") {
                                    return Err(self.err("unpaired surrogate in \\u escape"));
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("unpaired surrogate in \\u escape"));
                                }
                                c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                            }
                            let ch =
                                char::from_u32(c).ok_or_else(|| self.err("invalid \\u escape"))?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => {
                            self.i -= 1;
                            return Err(self.err("invalid escape in a string"));
                        }
                    }
                }
            }
        }
        String::from_utf8(out).map_err(|_| self.err("string is not valid UTF-8"))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let h = self
            .b
            .get(self.i..self.i + 4)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| self.err("invalid \\u escape"))?;
        self.i += 4;
        Ok(h)
    }

    fn object(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.check_depth(depth)?;
        self.i += 1;
        let mut map = Map::new();
        self.ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Value::Object(map));
        }
        let base = self.path.len();
        loop {
            self.ws();
            if self.b.get(self.i) != Some(&b'"') {
                return Err(self.err("expected a string key"));
            }
            let (kl, kc) = (self.line, self.column());
            let key = self.string()?;
            self.ws();
            if self.b.get(self.i) != Some(&b':') {
                return Err(self.err("expected ':' after a key"));
            }
            self.i += 1;
            self.ws();
            if !self.path.is_empty() {
                self.path.push('.');
            }
            self.path.push_str(&key);
            let v = self.value(depth)?;
            self.path.truncate(base);
            if map.contains_key(&key) {
                return Err(JsonError::DuplicateKey {
                    line: kl,
                    column: kc,
                    key,
                });
            }
            map.insert(key, v);
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::Object(map));
                }
                _ => return Err(self.err("expected ',' or '}' in an object")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.check_depth(depth)?;
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Value::Array(items));
        }
        let base = self.path.len();
        loop {
            self.ws();
            use std::fmt::Write;
            let _ = write!(self.path, "[{}]", items.len());
            let v = self.value(depth)?;
            self.path.truncate(base);
            items.push(v);
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.err("expected ',' or ']' in an array")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_of_nested_values() {
        let d = parse(
            b"{\n  \"resourceType\": \"Patient\",\n  \"identifier\": [ {\"system\": \"x\"} ]\n}",
            Limits::default(),
        )
        .unwrap();
        assert_eq!(d.position(""), Some((1, 1)));
        assert_eq!(d.position("resourceType"), Some((2, 19)));
        assert_eq!(d.position("identifier[0].system"), Some((3, 30)));
        assert_eq!(
            d.position_of_element("Patient.identifier[0].system"),
            Some((3, 30))
        );
        assert_eq!(
            d.position_of_element("Patient.identifier[0].value"),
            Some((3, 19))
        );
    }

    #[test]
    fn malformed_json_reports_line_and_column() {
        let e = parse(b"{\n  \"a\": [1, 2,,]\n}", Limits::default()).unwrap_err();
        assert_eq!(e.position(), Some((2, 14)));
        let e = parse(b"{\"a\": 1, \"a\": 2}", Limits::default()).unwrap_err();
        assert!(
            matches!(e, JsonError::DuplicateKey { column: 10, .. }),
            "{e}"
        );
        let e = parse(b"{\"a\": \"\xC3\xA9t\xC3\xA9 \\x\"}", Limits::default()).unwrap_err();
        assert_eq!(e.position(), Some((1, 13)));
        // Four hexadecimal digits (RFC 8259 7): no sign, which `from_str_radix` would take.
        assert!(parse(b"{\"a\": \"\\u+041\"}", Limits::default()).is_err());
        assert!(parse(b"{\"a\": \"\\u0041\"}", Limits::default()).is_ok());
    }

    #[test]
    fn depth_and_size_are_bounded() {
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(matches!(
            parse(deep.as_bytes(), Limits::default()),
            Err(JsonError::TooDeep { .. })
        ));
        let small = Limits {
            max_bytes: 4,
            ..Limits::default()
        };
        assert!(matches!(
            parse(b"[1,2,3]", small),
            Err(JsonError::TooLarge { .. })
        ));
    }

    #[test]
    fn escapes_and_numbers() {
        let d = parse(
            br#"["\u00e9\ud83d\ude00\n", -1.5e3, 0, true, null]"#,
            Limits::default(),
        )
        .unwrap();
        assert_eq!(d.value[0], "é😀\n");
        assert_eq!(d.value[1].as_f64(), Some(-1500.0));
        assert!(parse(b"01", Limits::default()).is_err());
        // Numbers keep their source text (precision, big integers, values beyond f64); only
        // an exponent is written `e+N` / `e-N`.
        let d = parse(
            b"[1.50, 100000000000000000000000, 1e400, -0.000000000000000000000000000001]",
            Limits::default(),
        )
        .unwrap();
        let texts: Vec<String> = d
            .value
            .as_array()
            .unwrap()
            .iter()
            .map(Value::to_string)
            .collect();
        assert_eq!(
            texts,
            [
                "1.50",
                "100000000000000000000000",
                "1e+400",
                "-0.000000000000000000000000000001"
            ]
        );
        assert_eq!(d.position("[2]"), Some((1, 34)));
        assert!(parse(b"\"\\ud800\"", Limits::default()).is_err());
    }
}
