//! The character encodings read besides UTF-8 (XML 1.0 section 4.3.3 and appendix F): UTF-16
//! (by its byte order mark, or by `<?` written in two-byte units), and the single-byte
//! encodings a declaration may name: US-ASCII, ISO-8859-1, ISO-8859-15 and windows-1252.
//! Such an input is turned into UTF-8 before it is tokenized, so the document, its values and
//! its line:column positions (counted in characters) are those of the text the bytes encode.
//! The official chain (Saxon over Xerces) reads these encodings too; a byte an encoding does
//! not define is refused at its place, as it refuses it.

use crate::error::{ParseError, ParseErrorKind};

/// An encoding other than UTF-8 that the input was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// 7-bit US-ASCII (its bytes are UTF-8 as they are: only checked).
    Ascii,
    /// ISO-8859-1 (Latin-1): each byte is the character of that code.
    Latin1,
    /// ISO-8859-15 (Latin-9): Latin-1 with eight characters replaced (the euro sign among them).
    Latin9,
    /// windows-1252: Latin-1 with printable characters at 0x80–0x9F.
    Windows1252,
    /// UTF-16, little-endian.
    Utf16Le,
    /// UTF-16, big-endian.
    Utf16Be,
}

impl Encoding {
    /// The encoding an XML declaration names, by the names the official chain's parser
    /// (Xerces, its table of IANA names) accepts for it, in any letter case; `None` for
    /// UTF-8 and for a name not read here.
    fn named(name: &str) -> Option<Encoding> {
        Some(match name.to_ascii_uppercase().as_str() {
            "US-ASCII" | "ASCII" | "ISO-IR-6" | "ANSI_X3.4-1968" | "ANSI_X3.4-1986"
            | "ISO_646.IRV:1991" | "CSASCII" | "ISO646-US" | "US" | "IBM367" | "CP367"
            | "IBM-367" => Encoding::Ascii,
            "ISO-8859-1" | "ISO-IR-100" | "ISO_8859-1" | "LATIN1" | "CSISOLATIN1" | "L1"
            | "IBM819" | "CP819" | "IBM-819" => Encoding::Latin1,
            "ISO-8859-15" | "ISO_8859-15" | "LATIN-9" => Encoding::Latin9,
            "WINDOWS-1252" => Encoding::Windows1252,
            _ => return None,
        })
    }

    /// Whether a declaration naming `name` agrees with this encoding, the one the bytes were
    /// read in.
    pub(crate) fn accepts(self, name: &str) -> bool {
        match self {
            Encoding::Utf16Le | Encoding::Utf16Be => match name.to_ascii_uppercase().as_str() {
                "UTF-16" | "ISO-10646-UCS-2" => true,
                "UTF-16LE" => self == Encoding::Utf16Le,
                "UTF-16BE" => self == Encoding::Utf16Be,
                _ => false,
            },
            single => Encoding::named(name) == Some(single),
        }
    }

    /// The name used in messages.
    fn name(self) -> &'static str {
        match self {
            Encoding::Ascii => "US-ASCII",
            Encoding::Latin1 => "ISO-8859-1",
            Encoding::Latin9 => "ISO-8859-15",
            Encoding::Windows1252 => "windows-1252",
            Encoding::Utf16Le | Encoding::Utf16Be => "UTF-16",
        }
    }

    /// The character of byte `b` (at least 0x80) in a single-byte encoding; `None` where the
    /// encoding defines none.
    fn high_byte(self, b: u8) -> Option<char> {
        match self {
            Encoding::Ascii => None,
            Encoding::Latin1 => Some(char::from(b)),
            Encoding::Latin9 => Some(match b {
                0xA4 => '\u{20AC}',
                0xA6 => '\u{160}',
                0xA8 => '\u{161}',
                0xB4 => '\u{17D}',
                0xB8 => '\u{17E}',
                0xBC => '\u{152}',
                0xBD => '\u{153}',
                0xBE => '\u{178}',
                _ => char::from(b),
            }),
            // Bytes windows-1252 leaves undefined are read as U+FFFD, as Java reads them.
            Encoding::Windows1252 => match b {
                0x80..=0x9F => Some(WINDOWS_1252[usize::from(b - 0x80)]),
                _ => Some(char::from(b)),
            },
            Encoding::Utf16Le | Encoding::Utf16Be => None,
        }
    }
}

