//! ZIP archives (PKWARE APPNOTE): a writer (stored or deflated entries) and a reader for
//! hostile input — bounded entry count, sizes and expansion ratio, names that cannot climb
//! out of the extraction folder, CRC-checked — whose problems are findings, not failures.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use segur_finding::Finding;

use crate::rules::finding;

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const END_SIG: u32 = 0x0605_4b50;
/// 1980-01-01 00:00 in DOS form: reproducible archives.
const DOS_DATE: u16 = (1 << 5) | 1;

/// Build an archive from `(name, bytes)` entries, deflated when that is smaller.
pub fn write(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let crc = {
            let mut c = flate2::Crc::new();
            c.update(data);
            c.sum()
        };
        let deflated = {
            let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
            // Writing into a Vec cannot fail.
            let _ = e.write_all(data);
            e.finish().unwrap_or_default()
        };
        let (method, body): (u16, &[u8]) = if !deflated.is_empty() && deflated.len() < data.len() {
            (8, &deflated)
        } else {
            (0, data)
        };
        let offset = out.len() as u32;
        let flags: u16 = if name.is_ascii() { 0 } else { 1 << 11 };
        let header = |sig: u32, buf: &mut Vec<u8>, central: bool| {
            buf.extend_from_slice(&sig.to_le_bytes());
            if central {
                buf.extend_from_slice(&20u16.to_le_bytes());
            }
            buf.extend_from_slice(&20u16.to_le_bytes());
            buf.extend_from_slice(&flags.to_le_bytes());
            buf.extend_from_slice(&method.to_le_bytes());
            buf.extend_from_slice(&0u16.to_le_bytes());
            buf.extend_from_slice(&DOS_DATE.to_le_bytes());
            buf.extend_from_slice(&crc.to_le_bytes());
            buf.extend_from_slice(&(body.len() as u32).to_le_bytes());
            buf.extend_from_slice(&(data.len() as u32).to_le_bytes());
            buf.extend_from_slice(&(name.len() as u16).to_le_bytes());
            buf.extend_from_slice(&0u16.to_le_bytes());
            if central {
                buf.extend_from_slice(&0u16.to_le_bytes()); // comment
                buf.extend_from_slice(&0u16.to_le_bytes()); // disk
                buf.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
                buf.extend_from_slice(&0u32.to_le_bytes()); // external attributes
                buf.extend_from_slice(&offset.to_le_bytes());
            }
            buf.extend_from_slice(name.as_bytes());
        };
        header(LOCAL_SIG, &mut out, false);
        out.extend_from_slice(body);
        header(CENTRAL_SIG, &mut central, true);
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&END_SIG.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// Bounds on what an archive may expand to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipLimits {
    /// Most entries read.
    pub max_entries: usize,
    /// Largest uncompressed entry.
    pub max_entry_size: u64,
    /// Largest uncompressed total.
    pub max_total_size: u64,
    /// Highest uncompressed/compressed ratio, for entries above 1 MiB.
    pub max_ratio: u64,
}

impl Default for ZipLimits {
    fn default() -> Self {
        Self {
            max_entries: 10_000,
            max_entry_size: 64 << 20,
            max_total_size: 256 << 20,
            max_ratio: 200,
        }
    }
}

/// One extracted entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its name, `/`-separated, relative.
    pub name: String,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// What was read from an archive: the entries that could be extracted safely, and findings
/// for the rest.
#[derive(Debug, Clone, Default)]
pub struct Archive {
    /// Extracted entries, in central-directory order.
    pub entries: Vec<Entry>,
    /// Problems (SEGUR-XDM-ZIP, SEGUR-XDM-PATH, SEGUR-XDM-BOMB).
    pub findings: Vec<Finding>,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// A name as shown in a message: whole up to 200 bytes, else its start and its length.
fn shorten(name: &str) -> std::borrow::Cow<'_, str> {
    if name.len() <= 200 {
        return name.into();
    }
    let mut end = 200;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &name[..end], name.len()).into()
}

