//! A disk cache of loaded schematrons: reading an ANS schematron means parsing hundreds of
//! files (453 for the generic rule sets), resolving includes and expanding abstract patterns,
//! about two thirds of the start-up to a first verdict. The result is stored in one binary
//! file, keyed by the rules directory and the schematron's path, together with the SHA-256 of
//! every file it was built from and, for each, its metadata when it was hashed (a [`Stamp`]:
//! size, modification and change times to the nanosecond, inode and device).
//!
//! A later load checks every source file before it uses the stored result: a file whose
//! metadata is unchanged is taken to hold the content it was hashed from (one `statx`, no
//! read); any other file is read and hashed again and must match; include targets found
//! absent or empty must still be. So an edited, added or removed rule file is never served
//! stale, with one trade-off: an edit that keeps the file's size, inode and device, and
//! restores both its modification time and its change time to the nanosecond, would go
//! unnoticed. The change time cannot be set from user space (only by moving the system
//! clock), and a file changed within [`SETTLE`] of being hashed is never trusted by its
//! metadata (timestamps are coarse: an edit in the same tick keeps them), so this takes a
//! deliberate clock change or a filesystem that does not keep change times.
//!
//! The format is private to one version of segur (the version is part of the key). Any
//! unreadable, truncated or mismatching cache file is a miss, never an error: the schematron
//! is then loaded from its files and the cache file rewritten (to a temporary file, then
//! renamed, so concurrent processes never read a half-written one).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use segur_xml::hash::{Checksum, FNV1A_START, fnv1a};

use super::model::{Check, CheckKind, Let, MessagePart, Pattern, Rule, Schematron, Step};
use super::tree::LoadNote;
use super::{LoadError, SourceFile};

/// Bump when the encoding changes (3: a checksum ends the file).
const FORMAT: u32 = 3;

/// A fingerprint of the loader's own source (the files that decide what a loaded schematron
/// holds), computed at compile time: a build whose loader differs never reads a cache written
/// by another, even within one version number.
const LOADER: u64 = {
    let mut h = fnv1a(FNV1A_START, include_bytes!("tree.rs"));
    h = fnv1a(h, include_bytes!("model.rs"));
    fnv1a(h, include_bytes!("cache.rs"))
};

const MAGIC: &[u8; 8] = b"SEGURSCH";

/// What the cache did for one load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheOutcome {
    /// No cache directory was given.
    Disabled,
    /// Served from the cache: every source file verified unchanged.
    Hit,
    /// Loaded from the files and stored in the cache.
    Stored,
    /// Loaded from the files; the cache file could not be written (the reason).
    Unwritable(String),
}

impl Schematron {
    /// [`Schematron::load`] through the cache in `cache_dir` (none: no cache).
    pub fn load_cached(
        rules_dir: &Path,
        path: &Path,
        cache_dir: Option<&Path>,
    ) -> Result<(Schematron, CacheOutcome), LoadError> {
        load_cached_within(rules_dir, path, cache_dir, SETTLE).map(|(s, o, _)| (s, o))
    }
}

/// How long a file must have been left alone, before it was hashed, for its metadata to stand
/// for its content later. File timestamps are coarse (a clock tick, up to 2 s on some
/// filesystems): an edit within the same tick as the hashing could keep them all.
pub(crate) const SETTLE: Duration = Duration::from_secs(3);

/// [`Schematron::load_cached`] with the settling time given; also returns how many source
/// files were read and hashed again to verify a hit.
fn load_cached_within(
    rules_dir: &Path,
    path: &Path,
    cache_dir: Option<&Path>,
    settle: Duration,
) -> Result<(Schematron, CacheOutcome, usize), LoadError> {
    let Some(cache_dir) = cache_dir else {
        return Ok((
            Schematron::load(rules_dir, path)?,
            CacheOutcome::Disabled,
            0,
        ));
    };
    let file = cache_file(cache_dir, rules_dir, path);
    // Only the rule set asked for: a file of another one under this name is a miss.
    let wanted = path
        .strip_prefix(rules_dir)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/");
    let cached = read_regular(&file)
        .and_then(|bytes| decode(&bytes))
        .filter(|(s, _)| s.file == wanted);
    if let Some((s, stamps)) = cached {
        let started = SystemTime::now();
        if let Some(check) = verify(rules_dir, &s.files, &stamps, started, settle) {
            if check.restamped == stamps {
                touch(&file);
            } else {
                // Files hashed again that have now settled: store their new metadata, so the
                // next run need not read them (a failure only means they are read again).
                let _ = store(&file, &encode(&s, &check.restamped));
            }
            return Ok((s, CacheOutcome::Hit, check.rehashed));
        }
    }
    let started = SystemTime::now();
    let s = Schematron::load(rules_dir, path)?;
    let stamps = stamps_after(rules_dir, &s.files, started, settle);
    let outcome = match store(&file, &encode(&s, &stamps)) {
        Ok(()) => {
            prune(&file, MAX_CACHE_FOLDER_BYTES);
            CacheOutcome::Stored
        }
        Err(e) => CacheOutcome::Unwritable(format!("{}: {e}", file.display())),
    };
    Ok((s, outcome, 0))
}

