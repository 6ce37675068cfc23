//! Documents the rules load with `doc()`/`document()` (value sets, terminologies): resolved
//! against the schematron's directory as the compiled stylesheet's base URI would be, parsed
//! once per process and shared by every thread. With a cache directory, the parsed form of a
//! large document is kept on disk as a binary image, keyed by the document's path, with the
//! SHA-256 of the bytes it was parsed from and their file's metadata then (a [`Stamp`], as the
//! schematron cache keeps them): a later process whose document has the same metadata reads
//! the image without reading the document; one whose metadata differ reads and hashes the
//! document and uses the image only if the hash matches.

use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use segur_xml::hash::FxMap;
use segur_xml::{Document, Limits};

use crate::schematron::{CacheOutcome, Stamp};

/// A value set the ANS references but never committed, and how the official chain supplies it.
const VOC_471: &str = "voc-1.2.250.1.213.1.1.5.471-DYNAMIC.xml";

/// Documents smaller than this are parsed every time: parsing takes about 60 instructions a
/// byte (2 M for 32 KiB, well under a millisecond), reading an image a fraction of that but
/// a cache file to open and check. The first ANS example reads three value sets of 61 to 250
/// KB: parsing them was 23 M instructions of its start-up.
const DISK_CACHE_MIN_BYTES: usize = 32 * 1024;

/// Bump when the layout of a document's cache file (not of the image) changes. Format 1 was
/// the bare image, keyed by the document's content.
const DISK_CACHE_FORMAT: u32 = 2;

const DISK_CACHE_MAGIC: &[u8; 8] = b"SEGURDOC";

/// A document cache file's header: magic, format, the SHA-256 of the document, its
/// [`Stamp`], and a checksum of all these; the image follows.
const HEADER_BYTES: usize = 8 + 4 + 32 + Stamp::BYTES + 8;

/// A document cache file's header, read.
struct Header {
    sha256: [u8; 32],
    stamp: Option<Stamp>,
}

impl Header {
    fn to_bytes(&self) -> [u8; HEADER_BYTES] {
        let mut out = [0; HEADER_BYTES];
        out[..8].copy_from_slice(DISK_CACHE_MAGIC);
        out[8..12].copy_from_slice(&DISK_CACHE_FORMAT.to_le_bytes());
        out[12..44].copy_from_slice(&self.sha256);
        out[44..44 + Stamp::BYTES].copy_from_slice(&Stamp::to_bytes(self.stamp.as_ref()));
        let mut sum = segur_xml::hash::Checksum::new();
        sum.update(&out[..HEADER_BYTES - 8]);
        out[HEADER_BYTES - 8..].copy_from_slice(&sum.finish().to_le_bytes());
        out
    }

    /// `None` unless `b` is a whole header of this format with a matching checksum.
    fn from_bytes(b: &[u8; HEADER_BYTES]) -> Option<Header> {
        let mut sum = segur_xml::hash::Checksum::new();
        sum.update(&b[..HEADER_BYTES - 8]);
        let stored = u64::from_le_bytes(b[HEADER_BYTES - 8..].try_into().ok()?);
        if &b[..8] != DISK_CACHE_MAGIC
            || b[8..12] != DISK_CACHE_FORMAT.to_le_bytes()
            || stored != sum.finish()
        {
            return None;
        }
        Some(Header {
            sha256: b[12..44].try_into().ok()?,
            stamp: Stamp::from_bytes(b[44..44 + Stamp::BYTES].try_into().ok()?)?,
        })
    }
}

/// Process-wide cache of documents loaded by the rules, keyed by path.
pub struct DocumentCache {
    docs: Mutex<FxMap<PathBuf, Option<Arc<Document>>>>,
    rules_dir: PathBuf,
    /// Where parsed images of large documents are kept between runs.
    disk: Option<PathBuf>,
    /// What the disk cache did, per document read through it.
    outcomes: Mutex<Vec<(PathBuf, CacheOutcome)>>,
    /// How long a document must have been left alone before it was hashed for its metadata
    /// to stand for its content (see [`crate::schematron::SETTLE`]).
    settle: Duration,
    /// Documents read and hashed through the disk cache (tests check that a hit reads none).
    #[cfg(test)]
    hashed: std::sync::atomic::AtomicUsize,
}

