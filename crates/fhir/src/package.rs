//! FHIR packages in the package-cache layout (`<name>#<version>/package/*.json`): an index of
//! the StructureDefinitions, ValueSets and CodeSystems by canonical URL (and `url|version`),
//! built by reading only the top-level `resourceType`, `url` and `version` of each file; a
//! resource is parsed when first asked for, then kept.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_json::Value;

use crate::profile::StructureDefinition;

/// The kinds of conformance resources the index keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A StructureDefinition (profile, extension, datatype, resource).
    StructureDefinition,
    /// A ValueSet.
    ValueSet,
    /// A CodeSystem.
    CodeSystem,
}

impl Kind {
    fn from_name(name: &[u8]) -> Option<Kind> {
        match name {
            b"StructureDefinition" => Some(Kind::StructureDefinition),
            b"ValueSet" => Some(Kind::ValueSet),
            b"CodeSystem" => Some(Kind::CodeSystem),
            _ => None,
        }
    }
}

/// Why a package folder could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// A folder or file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The folder holds no package (`*/package/*.json` nor `package/*.json`).
    #[error("{path}: no FHIR package found (expected <name>#<version>/package/*.json)")]
    NoPackage {
        /// The folder.
        path: PathBuf,
    },
}

/// Why the StructureDefinition of a canonical URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StructureError {
    /// No StructureDefinition of the packages has this URL.
    #[error("{url} is not in the FHIR packages")]
    NotFound {
        /// The canonical URL.
        url: String,
    },
    /// The file indexed under this URL does not read as JSON (any more), or has no usable
    /// snapshot.
    #[error(
        "{url}: {} is not a usable StructureDefinition (not JSON, or no usable snapshot)",
        path.display()
    )]
    Broken {
        /// The canonical URL.
        url: String,
        /// The file.
        path: PathBuf,
    },
}

/// One indexed conformance resource.
#[derive(Debug)]
pub struct Entry {
    /// The file.
    pub path: PathBuf,
    /// Its kind.
    pub kind: Kind,
    /// Its canonical URL.
    pub url: String,
    /// Its business version, when it has one.
    pub version: Option<String>,
    /// The package (`name#version`) it comes from.
    pub package: String,
    home: bool,
    parsed: OnceLock<Option<Arc<Value>>>,
    compiled: OnceLock<Option<Arc<StructureDefinition>>>,
}

/// The conformance resources of one or more packages.
#[derive(Debug, Default)]
pub struct Packages {
    entries: Vec<Entry>,
    by_url: HashMap<(Kind, String), usize>,
    packages: Vec<String>,
    canonicals: Vec<String>,
}

/// Files larger than this are not indexed (the largest R4 core definition is ~3 MB).
const MAX_FILE: u64 = 64 * 1024 * 1024;
/// The first read of a file; most carry their `url` well before this.
const HEAD: usize = 4 * 1024;

/// The first line of an index cache file (2: it ends with a checksum line).
const INDEX_HEADER: &str = "segur-fhir-index 2\n";

