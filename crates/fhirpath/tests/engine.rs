//! The language, feature by feature, on small resources written for these tests.

use segur_fhirpath::{Env, EvalError, Expr, Hooks, Item, Node, Temporal, TemporalKind};
use serde_json::{Value, json};

fn patient() -> Value {
    json!({
        "resourceType": "Patient",
        "id": "p1",
        "active": true,
        "identifier": [
            {"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "255069999999934"},
            {"system": "http://example.org/mrn", "value": "A-12"}
        ],
        "name": [
            {"use": "official", "family": "Durand", "given": ["Anne", "Marie"]},
            {"use": "usual", "given": ["Annie"]}
        ],
        "gender": "female",
        "birthDate": "1974-12-25",
        "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1974-12-25T14:35:45-05:00"}]},
        "deceasedBoolean": false,
        "telecom": [{"system": "phone", "value": "0102030405", "use": "home"}],
        "multipleBirthInteger": 2,
        "contact": [{"name": {"family": "Martin"}, "period": {"start": "2020-01-01", "end": "2019-01-01"}}]
    })
}

fn eval_strings(src: &str, resource: &Value) -> Result<Vec<String>, String> {
    let env = Env::for_resource(resource).with_now(Temporal::from_epoch_millis(1_790_000_000_000));
    let expr = Expr::parse(src).map_err(|e| e.to_string())?;
    let items = expr.evaluate(&env, resource).map_err(|e| e.to_string())?;
    Ok(items
        .iter()
        .map(|i| match i.to_system() {
            Item::Boolean(b) => b.to_string(),
            Item::Integer(n) => n.to_string(),
            Item::Decimal(d) => d.to_string(),
            Item::String(s) => s.to_string(),
            Item::Temporal(t) if t.kind == TemporalKind::Time => format!("@T{t}"),
            Item::Temporal(t) => format!("@{t}"),
            Item::Quantity(q) => q.to_string(),
            Item::Type { namespace, name } => format!("{namespace}.{name}"),
            Item::Node(n) => format!("<{}>", n.type_name().unwrap_or("?")),
        })
        .collect())
}