/// Why an entry name is unsafe to extract, if it is.
pub fn unsafe_name(name: &str) -> Option<&'static str> {
    // File systems take names of at most 255 bytes, paths of at most 4,096: a longer one
    // could not be extracted (and the archive's other entries would be lost with it).
    if name.len() > 1024 || name.split(['/', '\\']).any(|c| c.len() > 255) {
        return Some("a name too long to extract (a part over 255 bytes, or over 1,024 in all)");
    }
    let n = name.replace('\\', "/");
    if n.starts_with('/') {
        return Some("an absolute path");
    }
    if n.len() >= 2 && n.as_bytes()[1] == b':' {
        return Some("a drive-qualified path");
    }
    if n.split('/').any(|c| c == "..") {
        return Some("a path climbing out with `..`");
    }
    if n.chars().any(char::is_control) {
        return Some("a control character");
    }
    None
}

/// An entry name without empty or `.` segments (`IHE_XDM/./A//B` is `IHE_XDM/A/B`).
fn canonical_name(name: &str) -> String {
    name.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// Read an archive named `place` (for findings) within `limits`.
pub fn read(bytes: &[u8], place: &str, limits: &ZipLimits) -> Archive {
    let mut out = Archive::default();
    let zip_err = |out: &mut Archive, msg: String| {
        out.findings
            .push(finding("SEGUR-XDM-ZIP", place, format!("{place}: {msg}")))
    };
    // The end-of-central-directory record is in the last 22 + 65535 bytes.
    let start = bytes.len().saturating_sub(22 + 65_535);
    let Some(eocd) = (start..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(bytes, i) == Some(END_SIG))
    else {
        zip_err(
            &mut out,
            "no end-of-central-directory record: not a zip archive, or truncated".into(),
        );
        return out;
    };
    let (Some(count), Some(cd_offset)) = (u16_at(bytes, eocd + 10), u32_at(bytes, eocd + 16))
    else {
        zip_err(&mut out, "truncated end-of-central-directory record".into());
        return out;
    };
    if cd_offset == u32::MAX || count == u16::MAX {
        zip_err(&mut out, "ZIP64 archives are not supported".into());
        return out;
    }
    let mut at = cd_offset as usize;
    let mut total: u64 = 0;
    // Names taken so far (case folded: extracted on a case-insensitive file system, `A.XML`
    // and `a.xml` are one file), and the folders they imply.
    let mut taken: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut folders: std::collections::HashSet<String> = std::collections::HashSet::new();
    for index in 0..count as usize {
        if index >= limits.max_entries {
            out.findings.push(finding(
                "SEGUR-XDM-BOMB",
                place,
                format!(
                    "{place}: more than {} entries; the rest is not read",
                    limits.max_entries
                ),
            ));
            break;
        }
        if u32_at(bytes, at) != Some(CENTRAL_SIG) {
            zip_err(
                &mut out,
                format!(
                    "central directory entry {} is missing or corrupt (offset {at})",
                    index + 1
                ),
            );
            break;
        }
        let field = |o: usize| u16_at(bytes, at + o).unwrap_or(0) as usize;
        let (flags, method) = (field(8), field(10));
        let crc = u32_at(bytes, at + 16).unwrap_or(0);
        let csize = u32_at(bytes, at + 20).unwrap_or(0) as u64;
        let usize_ = u32_at(bytes, at + 24).unwrap_or(0) as u64;
        let (nlen, elen, clen) = (field(28), field(30), field(32));
        let local = u32_at(bytes, at + 42).unwrap_or(0) as usize;
        let Some(raw_name) = bytes.get(at + 46..at + 46 + nlen) else {
            zip_err(&mut out, format!("entry {} name is truncated", index + 1));
            break;
        };
        let name = String::from_utf8_lossy(raw_name).into_owned();
        at += 46 + nlen + elen + clen;
        let shown = shorten(&name);
        let here = format!("{place}!{shown}");
        if let Some(why) = unsafe_name(&name) {
            out.findings.push(finding(
                "SEGUR-XDM-PATH",
                &here,
                format!("{place}: entry `{shown}` is {why}; not extracted"),
            ));
            continue;
        }
        if name.ends_with('/') {
            // A folder entry: nothing to extract, but a folder where a file was is a clash
            // (an extracting reader fails on one or the other), and later files may not
            // take its name.
            let folded = canonical_name(&name).replace('\\', "/").to_lowercase();
            if taken.contains(&folded) {
                out.findings.push(finding(
                    "SEGUR-XDM-PATH",
                    &here,
                    format!(
                        "{place}: folder entry `{shown}` has the name of an earlier file; not extracted"
                    ),
                ));
            } else if !folded.is_empty() {
                folders.insert(folded);
            }
            continue;
        }
        // `IHE_XDM/./SUBSET01/…` or `IHE_XDM//SUBSET01/…`: a reader that looks entries up by
        // their exact name (java.util.zip does) finds nothing, one that extracts to a file
        // system finds the files. Reported, and read under the canonical name, so that the
        // checks that follow see the archive's layout rather than a cascade of absences.
        let canonical = canonical_name(&name);
        let name = if canonical != name {
            out.findings.push(finding(
                "SEGUR-XDM-PATH",
                &here,
                format!(
                    "{place}: entry `{shown}` has an empty or `.` path segment; read as `{}`",
                    shorten(&canonical)
                ),
            ));
            canonical
        } else {
            name
        };
        let shown = shorten(&name);
        // A second entry of the same name, or a file where another entry needs a folder (or
        // the reverse): readers keep different ones, so what is checked could differ from
        // what is extracted. The first is kept.
        let folded = name.replace('\\', "/").to_lowercase();
        let parents: Vec<&str> = folded
            .match_indices('/')
            .map(|(i, _)| &folded[..i])
            .collect();
        if taken.contains(&folded)
            || folders.contains(&folded)
            || parents.iter().any(|p| taken.contains(*p))
        {
            out.findings.push(finding(
                "SEGUR-XDM-PATH",
                &here,
                format!(
                    "{place}: entry `{shown}` clashes with an earlier entry (the same name, or a file where a folder is needed); not extracted"
                ),
            ));
            continue;
        }
        folders.extend(parents.iter().map(|p| p.to_string()));
        taken.insert(folded.clone());
        if flags & 1 != 0 {
            zip_err(
                &mut out,
                format!("entry `{shown}` is encrypted; not extracted"),
            );
            continue;
        }
        if usize_ > limits.max_entry_size
            || total + usize_ > limits.max_total_size
            || (usize_ > 1 << 20 && usize_ > csize.saturating_mul(limits.max_ratio))
        {
            out.findings.push(finding(
                "SEGUR-XDM-BOMB",
                &here,
                format!(
                    "{place}: entry `{shown}` declares {usize_} bytes from {csize} (limits: {} per entry, {} in all, ratio {}); not extracted",
                    limits.max_entry_size, limits.max_total_size, limits.max_ratio
                ),
            ));
            continue;
        }
        if u32_at(bytes, local) != Some(LOCAL_SIG) {
            zip_err(
                &mut out,
                format!("entry `{shown}`: local header missing at offset {local}"),
            );
            continue;
        }
        let data_at = local + 30 + field_at(bytes, local + 26) + field_at(bytes, local + 28);
        let Some(body) = bytes.get(data_at..data_at.saturating_add(csize as usize)) else {
            zip_err(&mut out, format!("entry `{shown}` is truncated"));
            continue;
        };
        let data = match method {
            0 => body.to_vec(),
            8 => {
                let mut data = Vec::new();
                let read = DeflateDecoder::new(body)
                    .take(usize_ + 1)
                    .read_to_end(&mut data);
                if let Err(e) = read {
                    zip_err(&mut out, format!("entry `{shown}` does not inflate: {e}"));
                    continue;
                }
                if data.len() as u64 > usize_ {
                    out.findings.push(finding(
                        "SEGUR-XDM-BOMB",
                        &here,
                        format!("{place}: entry `{shown}` inflates beyond its declared {usize_} bytes; not extracted"),
                    ));
                    continue;
                }
                data
            }
            m => {
                zip_err(
                    &mut out,
                    format!(
                        "entry `{shown}` uses compression method {m} (only stored and deflate are read)"
                    ),
                );
                continue;
            }
        };
        let mut c = flate2::Crc::new();
        c.update(&data);
        if c.sum() != crc || data.len() as u64 != usize_ {
            zip_err(
                &mut out,
                format!("entry `{shown}` fails its CRC-32 or size check; not extracted"),
            );
            continue;
        }
        total += data.len() as u64;
        out.entries.push(Entry { name, data });
    }
    out
}

fn field_at(b: &[u8], at: usize) -> usize {
    u16_at(b, at).unwrap_or(0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(a: &Archive) -> Vec<&str> {
        a.findings.iter().map(|f| f.rule.as_str()).collect()
    }

    #[test]
    fn round_trip() {
        let entries = vec![
            ("README.TXT".to_string(), b"hello".to_vec()),
            ("A/B.XML".to_string(), "<a>é</a>".repeat(100).into_bytes()),
        ];
        let a = read(&write(&entries), "t.zip", &ZipLimits::default());
        assert!(a.findings.is_empty(), "{:?}", a.findings);
        let got: Vec<(String, Vec<u8>)> = a.entries.into_iter().map(|e| (e.name, e.data)).collect();
        assert_eq!(got, entries);
    }

    #[test]
    fn traversal_and_absolute_names_are_skipped() {
        let entries = vec![
            ("../evil.txt".to_string(), b"x".to_vec()),
            ("/etc/passwd".to_string(), b"x".to_vec()),
            ("ok.txt".to_string(), b"y".to_vec()),
        ];
        let a = read(&write(&entries), "t.zip", &ZipLimits::default());
        assert_eq!(ids(&a), ["SEGUR-XDM-PATH", "SEGUR-XDM-PATH"]);
        assert_eq!(a.entries.len(), 1);
        assert_eq!(a.entries[0].name, "ok.txt");
    }

    #[test]
    fn dot_and_empty_segments_are_reported_and_read_under_the_canonical_name() {
        let entries = vec![
            ("IHE_XDM/./SUBSET01/A.XML".to_string(), b"a".to_vec()),
            ("IHE_XDM//SUBSET01/B.XML".to_string(), b"b".to_vec()),
            ("./README.TXT".to_string(), b"r".to_vec()),
            ("IHE_XDM/SUBSET01/C.XML".to_string(), b"c".to_vec()),
        ];
        let a = read(&write(&entries), "t.zip", &ZipLimits::default());
        assert_eq!(
            ids(&a),
            ["SEGUR-XDM-PATH", "SEGUR-XDM-PATH", "SEGUR-XDM-PATH"]
        );
        let names: Vec<&str> = a.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "IHE_XDM/SUBSET01/A.XML",
                "IHE_XDM/SUBSET01/B.XML",
                "README.TXT",
                "IHE_XDM/SUBSET01/C.XML"
            ]
        );
        // Read as the canonical name, a second entry of that name still clashes.
        let twice = vec![
            ("IHE_XDM/SUBSET01/A.XML".to_string(), b"a".to_vec()),
            ("IHE_XDM/./SUBSET01/A.XML".to_string(), b"b".to_vec()),
        ];
        let a = read(&write(&twice), "t.zip", &ZipLimits::default());
        assert_eq!(a.entries.len(), 1);
        assert_eq!(a.entries[0].data, b"a");
    }

    #[test]
    fn a_name_too_long_to_extract_is_skipped_and_shown_short() {
        let entries = vec![
            ("A".repeat(300), b"x".to_vec()),
            (format!("IHE_XDM/{}", "B".repeat(60_000)), b"y".to_vec()),
            ("README.TXT".to_string(), b"r".to_vec()),
        ];
        let a = read(&write(&entries), "t.zip", &ZipLimits::default());
        assert_eq!(ids(&a), ["SEGUR-XDM-PATH", "SEGUR-XDM-PATH"]);
        assert_eq!(a.entries.len(), 1);
        assert_eq!(a.entries[0].name, "README.TXT");
        for f in &a.findings {
            assert!(f.message.contains("too long"), "{}", f.message);
            assert!(f.message.len() < 400, "{} bytes", f.message.len());
        }
        assert!(a.findings[1].message.contains("(60008 bytes)"));
    }

    #[test]
    fn a_folder_entry_and_a_file_of_one_name_clash_either_way() {
        let file_first = vec![
            ("IHE_XDM/SUBSET01/DOC0001.XML".to_string(), b"<a/>".to_vec()),
            ("IHE_XDM/SUBSET01/DOC0001.XML/".to_string(), Vec::new()),
        ];
        let a = read(&write(&file_first), "t.zip", &ZipLimits::default());
        assert_eq!(ids(&a), ["SEGUR-XDM-PATH"]);
        assert_eq!(a.entries.len(), 1);
        let folder_first = vec![
            ("IHE_XDM/SUBSET01/DOC0001.XML/".to_string(), Vec::new()),
            ("IHE_XDM/SUBSET01/DOC0001.XML".to_string(), b"<a/>".to_vec()),
        ];
        let a = read(&write(&folder_first), "t.zip", &ZipLimits::default());
        assert_eq!(ids(&a), ["SEGUR-XDM-PATH"]);
        assert!(a.entries.is_empty());
    }

    #[test]
    fn clashing_names_keep_the_first_entry() {
        let entries = vec![
            (
                "IHE_XDM/SUBSET01/DOC0001.XML".to_string(),
                b"<first/>".to_vec(),
            ),
            (
                "IHE_XDM/SUBSET01/DOC0001.XML".to_string(),
                b"<evil/>".to_vec(),
            ),
            (
                "ihe_xdm/subset01/doc0001.xml".to_string(),
                b"<evil/>".to_vec(),
            ),
            ("a".to_string(), b"file".to_vec()),
            ("a/b".to_string(), b"needs a folder a".to_vec()),
            ("c/d".to_string(), b"folder c".to_vec()),
            ("c".to_string(), b"a file c".to_vec()),
        ];
        let a = read(&write(&entries), "x.zip", &ZipLimits::default());
        let kept: Vec<(&str, &[u8])> = a
            .entries
            .iter()
            .map(|e| (e.name.as_str(), e.data.as_slice()))
            .collect();
        assert_eq!(
            kept,
            [
                ("IHE_XDM/SUBSET01/DOC0001.XML", &b"<first/>"[..]),
                ("a", b"file"),
                ("c/d", b"folder c")
            ]
        );
        assert_eq!(a.findings.len(), 4);
        assert!(a.findings.iter().all(|f| f.rule == "SEGUR-XDM-PATH"));
    }

    #[test]
    fn bomb_is_refused_by_ratio_and_by_total() {
        let zeros = vec![0u8; 8 << 20];
        let a = read(
            &write(&[("bomb.bin".into(), zeros.clone())]),
            "t.zip",
            &ZipLimits::default(),
        );
        assert_eq!(ids(&a), ["SEGUR-XDM-BOMB"]);
        assert!(a.entries.is_empty());
        let limits = ZipLimits {
            max_total_size: 100,
            ..ZipLimits::default()
        };
        let a = read(
            &write(&[("a".into(), vec![1; 60]), ("b".into(), vec![2; 60])]),
            "t.zip",
            &limits,
        );
        assert_eq!(ids(&a), ["SEGUR-XDM-BOMB"]);
        assert_eq!(a.entries.len(), 1);
    }

    #[test]
    fn lying_size_is_caught_while_inflating() {
        let mut z = write(&[("x".into(), vec![7u8; 4096])]);
        // Declare 10 bytes uncompressed in the central directory.
        let cd = z.len() - 22 - 46 - 1;
        z[cd + 24..cd + 28].copy_from_slice(&10u32.to_le_bytes());
        let a = read(&z, "t.zip", &ZipLimits::default());
        assert_eq!(ids(&a), ["SEGUR-XDM-BOMB"]);
    }

    #[test]
    fn truncated_and_garbage_are_findings() {
        let z = write(&[("x".into(), b"abc".to_vec())]);
        for bad in [&z[..z.len() - 5], &z[..10], b"not a zip".as_slice(), &[]] {
            let a = read(bad, "t.zip", &ZipLimits::default());
            assert_eq!(ids(&a), ["SEGUR-XDM-ZIP"]);
        }
        let mut corrupt = z.clone();
        corrupt[30 + 1] ^= 0xff; // the stored data
        let a = read(&corrupt, "t.zip", &ZipLimits::default());
        assert_eq!(ids(&a), ["SEGUR-XDM-ZIP"]);
    }
}
