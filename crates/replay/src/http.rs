//! A minimal blocking HTTP/1.1 client over rustls: one POST per connection
//! (`Connection: close`), a Content-Length body, a bounded response.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use segur_tls::explain::{Side, explain};
use segur_tls::rustls::pki_types::ServerName;
use segur_tls::rustls::{ClientConfig, ClientConnection, StreamOwned};

use crate::Prepared;
use crate::run::Failure;

/// The largest response head read (status line and headers).
pub const MAX_HEAD: usize = 64 * 1024;
/// The largest response body read.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// The reason given when the server closes the connection while the request is written and
/// its TLS alert is lost with the reset.
pub const REFUSED_AFTER_HANDSHAKE: &str = "the server closed the connection while the request was being sent, right after the handshake: with TLS 1.3 this is how a refused client certificate shows when its alert is lost";

/// A response: its status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body (at most [`MAX_BODY`] bytes).
    pub body: Vec<u8>,
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

    /// Send one request on a fresh connection and read the whole response.
    pub fn post(&self, tls: &Arc<ClientConfig>, req: &Prepared) -> Result<Response, Failure> {
        let tcp = self.connect()?;
        let io = |e: std::io::Error| classify(e);
        tcp.set_read_timeout(Some(self.timeout)).map_err(io)?;
        tcp.set_write_timeout(Some(self.timeout)).map_err(io)?;
        let _ = tcp.set_nodelay(true);
        let conn = ClientConnection::new(tls.clone(), self.server_name.clone())
            .map_err(|e| Failure::Tls(explain(&e, Side::Client).text))?;
        let mut s = StreamOwned::new(conn, tcp);
        let mut head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.path,
            self.host_header,
            req.content_type,
            req.body.len()
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
            // TLS 1.3: the server judges the client certificate after the client's Finished,
            // so its refusal (an alert, then close) can break the write; read the alert.
            return match read_response(&mut s) {
                Err(f @ Failure::Tls(_)) => Err(f),
                _ if matches!(
                    e.kind(),
                    ErrorKind::BrokenPipe
                        | ErrorKind::ConnectionReset
                        | ErrorKind::ConnectionAborted
                ) && e.get_ref().is_none() =>
                {
                    Err(Failure::Tls(REFUSED_AFTER_HANDSHAKE.into()))
                }
                _ => Err(io(e)),
            };
        }
        read_response(&mut s)
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock)
}

/// An I/O error in words: a TLS failure explained, a timeout, or plain I/O.
fn classify(e: std::io::Error) -> Failure {
    if let Some(t) = e
        .get_ref()
        .and_then(|i| i.downcast_ref::<segur_tls::rustls::Error>())
    {
        return Failure::Tls(explain(t, Side::Client).text);
    }
    if is_timeout(&e) {
        return Failure::Timeout("read/write".into());
    }
    Failure::Io(e.to_string())
}

/// Read a status line, headers and a Content-Length (or until-close) body, bounded.
pub fn read_response(s: &mut impl Read) -> Result<Response, Failure> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(Failure::Protocol(format!(
                "response head over {MAX_HEAD} bytes"
            )));
        }
        match s.read(&mut chunk) {
            Ok(0) if buf.is_empty() => {
                return Err(Failure::Protocol(
                    "connection closed without a response".into(),
                ));
            }
            Ok(0) => {
                return Err(Failure::Protocol(
                    "connection closed inside the response head".into(),
                ));
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(classify(e)),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|r| r.get(2..5))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| Failure::Protocol(format!("bad status line {status_line:?}")))?;
    let mut length = None;
    for l in lines {
        let Some((n, v)) = l.split_once(':') else {
            continue;
        };
        if n.trim().eq_ignore_ascii_case("content-length") {
            length =
                Some(v.trim().parse::<usize>().map_err(|_| {
                    Failure::Protocol(format!("bad Content-Length {:?}", v.trim()))
                })?);
        } else if n.trim().eq_ignore_ascii_case("transfer-encoding") {
            return Err(Failure::Protocol(
                "chunked responses are not supported yet".into(),
            ));
        }
    }
    if length.is_some_and(|l| l > MAX_BODY) {
        return Err(Failure::Protocol(format!(
            "response body over {MAX_BODY} bytes"
        )));
    }
    let mut body = buf.split_off(head_end + 4);
    loop {
        if length.is_some_and(|l| body.len() >= l) {
            body.truncate(length.unwrap_or(0));
            break;
        }
        if body.len() > MAX_BODY {
            return Err(Failure::Protocol(format!(
                "response body over {MAX_BODY} bytes"
            )));
        }
        match s.read(&mut chunk) {
            Ok(0) if length.is_none() => break,
            Ok(0) => {
                return Err(Failure::Protocol(
                    "connection closed inside the body".into(),
                ));
            }
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // No close_notify before TCP close: take the body read so far when unbounded.
            Err(e) if length.is_none() && e.kind() == ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(classify(e)),
        }
    }
    Ok(Response { status, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_read_to_their_length() {
        let mut r: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef";
        assert_eq!(
            read_response(&mut r).expect("ok"),
            Response {
                status: 200,
                body: b"abc".to_vec()
            }
        );
        let mut short: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc";
        assert!(matches!(
            read_response(&mut short),
            Err(Failure::Protocol(_))
        ));
        let mut junk: &[u8] = b"SMTP 220\r\n\r\n";
        assert!(matches!(
            read_response(&mut junk),
            Err(Failure::Protocol(_))
        ));
    }
}
