//! A minimal HTTP/1.1 server side: keep-alive (and pipelined requests) unless the client
//! asks `Connection: close` or speaks HTTP/1.0; the request line, headers and a
//! `Content-Length` or chunked body, all bounded, lines ending with CRLF only. Other
//! transfer codings are refused (501), and so are methods HTTP does not define (`post`), a
//! body without length too (411), a body over the limit (413) before it is read.

use std::io::{Read, Write};

/// Largest request line plus headers.
pub const MAX_HEAD: usize = 64 * 1024;
/// Most header fields.
pub const MAX_HEADERS: usize = 100;

/// A request as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method (`POST`).
    pub method: String,
    /// The target's path, without the query.
    pub path: String,
    /// Header fields in order (names as sent).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Whether the client wants the connection kept open (HTTP/1.1 without
    /// `Connection: close`).
    pub keep_alive: bool,
}

impl Request {
    /// The first value of a header field (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A response to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Content-Type of the body.
    pub content_type: String,
    /// Other header fields.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A plain-text response.
    pub fn text(status: u16, message: impl Into<String>) -> Response {
        let mut body = message.into().into_bytes();
        body.push(b'\n');
        Response {
            status,
            content_type: "text/plain; charset=utf-8".into(),
            headers: Vec::new(),
            body,
        }
    }

    /// Write it, with `Connection: close` when `close`, else `keep-alive`; the head alone
    /// when it answers a HEAD request (RFC 9110 9.3.2: the Content-Length is the GET one's,
    /// and no body follows, so the next response on the connection is read right).
    pub fn write_to(
        &self,
        w: &mut impl Write,
        close: bool,
        head_only: bool,
    ) -> std::io::Result<()> {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\n",
            self.status,
            reason(self.status),
            self.content_type,
            self.body.len(),
            if close { "close" } else { "keep-alive" }
        );
        for (n, v) in &self.headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head.push_str("\r\n");
        w.write_all(head.as_bytes())?;
        if !head_only {
            w.write_all(&self.body)?;
        }
        w.flush()
    }
}

/// The reason phrase of a status code.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    }
}

/// Why no request could be read: the answer to send, if the connection still allows one.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed the connection cleanly between requests.
    Closed,
    /// The peer closed or the connection failed before a whole request came.
    Io(std::io::Error),
    /// The request is refused with this response.
    Refused(Response),
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> Self {
        ReadError::Io(e)
    }
}

fn refuse(status: u16, message: impl Into<String>) -> ReadError {
    ReadError::Refused(Response::text(status, message))
}

/// Reads the requests of one connection, keeping bytes read past a request (a pipelined
/// next request) for the next call.
#[derive(Debug, Default)]
pub struct Reader {
    pending: Vec<u8>,
}

impl Reader {
    /// A reader with nothing pending.
    pub fn new() -> Reader {
        Reader::default()
    }

    /// Whether bytes of a next request were read already (a pipelined request).
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Read one request; bodies larger than `max_body` are refused with 413 before being
    /// read. After a refusal the connection must be closed (the body was not consumed).
    pub fn read_request<S: Read + Write>(
        &mut self,
        s: &mut S,
        max_body: usize,
    ) -> Result<Request, ReadError> {
        let buf = std::mem::take(&mut self.pending);
        let (req, rest) = read_one(s, buf, max_body)?;
        self.pending = rest;
        Ok(req)
    }
}

/// Read one request on a fresh connection (nothing pending).
pub fn read_request<S: Read + Write>(s: &mut S, max_body: usize) -> Result<Request, ReadError> {
    Reader::new().read_request(s, max_body)
}

