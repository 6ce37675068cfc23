//! A disk cache of the compiled CDA XSD, as [`crate::schematron`] keeps loaded schematrons:
//! reading and compiling the schema's 13 files (570 KB, 3 079 enumeration values) takes
//! several times longer than reading back the compiled schema's image ([`Schema::encode`]).
//!
//! One file per schema under `<cache>/xsd/`, keyed by the rules directory, the schema's path,
//! this cache's format and the schema compiler's build ([`segur_xsd::MODEL_FINGERPRINT`]). It
//! holds the SHA-256 of every schema file the schema was compiled from (hashed from the very
//! bytes the compiler read) and the file's metadata then, checked as the schematron cache checks
//! its files: a file whose metadata are the recorded ones is not read, any other is read and
//! hashed again; the image is used only when all are unchanged, so an edited, added or removed
//! schema file is never served stale. Any unreadable,
//! truncated or damaged cache file is a miss, never an error: the schema is compiled from its
//! files and the cache file rewritten (to a temporary file, then renamed).

use std::path::Path;
use std::time::{Duration, SystemTime};

use segur_xml::hash::Checksum;
use segur_xsd::{Schema, SchemaError};

use crate::schematron::{
    CacheOutcome, MAX_CACHE_FOLDER_BYTES, SETTLE, SourceFile, Stamp, keyed_cache_file,
    prune_cache_folder, stamps_after, store_cache_file, touch_cache_file, verify_sources,
};

/// Bump when the layout of the cache file (not of the image) changes (2: file stamps).
const FORMAT: u32 = 2;

const MAGIC: &[u8; 8] = b"SEGURXSC";

/// [`Schema::load`] of `entry` (a file of `rules_dir`) through the cache in `cache_dir` (none:
/// no cache), with the schema files it was compiled from (paths relative to `rules_dir`; none
/// without a cache, which hashes nothing).
pub(crate) fn load_cached(
    rules_dir: &Path,
    entry: &Path,
    cache_dir: Option<&Path>,
) -> Result<(Schema, Vec<SourceFile>, CacheOutcome), SchemaError> {
    load_cached_within(rules_dir, entry, cache_dir, SETTLE)
}

/// [`load_cached`] with the settling time given (see [`SETTLE`]).
fn load_cached_within(
    rules_dir: &Path,
    entry: &Path,
    cache_dir: Option<&Path>,
    settle: Duration,
) -> Result<(Schema, Vec<SourceFile>, CacheOutcome), SchemaError> {
    let Some(cache_dir) = cache_dir else {
        return Ok((Schema::load(entry)?, Vec::new(), CacheOutcome::Disabled));
    };
    let build = format!(
        "xsd\0{FORMAT}\0{}\0{:016x}",
        segur_xsd::IMAGE_FORMAT,
        segur_xsd::MODEL_FINGERPRINT
    );
    let file = keyed_cache_file(cache_dir, "xsd", &build, rules_dir, entry);
    if let Some(bytes) = crate::schematron::read_regular(&file)
        && let Some(usable) = usable(rules_dir, &bytes, settle)
    {
        match usable.restamped {
            // Files hashed again that have now settled: keep their new metadata, so the next
            // run need not read them (a failure only means they are read again).
            Some(stamps) => {
                let _ = store_cache_file(
                    &file,
                    &cache_file_bytes(&usable.files, &stamps, &bytes[usable.image_at..]),
                );
            }
            None => touch_cache_file(&file),
        }
        return Ok((usable.schema, usable.files, CacheOutcome::Hit));
    }
    let started = SystemTime::now();
    let (schema, files) = load(rules_dir, entry)?;
    let stamps = stamps_after(rules_dir, &files, started, settle);
    let outcome = match schema.encode() {
        Ok(image) => match store_cache_file(&file, &cache_file_bytes(&files, &stamps, &image)) {
            Ok(()) => {
                prune_cache_folder(&file, MAX_CACHE_FOLDER_BYTES);
                CacheOutcome::Stored
            }
            Err(e) => CacheOutcome::Unwritable(format!("{}: {e}", file.display())),
        },
        Err(e) => CacheOutcome::Unwritable(format!("{}: {e}", file.display())),
    };
    Ok((schema, files, outcome))
}

/// A usable cache file, read.
struct Usable {
    files: Vec<SourceFile>,
    schema: Schema,
    /// The files' stamps to store instead of the recorded ones, when some file was hashed again.
    restamped: Option<Vec<Option<Stamp>>>,
    /// Where the image starts.
    image_at: usize,
    /// How many schema files were read and hashed again.
    #[cfg_attr(not(test), allow(dead_code))]
    rehashed: usize,
}

