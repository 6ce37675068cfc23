//! SMTP submission with STARTTLS (RFC 5321, RFC 3207): the MSSanté path. The client must
//! issue STARTTLS and present a certificate before MAIL; each message is unpacked as an
//! MSSanté message (IHE_XDM.ZIP), checked, and its documents stored before the 250 reply.

use std::io::{Read, Write};

use segur_finding::Severity;

use crate::config::SmtpAccount;
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

/// Whether an AUTH PLAIN response (base64 of `authzid NUL user NUL password`, RFC 4616)
/// names one of `accounts` with its password; the authorization identity is ignored.
fn plain_matches(response: &str, accounts: &[SmtpAccount]) -> bool {
    use base64::Engine;
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(response) else {
        return false;
    };
    let mut parts = raw.split(|&b| b == 0);
    let (Some(_authzid), Some(user), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    accounts
        .iter()
        .any(|a| a.user.as_bytes() == user && a.password.as_bytes() == password)
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
    accounts: &[SmtpAccount],
    max_body: usize,
    on_message: &mut dyn FnMut(Verdict, String),
) -> std::io::Result<End> {
    let mut lines = Lines::default();
    let mut from = false;
    let mut rcpt = false;
    let mut authed = accounts.is_empty();
    let auth_line = if accounts.is_empty() {
        ""
    } else {
        "\r\n250-AUTH PLAIN"
    };
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
                &format!("250-segur-sink{auth_line}\r\n250-SIZE {max_body}\r\n250 8BITMIME"),
            )?,
            ("AUTH", None) => reply(
                s,
                "538 5.7.11 Encryption required for requested authentication mechanism",
            )?,
            ("AUTH", Some(_)) if accounts.is_empty() => reply(s, "502 5.5.1 AUTH not offered")?,
            ("AUTH", Some(_)) if authed => reply(s, "503 5.5.1 Already authenticated")?,
            ("AUTH", Some(_)) => {
                let mut words = text.split_whitespace().skip(1);
                if !words
                    .next()
                    .is_some_and(|m| m.eq_ignore_ascii_case("PLAIN"))
                {
                    reply(s, "504 5.5.4 Unrecognized authentication type")?;
                    continue;
                }
                let response = match words.next() {
                    Some(r) => r.to_string(),
                    None => {
                        reply(s, "334 ")?;
                        let Some(l) = lines.line(s, MAX_LINE)? else {
                            return Ok(End::Quit);
                        };
                        String::from_utf8_lossy(&l).trim().to_string()
                    }
                };
                if response == "*" {
                    reply(s, "501 5.0.0 Authentication cancelled")?;
                } else if plain_matches(&response, accounts) {
                    authed = true;
                    reply(s, "235 2.7.0 Authentication successful")?;
                } else {
                    reply(s, "535 5.7.8 Authentication credentials invalid")?;
                }
            }
            ("MAIL", Some(_)) if !authed => reply(s, "530 5.7.0 Authentication required")?,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_plain_responses_are_checked() {
        let accounts = [SmtpAccount {
            user: "cabinet".into(),
            password: "s3cret".into(),
        }];
        // base64 of "\0cabinet\0s3cret" and of "admin\0cabinet\0s3cret".
        assert!(plain_matches("AGNhYmluZXQAczNjcmV0", &accounts));
        assert!(plain_matches("YWRtaW4AY2FiaW5ldABzM2NyZXQ=", &accounts));
        // "\0cabinet\0wrong", not base64, too few parts.
        assert!(!plain_matches("AGNhYmluZXQAd3Jvbmc=", &accounts));
        assert!(!plain_matches("!!", &accounts));
        assert!(!plain_matches("Y2FiaW5ldA==", &accounts));
    }
}
