//! A minimal blocking HTTP/1.1 client over rustls: a [`Session`] per virtual user keeps its
//! TLS connection open between requests when the server allows (persistent connections),
//! reconnects when the server has closed it, and reads Content-Length, chunked or
//! until-close bodies, bounded.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use segur_tls::explain::{Side, explain};
use segur_tls::rustls::pki_types::ServerName;
use segur_tls::rustls::{ClientConfig, ClientConnection, ProtocolVersion, StreamOwned};

use crate::Prepared;
use crate::run::Failure;

/// The largest response head read (status line and headers).
pub const MAX_HEAD: usize = 64 * 1024;
/// The largest response body read.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// The reason given when the server closes the connection while the request is written and
/// its TLS alert is lost with the reset (only when the post-handshake probe saw nothing).
pub const REFUSED_AFTER_HANDSHAKE: &str = "the server closed the connection while the request was being sent, right after the handshake: with TLS 1.3 this is how a refused client certificate shows when its alert is lost";

/// The reason given when the server closes right after a TLS 1.3 handshake without an alert.
pub const CLOSED_AFTER_HANDSHAKE: &str = "the server closed the connection right after the TLS handshake without saying why (no TLS alert): it may have refused the client certificate";

/// A response: its status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The Content-Type header, if any.
    pub content_type: Option<String>,
    /// The body (at most [`MAX_BODY`] bytes).
    pub body: Vec<u8>,
    /// The connection cannot carry another request (`Connection: close`, HTTP/1.0, or a
    /// body delimited by the close).
    pub close: bool,
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct Connector {
    /// The resolved addresses, tried in order.
    pub addrs: Vec<SocketAddr>,
    /// The `Host` header value.
    pub host_header: String,
    /// The name the server certificate must carry.
    pub server_name: ServerName<'static>,
    /// Request path.
    pub path: String,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Read/write timeout.
    pub timeout: Duration,
    /// After a TLS 1.3 handshake, how long to wait for the server's first records (session
    /// tickets, or the alert refusing the client certificate) before writing; zero: no wait.
    pub probe: Duration,
    /// Keep connections open between requests (else `Connection: close` on each).
    pub keep_alive: bool,
}

/// A TLS stream over TCP, as [`Connector::open`] returns it.
pub type Stream = StreamOwned<ClientConnection, TcpStream>;

/// How one exchange on a connection ended badly.
enum Broken {
    /// A reused connection turned out closed before any byte of the answer: resend on a new one.
    Stale,
    /// The request failed.
    Failed(Failure),
}

/// One virtual user's connection, kept open between requests when the server allows.
pub struct Session {
    tls: Arc<ClientConfig>,
    stream: Option<Stream>,
    /// TLS handshakes begun (TCP connections made), refused ones included.
    pub handshakes: u64,
    /// Requests that found their kept-alive connection closed by the server and went on a
    /// new one (sent again only when writing it failed: the server had closed the connection
    /// and cannot have read it).
    pub reconnects: u64,
}

impl Session {
    /// A session with no connection yet, using `tls` (this user's identity).
    pub fn new(tls: Arc<ClientConfig>) -> Session {
        Session {
            tls,
            stream: None,
            handshakes: 0,
            reconnects: 0,
        }
    }

    /// Send one request, on the kept-alive connection when there is a live one, and read the
    /// whole response. A request is sent at most twice, and twice only when writing it on the
    /// reused connection failed (the server had closed it): it is counted once. A request
    /// written whole is never sent again, answered or not: a POST is not retried (RFC 9112
    /// 9.3.1), and a server that drops it is counted as failing.
    pub fn post(&mut self, c: &Connector, req: &Prepared) -> Result<Response, Failure> {
        if let Some(mut stream) = self.stream.take() {
            if still_open(&mut stream) {
                match exchange(&mut stream, c, req, true) {
                    Ok(r) => {
                        if !r.close && c.keep_alive {
                            self.stream = Some(stream);
                        }
                        return Ok(r);
                    }
                    Err(Broken::Failed(f)) => return Err(f),
                    Err(Broken::Stale) => {}
                }
            }
            self.reconnects += 1;
        }
        let opened = c.open(&self.tls);
        if !matches!(opened, Err(Failure::Connect(_))) {
            self.handshakes += 1;
        }
        let mut stream = opened?;
        match exchange(&mut stream, c, req, false) {
            Ok(r) => {
                if !r.close && c.keep_alive {
                    self.stream = Some(stream);
                }
                Ok(r)
            }
            Err(Broken::Failed(f)) => Err(f),
            Err(Broken::Stale) => Err(Failure::Protocol(NOTHING.into())),
        }
    }
}

