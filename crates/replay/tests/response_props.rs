//! The replay client's HTTP response reader on generated traffic: responses framed by
//! Content-Length, chunked (extensions, trailers) or the close, delivered in reads of any
//! size, come out as sent; arbitrary and mutated bytes from a server (a load tool is pointed
//! at servers no one here wrote) give a response or a failure, never a panic, never a body
//! over the bound.

use proptest::prelude::*;
use segur_replay::http::{MAX_BODY, read_response};

#[path = "../../sink/tests/support/wire.rs"]
mod support;
use support::{Trickle, edit};

#[derive(Debug, Clone, Copy)]
enum Framing {
    Length,
    Chunked,
    Close,
}

#[derive(Debug, Clone)]
struct Sent {
    status: u16,
    http10: bool,
    content_type: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    framing: Framing,
    chunk: usize,
    connection_close: bool,
    /// Interim responses sent first (RFC 9110 15.2: a client skips them).
    interim: usize,
}

fn sent() -> impl Strategy<Value = Sent> {
    (
        prop_oneof![
            Just(200u16),
            Just(201),
            Just(400),
            Just(422),
            Just(500),
            Just(503)
        ],
        any::<bool>(),
        proptest::option::of("[a-z]+/[a-z+.-]{1,20}(; charset=UTF-8)?"),
        proptest::collection::vec(("X-[A-Za-z]{1,10}", "[ -~]{0,30}"), 0..4),
        proptest::collection::vec(any::<u8>(), 0..3000),
        prop_oneof![
            Just(Framing::Length),
            Just(Framing::Chunked),
            Just(Framing::Close)
        ],
        1usize..900,
        (any::<bool>(), 0usize..3),
    )
        .prop_map(
            |(
                status,
                http10,
                content_type,
                headers,
                body,
                framing,
                chunk,
                (connection_close, interim),
            )| {
                Sent {
                    status,
                    http10,
                    content_type,
                    headers: headers
                        .into_iter()
                        .map(|(n, v)| (n, v.trim().to_string()))
                        .collect(),
                    body,
                    // HTTP/1.0 has no chunked coding.
                    framing: if http10 && matches!(framing, Framing::Chunked) {
                        Framing::Length
                    } else {
                        framing
                    },
                    chunk,
                    connection_close,
                    interim,
                }
            },
        )
}

fn wire(r: &Sent) -> Vec<u8> {
    let version = if r.http10 { "1.0" } else { "1.1" };
    let mut out = Vec::new();
    for i in 0..r.interim {
        let (code, extra) = [("100", ""), ("103", "Link: </style.css>; rel=preload\r\n")][i % 2];
        out.extend_from_slice(format!("HTTP/{version} {code} Interim\r\n{extra}\r\n").as_bytes());
    }
    out.extend_from_slice(format!("HTTP/{version} {} Reason\r\n", r.status).as_bytes());
    if let Some(t) = &r.content_type {
        out.extend_from_slice(format!("Content-Type: {t}\r\n").as_bytes());
    }
    for (n, v) in &r.headers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    if r.connection_close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    match r.framing {
        Framing::Length => {
            out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", r.body.len()).as_bytes());
            out.extend_from_slice(&r.body);
        }
        Framing::Chunked => {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            for c in r.body.chunks(r.chunk) {
                out.extend_from_slice(format!("{:x};ext=1\r\n", c.len()).as_bytes());
                out.extend_from_slice(c);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\nX-Trailer: t\r\n\r\n");
        }
        Framing::Close => {
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&r.body);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn responses_in_reads_of_any_size_come_out_as_sent(
        r in sent(),
        sizes in proptest::collection::vec(1usize..800, 1..8),
    ) {
        let mut conn = Trickle::new(wire(&r), sizes);
        let got = match read_response(&mut conn) {
            Ok(got) => got,
            Err(e) => return Err(TestCaseError::fail(format!("{e:?} for {r:?}"))),
        };
        prop_assert_eq!(got.status, r.status);
        prop_assert_eq!(&got.content_type, &r.content_type);
        prop_assert_eq!(&got.body, &r.body);
        let must_close = r.http10 || r.connection_close || matches!(r.framing, Framing::Close);
        prop_assert_eq!(got.close, must_close);
    }

    #[test]
    fn mutated_and_arbitrary_bytes_give_a_response_or_a_failure_never_a_panic(
        r in sent(),
        edits in proptest::collection::vec((0u16..1000, any::<u8>(), 0u8..3), 0..6),
        noise in proptest::collection::vec(any::<u8>(), 0..300),
        sizes in proptest::collection::vec(1usize..800, 1..8),
    ) {
        let bytes = edit(wire(&r), &edits);
        for data in [bytes, noise] {
            let mut conn = Trickle::new(data, sizes.clone());
            if let Ok(got) = read_response(&mut conn) {
                prop_assert!(got.body.len() <= MAX_BODY);
                prop_assert!((100..1000).contains(&got.status), "{}", got.status);
            }
        }
    }
}