/// A file's metadata when its content was hashed: size, modification and change times
/// (nanoseconds since the epoch), inode and device. Equal stamps stand for equal content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    ino: u64,
    dev: u64,
}

impl Stamp {
    /// The stamp of a regular file's metadata (none elsewhere than on Unix).
    #[cfg(unix)]
    pub(crate) fn of(m: &std::fs::Metadata) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        m.is_file().then(|| Stamp {
            len: m.size(),
            mtime_ns: ns(m.mtime(), m.mtime_nsec()),
            ctime_ns: ns(m.ctime(), m.ctime_nsec()),
            ino: m.ino(),
            dev: m.dev(),
        })
    }

    /// The stamp of a regular file's metadata (none elsewhere than on Unix).
    #[cfg(not(unix))]
    pub(crate) fn of(_: &std::fs::Metadata) -> Option<Stamp> {
        None
    }

    /// The length of [`Stamp::to_bytes`].
    pub(crate) const BYTES: usize = 1 + 8 + 16 + 16 + 8 + 8;

    /// A fixed-size form of `stamp` (none: all zero), read back by [`Stamp::from_bytes`].
    pub(crate) fn to_bytes(stamp: Option<&Stamp>) -> [u8; Stamp::BYTES] {
        let mut out = [0; Stamp::BYTES];
        if let Some(s) = stamp {
            out[0] = 1;
            out[1..9].copy_from_slice(&s.len.to_le_bytes());
            out[9..25].copy_from_slice(&s.mtime_ns.to_le_bytes());
            out[25..41].copy_from_slice(&s.ctime_ns.to_le_bytes());
            out[41..49].copy_from_slice(&s.ino.to_le_bytes());
            out[49..57].copy_from_slice(&s.dev.to_le_bytes());
        }
        out
    }

    /// Reads [`Stamp::to_bytes`]'s form: `None` when it is not one, `Some(None)` for no stamp.
    pub(crate) fn from_bytes(b: &[u8; Stamp::BYTES]) -> Option<Option<Stamp>> {
        let u64_at = |i: usize| b.get(i..i + 8)?.try_into().ok().map(u64::from_le_bytes);
        let i128_at = |i: usize| b.get(i..i + 16)?.try_into().ok().map(i128::from_le_bytes);
        match b[0] {
            0 => b[1..].iter().all(|&x| x == 0).then_some(None),
            1 => Some(Some(Stamp {
                len: u64_at(1)?,
                mtime_ns: i128_at(9)?,
                ctime_ns: i128_at(25)?,
                ino: u64_at(41)?,
                dev: u64_at(49)?,
            })),
            _ => None,
        }
    }

    /// Whether the file was last changed at least `settle` before `started` (so the content
    /// read after `started` is the one these metadata describe).
    pub(crate) fn settled(&self, started: SystemTime, settle: Duration) -> bool {
        let Some(limit) = started.checked_sub(settle) else {
            return false;
        };
        let Ok(limit) = limit.duration_since(SystemTime::UNIX_EPOCH) else {
            return false;
        };
        let limit = i128::try_from(limit.as_nanos()).unwrap_or(i128::MAX);
        self.mtime_ns < limit && self.ctime_ns < limit
    }
}

/// The stamps of `files` just read and hashed (their reading began at `started`): a file's
/// stamp is kept only when it had settled before then, else `None` (it is hashed on every
/// check until it has).
pub(crate) fn stamps_after(
    rules_dir: &Path,
    files: &[SourceFile],
    started: SystemTime,
    settle: Duration,
) -> Vec<Option<Stamp>> {
    files
        .iter()
        .map(|f| {
            f.sha256.as_ref()?;
            let m = std::fs::metadata(rules_dir.join(&f.path)).ok()?;
            Stamp::of(&m).filter(|s| s.settled(started, settle))
        })
        .collect()
}

/// What [`verify`] found when every source file is unchanged.
pub(crate) struct Verified {
    /// The stamps to keep (differs from the stored ones when a file was hashed again).
    pub(crate) restamped: Vec<Option<Stamp>>,
    /// How many files were read and hashed.
    pub(crate) rehashed: usize,
}