const NOTHING: &str = "connection closed without a response";

/// Why a request written whole on a kept-alive connection is not sent again.
const DROPPED_AFTER_WRITE: &str = "the server closed the kept-alive connection after the request was written, without answering; not sent again (a POST is not retried, RFC 9112 9.3.1)";

/// Whether a kept-alive connection is still usable: no close_notify nor TCP close pending.
pub(crate) fn still_open(s: &mut Stream) -> bool {
    if s.sock.set_nonblocking(true).is_err() {
        return false;
    }
    let open = loop {
        match s.conn.read_tls(&mut s.sock) {
            Ok(0) => break false,
            Ok(_) => match s.conn.process_new_packets() {
                Ok(st) if st.peer_has_closed() => break false,
                Ok(_) => continue,
                Err(_) => break false,
            },
            Err(e) if e.kind() == ErrorKind::WouldBlock => break true,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break false,
        }
    };
    s.sock.set_nonblocking(false).is_ok() && open
}

pub(crate) fn is_closed(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::BrokenPipe
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::UnexpectedEof
    )
}

/// Write the request and read its response; `reused`: the connection carried one before.
fn exchange(
    s: &mut Stream,
    c: &Connector,
    req: &Prepared,
    reused: bool,
) -> Result<Response, Broken> {
    let started = Instant::now();
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\n",
        c.path,
        c.host_header,
        req.content_type,
        req.body.len(),
        if c.keep_alive { "keep-alive" } else { "close" }
    );
    for (n, v) in &req.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let sent = s
        .write_all(head.as_bytes())
        .and_then(|()| s.write_all(&req.body))
        .and_then(|()| s.flush());
    if let Err(e) = sent {
        if reused && is_closed(&e) && e.get_ref().is_none() {
            return Err(Broken::Stale);
        }
        // A fresh connection: the server may have refused the client certificate (TLS 1.3,
        // after our Finished) and its alert, if still readable, names the reason.
        return match read_response(s) {
            Err(f @ Failure::Tls(_)) => Err(Broken::Failed(f)),
            _ if is_closed(&e) && e.get_ref().is_none() => {
                Err(Broken::Failed(Failure::Tls(REFUSED_AFTER_HANDSHAKE.into())))
            }
            _ => Err(Broken::Failed(classify(e))),
        };
    }
    let read = read_inner(&mut Deadlined::new(s, started + c.timeout, c.timeout));
    match read {
        Ok(r) => Ok(r),
        // Closed after the whole request was written, nothing answered: the server may have
        // applied it (the sink's dropped-connection fault does exactly this). Not sent again.
        Err((f, true)) if reused && !matches!(f, Failure::Tls(_) | Failure::Timeout(_)) => Err(
            Broken::Failed(Failure::Protocol(DROPPED_AFTER_WRITE.into())),
        ),
        Err((f, _)) => Err(Broken::Failed(f)),
    }
}

impl Connector {
    /// Resolve `host:port` once.
    pub fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, Failure> {
        let addrs: Vec<_> = (host, port)
            .to_socket_addrs()
            .map_err(|e| Failure::Connect(format!("cannot resolve {host}: {e}")))?
            .collect();
        if addrs.is_empty() {
            return Err(Failure::Connect(format!("{host}: no address")));
        }
        Ok(addrs)
    }

