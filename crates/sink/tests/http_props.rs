//! The sink's HTTP reader on generated traffic: requests framed by Content-Length or chunked
//! (with extensions and trailers), pipelined, and delivered in reads of any size, come out
//! as they were sent; arbitrary and mutated bytes are answered or refused, never a panic,
//! never a body over the limit.

use proptest::prelude::*;
use segur_sink::http::{ReadError, Reader, Request};

mod support;
use support::wire::{Trickle, edit};

/// A request to send, and how to frame its body.
#[derive(Debug, Clone)]
struct Sent {
    method: &'static str,
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// `None`: Content-Length; else the chunk sizes (the last chunk takes the rest).
    chunks: Option<Vec<usize>>,
    extension: bool,
    trailer: bool,
    expect_continue: bool,
    close: bool,
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9-]{0,15}"
}

fn sent() -> impl Strategy<Value = Sent> {
    (
        prop_oneof![Just("GET"), Just("POST"), Just("PUT")],
        "/[a-z0-9/._-]{0,30}",
        proptest::option::of("[a-z0-9=&]{0,20}"),
        proptest::collection::vec((token(), "[ -~]{0,40}"), 0..6),
        proptest::collection::vec(any::<u8>(), 0..3000),
        proptest::option::of(proptest::collection::vec(1usize..700, 1..6)),
        any::<(bool, bool, bool, bool)>(),
    )
        .prop_map(
            |(method, path, query, headers, body, chunks, (extension, trailer, expect, close))| {
                // Framing, connection and Host fields are the test's to write.
                let headers = headers
                    .into_iter()
                    .filter(|(n, _)| {
                        ![
                            "content-length",
                            "transfer-encoding",
                            "connection",
                            "expect",
                            "host",
                        ]
                        .contains(&n.to_ascii_lowercase().as_str())
                    })
                    .map(|(n, v)| (n, v.trim().to_string()))
                    .collect();
                let body = if method == "GET" && chunks.is_none() {
                    Vec::new()
                } else {
                    body
                };
                Sent {
                    method,
                    path,
                    query,
                    headers,
                    body,
                    chunks,
                    extension,
                    trailer,
                    expect_continue: expect,
                    close,
                }
            },
        )
}

fn wire(r: &Sent) -> Vec<u8> {
    let mut out = Vec::new();
    let target = match &r.query {
        Some(q) => format!("{}?{q}", r.path),
        None => r.path.clone(),
    };
    out.extend_from_slice(
        format!("{} {target} HTTP/1.1\r\nHost: sink.test\r\n", r.method).as_bytes(),
    );
    for (n, v) in &r.headers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    if r.close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    if r.expect_continue {
        out.extend_from_slice(b"Expect: 100-continue\r\n");
    }
    match &r.chunks {
        None => {
            out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", r.body.len()).as_bytes());
            out.extend_from_slice(&r.body);
        }
        Some(sizes) => {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            let mut rest = &r.body[..];
            for (i, &size) in sizes.iter().enumerate() {
                let take = if i + 1 == sizes.len() {
                    rest.len()
                } else {
                    size.min(rest.len())
                };
                if take == 0 {
                    continue;
                }
                let ext = if r.extension { ";name=\"v\"" } else { "" };
                out.extend_from_slice(format!("{take:X}{ext}\r\n").as_bytes());
                out.extend_from_slice(&rest[..take]);
                out.extend_from_slice(b"\r\n");
                rest = &rest[take..];
            }
            out.extend_from_slice(b"0\r\n");
            if r.trailer {
                out.extend_from_slice(b"X-Checksum: abc\r\n");
            }
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

fn same(got: &Request, sent: &Sent) -> Result<(), TestCaseError> {
    prop_assert_eq!(&got.method, sent.method);
    prop_assert_eq!(&got.path, &sent.path);
    prop_assert_eq!(&got.body, &sent.body);
    prop_assert_eq!(got.keep_alive, !sent.close);
    for (n, v) in &sent.headers {
        prop_assert!(
            got.headers.iter().any(|(gn, gv)| gn == n && gv == v),
            "{n}: {v} in {:?}",
            got.headers
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn pipelined_requests_in_reads_of_any_size_come_out_as_sent(
        requests in proptest::collection::vec(sent(), 1..4),
        sizes in proptest::collection::vec(1usize..600, 1..8),
    ) {
        let mut bytes = Vec::new();
        for r in &requests {
            bytes.extend(wire(r));
        }
        let mut conn = Trickle::new(bytes, sizes);
        let mut reader = Reader::new();
        for r in &requests {
            let got = match reader.read_request(&mut conn, 1 << 20) {
                Ok(got) => got,
                Err(e) => return Err(TestCaseError::fail(format!("{e:?} for {r:?}"))),
            };
            same(&got, r)?;
        }
        prop_assert!(!reader.has_pending());
        prop_assert!(matches!(reader.read_request(&mut conn, 1 << 20), Err(ReadError::Closed)));
        let continues = requests.iter().filter(|r| r.expect_continue).count();
        let written = String::from_utf8_lossy(&conn.written);
        prop_assert_eq!(written.matches("HTTP/1.1 100 Continue\r\n\r\n").count(), continues);
    }

    #[test]
    fn a_body_over_the_limit_is_refused_with_413_whatever_its_framing(
        r in sent(),
        sizes in proptest::collection::vec(1usize..600, 1..8),
    ) {
        let mut r = r;
        if r.body.is_empty() {
            r.method = "POST";
            r.body.push(b'x');
        }
        let limit = r.body.len() - 1;
        let mut conn = Trickle::new(wire(&r), sizes);
        match Reader::new().read_request(&mut conn, limit) {
            Err(ReadError::Refused(resp)) => prop_assert_eq!(resp.status, 413),
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        }
    }

    #[test]
    fn mutated_and_arbitrary_bytes_are_read_or_refused_never_past_the_limit(
        r in sent(),
        edits in proptest::collection::vec((0u16..1000, any::<u8>(), 0u8..3), 0..6),
        noise in proptest::collection::vec(any::<u8>(), 0..200),
        sizes in proptest::collection::vec(1usize..600, 1..8),
    ) {
        let bytes = edit(wire(&r), &edits);
        let limit = 2000;
        for input in [bytes, noise] {
            let mut conn = Trickle::new(input, sizes.clone());
            let mut reader = Reader::new();
            // Until the reader refuses, fails or runs dry: each request within the limit.
            for _ in 0..8 {
                match reader.read_request(&mut conn, limit) {
                    Ok(req) => prop_assert!(req.body.len() <= limit),
                    Err(ReadError::Refused(resp)) => {
                        prop_assert!((400..=505).contains(&resp.status), "{resp:?}");
                        break;
                    }
                    Err(_) => break,
                }
            }
        }
    }
}