/// FNV-1a, 64 bits: the index cache file's checksum (damage, not tampering, is what it finds).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Packages {
    /// Index every package under `dir`: either a package-cache folder
    /// (`<name>#<version>/package/*.json`) or one package (`package/*.json`, or the
    /// `package` folder itself).
    pub fn open(dir: &Path) -> Result<Packages, PackageError> {
        let mut p = Packages::default();
        for folder in package_folders(dir)? {
            p.add_folder(&folder)?;
        }
        Ok(p)
    }

    /// Like [`Packages::open`], keeping the index in `cache_dir` between runs: the index is
    /// read back when the package folders are the same (their paths, and the name, size and
    /// modification time, to the nanosecond, of every file in them), and rebuilt otherwise,
    /// so that a file edited in place is noticed. A cache that cannot be read or written is
    /// ignored.
    pub fn open_cached(dir: &Path, cache_dir: &Path) -> Result<Packages, PackageError> {
        let folders = package_folders(dir)?;
        let key = cache_key(&folders);
        let cache = cache_dir.join(format!("fhir-index-{key:016x}.tsv"));
        if let Some(p) = std::fs::read_to_string(&cache)
            .ok()
            .and_then(|text| Packages::from_cache(&text, &folders))
        {
            return Ok(p);
        }
        let mut p = Packages::default();
        for folder in &folders {
            p.add_folder(folder)?;
        }
        let tmp = cache.with_extension(format!("tmp{}", std::process::id()));
        let written = std::fs::create_dir_all(cache_dir)
            .and_then(|()| std::fs::write(&tmp, p.to_cache(&folders)))
            .and_then(|()| std::fs::rename(&tmp, &cache));
        if written.is_err() {
            // Not left behind when the rename fails (a folder in the way).
            let _ = std::fs::remove_file(&tmp);
        }
        Ok(p)
    }

    /// The index as the text of its cache file: a header, the packages, the entries, and a
    /// last line holding a checksum of the rest.
    fn to_cache(&self, folders: &[PathBuf]) -> String {
        let mut out = String::from(INDEX_HEADER);
        for (i, pkg) in self.packages.iter().enumerate() {
            out.push_str(&format!("P\t{pkg}\t{}\n", self.canonicals[i]));
        }
        for e in &self.entries {
            let folder = folders
                .iter()
                .position(|f| e.path.parent() == Some(f.as_path()));
            let (Some(folder), Some(name)) = (folder, e.path.file_name().and_then(|n| n.to_str()))
            else {
                continue;
            };
            let kind = match e.kind {
                Kind::StructureDefinition => "S",
                Kind::ValueSet => "V",
                Kind::CodeSystem => "C",
            };
            let version = e.version.as_deref().unwrap_or("\u{0}");
            out.push_str(&format!(
                "E\t{folder}\t{kind}\t{}\t{version}\t{name}\n",
                e.url
            ));
        }
        out.push_str(&format!("end\t{:016x}\n", fnv1a(out.as_bytes())));
        out
    }

    fn from_cache(text: &str, folders: &[PathBuf]) -> Option<Packages> {
        // Whole and undamaged: a file cut at a line end, or with a changed byte, is rebuilt.
        let body_end = text.strip_suffix('\n')?.rfind('\n')? + 1;
        let (body, end) = text.split_at(body_end);
        if end != format!("end\t{:016x}\n", fnv1a(body.as_bytes())) {
            return None;
        }
        let body = body.strip_prefix(INDEX_HEADER)?;
        let lines = body.lines();
        let mut p = Packages::default();
        for line in lines {
            let f: Vec<&str> = line.split('\t').collect();
            match f.as_slice() {
                ["P", pkg, canonical] => {
                    p.packages.push(pkg.to_string());
                    p.canonicals.push(canonical.to_string());
                }
                ["E", folder, kind, url, version, name] => {
                    let i: usize = folder.parse().ok()?;
                    let kind = match *kind {
                        "S" => Kind::StructureDefinition,
                        "V" => Kind::ValueSet,
                        "C" => Kind::CodeSystem,
                        _ => return None,
                    };
                    let version = (*version != "\u{0}").then(|| version.to_string());
                    p.insert(
                        i,
                        folders.get(i)?.join(name),
                        kind,
                        url.to_string(),
                        version,
                    );
                }
                _ => return None,
            }
        }
        (p.packages.len() == folders.len()).then_some(p)
    }

    fn add_folder(&mut self, folder: &Path) -> Result<(), PackageError> {
        let manifest = std::fs::read(folder.join("package.json")).unwrap_or_default();
        let manifest: Value = serde_json::from_slice(&manifest).unwrap_or(Value::Null);
        let name = manifest["name"].as_str().unwrap_or("?");
        self.packages.push(format!(
            "{name}#{}",
            manifest["version"].as_str().unwrap_or("?")
        ));
        self.canonicals
            .push(manifest["canonical"].as_str().unwrap_or("").to_string());
        let package = self.packages.len() - 1;
        let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
            .map_err(|source| PackageError::Io {
                path: folder.to_path_buf(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|e| e == "json")
                    && p.file_name()
                        .is_some_and(|n| n != "package.json" && n != ".index.json")
            })
            .collect();
        files.sort();
        for (path, head) in files.iter().zip(heads_of(&files)) {
            // A file that cannot be read or is not a conformance resource is skipped: one
            // broken file must not make the whole package unusable.
            if let Some((kind, url, version)) = head {
                self.insert(package, path.clone(), kind, url, version);
            }
        }
        Ok(())
    }

    fn insert(
        &mut self,
        package: usize,
        path: PathBuf,
        kind: Kind,
        url: String,
        version: Option<String>,
    ) {
        let canonical = &self.canonicals[package];
        let idx = self.entries.len();
        let home = !canonical.is_empty() && url.starts_with(canonical.as_str());
        for key in [
            url.clone(),
            format!("{url}|{}", version.as_deref().unwrap_or("")),
        ] {
            match self.by_url.get(&(kind, key.clone())) {
                // The package that publishes a resource under its own canonical wins over a
                // copy carried by another (a deps-combined package).
                Some(&old) if !home || self.entries[old].home => {}
                _ => {
                    self.by_url.insert((kind, key), idx);
                }
            }
        }
        self.entries.push(Entry {
            path,
            kind,
            url,
            version,
            package: self.packages[package].clone(),
            home,
            parsed: OnceLock::new(),
            compiled: OnceLock::new(),
        });
    }

    /// The packages read (`name#version`), in load order.
    pub fn packages(&self) -> &[String] {
        &self.packages
    }

    /// How many conformance resources are indexed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry for a canonical URL (`url` or `url|version`).
    pub fn entry(&self, kind: Kind, canonical: &str) -> Option<&Entry> {
        let i = self
            .by_url
            .get(&(kind, canonical.to_string()))
            .or_else(|| {
                let (url, _) = canonical.split_once('|')?;
                self.by_url.get(&(kind, url.to_string()))
            })?;
        self.entries.get(*i)
    }

    /// The entries of one kind that canonical URLs resolve to (one per URL, in no particular
    /// order).
    pub fn entries(&self, kind: Kind) -> impl Iterator<Item = &Entry> {
        self.by_url
            .iter()
            .filter(move |((k, url), _)| *k == kind && !url.contains('|'))
            .filter_map(|(_, &i)| self.entries.get(i))
    }

    /// The parsed resource for a canonical URL (parsed on first use, then cached).
    pub fn resource(&self, kind: Kind, canonical: &str) -> Option<Arc<Value>> {
        self.entry(kind, canonical)?.value()
    }

    /// The compiled StructureDefinition for a canonical URL (compiled on first use).
    pub fn structure(&self, canonical: &str) -> Option<Arc<StructureDefinition>> {
        let e = self.entry(Kind::StructureDefinition, canonical)?;
        e.compiled
            .get_or_init(|| {
                let v = e.value()?;
                StructureDefinition::compile(&v).map(Arc::new)
            })
            .clone()
    }

    /// [`Packages::structure`], or why there is none: not in the packages, or broken.
    pub fn structure_checked(
        &self,
        canonical: &str,
    ) -> Result<Arc<StructureDefinition>, StructureError> {
        match self.entry(Kind::StructureDefinition, canonical) {
            None => Err(StructureError::NotFound {
                url: canonical.to_string(),
            }),
            Some(e) => self
                .structure(canonical)
                .ok_or_else(|| StructureError::Broken {
                    url: canonical.to_string(),
                    path: e.path.clone(),
                }),
        }
    }

    /// The StructureDefinition of a base type or resource (`Patient`, `Coding`).
    pub fn base(&self, type_name: &str) -> Option<Arc<StructureDefinition>> {
        if type_name.contains(':') {
            return self.structure(type_name);
        }
        self.structure(&format!(
            "http://hl7.org/fhir/StructureDefinition/{type_name}"
        ))
    }
}

