//! XML 1.0 (fifth edition) character classes: names (`NameStartChar`, `NameChar`) and the
//! two non-characters (U+FFFE, U+FFFF) that UTF-8 validation lets through.

/// Whether `c` may start a name (`NameStartChar`).
pub(super) fn is_name_start_char(c: char) -> bool {
    matches!(c,
        ':' | 'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}'
        | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}'
        | '\u{37F}'..='\u{1FFF}'
        | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}'
        | '\u{2C00}'..='\u{2FEF}'
        | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}'
        | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

/// Whether `c` may follow the first character of a name (`NameChar`).
pub(super) fn is_name_char(c: char) -> bool {
    is_name_start_char(c)
        || matches!(c,
            '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// The byte offset in `name` of the first character the `Name` production does not allow
/// where it stands (0 for the empty name), or `None` for a name.
pub(super) fn name_error(name: &str) -> Option<usize> {
    let mut chars = name.char_indices();
    match chars.next() {
        Some((_, c)) if is_name_start_char(c) => {}
        _ => return Some(0),
    }
    chars.find(|&(_, c)| !is_name_char(c)).map(|(i, _)| i)
}

/// The byte offset in `name` (an XML `Name`) of what makes it no `QName` of Namespaces in XML
/// 1.0, or `None` for a qualified name: a colon first or last, a second colon, a local part
/// whose first character cannot start a name (a digit, `-`, `.`...).
pub(super) fn qname_error(name: &str) -> Option<usize> {
    let colon = memchr::memchr(b':', name.as_bytes())?;
    if colon == 0 {
        return Some(0);
    }
    let local = name.get(colon + 1..).unwrap_or_default();
    match local.chars().next() {
        None => Some(colon),
        Some(c) if c == ':' || !is_name_start_char(c) => Some(colon + 1),
        Some(_) => memchr::memchr(b':', local.as_bytes()).map(|i| colon + 1 + i),
    }
}

/// The offset and code point of the first U+FFFE or U+FFFF in valid UTF-8 `bytes` (encoded
/// `EF BF BE` and `EF BF BF`): the only characters outside XML's `Char` that UTF-8 can encode
/// at or above U+0020. One `memchr` pass: the lead byte `EF` is rare in text.
pub(super) fn first_noncharacter(bytes: &[u8]) -> Option<(usize, u32)> {
    memchr::memchr_iter(0xEF, bytes).find_map(|i| match bytes.get(i + 1..i + 3) {
        Some([0xBF, 0xBE]) => Some((i, 0xFFFE)),
        Some([0xBF, 0xBF]) => Some((i, 0xFFFF)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The classes against the productions' ranges, at every edge.
    #[test]
    fn name_characters_follow_the_fifth_edition() {
        for c in [
            'a',
            'Z',
            '_',
            ':',
            'é',
            'À',
            '名',
            '\u{37F}',
            '\u{10000}',
            '\u{EFFFF}',
        ] {
            assert!(is_name_start_char(c), "{c:?}");
        }
        for c in [
            '1',
            '-',
            '.',
            '\u{B7}',
            '\u{D7}',
            '\u{F7}',
            '\u{300}',
            '\u{37E}',
            '\u{2000}',
            '\u{203F}',
            '\u{3000}',
            '\u{FDD0}',
            '\u{FFFE}',
            '\u{F0000}',
            ' ',
            '\u{1}',
            '<',
        ] {
            assert!(!is_name_start_char(c), "{c:?}");
        }
        for c in [
            '1', '-', '.', '\u{B7}', '\u{300}', '\u{36F}', '\u{203F}', '\u{2040}',
        ] {
            assert!(is_name_char(c), "{c:?}");
        }
        for c in [
            '\u{D7}', '\u{37E}', '\u{2041}', '\u{FFFF}', ' ', '/', '=', '\u{A0}',
        ] {
            assert!(!is_name_char(c), "{c:?}");
        }
        assert_eq!(name_error("p:a-b.c_1é"), None);
        assert_eq!(name_error(""), Some(0));
        assert_eq!(name_error("1a"), Some(0));
        assert_eq!(name_error("a\u{1}"), Some(1));
        assert_eq!(name_error("é\u{A0}b"), Some(2));
    }

    /// Qualified names: one colon at most, between a prefix and a local part that each start
    /// as a name.
    #[test]
    fn qualified_names_follow_namespaces_in_xml() {
        for ok in ["a", "p:a", "xsi:type", "é:名", "a-b.c:_d", "p:é1"] {
            assert_eq!(qname_error(ok), None, "{ok:?}");
        }
        for (bad, at) in [
            (":a", 0),
            (":", 0),
            ("a:", 1),
            ("a:b:c", 3),
            ("a::b", 2),
            ("p:1a", 2),
            ("p:-a", 2),
            ("p:.a", 2),
            ("p:\u{b7}", 2),
            ("p:\u{300}a", 2),
            ("xmlns:", 5),
            ("é:b:", 4),
        ] {
            assert_eq!(qname_error(bad), Some(at), "{bad:?}");
        }
    }

    #[test]
    fn noncharacters_are_found_by_their_encoding() {
        assert_eq!(first_noncharacter("a\u{FFFD}\u{FEFF}b".as_bytes()), None);
        assert_eq!(
            first_noncharacter("ab\u{FFFD}\u{FFFF}\u{FFFE}".as_bytes()),
            Some((5, 0xFFFF))
        );
        assert_eq!(first_noncharacter("\u{FFFE}".as_bytes()), Some((0, 0xFFFE)));
    }
}
