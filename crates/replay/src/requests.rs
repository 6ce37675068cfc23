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

/// Read every regular file of `dir` (hidden files skipped), sorted by name.
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
        let bytes = std::fs::read(&p).map_err(|e| ReplayError::Io(p.clone(), e))?;
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push(parse(&name, bytes, kind));
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
}