    fn connect(&self) -> Result<TcpStream, Failure> {
        let mut last = None;
        for a in &self.addrs {
            match TcpStream::connect_timeout(a, self.connect_timeout) {
                Ok(s) => return Ok(s),
                Err(e) => last = Some((a, e)),
            }
        }
        Err(match last {
            Some((a, e)) if is_timeout(&e) => Failure::Timeout(format!("connect to {a}")),
            Some((a, e)) => Failure::Connect(format!("{a}: {e}")),
            None => Failure::Connect("no address".into()),
        })
    }

    /// A new connection with its TLS handshake done. Under TLS 1.3 the server judges the
    /// client certificate after the client's Finished, so before anything is written the
    /// server's first records are awaited (up to [`Connector::probe`]): session tickets mean
    /// accepted, an alert names the refusal. Writing first would make the server's close a
    /// TCP reset, which discards its alert.
    pub fn open(&self, tls: &Arc<ClientConfig>) -> Result<Stream, Failure> {
        let tcp = self.connect_tcp()?;
        self.handshake(tcp, tls)
    }

    /// A TCP connection with the read/write timeouts set.
    pub fn connect_tcp(&self) -> Result<TcpStream, Failure> {
        let tcp = self.connect()?;
        tcp.set_read_timeout(Some(self.timeout)).map_err(classify)?;
        tcp.set_write_timeout(Some(self.timeout))
            .map_err(classify)?;
        let _ = tcp.set_nodelay(true);
        Ok(tcp)
    }

    /// The TLS handshake over `tcp` (fresh, or after SMTP STARTTLS), then the TLS 1.3 wait
    /// for the server's verdict described at [`Connector::open`].
    pub fn handshake(
        &self,
        mut tcp: TcpStream,
        tls: &Arc<ClientConfig>,
    ) -> Result<Stream, Failure> {
        let mut conn = ClientConnection::new(tls.clone(), self.server_name.clone())
            .map_err(|e| Failure::Tls(explain(&e, Side::Client).text))?;
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp).map_err(handshake_failure)?;
        }
        while conn.wants_write() {
            conn.write_tls(&mut tcp).map_err(handshake_failure)?;
        }
        if conn.protocol_version() == Some(ProtocolVersion::TLSv1_3) && !self.probe.is_zero() {
            tcp.set_read_timeout(Some(self.probe)).map_err(classify)?;
            let seen = probe(&mut conn, &mut tcp);
            tcp.set_read_timeout(Some(self.timeout)).map_err(classify)?;
            seen?;
        }
        Ok(StreamOwned::new(conn, tcp))
    }
}

/// Read what the server sends right after a TLS 1.3 handshake: nothing within the wait or
/// a session ticket is taken as accepted, an alert or a close as refused.
fn probe(conn: &mut ClientConnection, tcp: &mut TcpStream) -> Result<(), Failure> {
    loop {
        match conn.read_tls(tcp) {
            Ok(0) => return Err(Failure::Tls(CLOSED_AFTER_HANDSHAKE.into())),
            Ok(_) => {
                return match conn.process_new_packets() {
                    Err(e) => {
                        // Answer the alert with ours, politely; the connection is over.
                        let _ = conn.write_tls(tcp);
                        Err(Failure::Tls(explain(&e, Side::Client).text))
                    }
                    Ok(st) if st.peer_has_closed() => {
                        Err(Failure::Tls(CLOSED_AFTER_HANDSHAKE.into()))
                    }
                    Ok(_) => Ok(()),
                };
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => return Ok(()),
            Err(e) if is_closed(&e) => return Err(Failure::Tls(CLOSED_AFTER_HANDSHAKE.into())),
            Err(e) => return Err(classify(e)),
        }
    }
}

/// A failure inside the handshake: TLS errors explained, a close said so.
fn handshake_failure(e: std::io::Error) -> Failure {
    if e.get_ref().is_none() && is_closed(&e) {
        return Failure::Tls(format!(
            "the server closed the connection during the TLS handshake without a TLS alert ({e})"
        ));
    }
    classify(e)
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock)
}

