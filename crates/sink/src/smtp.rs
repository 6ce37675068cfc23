//! SMTP submission with STARTTLS (RFC 5321, RFC 3207): the MSSanté path. The client must
//! issue STARTTLS and present a certificate before MAIL; each message is unpacked as an
//! MSSanté message (IHE_XDM.ZIP), checked, and its documents stored before the 250 reply.

use std::io::{Read, Write};

use segur_finding::Severity;

use crate::service::{Service, Verdict};
use crate::store::Client;

/// Longest command line (RFC 5321 4.5.3.1.4: 512 octets; some clients send more).
pub const MAX_LINE: usize = 4096;

/// What a session phase ended with.
pub(crate) enum End {
    /// The client quit or the connection ended.
    Quit,
    /// The client asked for STARTTLS and was told to go ahead.
    StartTls,
}

/// A line reader that keeps what it read past the line.
#[derive(Default)]
pub(crate) struct Lines {
    buf: Vec<u8>,
}

impl Lines {
    /// One line without its CRLF; `None` at end of stream; an error past `max` bytes.
    fn line<S: Read>(&mut self, s: &mut S, max: usize) -> std::io::Result<Option<Vec<u8>>> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(p) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=p).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Some(line));
            }
            if self.buf.len() > max {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "line too long",
                ));
            }
            let n = match s.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(None);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn reply<S: Write>(s: &mut S, text: &str) -> std::io::Result<()> {
    s.write_all(text.as_bytes())?;
    s.write_all(b"\r\n")?;
    s.flush()
}

/// The reply to a message: 250 when stored, else 550 with the rule ids.
pub fn message_reply(v: &Verdict) -> String {
    let errors: Vec<String> = v
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| format!("{}: {}", p.rule, p.message.replace(['\r', '\n'], " ")))
        .collect();
    if errors.is_empty() {
        return format!("250 2.0.0 stored {} document(s)", v.stored);
    }
    let mut text = format!("550 5.6.0 refused: {}", errors.join("; "));
    if text.len() > 900 {
        let mut cut = 900;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str(" …");
    }
    text
}

/// Run one phase of a session on `s`: before TLS (`client` is `None`) only EHLO, HELO,
/// STARTTLS, NOOP, RSET and QUIT are served; after it, a whole mail transaction.
pub(crate) fn phase<S: Read + Write>(
    s: &mut S,
    client: Option<&Client>,
    service: &Service,
    max_body: usize,
    on_message: &mut dyn FnMut(Verdict, String),
) -> std::io::Result<End> {
    let mut lines = Lines::default();
    let mut from = false;
    let mut rcpt = false;
    loop {
        let Some(line) = lines.line(s, MAX_LINE)? else {
            return Ok(End::Quit);
        };
        let text = String::from_utf8_lossy(&line).to_string();
        let verb = text.split(' ').next().unwrap_or("").to_ascii_uppercase();
        match (verb.as_str(), client) {
            ("EHLO", None) => reply(
                s,
                &format!("250-segur-sink\r\n250-SIZE {max_body}\r\n250-8BITMIME\r\n250 STARTTLS"),
            )?,
            ("EHLO", Some(_)) => reply(
                s,
                &format!("250-segur-sink\r\n250-SIZE {max_body}\r\n250 8BITMIME"),
            )?,
            ("HELO", _) => reply(s, "250 segur-sink")?,
            ("STARTTLS", None) => {
                reply(s, "220 2.0.0 Ready to start TLS")?;
                return Ok(End::StartTls);
            }
            ("STARTTLS", Some(_)) => reply(s, "503 5.5.1 TLS already active")?,
            ("MAIL" | "RCPT" | "DATA", None) => {
                reply(s, "530 5.7.0 Must issue a STARTTLS command first")?
            }
            ("MAIL", Some(_)) => {
                from = true;
                rcpt = false;
                reply(s, "250 2.1.0 OK")?
            }
            ("RCPT", Some(_)) if from => {
                rcpt = true;
                reply(s, "250 2.1.5 OK")?
            }
            ("RCPT", Some(_)) => reply(s, "503 5.5.1 MAIL first")?,
            ("DATA", Some(_)) if !rcpt => reply(s, "503 5.5.1 RCPT first")?,
            ("DATA", Some(c)) => {
                reply(s, "354 End data with <CR><LF>.<CR><LF>")?;
                let mut message = Vec::new();
                let mut too_big = false;
                loop {
                    let Some(mut l) = lines.line(s, MAX_LINE.max(1000))? else {
                        return Ok(End::Quit);
                    };
                    if l == b"." {
                        break;
                    }
                    if l.first() == Some(&b'.') {
                        l.remove(0);
                    }
                    if message.len() + l.len() + 2 > max_body {
                        too_big = true;
                        continue;
                    }
                    message.extend_from_slice(&l);
                    message.extend_from_slice(b"\r\n");
                }
                from = false;
                rcpt = false;
                if too_big {
                    reply(
                        s,
                        "552 5.3.4 Message size exceeds fixed maximum message size",
                    )?;
                    continue;
                }
                let verdict = service.accept_message(&message, c);
                let text = message_reply(&verdict);
                reply(s, &text)?;
                on_message(verdict, text);
            }
            ("RSET", _) => {
                from = false;
                rcpt = false;
                reply(s, "250 2.0.0 OK")?
            }
            ("NOOP", _) => reply(s, "250 2.0.0 OK")?,
            ("QUIT", _) => {
                reply(s, "221 2.0.0 Bye")?;
                return Ok(End::Quit);
            }
            _ => reply(s, "502 5.5.2 Command not recognized")?,
        }
    }
}
