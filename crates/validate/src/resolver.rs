//! Documents the rules load with `doc()`/`document()` (value sets, terminologies): resolved
//! against the schematron's directory as the compiled stylesheet's base URI would be, parsed
//! once per process and shared by every thread. With a cache directory, the parsed form of a
//! large document is kept on disk as a binary image keyed by the SHA-256 of its bytes, so a
//! later process reads the image instead of parsing the file again.

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use segur_xml::hash::FxMap;
use segur_xml::{Document, Limits};

use crate::schematron::CacheOutcome;

/// A value set the ANS references but never committed, and how the official chain supplies it.
const VOC_471: &str = "voc-1.2.250.1.213.1.1.5.471-DYNAMIC.xml";

/// Documents smaller than this are parsed every time: parsing them takes well under a
/// millisecond, less than opening another cache file.
const DISK_CACHE_MIN_BYTES: usize = 256 * 1024;

/// Process-wide cache of documents loaded by the rules, keyed by path.
#[derive(Default)]
pub struct DocumentCache {
    docs: Mutex<FxMap<PathBuf, Option<Arc<Document>>>>,
    rules_dir: PathBuf,
    /// Where parsed images of large documents are kept between runs.
    disk: Option<PathBuf>,
    /// What the disk cache did, per document read through it.
    outcomes: Mutex<Vec<(PathBuf, CacheOutcome)>>,
}

impl std::fmt::Debug for DocumentCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentCache")
            .field("rules_dir", &self.rules_dir)
            .finish_non_exhaustive()
    }
}

