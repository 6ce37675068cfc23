//! The durable store: one file per accepted document, written to a temporary file, fsync'd,
//! renamed and its directory fsync'd, then a line appended (and fsync'd) to an index of
//! uniqueId → file, all before the sender is answered.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::SinkError;

/// The index's file name in the store directory.
pub const INDEX: &str = "index.jsonl";
/// The documents' directory in the store directory.
pub const DOCS: &str = "docs";

/// The TLS client that sent a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    /// SHA-256 fingerprint of its certificate (hex, upper case, colon-separated as
    /// `segur pki inspect` shows it).
    pub sha256: String,
    /// Its certificate's subject.
    pub subject: String,
}

/// One line of the index: a stored document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The document's uniqueId (XDS) / masterIdentifier (MHD).
    pub unique_id: String,
    /// The file, relative to the store directory.
    pub file: String,
    /// SHA-256 of the bytes (hex, lower case).
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// How it came: `iti41` or `mhd`.
    pub via: String,
    /// Who sent it.
    pub client: Client,
    /// When it was stored (seconds since the Unix epoch).
    pub received: u64,
}

/// A document to store.
#[derive(Debug, Clone)]
pub struct NewDocument<'a> {
    /// Its uniqueId.
    pub unique_id: &'a str,
    /// Its bytes.
    pub bytes: &'a [u8],
}

/// Why a batch was not stored.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    /// These uniqueIds are already in the store (or twice in the batch): nothing was stored.
    #[error("uniqueId already in the store: {}", .0.join(", "))]
    Duplicate(Vec<String>),
    /// Writing failed: nothing of the batch is in the index.
    #[error(transparent)]
    Io(#[from] SinkError),
}

struct Inner {
    index: File,
    ids: HashMap<String, String>,
}

/// The store, shared by the worker threads.
pub struct Store {
    dir: PathBuf,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).finish()
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sync_dir(dir: &Path) -> Result<(), SinkError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| SinkError::io(dir, e))
}

