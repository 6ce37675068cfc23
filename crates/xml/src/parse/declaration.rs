//! The XML declaration (XML 1.0 production 23, `XMLDecl`): `<?xml`, then `version` with a
//! `1.x` number, then optionally `encoding` with an encoding name, then optionally
//! `standalone` with `yes` or `no`, each after whitespace, `=` with whitespace around it
//! allowed, the value in matching quotes; whitespace, then `?>`. Read once per document, by
//! both readings (the own tokenizer's and quick-xml's, which leaves it unchecked).

use crate::error::ParseErrorKind;

/// The pseudo-attributes, in the order XML 1.0 gives them: the first one required.
const NAMES: [&str; 3] = ["version", "encoding", "standalone"];

/// What may come after each of [`NAMES`] taken so far (none, version, encoding, standalone).
const EXPECTED: [&str; 4] = [
    "version",
    "encoding, standalone or ?>",
    "standalone or ?>",
    "?>",
];

/// Reads the XML declaration `decl` (from `<?xml` to `?>`): the value of its `encoding`
/// pseudo-attribute when it has one, else the first problem and its offset in `decl`.
pub(super) fn read(decl: &str) -> Result<Option<&str>, (ParseErrorKind, usize)> {
    let bytes = decl.as_bytes();
    // Where `?>` starts: the end of the pseudo-attributes.
    let end = bytes.len().saturating_sub(2);
    let space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let skip_space = |mut i: usize| {
        while i < end && space(bytes[i]) {
            i += 1;
        }
        i
    };
    let mut i = "<?xml".len().min(end);
    let mut taken = 0;
    let mut encoding = None;
    loop {
        let start = skip_space(i);
        if start >= end {
            if taken == 0 {
                return Err(problem(
                    "expected version, found ?> (write <?xml version=\"1.0\"?>)".to_owned(),
                    start,
                ));
            }
            return Ok(encoding);
        }
        let name_end = (start..end)
            .find(|&k| space(bytes[k]) || matches!(bytes[k], b'=' | b'"' | b'\''))
            .unwrap_or(end);
        let name = decl.get(start..name_end).unwrap_or_default();
        // The one expected next, or a later optional one (version first).
        let index = NAMES
            .iter()
            .position(|n| *n == name)
            .filter(|&k| k == taken || (taken > 0 && k > taken));
        let Some(index) = index else {
            let found = match decl.get(start..).and_then(|s| s.chars().next()) {
                Some(c) if name.is_empty() => c.to_string(),
                _ => name.to_owned(),
            };
            return Err(problem(
                format!("expected {}, found {found:?}", EXPECTED[taken]),
                start,
            ));
        };
        if start == i {
            return Err(problem(
                format!("whitespace is required before {name}"),
                start,
            ));
        }
        let eq = skip_space(name_end);
        if bytes.get(eq) != Some(&b'=') || eq >= end {
            return Err(problem(format!("expected '=' after {name}"), eq));
        }
        let open = skip_space(eq + 1);
        let quote = match bytes.get(open) {
            Some(&q @ (b'"' | b'\'')) if open < end => q,
            _ => return Err(problem(format!("the value of {name} must be quoted"), open)),
        };
        let Some(close) = (open + 1..end).find(|&k| bytes[k] == quote) else {
            return Err(problem(format!("the value of {name} is not closed"), open));
        };
        let value = decl.get(open + 1..close).unwrap_or_default();
        let wrong = match index {
            0 => (!is_version(value)).then(|| {
                format!("unsupported version {value:?} (XML 1.0 documents say version=\"1.0\")")
            }),
            1 => {
                encoding = Some(value);
                (!is_encoding_name(value)).then(|| format!("invalid encoding name {value:?}"))
            }
            _ => (!matches!(value, "yes" | "no"))
                .then(|| format!("standalone must be \"yes\" or \"no\", not {value:?}")),
        };
        if let Some(wrong) = wrong {
            return Err(problem(wrong, open + 1));
        }
        taken = index + 1;
        i = close + 1;
    }
}

/// The error `problem` at `at`.
fn problem(problem: String, at: usize) -> (ParseErrorKind, usize) {
    (ParseErrorKind::MalformedDeclaration { problem }, at)
}