/// Lexically normalise `a/b/../c` to `a/c` (no file system access).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                // Keep a leading `..` (relative paths above the start), pop anything else.
                let last_is_parent =
                    matches!(out.components().next_back(), Some(Component::ParentDir));
                if out.as_os_str().is_empty() || last_is_parent || !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Decode `%XX` escapes of a URI path.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl DocumentCache {
    /// A cache for the rules under `rules_dir`.
    pub fn new(rules_dir: &Path) -> Self {
        Self {
            rules_dir: rules_dir.to_path_buf(),
            ..Self::default()
        }
    }

    /// Keeps parsed images of large documents under `<cache_dir>/documents` (none: no disk
    /// cache).
    pub fn with_disk_cache(mut self, cache_dir: Option<PathBuf>) -> Self {
        self.disk = cache_dir;
        self
    }

    /// What the disk cache did for each document read through it so far.
    pub fn cache_outcomes(&self) -> Vec<(PathBuf, CacheOutcome)> {
        match self.outcomes.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Resolve `uri` against `base` (a directory) to a file path.
    pub fn resolve(base: &Path, uri: &str) -> PathBuf {
        let uri = uri
            .strip_prefix("file://")
            .or_else(|| uri.strip_prefix("file:"))
            .unwrap_or(uri);
        let decoded = percent_decode(uri);
        let p = Path::new(&decoded);
        normalize(&if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        })
    }

    /// The document at `path`, parsed once; `None` when it does not exist or is not XML.
    pub fn get(&self, path: &Path) -> Option<Arc<Document>> {
        let mut docs = match self.docs.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(d) = docs.get(path) {
            return d.clone();
        }
        let doc = self.read(path).map(Arc::new);
        docs.insert(path.to_path_buf(), doc.clone());
        doc
    }

    fn read(&self, path: &Path) -> Option<Document> {
        let limits = Limits::default();
        // RDF/XML terminologies (15 MB here, read for `//skos:notation[text() = …]` lookups):
        // whitespace between their elements is insignificant in RDF/XML, and dropping it
        // halves their nodes in memory.
        let rdf = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("rdf"));
        let parse = |bytes: &[u8]| {
            if rdf {
                Document::parse_stripping_space(bytes, &limits)
            } else {
                Document::parse(bytes, &limits)
            }
            .ok()
            // Rules read these documents but never report their nodes by position.
            .map(Document::without_source)
        };
        match std::fs::read(path) {
            Ok(bytes) => match &self.disk {
                Some(dir) if bytes.len() >= DISK_CACHE_MIN_BYTES => {
                    self.through_disk(dir, path, &bytes, rdf, parse)
                }
                _ => parse(&bytes),
            }
            .map(|d| d.with_uri(path.to_string_lossy())),
            Err(_) if path.file_name().is_some_and(|n| n == VOC_471) => {
                self.synthesize_voc_471(path)
            }
            Err(_) => None,
        }
    }

    /// The image of `bytes` from `<dir>/documents` if there is a usable one, else `parse` it
    /// and store its image there.
    fn through_disk(
        &self,
        dir: &Path,
        path: &Path,
        bytes: &[u8],
        rdf: bool,
        parse: impl Fn(&[u8]) -> Option<Document>,
    ) -> Option<Document> {
        // The key covers the content, how it is parsed, and the image format and parser build.
        use sha2::Digest;
        let header = format!(
            "{}\0{:016x}\0{}\0{}\0",
            segur_xml::SNAPSHOT_FORMAT,
            segur_xml::PARSER_FINGERPRINT,
            env!("CARGO_PKG_VERSION"),
            if rdf { "rdf" } else { "xml" }
        );
        let digest = sha2::Sha256::new()
            .chain_update(header.as_bytes())
            .chain_update(bytes)
            .finalize();
        let hash = crate::rules::hex(&digest);
        let file = dir.join("documents").join(format!("{}.bin", &hash[..32]));
        // Read as a stream: a 7 MB image never sits in memory beside the document it builds.
        if let Some(doc) = std::fs::File::open(&file).ok().and_then(|f| {
            let len = f.metadata().ok()?.len();
            Document::read_snapshot(std::io::BufReader::with_capacity(1 << 16, f), len).ok()
        }) {
            crate::schematron::touch_cache_file(&file);
            self.note(path, CacheOutcome::Hit);
            return Some(doc);
        }
        let doc = parse(bytes)?;
        let outcome = match crate::schematron::store_cache_file(&file, &doc.snapshot()) {
            Ok(()) => {
                crate::schematron::prune_cache_folder(
                    &file,
                    crate::schematron::MAX_CACHE_FOLDER_BYTES,
                );
                CacheOutcome::Stored
            }
            Err(e) => CacheOutcome::Unwritable(format!("{}: {e}", file.display())),
        };
        self.note(path, outcome);
        Some(doc)
    }

    fn note(&self, path: &Path, outcome: CacheOutcome) {
        let mut outcomes = match self.outcomes.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        outcomes.push((path.to_path_buf(), outcome));
    }

    /// The structuration minimale schematron reads `voc-1.2.250.1.213.1.1.5.471-DYNAMIC.xml`
    /// (JDV_J07_XdsTypeCode_CISIS in ART-DECOR form), which the ANS never committed. The official
    /// chain here generates it from the ANS's own `jeuxDeValeurs/JDV_J07_XdsTypeCode_CISIS.xml`
    /// (`../shared/ans/patches/make_voc471.py`, "Known degradations" 1); so do we, in memory.
    fn synthesize_voc_471(&self, path: &Path) -> Option<Document> {
        let source = std::fs::read(
            self.rules_dir
                .join("jeuxDeValeurs/JDV_J07_XdsTypeCode_CISIS.xml"),
        )
        .ok()?;
        let svs = Document::parse(&source, &Limits::default()).ok()?;
        let mut xml = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<valueSets xmlns=\"urn:hl7-org:v3\">\n  <valueSet xmlns=\"\" id=\"1.2.250.1.213.1.1.5.471\" name=\"JDV_J07_XdsTypeCode_CISIS\">\n    <conceptList>\n",
        );
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('"', "&quot;")
        };
        for n in svs.descendants(svs.root()) {
            if svs.local_name(n) == "Concept" && svs.namespace_uri(n) == "urn:ihe:iti:svs:2008" {
                let a = |k: &str| esc(svs.attribute_value(n, "", k).unwrap_or(""));
                xml.push_str(&format!(
                    "      <concept code=\"{}\" codeSystem=\"{}\" displayName=\"{}\"/>\n",
                    a("code"),
                    a("codeSystem"),
                    a("displayName")
                ));
            }
        }
        xml.push_str("    </conceptList>\n  </valueSet>\n</valueSets>\n");
        Document::parse(xml.as_bytes(), &Limits::default())
            .ok()
            .map(|d| d.with_uri(path.to_string_lossy()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_uris_lexically() {
        let base = Path::new("/r/schematrons/profils");
        assert_eq!(
            DocumentCache::resolve(base, "../jeuxDeValeurs/x.xml"),
            PathBuf::from("/r/schematrons/jeuxDeValeurs/x.xml")
        );
        assert_eq!(
            DocumentCache::resolve(base, "file:/a/b%20c.xml"),
            PathBuf::from("/a/b c.xml")
        );
    }

    /// A large document goes through the disk cache: stored by the first process, read back
    /// as the same tree by the next, and parsed again when its image is damaged or the
    /// document changes.
    #[test]
    fn large_documents_are_kept_as_images_on_disk() {
        let tmp = tempfile::tempdir().expect("tmp");
        let file = tmp.path().join("big.xml");
        let mut xml = String::from("<valueSet>");
        for i in 0..12_000 {
            xml.push_str(&format!(
                "<concept code=\"C{i}\" displayName=\"Concept n° {i}\"/>"
            ));
        }
        xml.push_str("</valueSet>");
        assert!(xml.len() >= DISK_CACHE_MIN_BYTES);
        std::fs::write(&file, &xml).expect("write");
        let cache_dir = tmp.path().join("cache");
        let open = || DocumentCache::new(tmp.path()).with_disk_cache(Some(cache_dir.clone()));
        let outcome = |c: &DocumentCache| c.cache_outcomes().last().map(|(_, o)| o.clone());

        let first = open();
        let parsed = first.get(&file).expect("parsed");
        assert_eq!(outcome(&first), Some(CacheOutcome::Stored));
        let second = open();
        let read = second.get(&file).expect("from the image");
        assert_eq!(outcome(&second), Some(CacheOutcome::Hit));
        assert_eq!(read.len(), parsed.len());
        assert_eq!(read.uri(), parsed.uri());
        let codes = |d: &Document| -> Vec<String> {
            d.descendants(d.root())
                .filter_map(|n| d.attribute_value(n, "", "code").map(str::to_owned))
                .collect()
        };
        assert_eq!(codes(&read), codes(&parsed));

        let images: Vec<_> = std::fs::read_dir(cache_dir.join("documents"))
            .expect("images")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(images.len(), 1);
        let mut damaged = std::fs::read(&images[0]).expect("image");
        let mid = damaged.len() / 2;
        damaged[mid] ^= 1;
        std::fs::write(&images[0], damaged).expect("damage");
        let third = open();
        assert_eq!(
            codes(&third.get(&file).expect("parsed again")),
            codes(&parsed)
        );
        assert_eq!(outcome(&third), Some(CacheOutcome::Stored));

        std::fs::write(&file, xml.replace("C11999", "CHANGED")).expect("edit");
        let fourth = open();
        let edited = fourth.get(&file).expect("parsed");
        assert_eq!(outcome(&fourth), Some(CacheOutcome::Stored));
        assert!(codes(&edited).contains(&"CHANGED".to_string()));
    }

    #[test]
    fn voc_471_is_synthesized_from_jdv_j07() {
        let rules =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans/testcontenucda");
        let cache = DocumentCache::new(&rules);
        let path = rules
            .join("schematrons/profils/structurationMinimale/include")
            .join(VOC_471);
        let doc = cache.get(&path).expect("synthesized");
        let concepts = doc
            .descendants(doc.root())
            .filter(|&n| doc.local_name(n) == "concept")
            .count();
        assert_eq!(
            concepts, 114,
            "the 114 concepts of JDV_J07 (revision 2024-09-27)"
        );
        assert!(cache.get(&rules.join("no/such/file.xml")).is_none());
    }
}