/// Whether every source file still has its recorded content (or is still absent or empty):
/// a file whose metadata equal its stored stamp is not read; any other is hashed. `None` when
/// something changed.
pub(crate) fn verify(
    rules_dir: &Path,
    files: &[SourceFile],
    stamps: &[Option<Stamp>],
    started: SystemTime,
    settle: Duration,
) -> Option<Verified> {
    if files.is_empty() || files.len() != stamps.len() {
        return None;
    }
    let mut restamped = Vec::with_capacity(files.len());
    let mut rehashed = 0;
    for (f, stamp) in files.iter().zip(stamps) {
        let path = rules_dir.join(&f.path);
        let Some(h) = &f.sha256 else {
            if std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() > 0) {
                return None;
            }
            restamped.push(None);
            continue;
        };
        let now = std::fs::metadata(&path).ok().and_then(|m| Stamp::of(&m));
        if stamp.is_some() && now == *stamp {
            restamped.push(*stamp);
            continue;
        }
        rehashed += 1;
        if read_regular(&path).is_none_or(|b| crate::rules::sha256(&b) != *h) {
            return None;
        }
        // Stat again after reading: only metadata that had settled before `started` describe
        // the content just read.
        restamped.push(
            std::fs::metadata(&path)
                .ok()
                .and_then(|m| Stamp::of(&m))
                .filter(|s| s.settled(started, settle)),
        );
    }
    Some(Verified {
        restamped,
        rehashed,
    })
}

/// `<cache>/schematron/<hash of (format, loader, segur version, rules dir, path)>.bin`.
fn cache_file(cache_dir: &Path, rules_dir: &Path, path: &Path) -> PathBuf {
    keyed_file(
        cache_dir,
        "schematron",
        &format!("{FORMAT}\0{LOADER:016x}"),
        rules_dir,
        path,
    )
}

/// `<cache>/<folder>/<hash of (build, segur version, rules dir, path)>.bin`: the cache file of
/// the rule set at `path` of `rules_dir`, as loaded by a loader whose format and source
/// fingerprint `build` names.
pub(crate) fn keyed_file(
    cache_dir: &Path,
    folder: &str,
    build: &str,
    rules_dir: &Path,
    path: &Path,
) -> PathBuf {
    let rules_dir = std::fs::canonicalize(rules_dir).unwrap_or_else(|_| rules_dir.to_path_buf());
    let key = format!(
        "{build}\0{}\0{}\0{}",
        env!("CARGO_PKG_VERSION"),
        rules_dir.display(),
        path.strip_prefix(&rules_dir).unwrap_or(path).display()
    );
    let hash = crate::rules::sha256(key.as_bytes());
    cache_dir.join(folder).join(format!("{}.bin", &hash[..32]))
}

/// Most bytes one cache folder (`schematron/`, `xsd/`, `documents/`) keeps. Every build of segur and
/// every rules release writes files under new keys; beyond this, writing a file removes the
/// least recently used ones, so the folder cannot grow without bound.
pub(crate) const MAX_CACHE_FOLDER_BYTES: u64 = 256 << 20;

/// Marks a cache file as just used, for [`prune`]'s order (a failure only makes it look older).
pub(crate) fn touch(file: &Path) {
    if let Ok(f) = std::fs::File::options().write(true).open(file) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
}

/// Removes the least recently used `.bin` files of `just_written`'s folder until the folder
/// holds at most `max_bytes`; `just_written` itself is kept. A process still reading a removed
/// file keeps reading it (the file goes when it is closed); one about to open it finds it
/// missing and rebuilds it, as on any miss.
pub(crate) fn prune(just_written: &Path, max_bytes: u64) {
    let Some(dir) = just_written.parent() else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "bin"))
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            Some((m.modified().ok()?, m.len(), e.path()))
        })
        .collect();
    let mut total: u64 = files.iter().map(|f| f.1).sum();
    if total <= max_bytes {
        return;
    }
    files.sort();
    for (_, len, path) in files {
        if total <= max_bytes {
            break;
        }
        if path != just_written && std::fs::remove_file(&path).is_ok() {
            total = total.saturating_sub(len);
        }
    }
}

/// The bytes of `path` when it is a regular file (a FIFO or a device put in place of a cache
/// or rules file would block the read or never end it), read up to its size when opened;
/// `None` for anything else or on an error.
pub(crate) fn read_regular(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    // Checked before opening: opening a FIFO waits for a writer.
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let f = std::fs::File::open(path).ok()?;
    let meta = f.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).ok()?);
    f.take(meta.len()).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// Writes a cache file atomically: a temporary file beside it, then a rename.