fn check(cases: &[(&str, &[&str])]) {
    let p = patient();
    let mut failures = Vec::new();
    for (src, expected) in cases {
        match eval_strings(src, &p) {
            Ok(got) if got == *expected => {}
            other => failures.push(format!("{src}: expected {expected:?}, got {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn paths_indexers_and_choice_elements() {
    check(&[
        ("Patient.name.given", &["Anne", "Marie", "Annie"]),
        ("name.given", &["Anne", "Marie", "Annie"]),
        ("name[1].given", &["Annie"]),
        ("name[5].given", &[]),
        ("Patient.`name`.family", &["Durand"]),
        ("Observation.status", &[]),
        ("Patient.deceased", &["false"]),
        ("Patient.deceased is boolean", &["true"]),
        ("Patient.multipleBirth.type().name", &["integer"]),
        (
            "Patient.birthDate.extension.value.type().name",
            &["dateTime"],
        ),
        (
            "Patient.birthDate.extension('http://hl7.org/fhir/StructureDefinition/patient-birthTime').exists()",
            &["true"],
        ),
        (
            "Patient.birthDate.extension('http://example.org/none').exists()",
            &["false"],
        ),
        ("Patient.birthDate.hasValue()", &["true"]),
        ("Patient.name.first().hasValue()", &["false"]),
        ("Patient.birthDate.getValue() is Date", &["true"]),
        ("Patient.gender.getValue() is String", &["true"]),
        ("Patient.children().count() > 5", &["true"]),
        (
            "Patient.descendants().where($this = 'Martin').count()",
            &["1"],
        ),
        ("Patient.is(DomainResource)", &["true"]),
        ("Patient.type().namespace", &["FHIR"]),
        ("Resource.id", &["p1"]),
    ]);
}

#[test]
fn existence_filtering_and_subsetting() {
    check(&[
        ("name.exists()", &["true"]),
        ("name.where(use = 'temp').exists()", &["false"]),
        ("name.exists(use = 'usual')", &["true"]),
        ("name.all(given.exists())", &["true"]),
        ("name.all(family.exists())", &["false"]),
        ("name.select(given.first())", &["Anne", "Annie"]),
        ("name.given.count()", &["3"]),
        ("name.given.first()", &["Anne"]),
        ("name.given.last()", &["Annie"]),
        ("name.given.tail()", &["Marie", "Annie"]),
        ("name.given.skip(2)", &["Annie"]),
        ("name.given.take(2)", &["Anne", "Marie"]),
        ("name.given.where($index = 1)", &["Marie"]),
        ("(1 | 2 | 2 | 3).count()", &["3"]),
        ("(1).combine(1).count()", &["2"]),
        ("(1 | 2 | 3).intersect(2 | 3 | 4)", &["2", "3"]),
        ("(1 | 2 | 3).exclude(2)", &["1", "3"]),
        ("(1 | 2).subsetOf(1 | 2 | 3)", &["true"]),
        ("(1 | 2 | 3).supersetOf(4)", &["false"]),
        ("(1).combine(1).isDistinct()", &["false"]),
        ("(1).combine(1).distinct()", &["1"]),
        ("(true | false).allTrue()", &["false"]),
        ("(true | false).anyTrue()", &["true"]),
        ("(false).allFalse()", &["true"]),
        ("{}.anyFalse()", &["false"]),
        ("{}.empty()", &["true"]),
        ("telecom.single().value", &["0102030405"]),
        ("(1 | 2 | 3).aggregate($this + $total, 0)", &["6"]),
        ("deceased.ofType(boolean).count()", &["1"]),
        ("deceased.ofType(string).count()", &["0"]),
        ("contact.repeat(name | period).count()", &["2"]),
    ]);
}

#[test]
fn singletons_with_several_items_are_errors() {
    let p = patient();
    assert!(eval_strings("name.given.single()", &p).is_err_and(|e| e.contains("single item")));
    assert!(eval_strings("name.given = 'Anne' and true", &p).is_ok());
    assert!(eval_strings("name.given > 'A'", &p).is_err());
}

#[test]
fn three_valued_logic() {
    check(&[
        ("true and {}", &[]),
        ("false and {}", &["false"]),
        ("{} and false", &["false"]),
        ("true or {}", &["true"]),
        ("{} or false", &[]),
        ("true xor true", &["false"]),
        ("true xor {}", &[]),
        ("false implies {}", &["true"]),
        ("{} implies true", &["true"]),
        ("{} implies false", &[]),
        ("true implies false", &["false"]),
        ("(true).not()", &["false"]),
        ("{}.not()", &[]),
        ("iif(active, 'yes', 'no')", &["yes"]),
        ("iif(gender = 'male', 'yes')", &[]),
    ]);
}

#[test]
fn equality_equivalence_and_comparison() {
    check(&[
        ("1 = 1.0", &["true"]),
        ("1.10 = 1.1", &["true"]),
        ("'a' = 'A'", &["false"]),
        ("'a' ~ 'A'", &["true"]),
        ("'a  b' ~ 'A B'", &["true"]),
        ("1.2 ~ 1.23", &["true"]),
        ("{} = 1", &[]),
        ("{} ~ {}", &["true"]),
        ("(1 | 2) = (1 | 2)", &["true"]),
        ("(1 | 2) = (2 | 1)", &["false"]),
        ("(1 | 2) ~ (2 | 1)", &["true"]),
        ("1 != 2", &["true"]),
        ("'b' > 'a'", &["true"]),
        ("2 >= 2.0", &["true"]),
        ("@2012-04-15 = @2012-04-15", &["true"]),
        ("@2012-04 = @2012-04-15", &[]),
        ("@2012-04 ~ @2012-04-15", &["false"]),
        ("@2012-03 < @2012-04-15", &["true"]),
        ("@2012-04-15T15:30:31 = @2012-04-15T15:30:31.000", &["true"]),
        (
            "@2017-11-05T01:30:00.0-04:00 > @2017-11-05T01:00:00.0-05:00",
            &["false"],
        ),
        ("@T10:30 < @T10:31", &["true"]),
        ("birthDate = @1974-12-25", &["true"]),
        ("birthDate < @2000", &["true"]),
        ("birthDate > @1974-12", &[]),
        ("name.first() = name.first()", &["true"]),
        ("name.first() = name.last()", &["false"]),
        ("1 in (1 | 2)", &["true"]),
        ("(1 | 2) contains 3", &["false"]),
        ("{} in (1 | 2)", &[]),
    ]);
}

#[test]
fn arithmetic_and_math() {
    check(&[
        ("1 + 2 * 3 - 4", &["3"]),
        ("0.1 + 0.2 = 0.3", &["true"]),
        ("7 / 2", &["3.5"]),
        ("1.2 / 1.8", &["0.66666667"]),
        ("1 / 0", &[]),
        ("7 div 2", &["3"]),
        ("7 mod 2", &["1"]),
        ("-7 mod 2", &["-1"]),
        ("5.5 mod 0.7", &["0.6"]),
        ("'ab' + 'cd'", &["abcd"]),
        ("'ab' & {}", &["ab"]),
        ("(-5).abs()", &["5"]),
        ("1.1.ceiling()", &["2"]),
        ("(-1.1).floor()", &["-2"]),
        ("3.14159.round(3)", &["3.142"]),
        ("(-1.56).truncate()", &["-1"]),
        ("16.sqrt()", &["4"]),
        ("2.power(10)", &["1024"]),
        ("100.log(10)", &["2"]),
        ("1.exp().round(5)", &["2.71828"]),
        ("-(5)", &["-5"]),
        ("2147483647 + 1", &["2147483648"]),
        ("2 'cm' + 3 'cm'", &["5 'cm'"]),
        ("1 'm' = 100 'cm'", &["true"]),
        ("4 'g' > 3000 'mg'", &["true"]),
        ("1 'kg' < 2 'm'", &[]),
        ("7 days = 1 week", &["true"]),
        ("1 year = 12 months", &[]),
        ("@2014-01-31 + 1 month", &["@2014-02-28"]),
        ("@2014-03-01 - 1 day", &["@2014-02-28"]),
        (
            "@2014-01-01T10:00:00Z + 90 minutes",
            &["@2014-01-01T11:30:00Z"],
        ),
        ("@T23:00 + 2 hours", &["@T01:00"]),
    ]);
}

#[test]
fn strings_and_regexes() {
    check(&[
        ("'abcdef'.startsWith('abc')", &["true"]),
        ("'abcdef'.endsWith('def')", &["true"]),
        ("'abcdef'.contains('cd')", &["true"]),
        ("'abcdef'.indexOf('cd')", &["2"]),
        ("'abcdef'.indexOf('x')", &["-1"]),
        ("'abcdef'.substring(2)", &["cdef"]),
        ("'abcdef'.substring(2, 2)", &["cd"]),
        ("'abcdef'.substring(9)", &[]),
        ("'éàü'.length()", &["3"]),
        ("'AbC'.upper()", &["ABC"]),
        ("'AbC'.lower()", &["abc"]),
        ("'a.b.c'.replace('.', '-')", &["a-b-c"]),
        ("'abc'.replace('', '-')", &["-a-b-c-"]),
        ("'2024-01-15'.matches('^[0-9]{4}-[0-9]{2}')", &["true"]),
        ("'abc'.matches('x')", &["false"]),
        ("'a1b22c'.replaceMatches('[0-9]+', '#')", &["a#b#c"]),
        ("'a,b,c'.split(',')", &["a", "b", "c"]),
        ("('a' | 'b').join('+')", &["a+b"]),
        ("'  x '.trim()", &["x"]),
        ("'ab'.toChars()", &["a", "b"]),
        ("'test'.encode('base64')", &["dGVzdA=="]),
        ("'dGVzdA=='.decode('base64')", &["test"]),
        ("'AB'.encode('hex')", &["4142"]),
        ("'4142'.decode('hex')", &["AB"]),
        // Two hexadecimal digits per byte: a sign is not one.
        ("'+1+1'.decode('hex')", &[]),
        ("'<a>'.escape('html')", &["&lt;a&gt;"]),
        ("'it\\'s'", &["it's"]),
        ("'\\u00e9'", &["é"]),
        (
            "identifier.where(system.startsWith('urn:oid:')).value",
            &["255069999999934"],
        ),
    ]);
}

#[test]
fn invalid_regex_is_an_error() {
    let p = patient();
    let err = eval_strings("'a'.matches('(')", &p).expect_err("invalid regex");
    assert!(err.contains("regular expression"), "{err}");
}

#[test]
fn conversions() {
    check(&[
        ("'12'.toInteger() + 1", &["13"]),
        ("'1.5'.toInteger()", &[]),
        ("'1.5'.convertsToInteger()", &["false"]),
        ("'1.50'.toDecimal()", &["1.50"]),
        ("'abc'.convertsToDecimal()", &["false"]),
        ("'yes'.toBoolean()", &["true"]),
        ("'maybe'.convertsToBoolean()", &["false"]),
        ("1.toString()", &["1"]),
        ("1.50.toString()", &["1.50"]),
        ("true.toString()", &["true"]),
        ("@2014-01-25.toString()", &["2014-01-25"]),
        ("'2014-01-25'.toDate() = @2014-01-25", &["true"]),
        (
            "'2014-01-25T10:00:00Z'.toDateTime()",
            &["@2014-01-25T10:00:00Z"],
        ),
        ("'2014-13-01'.convertsToDate()", &["false"]),
        ("'10:30'.toTime()", &["@T10:30"]),
        ("'5 \\'mg\\''.toQuantity()", &["5 'mg'"]),
        ("'5 mg'.convertsToQuantity()", &["false"]),
        ("1000 'mg'.toQuantity('g')", &["1 'g'"]),
        ("1 week.toString()", &["1 week"]),
        (
            "@2014-01-25T10:00:00.123+02:00.toString()",
            &["2014-01-25T10:00:00.123+02:00"],
        ),
        ("1 is Integer", &["true"]),
        ("1 is System.Integer", &["true"]),
        ("1 is FHIR.integer", &["false"]),
        ("'a' as String", &["a"]),
        ("1.type().name", &["Integer"]),
        ("today() > @2020-01-01", &["true"]),
        ("now() > @2020-01-01T00:00:00Z", &["true"]),
    ]);
}

#[test]
fn boundaries_and_precision() {
    check(&[
        ("1.587.lowBoundary()", &["1.58650000"]),
        ("1.587.highBoundary(2)", &["1.59"]),
        ("1.587.lowBoundary(2)", &["1.58"]),
        ("(-1.587).highBoundary(6)", &["-1.586500"]),
        ("(-1.587).lowBoundary(0)", &["-2"]),
        ("1.highBoundary(0)", &["2"]),
        ("1.lowBoundary(0)", &["0"]),
        ("0.0034.highBoundary(1)", &["0.0"]),
        ("120.lowBoundary(2)", &["119.50"]),
        ("@2014.lowBoundary(6)", &["@2014-01"]),
        ("@2014.highBoundary(6)", &["@2014-12"]),
        (
            "@2014-01-01T08:05+08:00.lowBoundary(17)",
            &["@2014-01-01T08:05:00.000+08:00"],
        ),
        ("@T10:30.highBoundary(9)", &["@T10:30:59.999"]),
        ("1.58700.precision()", &["5"]),
        ("@2014-01-05T10:30.precision()", &["12"]),
    ]);
}

#[test]
fn variables_and_environment() {
    check(&[
        ("%ucum", &["http://unitsofmeasure.org"]),
        ("%sct", &["http://snomed.info/sct"]),
        ("%loinc", &["http://loinc.org"]),
        ("%resource.id", &["p1"]),
        ("%rootResource.id", &["p1"]),
        ("%context.gender", &["female"]),
        (
            "%`vs-administrative-gender`",
            &["http://hl7.org/fhir/ValueSet/administrative-gender"],
        ),
        (
            "name.where($this.family = %resource.name.family.first()).use",
            &["official"],
        ),
    ]);
    let p = patient();
    let env = Env::for_resource(&p).with_variable("limit", vec![Item::Integer(2)]);
    let e = Expr::parse("name.given.take(%limit)").expect("parse");
    assert_eq!(e.evaluate(&env, &p).expect("eval").len(), 2);
    let undefined = Expr::parse("%nope").expect("parse").evaluate(&env, &p);
    assert!(matches!(undefined, Err(EvalError::UndefinedVariable(v)) if v == "nope"));
}

#[test]
fn locations_name_the_fhir_element() {
    let p = patient();
    let env = Env::for_resource(&p);
    let items = Expr::parse(
        "identifier.system | name.given | birthDate.extension.value | contact.period.start",
    )
    .expect("parse")
    .evaluate(&env, &p)
    .expect("eval");
    let locations: Vec<String> = items
        .iter()
        .filter_map(|i| i.location().map(ToString::to_string))
        .collect();
    assert_eq!(
        locations,
        [
            "Patient.identifier[0].system",
            "Patient.identifier[1].system",
            "Patient.name[0].given[0]",
            "Patient.name[0].given[1]",
            "Patient.name[1].given[0]",
            "Patient.birthDate.extension[0].valueDateTime",
            "Patient.contact[0].period.start",
        ]
    );
}

#[test]
fn invariants_pass_on_empty_and_fail_on_false() {
    let p = patient();
    let env = Env::for_resource(&p);
    let is_true = |src: &str| {
        Expr::parse(src)
            .expect("parse")
            .is_true(&env, &p)
            .expect("eval")
    };
    assert!(is_true("{}"));
    assert!(is_true("gender.exists()"));
    assert!(!is_true("gender = 'male'"));
    assert!(is_true("gender"), "a single non-boolean item is true");
    assert!(
        Expr::parse("name")
            .expect("parse")
            .is_true(&env, &p)
            .is_err(),
        "several items are an error"
    );
    // per-1 on the contact's period (start after end) fails; on a well-ordered one it passes.
    let period = Expr::parse("start.hasValue().not() or end.hasValue().not() or (start <= end)")
        .expect("parse");
    let nodes = Expr::parse("contact.period")
        .expect("parse")
        .evaluate(&env, &p)
        .expect("eval");
    let Item::Node(n) = &nodes[0] else {
        panic!("a node")
    };
    assert!(!period.is_true_node(&env, n.clone()).expect("eval"));
    let ok = json!({"start": "2019-01-01", "end": "2020-01-01"});
    assert!(period.is_true_node(&env, Node::root(&ok)).expect("eval"));
}

struct Bundle<'a>(&'a Value);

impl<'a> Hooks<'a> for Bundle<'a> {
    fn resolve(&self, reference: &str) -> Option<&'a Value> {
        (reference == "http://example.org/Patient/ext").then_some(self.0)
    }
    fn member_of(&self, item: &Item<'a>, value_set: &str) -> Result<Option<bool>, String> {
        Ok(Some(
            value_set.ends_with("administrative-gender")
                && matches!(item.as_str(), Some("female" | "male")),
        ))
    }
    fn conforms_to(&self, _item: &Item<'a>, profile: &str) -> Result<bool, String> {
        Ok(profile.ends_with("/Patient"))
    }
}

#[test]
fn hooks_and_bundle_references() {
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "id": "a", "gender": "male"}},
            {"fullUrl": "urn:uuid:2", "resource": {"resourceType": "Observation", "id": "o",
                "subject": {"reference": "urn:uuid:1"}, "performer": [{"reference": "Patient/a"}, {"reference": "http://example.org/Patient/ext"}],
                "valueQuantity": {"value": 72.5, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}}}
        ]
    });
    let external = json!({"resourceType": "Patient", "id": "ext", "gender": "other"});
    let hooks = Bundle(&external);
    let obs = &bundle["entry"][1]["resource"];
    let env = Env::for_resource(obs)
        .with_root_resource(Node::root(&bundle))
        .with_hooks(&hooks);
    let run = |src: &str| -> Vec<String> {
        Expr::parse(src)
            .expect("parse")
            .evaluate(&env, obs)
            .expect("eval")
            .iter()
            .map(|i| match i.to_system() {
                Item::Boolean(b) => b.to_string(),
                Item::String(s) => s.to_string(),
                Item::Quantity(q) => q.to_string(),
                other => format!("{other:?}"),
            })
            .collect()
    };
    assert_eq!(run("subject.resolve().gender"), ["male"]);
    assert_eq!(run("performer.resolve().gender"), ["male", "other"]);
    assert_eq!(run("subject.resolve() is Patient"), ["true"]);
    assert_eq!(run("value"), ["72.5 'kg'"]);
    assert_eq!(run("value.ofType(Quantity).value > 70"), ["true"]);
    assert_eq!(run("(value as Quantity) > 70000 'g'"), ["true"]);
    assert_eq!(run("value is Period"), ["false"]);
    assert_eq!(
        run(
            "subject.resolve().gender.memberOf('http://hl7.org/fhir/ValueSet/administrative-gender')"
        ),
        ["true"]
    );
    assert_eq!(
        run("subject.resolve().conformsTo('http://hl7.org/fhir/StructureDefinition/Patient')"),
        ["true"]
    );
    assert_eq!(run("htmlChecks()"), ["true"]);
    let no_hooks = Env::for_resource(obs);
    let err = Expr::parse("status.memberOf('x')")
        .expect("parse")
        .evaluate(&no_hooks, obs);
    assert!(err.is_ok(), "empty input needs no hook");
    let err = Expr::parse("'a'.memberOf('x')")
        .expect("parse")
        .evaluate(&no_hooks, obs);
    assert!(matches!(err, Err(EvalError::Hook { .. })));
}