impl Entry {
    /// The parsed resource (parsed on first use; `None` when the file no longer parses).
    pub fn value(&self) -> Option<Arc<Value>> {
        self.parsed
            .get_or_init(|| {
                let bytes = std::fs::read(&self.path).ok()?;
                serde_json::from_slice(&bytes).ok().map(Arc::new)
            })
            .clone()
    }
}

/// The package folders under `dir` (see [`Packages::open`]).
fn package_folders(dir: &Path) -> Result<Vec<PathBuf>, PackageError> {
    let folders = if dir.join("package.json").is_file() {
        vec![dir.to_path_buf()]
    } else if dir.join("package").join("package.json").is_file() {
        vec![dir.join("package")]
    } else {
        let mut subs: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|source| PackageError::Io {
                path: dir.to_path_buf(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path().join("package")))
            .filter(|p| p.is_dir())
            .collect();
        subs.sort();
        subs
    };
    if folders.is_empty() {
        return Err(PackageError::NoPackage {
            path: dir.to_path_buf(),
        });
    }
    Ok(folders)
}

/// What the cached index depends on: the folders' paths, and the name, size and modification
/// time (nanoseconds) of every file in them (a file edited in place changes its mtime, not
/// its folder's).
fn cache_key(folders: &[PathBuf]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    for f in folders {
        std::fs::canonicalize(f)
            .unwrap_or_else(|_| f.clone())
            .hash(&mut h);
        let mut files: Vec<(std::ffi::OsString, u64, Option<u128>)> = std::fs::read_dir(f)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| {
                // Followed: a package file may be a symbolic link to the real one.
                let meta = std::fs::metadata(e.path()).ok();
                let modified = meta
                    .as_ref()
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_nanos());
                (e.file_name(), meta.map_or(0, |m| m.len()), modified)
            })
            .collect();
        files.sort_unstable();
        files.hash(&mut h);
    }
    h.finish()
}