pub(crate) fn store(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        file.file_name().and_then(|n| n.to_str()).unwrap_or("cache"),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, file).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Writes the binary form: little-endian u32 lengths and counts, UTF-8 strings, and each
/// distinct shared string (`Arc<str>`: file names, instance ids) written once, then referred
/// to by index.
struct Writer<'a> {
    out: Vec<u8>,
    shared: HashMap<&'a str, u32>,
}

impl<'a> Writer<'a> {
    fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn i128(&mut self, v: i128) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn stamp(&mut self, s: Option<&Stamp>) {
        self.bool(s.is_some());
        if let Some(s) = s {
            self.u64(s.len);
            self.i128(s.mtime_ns);
            self.i128(s.ctime_ns);
            self.u64(s.ino);
            self.u64(s.dev);
        }
    }
    fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    fn bool(&mut self, b: bool) {
        self.out.push(u8::from(b));
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.out.extend_from_slice(s.as_bytes());
    }
    fn opt(&mut self, s: Option<&str>) {
        match s {
            Some(s) => {
                self.bool(true);
                self.str(s);
            }
            None => self.bool(false),
        }
    }
    fn shared(&mut self, s: &'a str) {
        match self.shared.get(s) {
            Some(&i) => {
                self.bool(true);
                self.u32(i);
            }
            None => {
                let i = u32::try_from(self.shared.len()).unwrap_or(u32::MAX);
                self.shared.insert(s, i);
                self.bool(false);
                self.str(s);
            }
        }
    }
    fn opt_shared(&mut self, s: Option<&'a str>) {
        match s {
            Some(s) => {
                self.bool(true);
                self.shared(s);
            }
            None => self.bool(false),
        }
    }
    fn let_(&mut self, l: &'a Let) {
        self.str(&l.name);
        self.shared(&l.value);
    }
    fn check(&mut self, c: &'a Check) {
        self.bool(c.kind == CheckKind::Report);
        self.opt_shared(c.id.as_deref());
        self.shared(&c.test);
        self.opt_shared(c.role.as_deref());
        self.opt_shared(c.flag.as_deref());
        self.len(c.message.len());
        for part in &c.message {
            match part {
                MessagePart::Text(t) => {
                    self.out.push(0);
                    self.shared(t);
                }
                MessagePart::ValueOf(v) => {
                    self.out.push(1);
                    self.shared(v);
                }
                MessagePart::Name(n) => {
                    self.out.push(2);
                    self.opt_shared(n.as_deref());
                }
            }
        }
        self.shared(&c.file);
        self.u32(c.line);
        self.opt_shared(c.instance.as_deref());
    }
}

fn encode(s: &Schematron, stamps: &[Option<Stamp>]) -> Vec<u8> {
    let mut w = Writer {
        out: Vec::with_capacity(1 << 20),
        shared: HashMap::new(),
    };
    w.out.extend_from_slice(MAGIC);
    w.u32(FORMAT);
    w.len(s.files.len());
    for (i, f) in s.files.iter().enumerate() {
        w.str(&f.path);
        w.opt(f.sha256.as_deref());
        w.stamp(stamps.get(i).and_then(Option::as_ref));
    }
    w.str(&s.file);
    w.str(&s.query_binding);
    w.str(&s.phase);
    w.len(s.namespaces.len());
    for (prefix, uri) in &s.namespaces {
        w.str(prefix);
        w.str(uri);
    }
    w.len(s.lets.len());
    for l in &s.lets {
        w.let_(l);
    }
    w.len(s.patterns.len());
    for p in &s.patterns {
        w.str(&p.id);
        w.len(p.rules.len());
        for r in &p.rules {
            w.opt(r.id.as_deref());
            w.str(&r.context);
            w.shared(&r.file);
            w.u32(r.line);
            w.len(r.steps.len());
            for step in &r.steps {
                match step {
                    Step::Let(l) => {
                        w.out.push(0);
                        w.let_(l);
                    }
                    Step::Check(c) => {
                        w.out.push(1);
                        w.check(c);
                    }
                }
            }
        }
    }
    w.bool(s.visit_attributes);
    w.bool(s.only_child_elements);
    w.len(s.notes.len());
    for n in &s.notes {
        w.str(&n.at);
        w.str(&n.note);
    }
    let mut sum = Checksum::new();
    sum.update(&w.out);
    w.out.extend_from_slice(&sum.finish().to_le_bytes());
    w.out
}