fn read_one<S: Read + Write>(
    s: &mut S,
    mut buf: Vec<u8>,
    max_body: usize,
) -> Result<(Request, Vec<u8>), ReadError> {
    let mut chunk = [0u8; 8192];
    // Where the search for the end of the head resumes: a head trickling in byte by byte is
    // not searched again from its start for each byte.
    let mut searched: usize = 0;
    // Empty lines before the request line are ignored (RFC 9112 2.2: a server SHOULD ignore
    // at least one; some clients end a POST body with an extra CRLF), within the head's bound.
    let mut skipped = 0;
    let head_end = loop {
        let lead = buf.chunks_exact(2).take_while(|p| *p == b"\r\n").count() * 2;
        if lead > 0 {
            skipped += lead;
            if skipped > MAX_HEAD {
                return Err(refuse(400, "only empty lines where a request line belongs"));
            }
            buf.drain(..lead);
            searched = searched.saturating_sub(lead);
        }
        if let Some(end) = head_end(&buf, &mut searched)? {
            break end;
        }
        // A head of MAX_HEAD bytes and its CRLFCRLF are all in by now.
        if buf.len() >= MAX_HEAD + 4 {
            return Err(refuse(431, "request line and headers too large"));
        }
        let n = match s.read(&mut chunk) {
            Ok(n) => n,
            // rustls reports a close without close_notify as UnexpectedEof.
            Err(e) if buf.is_empty() && e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(e.into()),
        };
        if n == 0 {
            return Err(if buf.is_empty() {
                ReadError::Closed
            } else {
                ReadError::Io(std::io::ErrorKind::UnexpectedEof.into())
            });
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    if head_end > MAX_HEAD {
        return Err(refuse(431, "request line and headers too large"));
    }
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| refuse(400, "request head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let line = lines.next().unwrap_or("");
    if line.contains('\r') {
        return Err(refuse(
            400,
            "a bare CR in the request line: lines end with CRLF (RFC 9112 2.2)",
        ));
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(refuse(400, "malformed request line"));
    };
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(refuse(505, format!("unsupported version {version}")));
    }
    // A method is a case-sensitive token (RFC 9110 9.1): one that is not is a malformed
    // request; a token this server does not know (`post`, `M-SEARCH`) is not implemented
    // (RFC 9110 15.6.2). Known methods it does not serve get 405 from the service.
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Err(refuse(400, "malformed method"));
    }
    if !KNOWN_METHODS.contains(&method) {
        return Err(refuse(501, format!("method {method} not implemented")));
    }
    // A URI is visible ASCII (RFC 3986); the path goes on into the log.
    if target.is_empty() || !target.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(refuse(
            400,
            "the request target is empty or holds a character that is not visible ASCII",
        ));
    }
    let path = target.split('?').next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    for l in lines {
        if headers.len() >= MAX_HEADERS {
            return Err(refuse(431, "too many header fields"));
        }
        if l.starts_with([' ', '\t']) {
            return Err(refuse(
                400,
                "a header line starts with whitespace: obsolete line folding (RFC 9112 5.2)",
            ));
        }
        let Some((n, v)) = l.split_once(':') else {
            return Err(refuse(400, format!("malformed header field: {l}")));
        };
        if n.is_empty() || !n.bytes().all(is_tchar) {
            return Err(refuse(
                400,
                format!("header name {n:?} is not a token (RFC 9110 5.1)"),
            ));
        }
        let v = v.trim_matches([' ', '\t']);
        // CR, LF and NUL must be refused or replaced, other controls are as invalid (RFC
        // 9110 5.5): refused, so that the client learns of it.
        if let Some(c) = v.bytes().find(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(refuse(
                400,
                format!("header field {n} holds the control character 0x{c:02X} (RFC 9110 5.5)"),
            ));
        }
        headers.push((n.to_string(), v.to_string()));
    }
    // A server MUST refuse a 1.1 request without Host, and any with more than one (RFC 9112
    // 3.2): which one names the target would be a guess.
    let hosts = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Host"))
        .count();
    if hosts > 1 {
        return Err(refuse(
            400,
            "more than one Host header field (RFC 9112 3.2)",
        ));
    }
    if hosts == 0 && version == "HTTP/1.1" {
        return Err(refuse(
            400,
            "an HTTP/1.1 request without Host (RFC 9112 3.2)",
        ));
    }
    let close = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("Connection")
            && v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close"))
    });
    let mut req = Request {
        method: method.to_string(),
        path,
        headers,
        body: Vec::new(),
        keep_alive: version == "HTTP/1.1" && !close,
    };
    if let Some(te) = req.header("Transfer-Encoding") {
        let chunked = te
            .rsplit(',')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("chunked"));
        if !chunked || te.split(',').count() > 1 {
            return Err(refuse(
                501,
                format!(
                    "Transfer-Encoding {te:?} is not implemented: send chunked or Content-Length"
                ),
            ));
        }
        // Both framings at once is how requests are smuggled past proxies (RFC 9112 6.1).
        if req.header("Content-Length").is_some() {
            return Err(refuse(400, "both Transfer-Encoding and Content-Length"));
        }
        send_continue(s, &req)?;
        let (body, rest) = read_chunked(s, buf.split_off(head_end + 4), max_body)?;
        req.body = body;
        return Ok((req, rest));
    }
    let lengths: Vec<&str> = req
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
        .map(|(_, v)| v.as_str())
        .collect();
    let length = match lengths.as_slice() {
        [] if req.method == "POST" || req.method == "PUT" => {
            return Err(refuse(411, "a body needs Content-Length"));
        }
        [] => 0,
        // 1*DIGIT (RFC 9110 8.6): no sign, which `parse` would take and a proxy in front
        // might not, reading the body differently.
        [one] => Some(one)
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<usize>().ok())
            .ok_or_else(|| refuse(400, format!("bad Content-Length: {one}")))?,
        _ => return Err(refuse(400, "more than one Content-Length")),
    };
    if length > max_body {
        return Err(refuse(
            413,
            format!("body of {length} bytes is over the limit of {max_body}"),
        ));
    }
    send_continue(s, &req)?;
    let mut body = buf.split_off(head_end + 4);
    let rest = if body.len() > length {
        body.split_off(length)
    } else {
        Vec::new()
    };
    let have = body.len();
    body.resize(length, 0);
    s.read_exact(&mut body[have..])?;
    req.body = body;
    Ok((req, rest))
}

