//! No input makes the parser or the evaluator panic or recurse without bound.

use proptest::prelude::*;
use segur_fhirpath::{Env, Expr};
use serde_json::json;

const TOKENS: &[&str] = &[
    "name",
    "given",
    "Patient",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ".",
    ",",
    "0",
    "1",
    "2.5",
    "'a'",
    "'2014'",
    "@2014-01",
    "@T10:00",
    "@2014-01-01T10:00:00Z",
    "5 'mg'",
    "3 days",
    "+",
    "-",
    "*",
    "/",
    "div",
    "mod",
    "&",
    "|",
    "=",
    "!=",
    "~",
    "!~",
    "<",
    ">",
    "<=",
    ">=",
    "and",
    "or",
    "xor",
    "implies",
    "in",
    "contains",
    "is",
    "as",
    "$this",
    "$index",
    "$total",
    "%resource",
    "%ucum",
    "true",
    "false",
    "where(",
    "select(",
    "exists(",
    "all(",
    "repeat(",
    "iif(",
    "ofType(",
    "first()",
    "count()",
    "descendants()",
    "children()",
    "substring(",
    "matches(",
    "replaceMatches(",
    "toInteger()",
    "toDecimal()",
    "toQuantity(",
    "lowBoundary(",
    "aggregate(",
    "trace(",
    "extension(",
    "resolve()",
    "String",
    "Quantity",
    "integer",
    "not()",
    "hasValue()",
    "power(",
    "log(",
    "sqrt()",
    "round(",
    "split(",
    "join(",
];

fn patient() -> serde_json::Value {
    json!({
        "resourceType": "Patient",
        "name": [{"given": ["a", "b"], "_given": [null, {"extension": [{"url": "u", "valueString": "x"}]}]}],
        "birthDate": "2014-01-01",
        "contained": [{"resourceType": "Patient", "id": "c"}],
        "link": [{"other": {"reference": "#c"}}]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parser_never_panics_on_text(src in "\\PC{0,60}") {
        let _ = Expr::parse(&src);
    }

    #[test]
    fn parse_errors_point_inside_the_source(src in "[ -~]{0,40}") {
        if let Err(e) = Expr::parse(&src) {
            prop_assert!(e.offset <= src.len());
        }
    }

    #[test]
    fn evaluator_never_panics_on_token_soup(idx in proptest::collection::vec(0..TOKENS.len(), 1..14)) {
        let src: Vec<&str> = idx.iter().map(|i| TOKENS[*i]).collect();
        let src = src.join(" ");
        if let Ok(expr) = Expr::parse(&src) {
            let p = patient();
            let env = Env::for_resource(&p);
            let _ = expr.evaluate(&env, &p);
            let _ = expr.is_true(&env, &p);
        }
    }
}