/// windows-1252 at 0x80–0x9F (U+FFFD where it defines no character).
const WINDOWS_1252: [char; 32] = [
    '\u{20AC}', '\u{FFFD}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{FFFD}', '\u{17D}', '\u{FFFD}',
    '\u{FFFD}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{FFFD}', '\u{17E}', '\u{178}',
];

/// `input` as UTF-8 when it is in an encoding of [`Encoding`] (with that encoding), `None` when
/// it is to be read as it is (UTF-8, or an encoding the tokenizer refuses by its
/// declaration); a byte the encoding does not define is an error at its character.
pub(crate) fn to_utf8(input: &[u8]) -> Result<Option<(Vec<u8>, Encoding)>, ParseError> {
    let utf16 = match input {
        [0xFE, 0xFF, ..] | [0, b'<', 0, b'?', ..] => Some(Encoding::Utf16Be),
        [0xFF, 0xFE, ..] | [b'<', 0, b'?', 0, ..] => Some(Encoding::Utf16Le),
        _ => None,
    };
    if let Some(e) = utf16 {
        return from_utf16(input, e).map(|text| Some((text, e)));
    }
    // A UTF-8 byte order mark before a declaration of another encoding: the declaration
    // wins and the mark is dropped, as the chain's parser does.
    let body = input
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(input);
    let Some(encoding) = declared(body).and_then(Encoding::named) else {
        return Ok(None);
    };
    let input = body;
    let mut out = Vec::with_capacity(input.len() + input.len() / 8);
    for &b in input {
        if b < 0x80 {
            out.push(b);
            continue;
        }
        match encoding.high_byte(b) {
            Some(c) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            None => return Err(not_in(encoding, b, &out)),
        }
    }
    Ok(Some((out, encoding)))
}

/// The encoding name of the XML declaration that starts `input`, read where every encoding
/// of [`Encoding`] but UTF-16 writes it in ASCII.
fn declared(input: &[u8]) -> Option<&str> {
    let rest = input.strip_prefix(b"<?xml")?;
    if !matches!(rest.first(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        return None;
    }
    let end = rest.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&rest[..end]).ok()?;
    let at = decl.find("encoding")?;
    let value = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = value.chars().next().filter(|q| matches!(q, '"' | '\''))?;
    let value = &value[1..];
    value.find(quote).map(|e| &value[..e])
}

/// UTF-16 `input` (a byte order mark first or not) as UTF-8, the mark kept as U+FEFF (which
/// the tokenizer skips as it skips UTF-8's).
fn from_utf16(input: &[u8], e: Encoding) -> Result<Vec<u8>, ParseError> {
    let (pairs, odd) = input.as_chunks::<2>();
    let units = pairs.iter().map(|&pair| match e {
        Encoding::Utf16Le => u16::from_le_bytes(pair),
        _ => u16::from_be_bytes(pair),
    });
    let mut out = Vec::with_capacity(input.len() / 2 * 3 / 2 + 4);
    let refuse = |what: String, out: &[u8]| {
        let kind = ParseErrorKind::NotInEncoding {
            encoding: e.name().into(),
            what,
        };
        ParseError::at(kind, out, out.len())
    };
    for c in char::decode_utf16(units) {
        match c {
            Ok(c) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            Err(bad) => {
                let what = format!(
                    "the surrogate 0x{:04X} without its pair",
                    bad.unpaired_surrogate()
                );
                return Err(refuse(what, &out));
            }
        }
    }
    if !odd.is_empty() {
        return Err(refuse("a last byte without its pair".into(), &out));
    }
    Ok(out)
}