/// `100 Continue` when the client waits for it before sending the body it announced
/// (RFC 9110 10.1.1), once the request is known not to be refused for its framing or size.
fn send_continue<S: Write>(s: &mut S, req: &Request) -> std::io::Result<()> {
    if req
        .header("Expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        s.flush()?;
    }
    Ok(())
}

/// Decode a chunked body (RFC 9112 7.1) from `buf` (bytes already read past the head) and
/// `s`: the body, and the bytes read past its end. Chunk extensions and trailer fields are
/// read and dropped; a body over `max_body` is refused with 413.
fn read_chunked<S: Read + Write>(
    s: &mut S,
    mut buf: Vec<u8>,
    max_body: usize,
) -> Result<(Vec<u8>, Vec<u8>), ReadError> {
    let mut pos = 0;
    let mut body = Vec::new();
    loop {
        let size_line = chunk_line(s, &mut buf, &mut pos)?;
        let hex = size_line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(hex, 16)
            .ok()
            .filter(|_| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| refuse(400, format!("bad chunk size {hex:?}")))?;
        if size == 0 {
            let mut trailers = 0;
            loop {
                let t = chunk_line(s, &mut buf, &mut pos)?;
                if t.is_empty() {
                    break;
                }
                trailers += t.len();
                if trailers > MAX_HEAD {
                    return Err(refuse(431, "trailer fields too large"));
                }
            }
            return Ok((body, buf.split_off(pos)));
        }
        if body.len().saturating_add(size) > max_body {
            return Err(refuse(
                413,
                format!("chunked body over the limit of {max_body} bytes"),
            ));
        }
        // The chunk and its CRLF: what is buffered, then straight from the stream.
        let have = (buf.len() - pos).min(size);
        body.extend_from_slice(&buf[pos..pos + have]);
        pos += have;
        let start = body.len();
        body.resize(start + size - have, 0);
        s.read_exact(&mut body[start..])?;
        let mut crlf = [0u8; 2];
        let buffered = (buf.len() - pos).min(2);
        crlf[..buffered].copy_from_slice(&buf[pos..pos + buffered]);
        pos += buffered;
        s.read_exact(&mut crlf[buffered..])?;
        if &crlf != b"\r\n" {
            return Err(refuse(400, "chunk data not followed by CRLF"));
        }
        if pos > 64 * 1024 {
            buf.drain(..pos);
            pos = 0;
        }
    }
}

