//! Text from outside (a certificate, a peer, a file name, a document's message) made safe to
//! print on a terminal or in a log line: the one helper every text rendering goes through.

use std::borrow::Cow;

/// `s` with its control characters escaped, safe to print on one line of a terminal or log.
///
/// `\n`, `\r`, `\t` and `\0` as such, other C0 controls and DEL as `\x1b`, C1 controls,
/// bidirectional overrides and line separators as `\u{202e}`; everything else unchanged.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if (c as u32) < 0x80 && needs_escape(c) => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // Bidirectional embeddings, overrides and isolates ("Trojan Source").
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
            // Line and paragraph separators.
            | '\u{2028}' | '\u{2029}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("plain é"), "plain é");
        assert!(matches!(printable("plain"), Cow::Borrowed(_)));
        assert_eq!(printable("a\nb\rc\td\0e"), r"a\nb\rc\td\0e");
        assert_eq!(printable("\x1b[31mred\x7f"), r"\x1b[31mred\x7f");
        assert_eq!(
            printable("x\u{85}y\u{202e}z\u{2028}"),
            r"x\u{85}y\u{202e}z\u{2028}"
        );
    }

    #[test]
    fn escaping_is_idempotent() {
        let once = printable("CN=a\n\x1b\0\u{9b}").into_owned();
        assert_eq!(printable(&once), once.as_str());
        assert!(!once.chars().any(char::is_control));
    }
}