/// Reads what [`encode`] wrote; `None` on any inconsistency. Every count is bounded by the
/// bytes left, so a corrupt file cannot make it allocate more than the file's size.
struct Reader<'a> {
    bytes: &'a [u8],
    shared: Vec<Arc<str>>,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if n > self.bytes.len() {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn i128(&mut self) -> Option<i128> {
        Some(i128::from_le_bytes(self.take(16)?.try_into().ok()?))
    }
    fn stamp(&mut self) -> Option<Option<Stamp>> {
        if !self.bool()? {
            return Some(None);
        }
        Some(Some(Stamp {
            len: self.u64()?,
            mtime_ns: self.i128()?,
            ctime_ns: self.i128()?,
            ino: self.u64()?,
            dev: self.u64()?,
        }))
    }
    /// A count of items that each take at least one byte.
    fn count(&mut self) -> Option<usize> {
        let n = usize::try_from(self.u32()?).ok()?;
        (n <= self.bytes.len()).then_some(n)
    }
    fn bool(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    fn str(&mut self) -> Option<String> {
        let n = usize::try_from(self.u32()?).ok()?;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
    fn opt(&mut self) -> Option<Option<String>> {
        if self.bool()? {
            self.str().map(Some)
        } else {
            Some(None)
        }
    }
    fn shared(&mut self) -> Option<Arc<str>> {
        if self.bool()? {
            let i = usize::try_from(self.u32()?).ok()?;
            self.shared.get(i).cloned()
        } else {
            let s: Arc<str> = Arc::from(self.str()?);
            self.shared.push(s.clone());
            Some(s)
        }
    }
    fn opt_shared(&mut self) -> Option<Option<Arc<str>>> {
        if self.bool()? {
            self.shared().map(Some)
        } else {
            Some(None)
        }
    }
    fn let_(&mut self) -> Option<Let> {
        Some(Let {
            name: self.str()?,
            value: self.shared()?,
        })
    }
    fn check(&mut self) -> Option<Check> {
        let kind = if self.bool()? {
            CheckKind::Report
        } else {
            CheckKind::Assert
        };
        let id = self.opt_shared()?;
        let test = self.shared()?;
        let role = self.opt_shared()?;
        let flag = self.opt_shared()?;
        let n = self.count()?;
        let mut message = Vec::with_capacity(n);
        for _ in 0..n {
            message.push(match self.u8()? {
                0 => MessagePart::Text(self.shared()?),
                1 => MessagePart::ValueOf(self.shared()?),
                2 => MessagePart::Name(self.opt_shared()?),
                _ => return None,
            });
        }
        Some(Check {
            kind,
            id,
            test,
            role,
            flag,
            message,
            file: self.shared()?,
            line: self.u32()?,
            instance: self.opt_shared()?,
        })
    }
    fn vec<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let n = self.count()?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(item(self)?);
        }
        Some(v)
    }
}

fn decode(bytes: &[u8]) -> Option<(Schematron, Vec<Option<Stamp>>)> {
    // A damaged file (a flipped bit in a test, another rule set's file copied over it) is a
    // miss: the content must match the checksum that ends it.
    let (bytes, sum) = bytes.split_at_checked(bytes.len().checked_sub(8)?)?;
    let mut check = Checksum::new();
    check.update(bytes);
    if check.finish().to_le_bytes() != sum {
        return None;
    }
    let mut r = Reader {
        bytes,
        shared: Vec::new(),
    };
    if r.take(MAGIC.len())? != MAGIC || r.u32()? != FORMAT {
        return None;
    }
    let n = r.count()?;
    let mut files = Vec::with_capacity(n);
    let mut stamps = Vec::with_capacity(n);
    for _ in 0..n {
        files.push(SourceFile {
            path: r.str()?,
            sha256: r.opt()?,
        });
        stamps.push(r.stamp()?);
    }
    let file = r.str()?;
    let query_binding = r.str()?;
    let phase = r.str()?;
    let namespaces = r.vec(|r| Some((r.str()?, r.str()?)))?;
    let lets = r.vec(Reader::let_)?;
    let patterns = r.vec(|r| {
        let id = r.str()?;
        let rules = r.vec(|r| {
            let id = r.opt()?;
            let context = r.str()?;
            let file = r.shared()?;
            let line = r.u32()?;
            let steps = r.vec(|r| match r.u8()? {
                0 => r.let_().map(Step::Let),
                1 => r.check().map(Step::Check),
                _ => None,
            })?;
            Some(Rule {
                id,
                context,
                steps,
                file,
                line,
            })
        })?;
        Some(Pattern { id, rules })
    })?;
    let visit_attributes = r.bool()?;
    let only_child_elements = r.bool()?;
    let notes = r.vec(|r| {
        Some(LoadNote {
            at: r.str()?,
            note: r.str()?,
        })
    })?;
    let s = Schematron {
        file,
        query_binding,
        phase,
        namespaces,
        lets,
        patterns,
        visit_attributes,
        only_child_elements,
        notes,
        files,
    };
    r.bytes.is_empty().then_some((s, stamps))
}

