//! One-line wording of TOML errors, for the configuration readers of the sink, the replay
//! client, the test PKI and the conformance suite.

/// `line L, column C: message` for an error in `text` (toml's own wording spans several
/// lines with a caret drawing); the message's whitespace collapsed to single spaces.
pub fn toml_error_line(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
    match e.span() {
        Some(span) => {
            let (line, column) = line_column(text, span.start);
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        port: u16,
    }

    fn error_of(text: &str) -> String {
        let e = toml::from_str::<Sample>(text).expect_err("an error");
        toml_error_line(text, &e)
    }

    #[test]
    fn errors_are_one_line_with_their_place() {
        let unknown = error_of("name = \"a\"\nport = 1\ncolour = 2\n");
        assert!(
            unknown.starts_with("line 3, column 1: unknown field `colour`"),
            "{unknown}"
        );
        let wrong_type = error_of("name = \"é\"\nport = \"x\"\n");
        assert!(wrong_type.starts_with("line 2, column 8: "), "{wrong_type}");
        let syntax = error_of("name = \"a\nport = 1\n");
        assert!(syntax.starts_with("line 1, column "), "{syntax}");
        for e in [unknown, wrong_type, syntax] {
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(line_column("é = 1\nab", 8), (2, 2));
        assert_eq!(line_column("ab", 99), (1, 3));
    }
}