/// An I/O error in words: a TLS failure explained, a timeout, or plain I/O.
pub(crate) fn classify(e: std::io::Error) -> Failure {
    if let Some(t) = e
        .get_ref()
        .and_then(|i| i.downcast_ref::<segur_tls::rustls::Error>())
    {
        return Failure::Tls(explain(t, Side::Client).text);
    }
    if is_timeout(&e) {
        return Failure::Timeout("read/write".into());
    }
    // A close without close_notify, a reset: said in words, still counted as `io`.
    match segur_tls::explain::explain_io(&e, Side::Client) {
        Some(x) => Failure::Io(x.text),
        None => Failure::Io(e.to_string()),
    }
}

/// A connection whose reads share one deadline: a server trickling its answer byte by byte
/// cannot hold a request past its timeout (each read alone waits at most `per_read`, the
/// connection's own timeout, put back when this is dropped).
pub(crate) struct Deadlined<'a, S: TimedRead> {
    s: &'a mut S,
    until: Instant,
    per_read: Duration,
    /// Whether a read waited less than `per_read` (the connection's timeout, put back after).
    shortened: bool,
}

/// A connection's reads, and their timeout.
pub(crate) trait TimedRead: Read {
    /// Sets how long one read may wait.
    fn set_read_timeout(&mut self, t: Duration) -> std::io::Result<()>;
}

impl TimedRead for Stream {
    fn set_read_timeout(&mut self, t: Duration) -> std::io::Result<()> {
        self.sock.set_read_timeout(Some(t))
    }
}

impl<'a, S: TimedRead> Deadlined<'a, S> {
    pub(crate) fn new(s: &'a mut S, until: Instant, per_read: Duration) -> Deadlined<'a, S> {
        Deadlined {
            s,
            until,
            per_read,
            shortened: false,
        }
    }
}

impl<S: TimedRead> Drop for Deadlined<'_, S> {
    /// The connection's own read timeout again, for its next request.
    fn drop(&mut self) {
        if self.shortened {
            let _ = self.s.set_read_timeout(self.per_read);
        }
    }
}

impl<S: TimedRead + Write> Write for Deadlined<'_, S> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.s.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.s.flush()
    }
}

impl<S: TimedRead> Read for Deadlined<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(
                ErrorKind::TimedOut,
                "the request's timeout ran out",
            ));
        }
        if left < self.per_read {
            self.s.set_read_timeout(left)?;
            self.shortened = true;
        }
        self.s.read(buf)
    }
}

/// Read one response: a status line, headers and a Content-Length, chunked or until-close
/// body, bounded.
pub fn read_response(s: &mut impl Read) -> Result<Response, Failure> {
    read_inner(s).map_err(|(f, _)| f)
}

/// Bytes read from the connection, with a cursor past what was consumed.
struct Input<'a, R> {
    r: &'a mut R,
    buf: Vec<u8>,
    pos: usize,
}

impl<R: Read> Input<'_, R> {
    /// Read more; `Ok(false)` at the end of the stream.
    fn more(&mut self) -> Result<bool, Failure> {
        if self.pos > 64 * 1024 && self.pos * 2 > self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.r.read(&mut chunk) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(true);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // No close_notify before the TCP close: rustls says UnexpectedEof.
                Err(e) if e.kind() == ErrorKind::UnexpectedEof && e.get_ref().is_none() => {
                    return Ok(false);
                }
                Err(e) => return Err(classify(e)),
            }
        }
    }

    fn rest(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// One CRLF-terminated line (without the CRLF), at most `max` bytes.
    fn line(&mut self, max: usize) -> Result<String, Failure> {
        loop {
            if let Some(i) = self.rest().windows(2).position(|w| w == b"\r\n") {
                let l = String::from_utf8_lossy(&self.rest()[..i]).into_owned();
                self.pos += i + 2;
                return Ok(l);
            }
            if self.rest().len() > max {
                return Err(Failure::Protocol("chunked body: line too long".into()));
            }
            if !self.more()? {
                return Err(Failure::Protocol(
                    "connection closed inside the chunked body".into(),
                ));
            }
        }
    }

    /// Exactly `n` bytes.
    fn take(&mut self, n: usize) -> Result<&[u8], Failure> {
        while self.rest().len() < n {
            if !self.more()? {
                return Err(Failure::Protocol(
                    "connection closed inside the body".into(),
                ));
            }
        }
        let at = self.pos;
        self.pos += n;
        Ok(&self.buf[at..at + n])
    }
}