#[test]
fn contained_references_resolve() {
    let doc = json!({
        "resourceType": "DocumentReference",
        "contained": [{"resourceType": "Practitioner", "id": "pr1", "name": [{"family": "Kahn"}]}],
        "author": [{"reference": "#pr1"}]
    });
    let env = Env::for_resource(&doc);
    let r = Expr::parse("author.resolve().name.family")
        .expect("parse")
        .evaluate(&env, &doc)
        .expect("eval");
    assert_eq!(r.first().and_then(Item::as_str), Some("Kahn"));
}

#[test]
fn parse_errors_carry_an_offset() {
    for (src, offset) in [
        ("name.", 5),
        ("name.where(", 11),
        ("1 +", 3),
        ("'abc", 0),
        ("@2014-13", 0),
        ("name.foo()", 5),
        ("a # b", 2),
    ] {
        match Expr::parse(src) {
            Err(e) => assert_eq!(e.offset, offset, "{src}: {e}"),
            Ok(_) => panic!("{src} should not parse"),
        }
    }
    assert!(Expr::parse("where()").is_err(), "arity is checked");
    assert!(
        Expr::parse("ofType('x')").is_err(),
        "ofType needs a type name"
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(Expr::parse(&deep).is_err());
    let chain = format!("name{}", ".given".repeat(5_000));
    assert!(Expr::parse(&chain).is_err());
    let sum = vec!["1"; 5_000].join(" + ");
    assert!(Expr::parse(&sum).is_err());
    let ok = vec!["1"; 100].join(" + ");
    assert!(Expr::parse(&ok).is_ok());
}

#[test]
fn comments_are_skipped() {
    check(&[("1 + /* two */ 2 // three", &["3"])]);
}

#[test]
fn iif_sees_its_input_and_context_defaults_to_the_focus() {
    check(&[
        ("link.iif(empty(), 'none', 'some')", &["none"]),
        (
            "name.first().iif(use = 'official', family, 'x')",
            &["Durand"],
        ),
        ("name.select(iif(use = 'usual', $index, {}))", &["1"]),
    ]);
    let p = patient();
    let env = Env::for_resource(&p);
    let contact = Expr::parse("contact.first()")
        .expect("parse")
        .evaluate(&env, &p)
        .expect("eval");
    let Item::Node(n) = &contact[0] else {
        panic!("a node")
    };
    let r = Expr::parse("%context.name.family")
        .expect("parse")
        .evaluate_node(&env, n.clone())
        .expect("eval");
    assert_eq!(r.first().and_then(Item::as_str), Some("Martin"));
}

#[test]
fn unknown_primitive_type_names_do_not_parse() {
    assert!(Expr::parse("gender.ofType(string1)").is_err());
    assert!(Expr::parse("gender is strin").is_err());
    assert!(Expr::parse("gender is Foo.string").is_err());
    assert!(Expr::parse("gender.ofType(code)").is_ok());
    assert!(
        Expr::parse("$this is Citation").is_ok(),
        "resource names of other FHIR versions stay valid"
    );
}

#[test]
fn distinct_stays_fast_on_large_collections() {
    let entries: Vec<Value> = (0..20_000)
        .map(|i| json!({"fullUrl": format!("urn:uuid:{}", i % 15_000)}))
        .collect();
    let bundle = json!({"resourceType": "Bundle", "entry": entries});
    let env = Env::for_resource(&bundle);
    let start = std::time::Instant::now();
    let r = Expr::parse("entry.fullUrl.isDistinct() | entry.fullUrl.distinct().count()")
        .expect("parse")
        .evaluate(&env, &bundle)
        .expect("eval");
    assert!(
        matches!(r.as_slice(), [Item::Boolean(false), Item::Integer(15_000)]),
        "{r:?}"
    );
    assert!(start.elapsed().as_secs() < 5, "took {:?}", start.elapsed());
}

#[test]
fn strict_mode_rejects_unknown_elements_with_a_model() {
    let core = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fhir/packages/hl7.fhir.r4.core#4.0.1/package");
    if !core.is_dir() {
        return;
    }
    let model = segur_fhirpath::StructureDefinitionModel::from_package_dir(&core).expect("model");
    let p = patient();
    let lenient = Env::for_resource(&p).with_model(&model);
    let strict = Env::for_resource(&p).with_model(&model).strict(true);
    fn run<'a>(env: &Env<'a>, p: &'a Value, src: &str) -> Result<usize, EvalError> {
        Expr::parse(src)
            .expect("parse")
            .evaluate(env, p)
            .map(|r| r.len())
    }
    assert_eq!(run(&lenient, &p, "name.given1").ok(), Some(0));
    assert!(matches!(
        run(&strict, &p, "name.given1"),
        Err(EvalError::UnknownElement { .. })
    ));
    assert!(matches!(
        run(&strict, &p, "Encounter.status"),
        Err(EvalError::UnknownElement { .. })
    ));
    assert!(matches!(
        run(&strict, &p, "Patient.deceasedBoolean"),
        Err(EvalError::UnknownElement { .. })
    ));
    assert_eq!(
        run(
            &strict,
            &p,
            "Patient.deceased | contact.name.family | birthDate.extension.url"
        )
        .ok(),
        Some(3)
    );
    assert_eq!(
        run(&strict, &p, "Patient.text.div").ok(),
        Some(0),
        "inherited elements are known"
    );
}