#[cfg(test)]
mod prune_tests {
    use super::*;

    #[test]
    fn a_full_cache_folder_loses_its_least_recently_used_files() {
        let tmp = tempfile::tempdir().expect("tmp");
        let at = |name: &str, secs: u64| {
            let p = tmp.path().join(name);
            std::fs::write(&p, vec![0u8; 100]).expect("write");
            let f = std::fs::File::options().write(true).open(&p).expect("open");
            f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
                .expect("mtime");
            p
        };
        let oldest = at("a.bin", 1_000);
        let used = at("b.bin", 2_000);
        let newer = at("c.bin", 3_000);
        let other = at("notes.txt", 10);
        // `b.bin` is used again: it becomes the most recent.
        touch(&used);
        let written = at("d.bin", 4_000);
        prune(&written, 250);
        let left = |p: &Path| p.exists();
        assert!(
            !left(&oldest) && !left(&newer),
            "the two least recently used go"
        );
        assert!(
            left(&used) && left(&written),
            "the touched and the new one stay"
        );
        assert!(left(&other), "only .bin files are counted and removed");
        // Under the bound nothing goes.
        prune(&written, 1 << 20);
        assert!(left(&used) && left(&written));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ans/testcontenucda")
    }

    const STRUC_MIN: &str =
        "schematrons/profils/structurationMinimale/ASIP-STRUCT-MIN-StrucMin.sch";

    /// Every field survives the round trip, on the largest generic rule set.
    #[test]
    fn round_trip_is_exact() {
        let root = rules();
        let s = Schematron::load(&root, &root.join(STRUC_MIN)).expect("load");
        assert!(
            s.files.len() > 1,
            "includes are recorded: {:?}",
            s.files.len()
        );
        let stamps: Vec<Option<Stamp>> = (0..s.files.len())
            .map(|i| {
                (i % 3 != 0).then_some(Stamp {
                    len: i as u64,
                    mtime_ns: -(i as i128) << 70,
                    ctime_ns: (i as i128) << 80,
                    ino: u64::MAX - i as u64,
                    dev: 7,
                })
            })
            .collect();
        let (back, back_stamps) = decode(&encode(&s, &stamps)).expect("decodes");
        assert_eq!(format!("{s:?}"), format!("{back:?}"));
        assert_eq!(stamps, back_stamps);
    }

    /// Every truncation and a flipped byte anywhere in the header decode to `None` or to a
    /// value, never a panic; truncations are always refused.
    #[test]
    fn corrupt_files_are_misses() {
        let root = rules();
        let s = Schematron::load(&root, &root.join("schematrons/profils/IHE.sch")).expect("load");
        let bytes = encode(&s, &[]);
        for cut in (0..bytes.len()).step_by(bytes.len() / 97 + 1) {
            assert!(decode(&bytes[..cut]).is_none(), "truncated at {cut}");
        }
        for i in 0..64.min(bytes.len()) {
            let mut b = bytes.clone();
            b[i] ^= 0xff;
            let _ = decode(&b);
        }
        // One bit flipped anywhere (a `>= 1` become `>= 0` in a test) is refused: the file
        // ends with a checksum of the rest.
        assert!(decode(&bytes).is_some());
        for i in (0..bytes.len()).step_by(bytes.len() / 211 + 1) {
            let mut b = bytes.clone();
            b[i] ^= 1 << (i % 8);
            assert!(decode(&b).is_none(), "bit flipped at byte {i}");
        }
    }

