//! Choosing the rule sets by the ANS CI tool's mapping needs pieces of the rules directory:
//! without them a document would pass unchecked by its volet or a generic profile, so their
//! absence is an error finding (RULES-ERROR), and a mapping file that maps nothing is refused.

use std::path::{Path, PathBuf};

use segur_validate::engine::{Engine, EngineError, EngineOptions, Profile};
use segur_validate::select::SelectMode;
use segur_xml::Limits;

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans/testcontenucda")
}

fn engine(rules_dir: PathBuf, mapping: Option<PathBuf>) -> Result<Engine, EngineError> {
    Engine::new(EngineOptions {
        rules_dir,
        mapping,
        overrides: None,
        select: SelectMode::Mapping,
        profile: Profile::Official,
        xsd: false,
        limits: Limits::default(),
        cache_dir: None,
    })
}

fn example() -> Vec<u8> {
    std::fs::read(rules_dir().join("ExemplesCDA/BIO-CR-BIO_2024.01_TSH_1.xml")).expect("example")
}

fn rules_errors(engine: &Engine) -> Vec<String> {
    let outcome = engine.validate(&example());
    assert!(outcome.problem.is_none());
    outcome
        .findings
        .iter()
        .filter(|f| f.rule == "RULES-ERROR")
        .map(|f| {
            assert!(f.location.line.is_some(), "{f:?}");
            format!("{}: {}", f.source.file, f.message)
        })
        .collect()
}

#[test]
fn without_a_mapping_the_volet_cannot_be_chosen_and_that_is_an_error() {
    let mapping = rules_dir().join("../peer/mapping.properties");
    let with = engine(rules_dir(), Some(mapping)).expect("engine");
    assert!(rules_errors(&with).is_empty());
    let without = engine(rules_dir(), None).expect("engine");
    let errors = rules_errors(&without);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("no mapping.properties"), "{errors:?}");
}

#[test]
fn a_mapping_file_that_maps_nothing_is_refused_by_name() {
    let tmp = tempfile::tempdir().expect("tmp");
    let empty = tmp.path().join("map.properties");
    std::fs::write(&empty, "# nothing here\nx\n").expect("write");
    let Err(e) = engine(rules_dir(), Some(empty.clone())) else {
        panic!("an empty mapping was accepted");
    };
    let message = e.to_string();
    assert!(
        message.starts_with(&empty.display().to_string()),
        "{message}"
    );
    assert!(message.contains("not a mapping.properties"), "{message}");
}

/// A mirror of the rules directory (links to its files) without `schematrons/profils/IHE.sch`.
#[cfg(unix)]
#[test]
fn a_generic_profile_missing_from_the_rules_directory_is_an_error() {
    fn mirror(from: &Path, to: &Path, skip: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for e in std::fs::read_dir(from).expect("dir") {
            let e = e.expect("entry");
            let (src, dst) = (e.path(), to.join(e.file_name()));
            if src == skip {
                continue;
            }
            if skip.starts_with(&src) {
                mirror(&src, &dst, skip);
            } else {
                std::os::unix::fs::symlink(&src, &dst).expect("link");
            }
        }
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let source = std::fs::canonicalize(rules_dir()).expect("rules");
    let rules = tmp.path().join("rules");
    mirror(&source, &rules, &source.join("schematrons/profils/IHE.sch"));
    let mapping = source.join("../peer/mapping.properties");
    let errors = rules_errors(&engine(rules, Some(mapping)).expect("engine"));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("schematrons/profils/IHE.sch: a generic profile is absent"),
        "{errors:?}"
    );
}