/// How the body is delimited.
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// Interim responses skipped before a final one, at most.
const MAX_INTERIM: usize = 8;

/// [`read_response`], also saying whether nothing at all was read before the failure.
fn read_inner(s: &mut impl Read) -> Result<Response, (Failure, bool)> {
    let mut input = Input {
        r: s,
        buf: Vec::with_capacity(8192),
        pos: 0,
    };
    // Interim responses (`100 Continue`, `103 Early Hints`) may come before the final one: a
    // client reads and skips them, expected or not (RFC 9110 15.2).
    for _ in 0..=MAX_INTERIM {
        // How much of the head holds no end yet: a head trickling in is not searched again
        // from its start for each read.
        let mut searched = 0;
        let head_end = loop {
            if let Some(i) = input.rest()[searched..]
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
            {
                break input.pos + searched + i;
            }
            searched = input.rest().len().saturating_sub(3);
            if input.rest().len() > MAX_HEAD {
                return Err((
                    Failure::Protocol(format!("response head over {MAX_HEAD} bytes")),
                    false,
                ));
            }
            let empty = input.buf.is_empty();
            match input.more() {
                Ok(true) => {}
                Ok(false) if empty => return Err((Failure::Protocol(NOTHING.into()), true)),
                Ok(false) => {
                    return Err((
                        Failure::Protocol("connection closed inside the response head".into()),
                        false,
                    ));
                }
                Err(f) => return Err((f, empty)),
            }
        };
        let head = String::from_utf8_lossy(&input.buf[input.pos..head_end]).into_owned();
        input.pos = head_end + 4;
        let status = head.split("\r\n").next().and_then(status_code);
        if status.is_some_and(|c| (100..200).contains(&c) && c != 101) {
            continue;
        }
        return read_body(&head, &mut input).map_err(|f| (f, false));
    }
    Err((
        Failure::Protocol(format!(
            "more than {MAX_INTERIM} interim responses before the final one"
        )),
        false,
    ))
}

/// The code of a status line `HTTP/1.x SP 3DIGIT [SP reason]` (RFC 9112 4), when it is one
/// and from 100 to 599 (RFC 9110 15).
fn status_code(status_line: &str) -> Option<u16> {
    status_line
        .strip_prefix("HTTP/1.")
        .filter(|r| r.len() >= 5 && r.as_bytes()[1] == b' ')
        .and_then(|r| r.get(2..5))
        .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
        .filter(|_| status_line.as_bytes().get(12).is_none_or(|&b| b == b' '))
        .and_then(|c| c.parse().ok())
        .filter(|c| (100..600).contains(c))
}

