//! XML whitespace (space, tab, newline, carriage return) collapsed: no whitespace at either
//! end, one space for each run inside. It is the XSD `whiteSpace="collapse"` facet and XPath's
//! `fn:normalize-space`.

use std::borrow::Cow;

/// Whether `b` is collapsed already: no tab, newline or carriage return, no space at either end
/// or after another.
pub fn is_collapsed(b: &[u8]) -> bool {
    // One pass; starting as if after a space refuses a leading one.
    let mut after_space = true;
    for &c in b {
        match c {
            b' ' if after_space => return false,
            b' ' => after_space = true,
            b'\t' | b'\n' | b'\r' => return false,
            _ => after_space = false,
        }
    }
    !after_space || b.is_empty()
}

/// `s` collapsed: `s` itself, borrowed, when it is so already.
pub fn collapse(s: &str) -> Cow<'_, str> {
    if is_collapsed(s.as_bytes()) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for part in s.split([' ', '\t', '\n', '\r']).filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(part);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::collapse;

    /// Collapsed text is the input itself; any other text gets its runs of whitespace as one
    /// space and none at either end (a no-break space is no XML whitespace).
    #[test]
    fn collapsed_text_is_borrowed_other_text_collapsed() {
        let cases = [
            ("", ""),
            (" ", ""),
            ("a", "a"),
            ("a b", "a b"),
            ("é ü", "é ü"),
            (" a", "a"),
            ("a ", "a"),
            ("a  b", "a b"),
            ("a\tb", "a b"),
            ("a\u{a0}b", "a\u{a0}b"),
            ("\n  a \r\n b\t\n", "a b"),
        ];
        for (input, want) in cases {
            let got = collapse(input);
            assert_eq!(got, want, "{input:?}");
            assert_eq!(matches!(got, Cow::Borrowed(_)), input == want, "{input:?}");
        }
    }
}