#[test]
fn one_compiled_expression_serves_many_threads() {
    let expr =
        std::sync::Arc::new(Expr::parse("name.given.count() + identifier.count()").expect("parse"));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let expr = expr.clone();
            std::thread::spawn(move || {
                let mut p = patient();
                p["identifier"] = json!(
                    (0..i)
                        .map(|k| json!({"value": k.to_string()}))
                        .collect::<Vec<_>>()
                );
                let env = Env::for_resource(&p);
                match expr
                    .evaluate(&env, &p)
                    .expect("eval")
                    .first()
                    .map(Item::to_system)
                {
                    Some(Item::Integer(n)) => n,
                    other => panic!("{other:?}"),
                }
            })
        })
        .collect();
    let counts: Vec<i64> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    assert_eq!(counts, [3, 4, 5, 6]);
}

#[test]
fn runaway_repeat_stops_with_an_error() {
    let p = patient();
    let env = Env::for_resource(&p);
    let start = std::time::Instant::now();
    let r = Expr::parse("(1).repeat($this + 1)")
        .expect("parse")
        .evaluate(&env, &p);
    assert!(matches!(r, Err(EvalError::TooDeep(_))), "{r:?}");
    assert!(start.elapsed().as_secs() < 10, "took {:?}", start.elapsed());
    let finite = Expr::parse("(1).repeat(iif($this < 5, $this + 1, {})).count()")
        .expect("parse")
        .evaluate(&env, &p);
    assert!(
        matches!(finite.as_deref(), Ok([Item::Integer(4)])),
        "{finite:?}"
    );
}