fn read_body<R: Read>(head: &str, input: &mut Input<'_, R>) -> Result<Response, Failure> {
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_code(status_line)
        .ok_or_else(|| Failure::Protocol(format!("bad status line {status_line:?}")))?;
    let http10 = status_line.starts_with("HTTP/1.0");
    let mut framing = Framing::UntilClose;
    let mut close = http10;
    let mut content_type = None;
    for l in lines {
        let Some((n, v)) = l.split_once(':') else {
            continue;
        };
        let (n, v) = (n.trim(), v.trim());
        if n.eq_ignore_ascii_case("content-length") && !matches!(framing, Framing::Chunked) {
            let len = Some(v)
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<usize>().ok())
                .ok_or_else(|| Failure::Protocol(format!("bad Content-Length {v:?}")))?;
            if len > MAX_BODY {
                return Err(Failure::Protocol(format!(
                    "response body over {MAX_BODY} bytes"
                )));
            }
            framing = Framing::Length(len);
        } else if n.eq_ignore_ascii_case("transfer-encoding") {
            if v.rsplit(',')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("chunked"))
            {
                framing = Framing::Chunked;
            } else {
                return Err(Failure::Protocol(format!(
                    "unsupported Transfer-Encoding {v:?}"
                )));
            }
        } else if n.eq_ignore_ascii_case("content-type") {
            content_type.get_or_insert_with(|| v.to_string());
        } else if n.eq_ignore_ascii_case("connection") {
            for t in v.split(',').map(str::trim) {
                if t.eq_ignore_ascii_case("close") {
                    close = true;
                } else if t.eq_ignore_ascii_case("keep-alive") {
                    close = false;
                }
            }
        }
    }
    // 1xx, 204 and 304 have no body.
    if (100..200).contains(&status) || status == 204 || status == 304 {
        framing = Framing::Length(0);
    }
    let body = match framing {
        Framing::Length(n) => input.take(n)?.to_vec(),
        Framing::Chunked => {
            let mut body = Vec::new();
            loop {
                let line = input.line(1024)?;
                let hex = line.split(';').next().unwrap_or_default().trim();
                let size = Some(hex)
                    .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
                    .and_then(|h| usize::from_str_radix(h, 16).ok())
                    .ok_or_else(|| Failure::Protocol(format!("bad chunk size {hex:?}")))?;
                if size == 0 {
                    // Trailer fields, up to the empty line.
                    let mut trailers = 0usize;
                    loop {
                        let t = input.line(MAX_HEAD)?;
                        trailers += t.len();
                        if t.is_empty() {
                            break;
                        }
                        if trailers > MAX_HEAD {
                            return Err(Failure::Protocol("chunked trailers too long".into()));
                        }
                    }
                    break;
                }
                if body.len().saturating_add(size) > MAX_BODY {
                    return Err(Failure::Protocol(format!(
                        "response body over {MAX_BODY} bytes"
                    )));
                }
                let data = input.take(size + 2)?;
                if &data[size..] != b"\r\n" {
                    return Err(Failure::Protocol("chunk not followed by CRLF".into()));
                }
                body.extend_from_slice(&data[..size]);
            }
            body
        }
        Framing::UntilClose => {
            close = true;
            while input.more()? {
                if input.rest().len() > MAX_BODY {
                    return Err(Failure::Protocol(format!(
                        "response body over {MAX_BODY} bytes"
                    )));
                }
            }
            input.rest().to_vec()
        }
    };
    // Bytes past the response (we never pipeline): the framing is off, start afresh.
    if input.pos < input.buf.len() {
        close = true;
    }
    Ok(Response {
        status,
        content_type,
        body,
        close,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_close_without_close_notify_is_said_in_words() {
        let e = std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "peer closed connection without sending TLS close_notify: https://docs.rs/rustls/",
        );
        match classify(e) {
            Failure::Io(text) => {
                assert!(text.contains("the server closed the connection"), "{text}");
                assert!(!text.contains("docs.rs"), "{text}");
            }
            other => panic!("{other:?}"),
        }
        let other = std::io::Error::other("something else");
        assert_eq!(classify(other), Failure::Io("something else".into()));
    }

    fn read(bytes: &[u8]) -> Result<Response, Failure> {
        let mut r = bytes;
        read_response(&mut r)
    }

    #[test]
    fn a_status_is_three_digits_from_100_to_599() {
        for bad in [
            "HTTP/1.1 +20 OK",
            "HTTP/1.1 020 Odd",
            "HTTP/1.1 2000 Long",
            "HTTP/1.1 700 Out",
            "HTTP/1.1 20",
            "HTTP/1.1200 OK",
            "HTTP/2 200 OK",
        ] {
            let r = read(format!("{bad}\r\nContent-Length: 0\r\n\r\n").as_bytes());
            assert!(matches!(r, Err(Failure::Protocol(_))), "{bad}: {r:?}");
        }
        for good in ["HTTP/1.1 200 OK", "HTTP/1.1 204", "HTTP/1.0 599 X"] {
            let r = read(format!("{good}\r\nContent-Length: 0\r\n\r\n").as_bytes());
            assert!(r.is_ok(), "{good}: {r:?}");
        }
    }

    /// A server that sends one byte of its answer every 20 ms.
    struct Trickling {
        data: Vec<u8>,
        at: usize,
        timeouts: Vec<Duration>,
    }

    impl Read for Trickling {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            std::thread::sleep(Duration::from_millis(20));
            if self.at == self.data.len() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.data[self.at];
            self.at += 1;
            Ok(1)
        }
    }

    impl TimedRead for Trickling {
        fn set_read_timeout(&mut self, t: Duration) -> std::io::Result<()> {
            self.timeouts.push(t);
            Ok(())
        }
    }

    #[test]
    fn a_trickling_answer_times_out_with_the_request_not_the_read() {
        let body = "x".repeat(10_000);
        let mut server = Trickling {
            data: format!("HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n{body}").into_bytes(),
            at: 0,
            timeouts: Vec::new(),
        };
        let per_read = Duration::from_secs(30);
        let r = read_inner(&mut Deadlined::new(
            &mut server,
            Instant::now() + Duration::from_millis(200),
            per_read,
        ))
        .map_err(|(f, _)| f);
        assert!(matches!(r, Err(Failure::Timeout(_))), "{r:?}");
        // Each read waited no longer than what was left, and the connection's own timeout
        // was put back.
        assert!(server.at < 100, "{} bytes read", server.at);
        let (last, shortened) = server.timeouts.split_last().expect("timeouts set");
        assert!(shortened.iter().all(|&t| t <= Duration::from_millis(200)));
        assert_eq!(*last, per_read);
    }

    #[test]
    fn interim_responses_are_skipped() {
        let r = read(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n\
              HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
        )
        .expect("final response");
        assert_eq!((r.status, r.body.as_slice()), (201, &b"ok"[..]));
        let many = "HTTP/1.1 100 Continue\r\n\r\n".repeat(MAX_INTERIM + 1)
            + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        assert!(matches!(read(many.as_bytes()), Err(Failure::Protocol(_))));
    }

    #[test]
    fn lengths_and_chunk_sizes_are_digits_only() {
        for bad in [
            "Content-Length: +3\r\n\r\nabc",
            "Content-Length: 0x3\r\n\r\nabc",
            "Transfer-Encoding: chunked\r\n\r\n+3\r\nabc\r\n0\r\n\r\n",
            "Transfer-Encoding: chunked\r\n\r\n\r\nabc\r\n0\r\n\r\n",
        ] {
            let r = read(format!("HTTP/1.1 200 OK\r\n{bad}").as_bytes());
            assert!(matches!(r, Err(Failure::Protocol(_))), "{bad:?}: {r:?}");
        }
    }

    #[test]
    fn responses_are_read_to_their_length() {
        assert_eq!(
            read(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc").expect("ok"),
            Response {
                status: 200,
                content_type: None,
                body: b"abc".to_vec(),
                close: false,
            }
        );
        assert!(
            read(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef")
                .expect("ok")
                .close
        );
        assert!(matches!(
            read(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc"),
            Err(Failure::Protocol(_))
        ));
        assert!(matches!(
            read(b"SMTP 220\r\n\r\n"),
            Err(Failure::Protocol(_))
        ));
        assert_eq!(read(b""), Err(Failure::Protocol(NOTHING.into())));
    }

    #[test]
    fn connection_close_and_http10_end_the_connection() {
        let r = read(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        assert!(r.expect("ok").close);
        let r = read(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
        assert!(r.expect("ok").close);
        let r = read(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n");
        assert!(!r.expect("ok").close);
        let r = read(b"HTTP/1.1 200 OK\r\n\r\nuntil the end");
        let r = r.expect("ok");
        assert!(r.close);
        assert_eq!(r.body, b"until the end");
    }

    #[test]
    fn chunked_bodies_are_decoded_with_extensions_and_trailers() {
        let r = read(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
              4;ext=1\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nX-T: 1\r\n\r\n",
        )
        .expect("chunked");
        assert_eq!(r.body, b"Wikipedia in \r\n\r\nchunks.");
        assert!(!r.close);
        for bad in [
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"[..],
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        ] {
            assert!(matches!(read(bad), Err(Failure::Protocol(_))), "{bad:?}");
        }
    }
}