/// Whether `v` is a `VersionNum` of XML 1.0: `1.` and digits.
fn is_version(v: &str) -> bool {
    v.strip_prefix("1.")
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `v` is an `EncName`: a letter, then letters, digits, `.`, `_` and `-`.
fn is_encoding_name(v: &str) -> bool {
    let mut bytes = v.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::read;
    use crate::error::ParseErrorKind;

    /// The problem and its offset, or the encoding.
    fn check(decl: &str) -> Result<Option<&str>, (String, usize)> {
        read(decl).map_err(|(kind, at)| match kind {
            ParseErrorKind::MalformedDeclaration { problem } => (problem, at),
            other => panic!("{decl:?}: {other}"),
        })
    }

    #[test]
    fn well_formed_declarations_are_read() {
        for (decl, encoding) in [
            ("<?xml version=\"1.0\"?>", None),
            ("<?xml version='1.1' ?>", None),
            ("<?xml version='1.0' encoding='UTF-8'?>", Some("UTF-8")),
            (
                "<?xml version = \"1.0\"\r\n encoding\t=\n'utf-8' standalone=\"no\"?>",
                Some("utf-8"),
            ),
            ("<?xml version='1.0' standalone='yes'?>", None),
            (
                "<?xml version='1.10' encoding='ISO_8859-1.x'?>",
                Some("ISO_8859-1.x"),
            ),
        ] {
            assert_eq!(check(decl), Ok(encoding), "{decl:?}");
        }
    }

    #[test]
    fn each_problem_is_found_where_it_is() {
        for (decl, at, words) in [
            ("<?xml?>", 5, "expected version, found ?>"),
            ("<?xml ?>", 6, "expected version, found ?>"),
            (
                "<?xml encoding='UTF-8'?>",
                6,
                "expected version, found \"encoding\"",
            ),
            ("<?xml versio='1.0'?>", 6, "found \"versio\""),
            ("<?xml Version='1.0'?>", 6, "found \"Version\""),
            ("<?xml 'x'?>", 6, "found \"'\""),
            ("<?xml version='2.0'?>", 15, "unsupported version \"2.0\""),
            ("<?xml version='1.'?>", 15, "unsupported version"),
            ("<?xml version='1.0a'?>", 15, "unsupported version"),
            ("<?xml version='1'?>", 15, "unsupported version"),
            ("<?xml version=''?>", 15, "unsupported version"),
            (
                "<?xml version=\"1.0'?>",
                14,
                "the value of version is not closed",
            ),
            ("<?xml version=1.0?>", 14, "must be quoted"),
            ("<?xml version?>", 13, "expected '=' after version"),
            ("<?xml version ?>", 14, "expected '=' after version"),
            ("<?xml version=?>", 14, "must be quoted"),
            (
                "<?xml version='1.0'encoding='UTF-8'?>",
                19,
                "whitespace is required before encoding",
            ),
            (
                "<?xml version='1.0' standalone='yes' encoding='UTF-8'?>",
                37,
                "expected ?>, found \"encoding\"",
            ),
            (
                "<?xml version='1.0' encoding='a' encoding='b'?>",
                33,
                "expected standalone or ?>, found \"encoding\"",
            ),
            (
                "<?xml version='1.0' version='1.0'?>",
                20,
                "expected encoding, standalone or ?>, found \"version\"",
            ),
            ("<?xml version='1.0' foo='x'?>", 20, "found \"foo\""),
            (
                "<?xml version='1.0' encoding=''?>",
                30,
                "invalid encoding name \"\"",
            ),
            (
                "<?xml version='1.0' encoding='8859'?>",
                30,
                "invalid encoding name",
            ),
            (
                "<?xml version='1.0' encoding='UTF 8'?>",
                30,
                "invalid encoding name",
            ),
            (
                "<?xml version='1.0' standalone='maybe'?>",
                32,
                "standalone must be \"yes\" or \"no\", not \"maybe\"",
            ),
            ("<?xml version='1.0' standalone='YES'?>", 32, "not \"YES\""),
        ] {
            match check(decl) {
                Err((problem, offset)) => {
                    assert!(problem.contains(words), "{decl:?}: {problem}");
                    assert_eq!(offset, at, "{decl:?}: {problem}");
                }
                Ok(e) => panic!("{decl:?}: read, encoding {e:?}"),
            }
        }
    }
}