/// [`head_of`] of every file, on a few threads (the index is I/O- and syscall-bound).
fn heads_of(files: &[PathBuf]) -> Vec<Option<(Kind, String, Option<String>)>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    let chunk = files.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|c| s.spawn(move || c.iter().map(|p| head_of(p)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// `resourceType`, `url` and `version` of a conformance resource file, reading the least of
/// it that gives them.
fn head_of(path: &Path) -> Option<(Kind, String, Option<String>)> {
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    if len > MAX_FILE {
        return None;
    }
    let mut buf = Vec::with_capacity(HEAD.min(len as usize));
    let mut want = HEAD as u64;
    loop {
        let have = buf.len() as u64;
        (&mut f).take(want - have).read_to_end(&mut buf).ok()?;
        match scan_top(&buf) {
            Scan::Done(h) => return h,
            // A large narrative comes before the url: read on, doubling.
            Scan::NeedMore if (buf.len() as u64) < len => want *= 2,
            Scan::NeedMore => return None,
        }
    }
}

enum Scan {
    Done(Option<(Kind, String, Option<String>)>),
    NeedMore,
}

/// Read the top-level keys of a JSON object, skipping the values that are not wanted.
fn scan_top(b: &[u8]) -> Scan {
    let mut s = Scanner { b, i: 0 };
    let mut kind = None;
    let mut url = None;
    let mut version = None;
    macro_rules! need {
        ($e:expr) => {
            match $e {
                Some(v) => v,
                None => return Scan::NeedMore,
            }
        };
    }
    s.ws();
    if need!(s.peek()) != b'{' {
        return Scan::Done(None);
    }
    s.i += 1;
    loop {
        s.ws();
        match need!(s.peek()) {
            b'}' => break,
            b',' => {
                s.i += 1;
                continue;
            }
            b'"' => {}
            _ => return Scan::Done(None),
        }
        let key = need!(s.string());
        s.ws();
        if need!(s.peek()) != b':' {
            return Scan::Done(None);
        }
        s.i += 1;
        s.ws();
        match key {
            b"resourceType" | b"url" | b"version" => {
                if need!(s.peek()) != b'"' {
                    need!(s.skip_value());
                    continue;
                }
                let v = need!(s.string());
                let text = String::from_utf8_lossy(v).into_owned();
                match key {
                    b"resourceType" => match Kind::from_name(v) {
                        Some(k) => kind = Some(k),
                        None => return Scan::Done(None),
                    },
                    b"url" => url = Some(text),
                    _ => version = Some(text),
                }
            }
            // After `url` come `identifier` then `version` in FHIR's element order; any other
            // key after the url means the version is absent.
            b"identifier" => need!(s.skip_value()),
            _ if url.is_some() && kind.is_some() => break,
            _ => need!(s.skip_value()),
        }
        if kind.is_some() && url.is_some() && version.is_some() {
            break;
        }
    }
    Scan::Done(kind.zip(url).map(|(k, u)| (k, u, version)))
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    /// The raw bytes of a string (escapes kept), the cursor after its closing quote.
    fn string(&mut self) -> Option<&'a [u8]> {
        let start = self.i + 1;
        let mut j = start;
        loop {
            j += memchr::memchr2(b'"', b'\\', self.b.get(j..)?)?;
            if self.b[j] == b'\\' {
                j += 2;
            } else {
                self.i = j + 1;
                return self.b.get(start..j);
            }
        }
    }

    fn skip_value(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match self.peek()? {
                b'"' => {
                    self.string()?;
                }
                b'{' | b'[' => {
                    depth += 1;
                    self.i += 1;
                }
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    self.i += 1;
                }
                b',' if depth == 0 => return Some(()),
                _ => self.i += 1,
            }
            if depth == 0 && matches!(self.peek(), Some(b',' | b'}')) {
                return Some(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cached_index_is_the_same_index() {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let cache =
            std::env::temp_dir().join(format!("segur-fhir-cache-test-{}", std::process::id()));
        let fresh = Packages::open(&fixture).unwrap();
        let first = Packages::open_cached(&fixture, &cache).unwrap();
        let files: Vec<_> = std::fs::read_dir(&cache).unwrap().collect();
        assert_eq!(files.len(), 1, "one cache file written");
        let second = Packages::open_cached(&fixture, &cache).unwrap();
        for p in [&first, &second] {
            assert_eq!(p.len(), fresh.len());
            assert_eq!(p.packages(), fresh.packages());
            for e in &fresh.entries {
                let got = p.entry(e.kind, &e.url).expect("indexed");
                assert_eq!((&got.path, &got.version), (&e.path, &e.version));
            }
        }
        assert!(
            second
                .structure("http://segur.test/StructureDefinition/test-patient")
                .is_some()
        );
        let text = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
        let folders = package_folders(&fixture).unwrap();
        assert!(Packages::from_cache(&text, &folders).is_some());
        // A cache from other folders is not used.
        assert!(Packages::from_cache(&text, &[]).is_none());
        // Nor one cut at any line end (a truncated write), or with a byte changed.
        for (at, _) in text.match_indices('\n') {
            if at + 1 < text.len() {
                assert!(
                    Packages::from_cache(&text[..at + 1], &folders).is_none(),
                    "cut at {at}"
                );
            }
        }
        let flipped = text.replacen("\tV\t", "\tS\t", 1);
        assert_ne!(flipped, text);
        assert!(Packages::from_cache(&flipped, &folders).is_none());
        let _ = std::fs::remove_dir_all(&cache);
    }

    #[test]
    fn a_file_edited_in_place_invalidates_the_cached_index() {
        let tmp = std::env::temp_dir().join(format!("segur-fhir-edit-test-{}", std::process::id()));
        let pkg = tmp.join("packages/segur.test#0.1.0/package");
        std::fs::create_dir_all(&pkg).unwrap();
        let src =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/segur.test#0.1.0/package");
        for f in std::fs::read_dir(&src).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, pkg.join(f.file_name().unwrap())).unwrap();
        }
        let cache = tmp.join("cache");
        let packages = tmp.join("packages");
        let vs = pkg.join("ValueSet-tree-root.json");
        let old_url = "http://segur.test/ValueSet/tree-root";
        let before = Packages::open_cached(&packages, &cache).unwrap();
        assert!(before.entry(Kind::ValueSet, old_url).is_some());
        let folder_mtime = std::fs::metadata(&pkg).unwrap().modified().unwrap();
        // Same size, other url: only the file's mtime tells.
        let text = std::fs::read_to_string(&vs).unwrap();
        let edited = text.replace(old_url, "http://segur.test/ValueSet/tree-r00t");
        assert_eq!(edited.len(), text.len());
        std::fs::write(&vs, edited).unwrap();
        assert_eq!(
            std::fs::metadata(&pkg).unwrap().modified().unwrap(),
            folder_mtime,
            "an edit in place leaves the folder's mtime"
        );
        let after = Packages::open_cached(&packages, &cache).unwrap();
        assert!(after.entry(Kind::ValueSet, old_url).is_none());
        assert!(
            after
                .entry(Kind::ValueSet, "http://segur.test/ValueSet/tree-r00t")
                .is_some()
        );
        let _ = std::fs::remove_dir_all(&tmp);
    }

    #[test]
    fn scan_reads_the_head_only() {
        let b = br#"{"resourceType":"ValueSet","text":{"div":"<a \"x\">[{"},"url":"http://x/vs","version":"1.0","compose":{"#;
        match scan_top(b) {
            Scan::Done(Some((Kind::ValueSet, u, Some(v)))) => {
                assert_eq!((u.as_str(), v.as_str()), ("http://x/vs", "1.0"))
            }
            _ => panic!("not scanned"),
        }
        assert!(matches!(
            scan_top(br#"{"resourceType":"Patient","id":"x"}"#),
            Scan::Done(None)
        ));
        assert!(matches!(
            scan_top(br#"{"resourceType":"CodeSystem","te"#),
            Scan::NeedMore
        ));
        match scan_top(br#"{"resourceType":"CodeSystem","url":"u","name":"n"}"#) {
            Scan::Done(Some((Kind::CodeSystem, u, None))) => assert_eq!(u, "u"),
            _ => panic!("not scanned"),
        }
    }
}
