//! The requests to send: files written by `segur package iti41|mhd|mss`, in name order.

use std::path::Path;

use crate::{Kind, ReplayError};

/// One request ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The file name it came from.
    pub name: String,
    /// Its Content-Type.
    pub content_type: String,
    /// Extra headers (e.g. `SOAPAction`).
    pub headers: Vec<(String, String)>,
    /// The HTTP body.
    pub body: Vec<u8>,
}

/// Interpret one file: an ITI-41 capture (a MIME header block, a blank line, the body) or,
/// without such a header block, a body sent as is (`application/fhir+json` for MHD,
/// `application/soap+xml` for ITI-41).
pub fn parse(name: &str, bytes: Vec<u8>, kind: Kind) -> Prepared {
    let default_type = match kind {
        Kind::Iti41 => "application/soap+xml; charset=UTF-8",
        Kind::Mhd => "application/fhir+json",
        // A whole message (`segur package mss`): its headers belong to it.
        Kind::Smtp => {
            return Prepared {
                name: name.to_string(),
                content_type: "message/rfc822".into(),
                headers: Vec::new(),
                body: bytes,
            };
        }
    };
    let starts_with_header = bytes.len() > 13 && bytes[..13].eq_ignore_ascii_case(b"MIME-Version:")
        || bytes.len() > 13 && bytes[..13].eq_ignore_ascii_case(b"Content-Type:");
    if starts_with_header && let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
        let mut content_type = default_type.to_string();
        let mut headers = Vec::new();
        for line in head.split("\r\n") {
            let Some((n, v)) = line.split_once(':') else {
                continue;
            };
            let (n, v) = (n.trim(), v.trim());
            if n.eq_ignore_ascii_case("content-type") {
                content_type = v.to_string();
            } else if !n.eq_ignore_ascii_case("mime-version") {
                headers.push((n.to_string(), v.to_string()));
            }
        }
        return Prepared {
            name: name.to_string(),
            content_type,
            headers,
            body: bytes[end + 4..].to_vec(),
        };
    }
    Prepared {
        name: name.to_string(),
        content_type: default_type.to_string(),
        headers: Vec::new(),
        body: bytes,
    }
}

impl Prepared {
    /// Whether this looks like a request for a `kind` endpoint (by content: a file that is
    /// not one is refused rather than sent), and why not.
    pub fn check(&self, kind: Kind) -> Result<(), String> {
        let body = self
            .body
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(&self.body);
        let body = body.trim_ascii_start();
        let content_type = self.content_type.to_ascii_lowercase();
        match kind {
            Kind::Iti41 if !content_type.starts_with("multipart/related")
                && !content_type.starts_with("application/soap+xml") =>
            {
                Err(format!(
                    "its Content-Type is {:?}, not multipart/related (MTOM) or application/soap+xml",
                    self.content_type
                ))
            }
            Kind::Iti41
                if content_type.starts_with("application/soap+xml") && !body.starts_with(b"<") =>
            {
                Err(
                    "neither a capture (a MIME header block, a blank line, the body) nor a SOAP envelope"
                        .into(),
                )
            }
            Kind::Mhd if !body.starts_with(b"{") => Err("not a JSON object (a FHIR Bundle)".into()),
            Kind::Smtp if !starts_with_header_field(body) => {
                Err("not a message: it does not start with a header field (Name: value)".into())
            }
            Kind::Smtp if !has_sender(body) => Err(
                "not a message: its header has no From field (an ITI-41 capture or a MIME part?)"
                    .into(),
            ),
            _ => Ok(()),
        }
    }
}

/// Whether the header of message `bytes` (up to the first empty line) has a `From:` field.
fn has_sender(bytes: &[u8]) -> bool {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| bytes.windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(bytes.len());
    bytes[..end]
        .split(|&b| b == b'\n')
        .any(|line| line.len() >= 5 && line[..5].eq_ignore_ascii_case(b"from:"))
}

/// Whether `bytes` start with a header field name (printable ASCII but `:`) and a colon.
fn starts_with_header_field(bytes: &[u8]) -> bool {
    let name = bytes
        .iter()
        .take_while(|&&b| b.is_ascii_graphic() && b != b':')
        .count();
    name > 0 && bytes.get(name) == Some(&b':')
}

/// Read every regular file of `dir` (hidden files skipped), sorted by name; each must be a
/// request for a `kind` endpoint.
pub fn load_dir(dir: &Path, kind: Kind) -> Result<Vec<Prepared>, ReplayError> {
    let read = std::fs::read_dir(dir).map_err(|e| ReplayError::Io(dir.to_path_buf(), e))?;
    let mut paths: Vec<_> = read
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.'))
        })
        .collect();
    paths.sort();
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        // Each request is held in memory: at most 512 MiB a file, whatever the file is.
        let bytes = segur_tls::read_limited(&p, 512 * 1024 * 1024)
            .map_err(|e| ReplayError::Io(p.clone(), e))?;
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let request = parse(&name, bytes, kind);
        request
            .check(kind)
            .map_err(|why| ReplayError::NotARequest {
                path: p.clone(),
                kind: kind.name(),
                why,
            })?;
        out.push(request);
    }
    if out.is_empty() {
        return Err(ReplayError::NoRequests(dir.to_path_buf()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_headers_are_split_from_the_body() {
        let p = parse(
            "a.mtom",
            b"MIME-Version: 1.0\r\nContent-Type: multipart/related; x=1\r\nSOAPAction: \"a\"\r\n\r\nBODY".to_vec(),
            Kind::Iti41,
        );
        assert_eq!(p.content_type, "multipart/related; x=1");
        assert_eq!(
            p.headers,
            vec![("SOAPAction".to_string(), "\"a\"".to_string())]
        );
        assert_eq!(p.body, b"BODY");
        let j = parse("b.json", b"{}".to_vec(), Kind::Mhd);
        assert_eq!(j.content_type, "application/fhir+json");
        assert_eq!(j.body, b"{}");
    }

    #[test]
    fn files_that_are_not_requests_for_the_kind_are_refused() {
        let check = |bytes: &[u8], kind| parse("f", bytes.to_vec(), kind).check(kind);
        let capture = b"MIME-Version: 1.0\r\nContent-Type: multipart/related; type=x\r\n\r\n--b";
        assert_eq!(check(capture, Kind::Iti41), Ok(()));
        assert_eq!(check(b"\xEF\xBB\xBF <Envelope/>", Kind::Iti41), Ok(()));
        assert_eq!(check(b"  {\"resourceType\":\"Bundle\"}", Kind::Mhd), Ok(()));
        assert_eq!(
            check(b"From: a@b.fr\r\nTo: c@d.fr\r\n\r\nx", Kind::Smtp),
            Ok(())
        );
        let eml = b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b";
        let notes = b"some notes\n";
        for (bytes, kind) in [
            (&notes[..], Kind::Iti41),
            (&eml[..], Kind::Iti41),
            (&notes[..], Kind::Mhd),
            (&b"<Bundle/>"[..], Kind::Mhd),
            (&notes[..], Kind::Smtp),
            (&b": x"[..], Kind::Smtp),
            (&capture[..], Kind::Smtp),
        ] {
            assert!(
                check(bytes, kind).is_err(),
                "{:?} {kind:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
}