/// Byte `b`, which `encoding` does not define: an error at the character it would be, after
/// `done` (the input before it, as UTF-8).
#[cold]
fn not_in(encoding: Encoding, b: u8, done: &[u8]) -> ParseError {
    ParseError::at(
        ParseErrorKind::NotInEncoding {
            encoding: encoding.name().into(),
            what: format!("byte 0x{b:02X}"),
        },
        done,
        done.len(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_byte_encodings_become_utf8() {
        for (input, encoding, text) in [
            (
                &b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xe9\xa4</a>"[..],
                Encoding::Latin1,
                "<a>é¤</a>",
            ),
            (
                b"<?xml version='1.0' encoding='iso-8859-15'?><a>\xa4\xbd</a>",
                Encoding::Latin9,
                "<a>€œ</a>",
            ),
            (
                b"<?xml version=\"1.0\" encoding=\"windows-1252\"?><a>\x80\x92</a>",
                Encoding::Windows1252,
                "<a>€’</a>",
            ),
        ] {
            let (out, e) = to_utf8(input).expect("read").expect("transcoded");
            assert_eq!(e, encoding);
            assert!(
                String::from_utf8(out).expect("utf-8").ends_with(text),
                "{e:?}"
            );
        }
        // UTF-8, or no declaration: read as it is.
        assert!(to_utf8("<a>é</a>".as_bytes()).expect("read").is_none());
        assert!(
            to_utf8(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/>")
                .expect("read")
                .is_none()
        );
    }

    #[test]
    fn bytes_an_encoding_does_not_define_are_refused_at_their_place() {
        let ascii = "<?xml version=\"1.0\" encoding=\"US-ASCII\"?>\n<a>x—</a>".as_bytes();
        let e = to_utf8(ascii).expect_err("not ASCII");
        assert_eq!((e.line, e.column), (2, 5));
        assert!(e.to_string().contains("US-ASCII"), "{e}");
        // Bytes windows-1252 leaves undefined are U+FFFD, as Java reads them; `cp1252` is no
        // name the chain's parser knows (read as it is, and refused at the declaration).
        let cp1252 = b"<?xml version=\"1.0\" encoding=\"windows-1252\"?><a>\x81</a>";
        let (out, _) = to_utf8(cp1252).expect("read").expect("transcoded");
        assert!(
            String::from_utf8(out)
                .expect("utf-8")
                .ends_with("<a>\u{FFFD}</a>")
        );
        assert!(
            to_utf8(b"<?xml version='1.0' encoding='cp1252'?><a/>")
                .expect("read")
                .is_none()
        );
        // A UTF-8 byte order mark before another declared encoding is dropped.
        let (out, e) =
            to_utf8(b"\xEF\xBB\xBF<?xml version='1.0' encoding='ISO-8859-1'?><a>\xe9</a>")
                .expect("read")
                .expect("transcoded");
        assert_eq!(e, Encoding::Latin1);
        assert_eq!(
            out,
            "<?xml version='1.0' encoding='ISO-8859-1'?><a>é</a>".as_bytes()
        );
        // A declaration longer than a few hundred bytes.
        let long = format!(
            "<?xml version='1.0'{} encoding='latin1'?><a>\u{e9}</a>",
            " ".repeat(600)
        );
        let long: Vec<u8> = long.chars().map(|c| c as u8).collect();
        assert!(to_utf8(&long).expect("read").is_some());
    }

    #[test]
    fn utf16_is_read_by_its_mark_or_its_first_characters() {
        let text = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><a>é𝄞</a>";
        let le: Vec<u8> = std::iter::once(0xFEFF)
            .chain(text.encode_utf16())
            .flat_map(u16::to_le_bytes)
            .collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let (out, e) = to_utf8(&le).expect("read").expect("transcoded");
        assert_eq!(e, Encoding::Utf16Le);
        assert_eq!(out, format!("\u{FEFF}{text}").as_bytes());
        let (out, e) = to_utf8(&be).expect("read").expect("transcoded");
        assert_eq!(e, Encoding::Utf16Be);
        assert_eq!(out, text.as_bytes());
        // A lone surrogate, an odd last byte.
        let mut lone = be.clone();
        lone.extend_from_slice(&[0xD8, 0x00, 0, b'x']);
        assert!(to_utf8(&lone).is_err());
        assert!(to_utf8(&be[..be.len() - 1]).is_err());
        assert!(Encoding::Utf16Le.accepts("utf-16"));
        assert!(Encoding::Utf16Le.accepts("ISO-10646-UCS-2"));
        assert!(!Encoding::Utf16Le.accepts("UTF16"));
        assert!(Encoding::Utf16Le.accepts("UTF-16LE"));
        assert!(!Encoding::Utf16Le.accepts("UTF-16BE"));
        assert!(!Encoding::Utf16Be.accepts("ISO-8859-1"));
    }
}