/// Counts `memberOf()` calls: how many times a subexpression was evaluated.
#[derive(Default)]
struct Counting(std::cell::Cell<usize>);

impl<'a> Hooks<'a> for Counting {
    fn member_of(&self, _item: &Item<'a>, _value_set: &str) -> Result<Option<bool>, String> {
        self.0.set(self.0.get() + 1);
        Ok(Some(true))
    }
}

#[test]
fn loop_invariant_subexpressions_are_evaluated_once_per_evaluation() {
    let contained: Vec<Value> = (0..50)
        .map(|i| json!({"resourceType": "Practitioner", "id": format!("pr{i}")}))
        .collect();
    let refs: Vec<Value> = (0..50)
        .filter(|i| i % 2 == 0)
        .map(|i| json!({"reference": format!("#pr{i}")}))
        .collect();
    let r = json!({"resourceType": "Patient", "id": "p", "gender": "female",
        "contained": contained, "generalPractitioner": refs});
    let hooks = Counting::default();
    let env = Env::for_resource(&r).with_hooks(&hooks);
    let run = |src: &str| -> Vec<String> {
        Expr::parse(src)
            .expect("parse")
            .evaluate(&env, &r)
            .expect("eval")
            .iter()
            .map(|i| match i.to_system() {
                Item::Boolean(b) => b.to_string(),
                Item::Integer(n) => n.to_string(),
                other => other.as_str().unwrap_or("?").to_owned(),
            })
            .collect()
    };
    // `%resource.gender.memberOf(…)` does not depend on the contained resource: one call for
    // the 50 items of each lambda.
    for f in ["where", "select", "all", "exists"] {
        hooks.0.set(0);
        run(&format!(
            "contained.{f}(%resource.gender.memberOf('http://example.org/vs'))"
        ));
        assert_eq!(hooks.0.get(), 1, "{f}");
    }
    // What depends on the item is evaluated for each (here through an argument of a
    // function on a focus-free target).
    hooks.0.set(0);
    assert_eq!(
        run("contained.where(%resource.gender.memberOf('http://example.org/vs' + id)).count()"),
        ["50"]
    );
    assert_eq!(hooks.0.get(), 50);
    // dom-3's shape: the answer per item is unchanged by computing the references once.
    assert_eq!(
        run("contained.where(('#' + id in %resource.descendants().reference).not()).id.count()"),
        ["25"]
    );
    assert_eq!(
        run("contained.where('#' + id in %resource.descendants().reference).select(id).first()"),
        ["pr0"]
    );
    assert_eq!(
        run(
            "contained.select(%resource.contained.where(id = 'pr3').id + $index.toString()).skip(2).first()"
        ),
        ["pr32"]
    );
    assert_eq!(
        run("contained.where($index < 3).select(iif(%resource.id = 'p', id, 'x'))"),
        ["pr0", "pr1", "pr2"]
    );
    // Nested lambdas: the inner focus-free part is still the same for every outer item.
    assert_eq!(
        run("contained.all(%resource.contained.select(id).count() = 50)"),
        ["true"]
    );
}

#[test]
fn json_numbers_keep_their_precision() {
    let obs: Value = serde_json::from_str(
        r#"{"resourceType": "Observation", "valueQuantity": {"value": 1.50},
            "component": [{"valueInteger": 100000000000000000000000},
                          {"valueQuantity": {"value": 12345678901234567890.25}}]}"#,
    )
    .expect("json");
    let run = |src: &str| eval_strings(src, &obs).expect(src);
    assert_eq!(run("Observation.value.value.toString()"), ["1.50"]);
    assert_eq!(run("Observation.value.value = 1.5"), ["true"]);
    assert_eq!(
        run("Observation.component[1].value.value.toString()"),
        ["12345678901234567890.25"]
    );
    assert_eq!(
        run("Observation.component[1].value.value > 12345678901234567890.2"),
        ["true"]
    );
}