/// A character of a token (RFC 9110 5.6.2), as a header name is made of.
/// The methods of RFC 9110 9.3 and PATCH (RFC 5789).
const KNOWN_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// One CRLF-terminated line of a chunked body from `pos`, reading more as needed.
fn chunk_line<S: Read>(s: &mut S, buf: &mut Vec<u8>, pos: &mut usize) -> Result<String, ReadError> {
    const MAX_LINE: usize = 4096;
    let mut chunk = [0u8; 4096];
    let mut searched = *pos;
    loop {
        if let Some(cr) = next_crlf(buf, &mut searched)? {
            let l = String::from_utf8_lossy(&buf[*pos..cr]).into_owned();
            *pos = cr + 2;
            return Ok(l);
        }
        if buf.len() - *pos > MAX_LINE {
            return Err(refuse(400, "chunk size line or trailer too long"));
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(ReadError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The next CRLF of `buf` from `*from` (where its CR is), `None` when no LF has come yet;
/// `*from` moves past what was searched. A bare LF is refused at once, not waited past: RFC
/// 9112 2.2 lets a recipient take it as a line end, but a proxy in front that does not
/// would frame the request otherwise (request smuggling), and the sink is there to tell a
/// client what it gets wrong.
fn next_crlf(buf: &[u8], from: &mut usize) -> Result<Option<usize>, ReadError> {
    let Some(lf) = buf[*from..].iter().position(|&b| b == b'\n') else {
        *from = buf.len();
        return Ok(None);
    };
    let lf = *from + lf;
    if lf == 0 || buf[lf - 1] != b'\r' {
        return Err(refuse(
            400,
            "a line ends with a bare LF: HTTP/1.1 lines end with CRLF (RFC 9112 2.2)",
        ));
    }
    *from = lf + 1;
    Ok(Some(lf - 1))
}

/// Where the head of `buf` ends (its CRLFCRLF), searching on from `*searched`.
fn head_end(buf: &[u8], searched: &mut usize) -> Result<Option<usize>, ReadError> {
    while let Some(cr) = next_crlf(buf, searched)? {
        if cr >= 2 && &buf[cr - 2..cr] == b"\r\n" {
            return Ok(Some(cr - 2));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Duplex(std::io::Cursor<Vec<u8>>, Vec<u8>);
    impl Read for Duplex {
        fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
            self.0.read(b)
        }
    }
    impl Write for Duplex {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.1.write(b)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A client that sends `raw` in reads of at most `step` bytes, then waits: a read past
    /// it times out, as the socket's does at the connection timeout.
    struct Stalled(std::io::Cursor<Vec<u8>>, usize);
    impl Read for Stalled {
        fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
            let step = self.1.min(b.len());
            match self.0.read(&mut b[..step])? {
                0 => Err(std::io::ErrorKind::TimedOut.into()),
                n => Ok(n),
            }
        }
    }
    impl Write for Stalled {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn stalled(raw: &str, step: usize) -> Result<Request, ReadError> {
        Reader::new().read_request(&mut Stalled(std::io::Cursor::new(raw.into()), step), 100)
    }

    /// The status and the reason of a refusal.
    fn refusal(r: Result<Request, ReadError>) -> (u16, String) {
        match r {
            Err(ReadError::Refused(resp)) => (
                resp.status,
                String::from_utf8_lossy(&resp.body).into_owned(),
            ),
            other => (0, format!("{other:?}")),
        }
    }

    #[test]
    fn a_bare_lf_is_refused_at_once_not_waited_past() {
        let chunked = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
        for raw in [
            "GET / HTTP/1.1\nHost: a\n\n".to_string(),
            "GET / HTTP/1.1\r\nHost: a\n\r\n".into(),
            "GET / HTTP/1.1\r\nHost: a\r\n\n".into(),
            "GET / HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n".into(),
            format!("{chunked}3\nabc\r\n0\r\n\r\n"),
            format!("{chunked}3\r\nabc\r\n0\n\n"),
            format!("{chunked}0\r\nX-Trailer: 1\n\r\n"),
        ] {
            for step in [1, 4096] {
                let (status, reason) = refusal(stalled(&raw, step));
                assert_eq!(status, 400, "{raw:?}: {reason}");
                assert!(reason.contains("bare LF"), "{raw:?}: {reason}");
            }
        }
        // A bare LF in a body is the body's.
        let r = stalled(
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\na\nb",
            1,
        )
        .expect("read");
        assert_eq!(r.body, b"a\nb");
    }

    #[test]
    fn host_is_required_once_in_http_1_1() {
        for (raw, status) in [
            ("GET / HTTP/1.1\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400),
            ("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400),
        ] {
            let (got, reason) = refusal(stalled(raw, 4096));
            assert_eq!(got, status, "{raw:?}: {reason}");
            assert!(reason.contains("Host"), "{reason}");
        }
        // HTTP/1.0 may leave it out.
        assert_eq!(
            stalled("GET /x HTTP/1.0\r\n\r\n", 4096).expect("1.0").path,
            "/x"
        );
    }

    #[test]
    fn a_head_response_is_written_without_its_body() {
        let r = Response::text(200, "ok");
        let (mut get, mut head) = (Vec::new(), Vec::new());
        r.write_to(&mut get, false, false).expect("get");
        r.write_to(&mut head, false, true).expect("head");
        let get = String::from_utf8(get).expect("utf-8");
        let head = String::from_utf8(head).expect("utf-8");
        assert!(get.ends_with("\r\n\r\nok\n"), "{get}");
        assert_eq!(head, get.trim_end_matches("ok\n"));
        assert!(head.contains("Content-Length: 3\r\n"), "{head}");
    }

    #[test]
    fn methods_are_case_sensitive_tokens() {
        // A token the server does not know is not implemented; what is no token is malformed.
        for (method, status) in [
            ("post", 501),
            ("Get", 501),
            ("M-SEARCH", 501),
            ("PO/ST", 400),
            ("P\u{e9}ST", 400),
        ] {
            let raw = format!("{method} / HTTP/1.1\r\nHost: a\r\n\r\n");
            let (got, reason) = refusal(stalled(&raw, 4096));
            assert_eq!(got, status, "{method}: {reason}");
        }
        // Known methods are read; the service answers those it does not serve with 405.
        for method in ["GET", "POST", "DELETE", "PATCH"] {
            let raw = format!("{method} /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
            assert_eq!(stalled(&raw, 4096).expect(method).method, method);
        }
    }

    #[test]
    fn empty_lines_before_the_request_line_are_ignored() {
        // RFC 9112 2.2; a client that ends a POST body with an extra CRLF sends one before
        // its next request on the connection.
        for step in [1, 4096] {
            let r = stalled("\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n", step).expect("read");
            assert_eq!(r.path, "/x");
        }
        let mut reader = Reader::new();
        let mut conn = Duplex(
            std::io::Cursor::new(
                b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nz\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n"
                    .to_vec(),
            ),
            Vec::new(),
        );
        assert_eq!(
            reader.read_request(&mut conn, 10).expect("first").body,
            b"z"
        );
        assert_eq!(
            reader.read_request(&mut conn, 10).expect("second").path,
            "/b"
        );
        // A bare CR is not a line end.
        let (status, reason) = refusal(stalled("GET / HTTP/1.1\r\rHost: a\r\n\r\n", 4096));
        assert_eq!(
            (status, reason.contains("bare CR")),
            (400, true),
            "{reason}"
        );
        // Nothing but empty lines: refused once past the head's bound, not read forever.
        let empty = "\r\n".repeat(MAX_HEAD / 2 + 8);
        assert_eq!(refusal(stalled(&empty, 8192)).0, 400);
    }

    #[test]
    fn a_head_is_bounded_the_same_whatever_the_read_sizes() {
        // No line end at all: refused once past the limit, not waited on.
        let endless = format!("GET /{}", "a".repeat(MAX_HEAD + 8));
        for step in [1000, 8192] {
            assert_eq!(refusal(stalled(&endless, step)).0, 431);
        }
        // A head of MAX_HEAD bytes is read, its CRLFCRLF arriving whole or a byte at a time.
        let start = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
        let head = format!("{start}{}", "a".repeat(MAX_HEAD - start.len()));
        for step in [1, 8192] {
            let r = stalled(&format!("{head}\r\n\r\n"), step).expect("at the limit");
            assert_eq!(r.header("x").map(str::len), Some(MAX_HEAD - start.len()));
            let over = format!("{head}a\r\n\r\n");
            assert_eq!(refusal(stalled(&over, step)).0, 431);
        }
    }

    #[test]
    fn control_characters_and_names_that_are_not_tokens_are_refused() {
        for (raw, says) in [
            ("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", "0x00"),
            ("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", "0x0D"),
            ("GET / HTTP/1.1\r\nHost: a\r\nX: \x1b[2J\r\n\r\n", "0x1B"),
            ("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", "0x7F"),
            ("GET / HTTP/1.1\r\nHost: a\r\nX: a\x0c\r\n\r\n", "0x0C"),
            ("GET / HTTP/1.1\r\nHost: a\r\nX\0: a\r\n\r\n", "not a token"),
            (
                "GET / HTTP/1.1\r\nHost: a\r\nX(y): a\r\n\r\n",
                "not a token",
            ),
            (
                "GET / HTTP/1.1\r\nHost: a\r\nX\u{e9}: a\r\n\r\n",
                "not a token",
            ),
            ("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", "folding"),
            ("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n", "visible ASCII"),
            ("GET /a\x1bb HTTP/1.1\r\nHost: a\r\n\r\n", "visible ASCII"),
            ("GET  HTTP/1.1\r\nHost: a\r\n\r\n", "request target"),
        ] {
            let (status, reason) = refusal(stalled(raw, 4096));
            assert_eq!(status, 400, "{raw:?}: {reason}");
            assert!(reason.contains(says), "{raw:?}: {reason}");
        }
        // A tab inside a value, obs-text and the token characters are fine.
        let r = stalled(
            "GET /a?b=%20 HTTP/1.1\r\nHost: a\r\nX-A!#$%&'*+.^_`|~: a\tb \u{e9}\t\r\n\r\n",
            4096,
        )
        .expect("read");
        assert_eq!(r.header("x-a!#$%&'*+.^_`|~"), Some("a\tb \u{e9}"));
    }

    fn read(raw: &str, max: usize) -> Result<Request, ReadError> {
        let mut d = Duplex(std::io::Cursor::new(raw.as_bytes().to_vec()), Vec::new());
        read_request(&mut d, max)
    }

    fn status(r: Result<Request, ReadError>) -> u16 {
        match r {
            Err(ReadError::Refused(resp)) => resp.status,
            Ok(_) => 0,
            Err(ReadError::Io(_)) => 1,
            Err(ReadError::Closed) => 2,
        }
    }

    #[test]
    fn requests() {
        let r = read(
            "POST /iti41?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
            10,
        )
        .expect("ok");
        assert_eq!(
            (r.path.as_str(), r.body.as_slice()),
            ("/iti41", &b"abc"[..])
        );
        assert_eq!(r.header("host"), Some("a"));
        assert!(r.keep_alive);
        // Two pipelined requests, the second asking to close.
        let mut d = Duplex(
            std::io::Cursor::new(
                b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nxyGET /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                    .to_vec(),
            ),
            Vec::new(),
        );
        let mut reader = Reader::new();
        let a = reader.read_request(&mut d, 10).expect("first");
        let b = reader.read_request(&mut d, 10).expect("second");
        assert_eq!((a.path.as_str(), a.body.as_slice()), ("/a", &b"xy"[..]));
        assert_eq!((b.path.as_str(), b.keep_alive), ("/b", false));
        assert!(matches!(
            reader.read_request(&mut d, 10),
            Err(ReadError::Closed)
        ));
        assert_eq!(
            status(read(
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                10
            )),
            501
        );
        assert_eq!(status(read("POST / HTTP/1.1\r\nHost: a\r\n\r\n", 10)), 411);
        assert_eq!(
            status(read(
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n",
                10
            )),
            413
        );
        assert_eq!(status(read("GARBAGE\r\n\r\n", 10)), 400);
        // A sign, which `str::parse` takes and RFC 9110 does not: a proxy in front could
        // frame the body otherwise.
        for length in ["+3", "-0", " ", "3 3", "0x3"] {
            let r = format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:{length}\r\n\r\nabc");
            assert_eq!(status(read(&r, 10)), 400, "{length:?}");
        }
        assert_eq!(
            status(read(
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab",
                10
            )),
            1
        );
        assert_eq!(status(read("", 10)), 2);
        assert!(
            matches!(
                read("GET / HTTP/1.0\r\n\r\n", 10).map(|r| r.keep_alive),
                Ok(false)
            ),
            "HTTP/1.0 is read, and not kept alive"
        );
        let long = format!(
            "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
            "a".repeat(MAX_HEAD)
        );
        assert_eq!(status(read(&long, 10)), 431);
    }

    #[test]
    fn chunked_bodies_are_decoded_and_bounded() {
        let mut d = Duplex(
            std::io::Cursor::new(
                b"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
                  3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n\
                  GET /next HTTP/1.1\r\nHost: a\r\n\r\n"
                    .to_vec(),
            ),
            Vec::new(),
        );
        let mut reader = Reader::new();
        let r = reader.read_request(&mut d, 100).expect("chunked");
        assert_eq!(r.body, b"abc0123456789");
        let next = reader
            .read_request(&mut d, 100)
            .expect("the pipelined request");
        assert_eq!(next.path, "/next");
        let chunked = |body: &str, max| {
            read(
                &format!("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n{body}"),
                max,
            )
        };
        assert_eq!(status(chunked("5\r\nabcde\r\n0\r\n\r\n", 4)), 413);
        assert_eq!(status(chunked("zz\r\n", 10)), 400);
        assert_eq!(status(chunked("+3\r\nabc\r\n0\r\n\r\n", 10)), 400);
        assert_eq!(status(chunked("3\r\nabcXY", 10)), 400);
        assert_eq!(status(chunked("FFFFFFFFFFFFFFFFFFFF\r\n", 10)), 400);
        assert_eq!(status(chunked("3\r\nab", 10)), 1, "cut short");
        assert_eq!(
            status(read(
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc",
                10
            )),
            400,
            "both framings"
        );
    }
}