    /// A cache file holds one rule set: another rule set's file copied under its name, or a
    /// FIFO put in its place, is a miss (loaded from the files and rewritten), never served.
    #[test]
    fn another_rule_sets_file_or_a_fifo_is_a_miss() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let rules = tmp.path().join("rules");
        let cache = tmp.path().join("cache");
        let (main, part) = small_rules(&rules);
        std::fs::write(
            &part,
            r#"<schema xmlns="http://purl.oclc.org/dsdl/schematron"><pattern id="x"><rule context="x"><assert test="false()">x</assert></rule></pattern></schema>"#,
        )
        .expect("write");
        let load = |p: &Path| Schematron::load_cached(&rules, p, Some(&cache)).expect("load");
        assert_eq!(load(&part).1, CacheOutcome::Stored);
        assert_eq!(load(&main).1, CacheOutcome::Stored);
        let file_of = |p: &Path| cache_file(&cache, &rules, p);
        std::fs::copy(file_of(&part), file_of(&main)).expect("copy");
        let (s, outcome) = load(&main);
        assert_eq!(outcome, CacheOutcome::Stored);
        assert_eq!(&*s.file, "schematrons/main.sch");
        assert_eq!(load(&main).1, CacheOutcome::Hit);
        #[cfg(unix)]
        {
            std::fs::remove_file(file_of(&main)).expect("remove");
            let fifo = std::process::Command::new("mkfifo")
                .arg(file_of(&main))
                .status()
                .expect("mkfifo");
            assert!(fifo.success());
            assert_eq!(load(&main).1, CacheOutcome::Stored);
            assert_eq!(load(&main).1, CacheOutcome::Hit);
        }
    }

    /// A stored load is served while its files are unchanged, and reloaded when one changes,
    /// when an absent include appears, or when the cache file is garbage.
    #[test]
    fn hits_only_while_every_source_is_unchanged() {
        let tmp = tempfile::tempdir().expect("tmp");
        let rules = tmp.path().join("rules");
        let cache = tmp.path().join("cache");
        std::fs::create_dir_all(rules.join("schematrons")).expect("mkdir");
        let main = rules.join("schematrons/main.sch");
        let write_main = |test: &str| {
            std::fs::write(
                &main,
                format!(
                    r#"<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
  <include href="part.sch"/>
  <include href="missing.sch"/>
  <pattern id="p"><rule context="/"><assert test="{test}">m</assert></rule></pattern>
</schema>"#
                ),
            )
            .expect("write")
        };
        write_main("true()");
        std::fs::write(
            rules.join("schematrons/part.sch"),
            r#"<pattern xmlns="http://purl.oclc.org/dsdl/schematron" id="q"><rule context="*"><report test="false()">r</report></rule></pattern>"#,
        )
        .expect("write");
        let load = || Schematron::load_cached(&rules, &main, Some(&cache)).expect("load");

        let (first, outcome) = load();
        assert_eq!(outcome, CacheOutcome::Stored);
        assert_eq!(first.patterns.len(), 2);
        let (second, outcome) = load();
        assert_eq!(outcome, CacheOutcome::Hit);
        assert_eq!(format!("{first:?}"), format!("{second:?}"));

        // An included file changes.
        std::fs::write(
            rules.join("schematrons/part.sch"),
            r#"<pattern xmlns="http://purl.oclc.org/dsdl/schematron" id="q"><rule context="*"><report test="true()">r</report></rule></pattern>"#,
        )
        .expect("write");
        let (third, outcome) = load();
        assert_eq!(outcome, CacheOutcome::Stored);
        assert_ne!(format!("{first:?}"), format!("{third:?}"));
        assert_eq!(load().1, CacheOutcome::Hit);

        // The main file changes.
        write_main("false()");
        assert_eq!(load().1, CacheOutcome::Stored);

        // An include that was absent appears.
        std::fs::write(
            rules.join("schematrons/missing.sch"),
            r#"<pattern xmlns="http://purl.oclc.org/dsdl/schematron" id="z"><rule context="z"><assert test="false()">z</assert></rule></pattern>"#,
        )
        .expect("write");
        let (fourth, outcome) = load();
        assert_eq!(outcome, CacheOutcome::Stored);
        assert_eq!(fourth.patterns.len(), 3);

        // Garbage in the cache file is a miss, then rewritten.
        let dir = cache.join("schematron");
        for e in std::fs::read_dir(&dir).expect("dir") {
            std::fs::write(e.expect("entry").path(), b"SEGURSCH garbage").expect("write");
        }
        assert_eq!(load().1, CacheOutcome::Stored);
        assert_eq!(load().1, CacheOutcome::Hit);

        // No cache directory: no cache.
        let (_, outcome) = Schematron::load_cached(&rules, &main, None).expect("load");
        assert_eq!(outcome, CacheOutcome::Disabled);
    }

    /// Two files, `main.sch` including `part.sch`, in a fresh rules directory.
    fn small_rules(root: &Path) -> (PathBuf, PathBuf) {
        std::fs::create_dir_all(root.join("schematrons")).expect("mkdir");
        let main = root.join("schematrons/main.sch");
        std::fs::write(
            &main,
            r#"<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
  <include href="part.sch"/>
  <pattern id="p"><rule context="/"><assert test="true()">m</assert></rule></pattern>
</schema>"#,
        )
        .expect("write");
        let part = root.join("schematrons/part.sch");
        std::fs::write(&part, PART_R).expect("write");
        (main, part)
    }

    const PART_R: &str = r#"<pattern xmlns="http://purl.oclc.org/dsdl/schematron" id="q"><rule context="*"><report test="false()">r</report></rule></pattern>"#;
    const PART_S: &str = r#"<pattern xmlns="http://purl.oclc.org/dsdl/schematron" id="q"><rule context="*"><report test="false()">s</report></rule></pattern>"#;

    /// Lets the coarse file clock move on, so that a later write gets new timestamps.
    fn tick() {
        std::thread::sleep(Duration::from_millis(60));
    }

    /// Once their files have settled, a hit reads none of them (their metadata stand for their
    /// content, and the hashes reported are still the files' own); an edit that keeps the
    /// size, even with the modification time put back, is still seen.
    #[test]
    fn settled_files_are_checked_by_metadata_and_edits_are_still_seen() {
        let tmp = tempfile::tempdir().expect("tmp");
        let rules = tmp.path().join("rules");
        let cache = tmp.path().join("cache");
        let (main, part) = small_rules(&rules);
        tick();
        let load =
            || load_cached_within(&rules, &main, Some(&cache), Duration::ZERO).expect("load");
        let (first, outcome, _) = load();
        assert_eq!(outcome, CacheOutcome::Stored);
        let (second, outcome, rehashed) = load();
        assert_eq!((outcome, rehashed), (CacheOutcome::Hit, 0));
        assert_eq!(format!("{first:?}"), format!("{second:?}"));
        for f in &second.files {
            let on_disk = crate::rules::sha256_file(&rules.join(&f.path)).expect("hash");
            assert_eq!(f.sha256.as_deref(), Some(on_disk.as_str()), "{}", f.path);
        }

        // Same size, modification time restored: the change time still moves.
        let mtime = std::fs::metadata(&part)
            .expect("meta")
            .modified()
            .expect("mtime");
        tick();
        std::fs::write(&part, PART_S).expect("write");
        std::fs::File::options()
            .write(true)
            .open(&part)
            .expect("open")
            .set_modified(mtime)
            .expect("set mtime");
        assert_eq!(PART_R.len(), PART_S.len());
        let (third, outcome, _) = load();
        assert_eq!(outcome, CacheOutcome::Stored);
        assert!(format!("{third:?}").contains("Text(\"s\")"), "{third:?}");
        tick();
        assert_eq!(load().1, CacheOutcome::Hit);

        // A file replaced by another of the same size and content (new inode) is hashed
        // again, found equal, and its new metadata kept.
        let copy = rules.join("schematrons/part.tmp");
        std::fs::copy(&part, &copy).expect("copy");
        std::fs::rename(&copy, &part).expect("rename");
        tick();
        let (_, outcome, rehashed) = load();
        assert_eq!((outcome, rehashed), (CacheOutcome::Hit, 1));
        let (_, outcome, rehashed) = load();
        assert_eq!((outcome, rehashed), (CacheOutcome::Hit, 0));
    }

    /// Files changed just before they were hashed are not trusted by their metadata: they are
    /// hashed on every check (an edit in the same clock tick keeps every timestamp), until
    /// they have settled.
    #[test]
    fn freshly_written_files_are_hashed_until_they_settle() {
        let tmp = tempfile::tempdir().expect("tmp");
        let rules = tmp.path().join("rules");
        let cache = tmp.path().join("cache");
        let (main, part) = small_rules(&rules);
        let load = |settle| load_cached_within(&rules, &main, Some(&cache), settle).expect("load");
        assert_eq!(load(SETTLE).1, CacheOutcome::Stored);
        let (_, outcome, rehashed) = load(SETTLE);
        assert_eq!((outcome, rehashed), (CacheOutcome::Hit, 2));
        // An immediate same-size edit is seen.
        std::fs::write(&part, PART_S).expect("write");
        let (s, outcome, _) = load(SETTLE);
        assert_eq!(outcome, CacheOutcome::Stored);
        assert!(format!("{s:?}").contains("Text(\"s\")"));
        // Once settled, the hashes are checked one last time and the metadata stored.
        tick();
        let (_, outcome, rehashed) = load(Duration::ZERO);
        assert_eq!((outcome, rehashed), (CacheOutcome::Hit, 2));
        let (_, outcome, rehashed) = load(Duration::ZERO);
        assert_eq!((outcome, rehashed), (CacheOutcome::Hit, 0));
        // Everything written lies in the temporary directory.
        assert!(cache.join("schematron").is_dir());
    }
}