impl Store {
    /// Open (or create) the store in `dir`, re-reading its index. A last index line that is
    /// torn (a crash while appending) is cut off and reported in the returned notes; any
    /// other unreadable line is an error.
    pub fn open(dir: &Path) -> Result<(Store, Vec<String>), SinkError> {
        let docs = dir.join(DOCS);
        std::fs::create_dir_all(&docs).map_err(|e| SinkError::io(&docs, e))?;
        let mut notes = Vec::new();
        // Temporary files of writes that never finished: never acknowledged.
        if let Ok(entries) = std::fs::read_dir(&docs) {
            for entry in entries.flatten() {
                let p = entry.path();
                if p.extension().is_some_and(|e| e == "tmp") {
                    let _ = std::fs::remove_file(&p);
                    notes.push(format!("removed an unfinished write: {}", p.display()));
                }
            }
        }
        let path = dir.join(INDEX);
        let mut index = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| SinkError::io(&path, e))?;
        let mut text = Vec::new();
        index
            .read_to_end(&mut text)
            .map_err(|e| SinkError::io(&path, e))?;
        let mut ids = HashMap::new();
        let mut offset = 0usize;
        let mut cut: Option<usize> = None;
        let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
        for (i, line) in lines.iter().enumerate() {
            let start = offset;
            offset += line.len();
            let body = line.trim_ascii();
            if body.is_empty() {
                continue;
            }
            match serde_json::from_slice::<Record>(body) {
                Ok(r) => {
                    ids.insert(r.unique_id, r.file);
                }
                Err(e) if i + 1 == lines.len() => {
                    notes.push(format!(
                        "{}: the last line ({} bytes) is torn ({e}); cut off (that document was never acknowledged)",
                        path.display(),
                        line.len()
                    ));
                    cut = Some(start);
                }
                Err(e) => {
                    return Err(SinkError::Index {
                        path,
                        line: i + 1,
                        message: e.to_string(),
                    });
                }
            }
        }
        if let Some(at) = cut {
            index
                .set_len(at as u64)
                .and_then(|()| index.sync_all())
                .map_err(|e| SinkError::io(&path, e))?;
        } else if !text.is_empty() && !text.ends_with(b"\n") {
            // A complete record without its newline: end the line before appending.
            index
                .write_all(b"\n")
                .and_then(|()| index.sync_data())
                .map_err(|e| SinkError::io(&path, e))?;
        }
        index
            .seek(SeekFrom::End(0))
            .map_err(|e| SinkError::io(&path, e))?;
        // The index and docs/ may have just been created: make their names durable.
        sync_dir(dir)?;
        Ok((
            Store {
                dir: dir.to_path_buf(),
                inner: Mutex::new(Inner { index, ids }),
            },
            notes,
        ))
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many documents the index holds.
    pub fn len(&self) -> usize {
        self.lock().ids.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The file (relative to the store directory) of a uniqueId, if stored.
    pub fn file_of(&self, unique_id: &str) -> Option<String> {
        self.lock().ids.get(unique_id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Store every document of a batch durably, or none if one uniqueId is already known.
    /// When this returns `Ok`, the files and their index lines are on disk (fsync'd).
    pub fn put(
        &self,
        batch: &[NewDocument<'_>],
        via: &str,
        client: &Client,
    ) -> Result<Vec<Record>, PutError> {
        let mut inner = self.lock();
        let mut seen = std::collections::HashSet::new();
        let dups: Vec<String> = batch
            .iter()
            .filter(|d| inner.ids.contains_key(d.unique_id) || !seen.insert(d.unique_id))
            .map(|d| d.unique_id.to_string())
            .collect();
        if !dups.is_empty() {
            return Err(PutError::Duplicate(dups));
        }
        let received = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let docs = self.dir.join(DOCS);
        let mut records = Vec::with_capacity(batch.len());
        // The files this submission wrote: removed again when it is refused (a full disk),
        // so that a refused document leaves nothing behind.
        let mut written: Vec<PathBuf> = Vec::with_capacity(batch.len() * 2);
        let refused = |written: &[PathBuf]| {
            for f in written {
                let _ = std::fs::remove_file(f);
            }
        };
        for d in batch {
            let name = format!("{}.xml", hex(&Sha256::digest(d.unique_id.as_bytes())));
            let tmp = docs.join(format!("{name}.tmp"));
            let fin = docs.join(&name);
            let write = || -> std::io::Result<()> {
                let mut f = File::create(&tmp)?;
                f.write_all(d.bytes)?;
                f.sync_all()?;
                std::fs::rename(&tmp, &fin)
            };
            written.extend([tmp.clone(), fin.clone()]);
            if let Err(e) = write() {
                refused(&written);
                return Err(SinkError::io(&fin, e).into());
            }
            records.push(Record {
                unique_id: d.unique_id.to_string(),
                file: format!("{DOCS}/{name}"),
                sha256: hex(&Sha256::digest(d.bytes)),
                size: d.bytes.len() as u64,
                via: via.to_string(),
                client: client.clone(),
                received,
            });
        }
        if let Err(e) = sync_dir(&docs) {
            refused(&written);
            return Err(e.into());
        }
        let mut lines = Vec::new();
        for r in &records {
            // A Record always serializes (strings and integers only).
            let line = serde_json::to_vec(r)
                .map_err(|e| SinkError::io(&self.dir.join(INDEX), std::io::Error::other(e)))?;
            lines.extend_from_slice(&line);
            lines.push(b'\n');
        }
        let index_path = self.dir.join(INDEX);
        let before = inner
            .index
            .metadata()
            .map_err(|e| SinkError::io(&index_path, e))?
            .len();
        if let Err(e) = inner
            .index
            .write_all(&lines)
            .and_then(|()| inner.index.sync_data())
        {
            // A partial line in the middle of the index would stop the next start: cut it.
            let _ = inner.index.set_len(before);
            refused(&written);
            return Err(SinkError::io(&index_path, e).into());
        }
        for r in &records {
            inner.ids.insert(r.unique_id.clone(), r.file.clone());
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client {
            sha256: "AA".into(),
            subject: "CN=x".into(),
        }
    }

    #[test]
    fn a_refused_submission_leaves_no_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let (s, _) = Store::open(dir.path()).expect("open");
        let batch = [
            NewDocument {
                unique_id: "1.2.3",
                bytes: b"<a/>",
            },
            NewDocument {
                unique_id: "1.2.4",
                bytes: b"<b/>",
            },
        ];
        // The second document cannot be written: its temporary name is taken by a folder.
        let second = format!("{}.xml.tmp", hex(&Sha256::digest(b"1.2.4")));
        std::fs::create_dir(dir.path().join(DOCS).join(&second)).expect("mkdir");
        assert!(matches!(
            s.put(&batch, "iti41", &client()),
            Err(PutError::Io(_))
        ));
        let left: Vec<String> = std::fs::read_dir(dir.path().join(DOCS))
            .expect("docs")
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        assert_eq!(left, [second], "only the folder set up by the test");
        // Nothing was indexed: the first document can be sent again.
        std::fs::remove_dir(dir.path().join(DOCS).join(&left[0])).expect("rmdir");
        assert_eq!(s.put(&batch, "iti41", &client()).expect("put").len(), 2);
    }

    #[test]
    fn duplicates_refused_and_torn_line_cut() {
        let dir = tempfile::tempdir().expect("tmp");
        let (s, notes) = Store::open(dir.path()).expect("open");
        assert!(notes.is_empty());
        let doc = NewDocument {
            unique_id: "1.2.3",
            bytes: b"<a/>",
        };
        let r = s
            .put(std::slice::from_ref(&doc), "iti41", &client())
            .expect("put");
        assert_eq!(
            std::fs::read(dir.path().join(&r[0].file)).expect("read"),
            b"<a/>"
        );
        assert!(matches!(
            s.put(std::slice::from_ref(&doc), "iti41", &client()),
            Err(PutError::Duplicate(_))
        ));
        drop(s);
        // A crash in the middle of an append.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join(INDEX))
            .expect("index");
        f.write_all(b"{\"unique_id\":\"9.9").expect("write");
        drop(f);
        let (s, notes) = Store::open(dir.path()).expect("reopen");
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert_eq!(s.len(), 1);
        assert!(s.file_of("1.2.3").is_some());
        let other = NewDocument {
            unique_id: "1.2.4",
            bytes: b"<b/>",
        };
        s.put(&[other], "mhd", &client()).expect("put after cut");
        drop(s);
        let (s, notes) = Store::open(dir.path()).expect("reopen");
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn a_bad_line_in_the_middle_is_an_error() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join(INDEX), "garbage\n{}\n").expect("write");
        assert!(matches!(
            Store::open(dir.path()),
            Err(SinkError::Index { line: 1, .. })
        ));
    }
}