/// The schema a cache file holds, if it is whole and every file it was compiled from is
/// unchanged.
fn usable(rules_dir: &Path, bytes: &[u8], settle: Duration) -> Option<Usable> {
    let (files, stamps, at) = read_header(bytes)?;
    let check = verify_sources(rules_dir, &files, &stamps, SystemTime::now(), settle)?;
    let schema = Schema::decode(&bytes[at..]).ok()?;
    Some(Usable {
        files,
        schema,
        image_at: at,
        rehashed: check.rehashed,
        restamped: (check.restamped != stamps).then_some(check.restamped),
    })
}

/// Compiles the schema, hashing each file from the bytes the compiler read.
fn load(rules_dir: &Path, entry: &Path) -> Result<(Schema, Vec<SourceFile>), SchemaError> {
    let mut files = Vec::new();
    let schema = Schema::load_with(entry, |path, bytes| {
        files.push(SourceFile {
            path: path
                .strip_prefix(rules_dir)
                .unwrap_or(path)
                .display()
                .to_string(),
            sha256: Some(crate::rules::sha256(bytes)),
        });
    })?;
    Ok((schema, files))
}

/// Magic, format, the source files (path, SHA-256 and [`Stamp`]), a checksum of all these, then
/// the schema's image (which ends with its own checksum). Little-endian `u32` counts and lengths.
fn cache_file_bytes(files: &[SourceFile], stamps: &[Option<Stamp>], image: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(image.len() + 4096);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(&(files.len() as u32).to_le_bytes());
    for (i, f) in files.iter().enumerate() {
        for s in [f.path.as_str(), f.sha256.as_deref().unwrap_or("")] {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        out.extend_from_slice(&Stamp::to_bytes(stamps.get(i).and_then(Option::as_ref)));
    }
    let mut sum = Checksum::new();
    sum.update(&out);
    out.extend_from_slice(&sum.finish().to_le_bytes());
    out.extend_from_slice(image);
    out
}

/// The source files of a cache file, their stamps, and where its image starts; `None` unless
/// the header is whole and its checksum matches. No length is believed beyond the bytes left.
#[allow(clippy::type_complexity)]
fn read_header(bytes: &[u8]) -> Option<(Vec<SourceFile>, Vec<Option<Stamp>>, usize)> {
    fn take<'a>(bytes: &'a [u8], at: &mut usize, n: usize) -> Option<&'a [u8]> {
        let b = bytes.get(*at..at.checked_add(n)?)?;
        *at += n;
        Some(b)
    }
    fn len(bytes: &[u8], at: &mut usize) -> Option<usize> {
        take(bytes, at, 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
    fn text(bytes: &[u8], at: &mut usize) -> Option<String> {
        let n = len(bytes, at)?;
        Some(std::str::from_utf8(take(bytes, at, n)?).ok()?.to_string())
    }
    let mut at = 0;
    if take(bytes, &mut at, MAGIC.len())? != MAGIC || len(bytes, &mut at)? != FORMAT as usize {
        return None;
    }
    let n = len(bytes, &mut at)?;
    // Each file takes at least its two lengths and its stamp.
    if n.checked_mul(8 + Stamp::BYTES)? > bytes.len() - at {
        return None;
    }
    let mut files = Vec::with_capacity(n);
    let mut stamps = Vec::with_capacity(n);
    for _ in 0..n {
        files.push(SourceFile {
            path: text(bytes, &mut at)?,
            sha256: Some(text(bytes, &mut at)?),
        });
        stamps.push(Stamp::from_bytes(
            take(bytes, &mut at, Stamp::BYTES)?.try_into().ok()?,
        )?);
    }
    let header = at;
    let stored = take(bytes, &mut at, 8)?;
    let mut sum = Checksum::new();
    sum.update(&bytes[..header]);
    (u64::from_le_bytes(stored.try_into().ok()?) == sum.finish()).then_some((files, stamps, at))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::SystemTime;

    use super::*;
    use crate::rules::CDA_XSD;

    /// The shared ANS kit: read only, never written (the tests work on copies).
    fn shared_rules() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans/testcontenucda")
    }

    /// Every file under `dir` (following no link), sorted.
    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut todo = vec![dir.to_path_buf()];
        while let Some(d) = todo.pop() {
            for e in std::fs::read_dir(&d).expect("read_dir") {
                let p = e.expect("entry").path();
                let kind = std::fs::symlink_metadata(&p).expect("metadata").file_type();
                if kind.is_dir() {
                    todo.push(p);
                } else {
                    out.push(p);
                }
            }
        }
        out.sort();
        out
    }

    /// Path, size, modification time and SHA-256 of every file under `dir`.
    fn state(dir: &Path) -> Vec<(PathBuf, u64, SystemTime, String)> {
        files_under(dir)
            .into_iter()
            .map(|p| {
                let m = std::fs::metadata(&p).expect("metadata");
                let h = crate::rules::sha256_file(&p).expect("hash");
                (p, m.len(), m.modified().expect("mtime"), h)
            })
            .collect()
    }

    /// A temporary rules directory holding real copies (never links) of the shared CDA schema
    /// files, and a cache directory beside it.
    struct Kit {
        tmp: tempfile::TempDir,
        rules: PathBuf,
        cache: PathBuf,
    }

    impl Kit {
        fn new() -> Kit {
            let tmp = tempfile::tempdir().expect("tmp");
            let rules = tmp.path().join("rules");
            let from = shared_rules().join("infrastructure/cda");
            for f in files_under(&from) {
                let to = rules
                    .join("infrastructure/cda")
                    .join(f.strip_prefix(&from).expect("under"));
                std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
                // `fs::read` + `fs::write`: a new file with the content, whatever `f` is.
                std::fs::write(&to, std::fs::read(&f).expect("read")).expect("write");
            }
            std::fs::create_dir_all(rules.join("schematrons")).expect("mkdir");
            for f in files_under(&rules) {
                let kind = std::fs::symlink_metadata(&f).expect("metadata").file_type();
                assert!(kind.is_file(), "{}: a real file", f.display());
            }
            let cache = tmp.path().join("cache");
            Kit { tmp, rules, cache }
        }

        fn entry(&self) -> PathBuf {
            self.rules.join(CDA_XSD)
        }

        /// Dates the rules copy an hour back: every load sees settled files, whatever time
        /// passes between two loads (a loaded machine takes seconds).
        fn settle(&self) {
            let past = std::time::SystemTime::now() - Duration::from_secs(3600);
            for f in files_under(&self.rules) {
                std::fs::File::options()
                    .write(true)
                    .open(&f)
                    .expect("open")
                    .set_modified(past)
                    .expect("set mtime");
            }
        }

        fn load(&self) -> Result<(Schema, Vec<SourceFile>, CacheOutcome), SchemaError> {
            load_cached(&self.rules, &self.entry(), Some(&self.cache))
        }

        fn cache_files(&self) -> Vec<PathBuf> {
            files_under(&self.cache.join("xsd"))
        }

        /// Every file of the cache and of the rules copy lies in the temporary directory.
        fn assert_all_writes_inside(&self) {
            let root = std::fs::canonicalize(self.tmp.path()).expect("canonical");
            for f in files_under(self.tmp.path()) {
                let real = std::fs::canonicalize(&f).expect("canonical");
                assert!(real.starts_with(&root), "{} is outside", real.display());
            }
        }
    }

    fn errors(s: &Schema, xml: &[u8]) -> Vec<segur_xsd::XsdError> {
        segur_xsd::validate_bytes(s, xml).expect("well-formed")
    }

    const DOC: &[u8] = br#"<ClinicalDocument xmlns="urn:hl7-org:v3" classCode="DOCCLIN"><realmCode code="FR"/><title>t</title></ClinicalDocument>"#;

    const EXTRA: &str = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:hl7-org:v3"><xs:element name="extra" type="xs:string"/></xs:schema>"#;

    fn replace_in(file: &Path, after: &str, from: &str, to: &str) {
        let text = std::fs::read_to_string(file).expect("read");
        let start = text.find(after).expect("anchor");
        let at = start + text[start..].find(from).expect("target");
        let edited = format!("{}{to}{}", &text[..at], &text[at + from.len()..]);
        std::fs::write(file, edited).expect("write");
    }

    /// Stored, then served while every schema file is unchanged; an edited, added or removed
    /// schema file is never served stale. The shared kit is left exactly as it was.
    #[test]
    fn hits_only_while_every_schema_file_is_unchanged() {
        let shared_before = state(&shared_rules().join("infrastructure/cda"));
        let kit = Kit::new();

        let (first, files, outcome) = kit.load().expect("load");
        assert_eq!(outcome, CacheOutcome::Stored);
        assert_eq!(files[0].path, CDA_XSD);
        assert!(files.len() >= 10, "every schema file: {files:?}");
        assert!(files.iter().all(|f| !f.path.starts_with('/')), "{files:?}");
        assert_eq!(kit.cache_files().len(), 1);
        let (second, files2, outcome) = kit.load().expect("load");
        assert_eq!(outcome, CacheOutcome::Hit);
        assert_eq!(files, files2);
        assert_eq!(errors(&first, DOC), errors(&second, DOC));
        assert!(!errors(&second, DOC).is_empty());

        // An included file changes: DOCCLIN leaves ActClinicalDocument (the type of `@classCode`).
        let voc = kit.rules.join("infrastructure/cda/general/voc.xsd");
        replace_in(
            &voc,
            "name=\"ActClinicalDocument\"",
            "value=\"DOCCLIN\"",
            "value=\"DOCCLINX\"",
        );
        let (third, _, outcome) = kit.load().expect("load");
        assert_eq!(outcome, CacheOutcome::Stored);
        let fresh = Schema::load(&kit.entry()).expect("load");
        assert_eq!(errors(&third, DOC), errors(&fresh, DOC));
        assert_ne!(errors(&third, DOC), errors(&first, DOC));
        let (fourth, _, outcome) = kit.load().expect("load");
        assert_eq!(outcome, CacheOutcome::Hit);
        assert_eq!(errors(&fourth, DOC), errors(&fresh, DOC));

        // A file is added (the entry includes a new one).
        std::fs::write(kit.rules.join("infrastructure/cda/extra.xsd"), EXTRA).expect("write");
        replace_in(
            &kit.entry(),
            "<xs:include",
            "<xs:include",
            "<xs:include schemaLocation=\"extra.xsd\"/><xs:include",
        );
        let (_, with_extra, outcome) = kit.load().expect("load");
        assert_eq!(outcome, CacheOutcome::Stored);
        assert_eq!(with_extra.len(), files.len() + 1);
        assert_eq!(kit.load().expect("load").1.len(), with_extra.len());

        // The added file is removed: an error, never the stored schema.
        std::fs::remove_file(kit.rules.join("infrastructure/cda/extra.xsd")).expect("rm");
        assert!(matches!(kit.load(), Err(SchemaError::Io { .. })));

        // Back again, as stored: served.
        std::fs::write(kit.rules.join("infrastructure/cda/extra.xsd"), EXTRA).expect("write");
        assert_eq!(kit.load().expect("load").2, CacheOutcome::Hit);

        // Without a cache directory, no cache.
        let (_, _, outcome) = load_cached(&kit.rules, &kit.entry(), None).expect("load");
        assert_eq!(outcome, CacheOutcome::Disabled);

        kit.assert_all_writes_inside();
        assert_eq!(
            shared_before,
            state(&shared_rules().join("infrastructure/cda")),
            "the shared kit is untouched"
        );
    }

    /// Schema files that had settled when hashed are checked by their metadata, not read; a
    /// same-size edit with the modification time put back is still seen (its change time
    /// moved), and a file just written is read and hashed until it settles.
    #[test]
    fn settled_schema_files_are_checked_by_metadata() {
        let kit = Kit::new();
        let load = |settle: Duration| {
            load_cached_within(&kit.rules, &kit.entry(), Some(&kit.cache), settle).expect("load")
        };
        let rehashed = |settle: Duration| {
            let file = kit.cache_files().pop().expect("one cache file");
            let bytes = std::fs::read(&file).expect("read");
            usable(&kit.rules, &bytes, settle).map(|u| u.rehashed)
        };
        // Just written: no metadata kept, every file hashed on every check.
        let (first, files, outcome) = load(SETTLE);
        assert_eq!(outcome, CacheOutcome::Stored);
        assert_eq!(rehashed(SETTLE), Some(files.len()));
        assert_eq!(load(SETTLE).2, CacheOutcome::Hit);
        // With no settling time, the next hit keeps their metadata; then none is read.
        assert_eq!(load(Duration::ZERO).2, CacheOutcome::Hit);
        assert_eq!(rehashed(Duration::ZERO), Some(0));

        let voc = kit.rules.join("infrastructure/cda/general/voc.xsd");
        let mtime = std::fs::metadata(&voc)
            .expect("meta")
            .modified()
            .expect("mtime");
        replace_in(
            &voc,
            "name=\"ActClinicalDocument\"",
            "value=\"DOCCLIN\"",
            "value=\"DOCCLIX\"",
        );
        std::fs::File::options()
            .write(true)
            .open(&voc)
            .expect("open")
            .set_modified(mtime)
            .expect("set mtime");
        let (edited, _, outcome) = load(Duration::ZERO);
        assert_eq!(outcome, CacheOutcome::Stored);
        assert_ne!(errors(&edited, DOC), errors(&first, DOC));
        assert_eq!(rehashed(Duration::ZERO), Some(0));
        assert_eq!(load(Duration::ZERO).2, CacheOutcome::Hit);
        kit.assert_all_writes_inside();
    }

    /// Truncated, damaged or garbage cache files are misses (no panic), then rewritten.
    #[test]
    fn damaged_cache_files_are_misses() {
        let kit = Kit::new();
        // The rewritten file must equal the first byte for byte: both from settled files.
        kit.settle();
        let (schema, files, outcome) = kit.load().expect("load");
        assert_eq!(outcome, CacheOutcome::Stored);
        let file = kit.cache_files().pop().expect("one cache file");
        let bytes = std::fs::read(&file).expect("read");
        let (back, back_files) = usable(&kit.rules, &bytes, SETTLE)
            .map(|u| (u.schema, u.files))
            .expect("the stored file is usable");
        assert_eq!(back_files, files);
        assert_eq!(errors(&back, DOC), errors(&schema, DOC));

        let header = read_header(&bytes).expect("header").2;
        let step = bytes.len() / 211 + 1;
        for cut in (0..bytes.len()).step_by(step).chain(0..header + 16) {
            assert!(
                usable(&kit.rules, &bytes[..cut], SETTLE).is_none(),
                "cut at {cut}"
            );
        }
        for i in (0..bytes.len()).step_by(step).chain(0..header + 16) {
            for flip in [0x01, 0x20, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                assert!(
                    usable(&kit.rules, &b, SETTLE).is_none(),
                    "byte {i} ^ {flip:#x}"
                );
            }
        }

        // On disk: garbage, a truncated file and an empty one are each reloaded and rewritten.
        for damaged in [
            b"SEGURXSC garbage".to_vec(),
            bytes[..bytes.len() / 2].to_vec(),
            Vec::new(),
        ] {
            std::fs::write(&file, damaged).expect("write");
            let (s, _, outcome) = kit.load().expect("load");
            assert_eq!(outcome, CacheOutcome::Stored);
            assert_eq!(errors(&s, DOC), errors(&schema, DOC));
            // Rewritten as a usable image (not compared byte for byte: the files' settling
            // state it records can change between two writes on a loaded machine).
            let rewritten = std::fs::read(&file).expect("read");
            assert!(
                usable(&kit.rules, &rewritten, SETTLE).is_some(),
                "rewritten"
            );
            assert_eq!(kit.load().expect("load").2, CacheOutcome::Hit);
        }
        kit.assert_all_writes_inside();
    }

    /// A cache that cannot be written is reported; the schema is loaded all the same.
    #[test]
    fn an_unwritable_cache_is_reported() {
        let kit = Kit::new();
        let not_a_dir = kit.tmp.path().join("file");
        std::fs::write(&not_a_dir, b"x").expect("write");
        let (s, _, outcome) =
            load_cached(&kit.rules, &kit.entry(), Some(&not_a_dir)).expect("load");
        assert!(
            matches!(&outcome, CacheOutcome::Unwritable(why) if why.contains("xsd")),
            "{outcome:?}"
        );
        assert!(!errors(&s, DOC).is_empty());
        kit.assert_all_writes_inside();
    }

    /// Through the engine: the XSD's cache outcome is reported under its entry file, and a
    /// second engine gets the same findings from the cached schema.
    #[test]
    fn the_engine_reports_and_uses_the_xsd_cache() {
        use crate::engine::{Engine, EngineOptions, Profile};
        let kit = Kit::new();
        let engine = || {
            Engine::new(EngineOptions {
                rules_dir: kit.rules.clone(),
                mapping: None,
                overrides: None,
                select: crate::select::SelectMode::Mapping,
                profile: Profile::Official,
                xsd: true,
                limits: segur_xml::Limits::default(),
                cache_dir: Some(kit.cache.clone()),
            })
            .expect("engine")
        };
        let outcome = |e: &Engine| {
            e.cache_outcomes()
                .into_iter()
                .find(|(k, _)| k == CDA_XSD)
                .map(|(_, o)| o)
        };
        let first = engine();
        let found = first.validate(DOC).findings;
        assert!(!found.is_empty());
        assert_eq!(outcome(&first), Some(CacheOutcome::Stored));
        let second = engine();
        let again = second.validate(DOC).findings;
        assert_eq!(outcome(&second), Some(CacheOutcome::Hit));
        assert_eq!(format!("{found:?}"), format!("{again:?}"));
        assert_eq!(first.rule_files(), second.rule_files());
        assert_eq!(
            second.rule_files(),
            vec![(
                CDA_XSD.to_string(),
                crate::rules::sha256_file(&kit.entry()).expect("hash")
            )]
        );
        kit.assert_all_writes_inside();
    }
}