impl Default for DocumentCache {
    /// A cache for rules in the current directory.
    fn default() -> Self {
        DocumentCache::new(Path::new(""))
    }
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
            docs: Mutex::default(),
            rules_dir: rules_dir.to_path_buf(),
            disk: None,
            outcomes: Mutex::default(),
            settle: crate::schematron::SETTLE,
            #[cfg(test)]
            hashed: std::sync::atomic::AtomicUsize::new(0),
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
        if let Some(dir) = &self.disk
            && let Ok(meta) = std::fs::metadata(path)
            && meta.is_file()
            && meta.len() >= DISK_CACHE_MIN_BYTES as u64
        {
            return self
                .through_disk(dir, path, &meta, rdf, parse)
                .map(|d| d.with_uri(path.to_string_lossy()));
        }
        match crate::schematron::read_regular(path) {
            Some(bytes) => parse(&bytes).map(|d| d.with_uri(path.to_string_lossy())),
            None if path.file_name().is_some_and(|n| n == VOC_471) => self.synthesize_voc_471(path),
            None => None,
        }
    }

    /// The image of the document at `path` (whose metadata are `meta`) from `<dir>/documents`
    /// if there is a usable one, else `parse` the document and store its image there.
    fn through_disk(
        &self,
        dir: &Path,
        path: &Path,
        meta: &std::fs::Metadata,
        rdf: bool,
        parse: impl Fn(&[u8]) -> Option<Document>,
    ) -> Option<Document> {
        // The key covers the path, how it is parsed, and the image format and parser build.
        let build = format!(
            "documents\0{DISK_CACHE_FORMAT}\0{}\0{:016x}\0{}",
            segur_xml::SNAPSHOT_FORMAT,
            segur_xml::PARSER_FINGERPRINT,
            if rdf { "rdf" } else { "xml" }
        );
        let file =
            crate::schematron::keyed_cache_file(dir, "documents", &build, &self.rules_dir, path);
        let started = SystemTime::now();
        let now = Stamp::of(meta);
        let mut cached = cached_image(&file);
        if let Some((header, _)) = &cached
            && header.stamp.is_some()
            && header.stamp == now
        {
            // Same metadata as when the document was hashed: its content is the one imaged.
            if let Some(doc) = cached.take().and_then(|(_, image)| image.read()) {
                crate::schematron::touch_cache_file(&file);
                self.note(path, CacheOutcome::Hit);
                return Some(doc);
            }
        }
        let bytes = crate::schematron::read_regular(path)?;
        #[cfg(test)]
        self.hashed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let sha256: [u8; 32] = {
            use sha2::Digest;
            sha2::Sha256::digest(&bytes).into()
        };
        // Stat again after reading: only metadata that had settled before `started` describe
        // the content just read.
        let stamp = std::fs::metadata(path)
            .ok()
            .and_then(|m| Stamp::of(&m))
            .filter(|s| s.settled(started, self.settle));
        if let Some((header, image)) = cached
            && header.sha256 == sha256
            && let Some(doc) = image.read()
        {
            if stamp.is_some() {
                // The document has settled since its image was stored: keep its metadata, so
                // the next process need not read it (a failure only means it is read again).
                let _ = store_image(&file, &Header { sha256, stamp }, &doc);
            } else {
                crate::schematron::touch_cache_file(&file);
            }
            self.note(path, CacheOutcome::Hit);
            return Some(doc);
        }
        let doc = parse(&bytes)?;
        let outcome = match store_image(&file, &Header { sha256, stamp }, &doc) {
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
        let source = crate::schematron::read_regular(
            &self
                .rules_dir
                .join("jeuxDeValeurs/JDV_J07_XdsTypeCode_CISIS.xml"),
        )?;
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

/// A document cache file opened past its header: the image, read on demand.
struct Image {
    reader: std::io::BufReader<std::fs::File>,
    len: u64,
}

impl Image {
    /// The document, if the image is whole (its checksum is checked).
    fn read(self) -> Option<Document> {
        Document::read_snapshot(self.reader, self.len).ok()
    }
}

/// The header of the cache file `file` and its image, if the file exists and its header is
/// whole.
fn cached_image(file: &Path) -> Option<(Header, Image)> {
    // Checked before opening: opening a FIFO waits for a writer.
    if !std::fs::metadata(file).ok()?.is_file() {
        return None;
    }
    let f = std::fs::File::open(file).ok()?;
    let len = f.metadata().ok()?.len().checked_sub(HEADER_BYTES as u64)?;
    // Read as a stream: a 7 MB image never sits in memory beside the document it builds.
    let mut reader = std::io::BufReader::with_capacity(1 << 16, f);
    let mut header = [0; HEADER_BYTES];
    reader.read_exact(&mut header).ok()?;
    Some((Header::from_bytes(&header)?, Image { reader, len }))
}

/// Writes `doc`'s image with `header` to `file` (atomically, as every cache file).
fn store_image(file: &Path, header: &Header, doc: &Document) -> std::io::Result<()> {
    let image = doc.snapshot();
    let mut bytes = Vec::with_capacity(HEADER_BYTES + image.len());
    bytes.extend_from_slice(&header.to_bytes());
    bytes.extend_from_slice(&image);
    crate::schematron::store_cache_file(file, &bytes)
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

    /// A large document whose metadata are those stored with its image is not read again;
    /// any change of them (a same-size edit with its modification time put back, a copy put in
    /// its place) has it read and hashed, and a damaged or truncated header is a miss.
    #[test]
    fn a_settled_document_is_trusted_by_its_metadata() {
        use std::sync::atomic::Ordering;
        let tmp = tempfile::tempdir().expect("tmp");
        let file = tmp.path().join("big.xml");
        let mut xml = String::from("<valueSet>");
        for i in 0..12_000 {
            xml.push_str(&format!("<concept code=\"C{i:05}\"/>"));
        }
        xml.push_str("</valueSet>");
        assert!(xml.len() >= DISK_CACHE_MIN_BYTES);
        std::fs::write(&file, &xml).expect("write");
        let cache_dir = tmp.path().join("cache");
        // No settling time: a file is trusted by metadata taken after it was written.
        let open = || {
            let mut c = DocumentCache::new(tmp.path()).with_disk_cache(Some(cache_dir.clone()));
            c.settle = Duration::ZERO;
            c
        };
        let load = || {
            let c = open();
            let doc = c.get(&file).expect("document");
            let codes: Vec<String> = doc
                .descendants(doc.root())
                .filter_map(|n| doc.attribute_value(n, "", "code").map(str::to_owned))
                .collect();
            let outcome = c.cache_outcomes().last().map(|(_, o)| o.clone());
            (codes, outcome, c.hashed.load(Ordering::Relaxed))
        };
        let (codes, outcome, hashed) = load();
        assert_eq!((outcome, hashed), (Some(CacheOutcome::Stored), 1));
        assert_eq!(codes.len(), 12_000);
        let (again, outcome, hashed) = load();
        assert_eq!((outcome, hashed), (Some(CacheOutcome::Hit), 0));
        assert_eq!(again, codes);

        // A same-size edit, its modification time put back: the change time differs.
        let mtime = std::fs::metadata(&file)
            .expect("meta")
            .modified()
            .expect("mtime");
        std::fs::write(&file, xml.replace("C11999", "CHANGE")).expect("edit");
        std::fs::File::options()
            .write(true)
            .open(&file)
            .expect("open")
            .set_modified(mtime)
            .expect("set mtime");
        let (edited, outcome, hashed) = load();
        assert_eq!((outcome, hashed), (Some(CacheOutcome::Stored), 1));
        assert!(edited.contains(&"CHANGE".to_string()));
        assert!(!edited.contains(&"C11999".to_string()));

        // An identical copy put in its place: read and hashed once, then trusted again.
        let copy = tmp.path().join("copy.xml");
        std::fs::copy(&file, &copy).expect("copy");
        std::fs::rename(&copy, &file).expect("rename");
        let (same, outcome, hashed) = load();
        assert_eq!((outcome, hashed), (Some(CacheOutcome::Hit), 1));
        assert_eq!(same, edited);
        let (same, outcome, hashed) = load();
        assert_eq!((outcome, hashed), (Some(CacheOutcome::Hit), 0));
        assert_eq!(same, edited);

        // A damaged header, then a truncated file, then garbage: misses, rebuilt.
        let images: Vec<_> = std::fs::read_dir(cache_dir.join("documents"))
            .expect("images")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(images.len(), 1);
        let image = std::fs::read(&images[0]).expect("image");
        let mut damaged = image.clone();
        damaged[20] ^= 1;
        for bytes in [
            damaged,
            image[..HEADER_BYTES - 1].to_vec(),
            b"garbage".to_vec(),
        ] {
            std::fs::write(&images[0], bytes).expect("damage");
            let (read, outcome, hashed) = load();
            assert_eq!((outcome, hashed), (Some(CacheOutcome::Stored), 1));
            assert_eq!(read, edited);
        }
    }

    /// A stamp's fixed-size form reads back as the same stamp, or no stamp; anything else is
    /// refused.
    #[test]
    fn stamps_round_trip_in_their_fixed_form() {
        let meta = std::fs::metadata(file!()).or_else(|_| std::fs::metadata("Cargo.toml"));
        let stamp = meta.ok().and_then(|m| Stamp::of(&m));
        for s in [stamp, None] {
            assert_eq!(Stamp::from_bytes(&Stamp::to_bytes(s.as_ref())), Some(s));
        }
        let mut bad = Stamp::to_bytes(None);
        bad[0] = 2;
        assert_eq!(Stamp::from_bytes(&bad), None);
        bad[0] = 0;
        bad[30] = 1;
        assert_eq!(Stamp::from_bytes(&bad), None);
    }

    /// Metadata taken while a document may still change (within the settling time) are not
    /// stored: the document is read and hashed on every load until it has settled.
    #[test]
    fn a_document_just_written_is_hashed_until_it_settles() {
        use std::sync::atomic::Ordering;
        let tmp = tempfile::tempdir().expect("tmp");
        let file = tmp.path().join("big.xml");
        let xml = format!("<r>{}</r>", "<a b=\"c\"/>".repeat(30_000));
        std::fs::write(&file, &xml).expect("write");
        let cache_dir = tmp.path().join("cache");
        let mut outcomes = Vec::new();
        for _ in 0..3 {
            let c = DocumentCache::new(tmp.path()).with_disk_cache(Some(cache_dir.clone()));
            assert_eq!(c.get(&file).expect("document").len(), 60_002);
            outcomes.push((
                c.cache_outcomes().last().map(|(_, o)| o.clone()),
                c.hashed.load(Ordering::Relaxed),
            ));
        }
        assert_eq!(
            outcomes,
            [
                (Some(CacheOutcome::Stored), 1),
                (Some(CacheOutcome::Hit), 1),
                (Some(CacheOutcome::Hit), 1)
            ]
        );
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
