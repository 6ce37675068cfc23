//! SMTP submission with STARTTLS (RFC 5321, RFC 3207): the MSSanté path. The client must
//! issue STARTTLS and present a certificate before MAIL; each message is unpacked as an
//! MSSanté message (IHE_XDM.ZIP), checked, and its documents stored before the 250 reply.
//! Commands may be pipelined (RFC 2920): replies are sent in order, together, when the
//! server has read every command the client sent.

use std::io::{Read, Write};

use segur_finding::Severity;

use crate::config::SmtpAccount;
use crate::server::{AwaitNext, is_stopping};
use crate::service::Verdict;
use crate::store::Client;

/// Longest command line (RFC 5321 4.5.3.1.4: 512 octets; some clients send more), and
/// longest line of a message (4.5.3.1.6: 1000 octets).
pub const MAX_LINE: usize = 4096;

/// The reply to a command line ended by a bare LF.
const BARE_LF: &str =
    "500 5.5.2 Syntax error: a command line ends with CRLF, not a bare LF (RFC 5321 2.3.8)";

/// The reply to a message with a line over [`MAX_LINE`] (the number is MAX_LINE's: a test
/// checks they agree).
const LONG_LINE: &str =
    "550 5.6.0 refused: a line of the message is over 4096 octets (RFC 5321 4.5.3.1.6)";

/// The reply to a message, or a MAIL's SIZE, over `max_body`.
const TOO_BIG: &str = "552 5.3.4 Message size exceeds fixed maximum message size";

/// What a session phase ended with.
pub(crate) enum End {
    /// The client quit or the connection ended.
    Quit,
    /// The client asked for STARTTLS and was told to go ahead.
    StartTls,
}

/// What [`Lines::line`] read.
enum Got {
    /// A line, without its line end.
    Line(Vec<u8>),
    /// A line over the limit, read to its end and dropped.
    TooLong,
    /// A command line ended by a bare LF (RFC 5321 2.3.8: lines end with CRLF), without it.
    BareLf(Vec<u8>),
    /// The end of the stream.
    End,
}

/// A line reader that keeps what it read past the line, and the replies not sent yet:
/// they go out together just before the reader waits for more (RFC 2920: the replies to a
/// pipelined group of commands may be sent as one).
#[derive(Default)]
pub(crate) struct Lines {
    buf: Vec<u8>,
    out: Vec<u8>,
    /// How much of `buf` holds no line end: a long line trickling in is not searched again
    /// from its start for each read.
    searched: usize,
    /// The line being read is over the limit: what came of it was dropped.
    overlong: bool,
}

impl Lines {
    /// Queue a reply line (CRLF added).
    fn reply(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    /// Send the queued replies.
    fn flush<S: Write>(&mut self, s: &mut S) -> std::io::Result<()> {
        if !self.out.is_empty() {
            s.write_all(&self.out)?;
            self.out.clear();
        }
        s.flush()
    }

    /// One line without its CRLF. A line over `max` bytes is read to its end and dropped
    /// (its start is not kept: memory stays bounded), so that the rest of it is not taken
    /// for the next line. The queued replies are sent before waiting for the client.
    fn line<S: Read + Write>(
        &mut self,
        s: &mut S,
        max: usize,
        crlf_only: bool,
    ) -> std::io::Result<Got> {
        let mut chunk = [0u8; 4096];
        loop {
            let mut from = self.searched;
            while let Some(p) = self.buf[from..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|k| from + k)
            {
                // In a message, only CRLF ends a line: a bare LF is content, so `\n.\n`
                // cannot end the message early and smuggle commands after it (RFC 5321
                // 2.3.8; the SMTP smuggling of CVE-2023-51766 and kin).
                if crlf_only && (p == 0 || self.buf[p - 1] != b'\r') {
                    from = p + 1;
                    continue;
                }
                self.searched = 0;
                let mut line: Vec<u8> = self.buf.drain(..=p).collect();
                line.pop();
                let crlf = line.last() == Some(&b'\r');
                if crlf {
                    line.pop();
                }
                // Over the limit whether it came in one read or many.
                if std::mem::take(&mut self.overlong) || line.len() > max {
                    return Ok(Got::TooLong);
                }
                return Ok(if crlf {
                    Got::Line(line)
                } else {
                    Got::BareLf(line)
                });
            }
            self.searched = self.buf.len();
            if self.buf.len() > max {
                // A last CR is kept: with the LF to come, it ends the line.
                let keep = usize::from(self.buf.last() == Some(&b'\r'));
                self.buf.drain(..self.buf.len() - keep);
                self.searched = 0;
                self.overlong = true;
            }
            self.flush(s)?;
            let n = match s.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(Got::End);
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
    // The store's own failure is passing (RFC 5321 4.2.5: 451 asks the client to retry).
    let mut text = if v.transient() {
        format!(
            "451 4.3.0 temporary failure, try again later: {}",
            errors.join("; ")
        )
    } else {
        format!("550 5.6.0 refused: {}", errors.join("; "))
    };
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

/// Why a MAIL or RCPT command is refused, as the reply to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EnvelopeError {
    /// Not `MAIL FROM:<…>` or `RCPT TO:<…>` (501).
    Syntax(&'static str),
    /// The path is not a mailbox (501, 5.1.7 for a sender, 5.1.3 for a recipient).
    Address(&'static str),
    /// A parameter with a bad value (501).
    Parameter(&'static str),
    /// A parameter the sink does not offer (555).
    Unsupported,
    /// `SIZE` over the limit (552).
    TooBig,
}

/// The command's reply to `e`; `mail` for MAIL, else RCPT.
fn envelope_reply(e: EnvelopeError, mail: bool) -> String {
    match e {
        EnvelopeError::Syntax(why) => format!("501 5.5.4 Syntax error: {why}"),
        EnvelopeError::Address(why) if mail => format!("501 5.1.7 Bad sender address: {why}"),
        EnvelopeError::Address(why) => format!("501 5.1.3 Bad recipient address: {why}"),
        EnvelopeError::Parameter(why) => format!("501 5.5.4 Bad parameter: {why}"),
        EnvelopeError::Unsupported => {
            "555 5.5.4 MAIL FROM/RCPT TO parameters not recognized or not implemented".into()
        }
        EnvelopeError::TooBig => TOO_BIG.into(),
    }
}

/// Check the arguments of `MAIL FROM:<path> [params]` (`mail`) or `RCPT TO:<path> [params]`
/// (RFC 5321 4.1.1.2, 4.1.1.3, 4.1.2), `args` being what follows the verb. MAIL takes the
/// null path `<>` and the parameters `SIZE` (at most `max_body`), `BODY` and, when `auth`
/// is offered, `AUTH`; RCPT takes no parameter, and `<Postmaster>` without a domain.
fn check_envelope(
    args: &str,
    mail: bool,
    max_body: usize,
    auth: bool,
) -> Result<(), EnvelopeError> {
    use EnvelopeError::*;
    let keyword = if mail { "FROM:" } else { "TO:" };
    let usage = if mail {
        "expected MAIL FROM:<address>"
    } else {
        "expected RCPT TO:<address>"
    };
    let rest = args
        .strip_prefix(' ')
        .filter(|r| {
            r.get(..keyword.len())
                .is_some_and(|k| k.eq_ignore_ascii_case(keyword))
        })
        .map(|r| &r[keyword.len()..])
        .ok_or(Syntax(usage))?;
    // RFC 5321 has no space before the path; many clients send one, and servers take it.
    let rest = rest.trim_start_matches(' ');
    let rest = rest
        .strip_prefix('<')
        .ok_or(Syntax("the address must be in angle brackets"))?;
    let (path, params) = rest
        .split_once('>')
        .ok_or(Syntax("the address must be in angle brackets"))?;
    // The path, brackets included, is at most 256 octets (RFC 5321 4.5.3.1.3).
    if path.len() + 2 > 256 {
        return Err(Address("longer than 256 octets"));
    }
    match path {
        "" if mail => {}
        "" => return Err(Address("the null path is no recipient")),
        p if !mail && p.eq_ignore_ascii_case("postmaster") => {}
        p => check_mailbox(strip_source_route(p)?).map_err(Address)?,
    }
    if params.is_empty() {
        return Ok(());
    }
    let params = params
        .strip_prefix(' ')
        .ok_or(Syntax("a space must follow the address"))?;
    for param in params.split(' ').filter(|p| !p.is_empty()) {
        let (key, value) = match param.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (param, None),
        };
        // esmtp-keyword and esmtp-value (RFC 5321 4.1.2).
        let keyword_ok = key.starts_with(|c: char| c.is_ascii_alphanumeric())
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let value_ok = value.is_none_or(|v| {
            !v.is_empty() && v.bytes().all(|b| (33..=126).contains(&b) && b != b'=')
        });
        if !keyword_ok || !value_ok {
            return Err(Syntax("a parameter is not KEYWORD or KEYWORD=VALUE"));
        }
        match (key.to_ascii_uppercase().as_str(), value) {
            ("SIZE", Some(v)) if mail => {
                if !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Parameter("SIZE takes a number of octets"));
                }
                // Digits that overflow are over the limit too.
                if v.parse::<usize>().map_or(true, |n| n > max_body) {
                    return Err(TooBig);
                }
            }
            ("BODY", Some(v)) if mail => {
                if !v.eq_ignore_ascii_case("7BIT") && !v.eq_ignore_ascii_case("8BITMIME") {
                    return Err(Parameter("BODY is 7BIT or 8BITMIME"));
                }
            }
            ("AUTH", Some(_)) if mail && auth => {}
            ("SIZE" | "BODY" | "AUTH", None) if mail => {
                return Err(Parameter("SIZE, BODY and AUTH take a value"));
            }
            _ => return Err(Unsupported),
        }
    }
    Ok(())
}

/// The mailbox of a path, without the source route (`@a,@b:`) that RFC 5321 4.1.2 still
/// lets a client send and tells a server to ignore.
fn strip_source_route(path: &str) -> Result<&str, EnvelopeError> {
    if !path.starts_with('@') {
        return Ok(path);
    }
    let (route, mailbox) = path
        .split_once(':')
        .ok_or(EnvelopeError::Address("a source route without its colon"))?;
    for hop in route.split(',') {
        let domain = hop
            .strip_prefix('@')
            .ok_or(EnvelopeError::Address("a malformed source route"))?;
        check_domain(domain).map_err(EnvelopeError::Address)?;
    }
    Ok(mailbox)
}

/// Whether `m` is a Mailbox of RFC 5321 4.1.2: a dot-string or quoted local part of at most
/// 64 octets, `@`, a domain or an address literal; ASCII only (SMTPUTF8 is not offered).
fn check_mailbox(m: &str) -> Result<(), &'static str> {
    if m.bytes().any(|b| b.is_ascii_control()) {
        return Err("it holds a control character");
    }
    if !m.is_ascii() {
        return Err("it is not ASCII (SMTPUTF8 is not offered)");
    }
    let local_end = if let Some(quoted) = m.strip_prefix('"') {
        // qtextSMTP and quoted-pairSMTP up to the closing quote.
        let b = quoted.as_bytes();
        let mut i = 0;
        loop {
            match b.get(i) {
                None => return Err("an unterminated quoted local part"),
                Some(b'"') => break i + 2,
                Some(b'\\') if b.get(i + 1).is_some_and(|c| (32..=126).contains(c)) => i += 2,
                Some(c) if (32..=126).contains(c) && *c != b'\\' => i += 1,
                Some(_) => return Err("a malformed quoted local part"),
            }
        }
    } else {
        let end = m.find('@').ok_or("no @domain")?;
        let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
        if m[..end]
            .split('.')
            .any(|atom| atom.is_empty() || !atom.chars().all(atext))
        {
            return Err("a malformed local part");
        }
        end
    };
    if local_end > 64 {
        return Err("a local part longer than 64 octets");
    }
    let domain = m[local_end..].strip_prefix('@').ok_or("no @domain")?;
    if let Some(literal) = domain.strip_prefix('[') {
        let inner = literal
            .strip_suffix(']')
            .ok_or("a malformed address literal")?;
        if inner.is_empty()
            || !inner
                .bytes()
                .all(|b| (33..=126).contains(&b) && b != b'[' && b != b']' && b != b'\\')
        {
            return Err("a malformed address literal");
        }
        return Ok(());
    }
    check_domain(domain)
}

/// Whether `d` is a Domain of RFC 5321 4.1.2: dot-separated labels of letters, digits and
/// inner hyphens, each at most 63 octets, 255 in all.
fn check_domain(d: &str) -> Result<(), &'static str> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.ends_with('-')
            && !l.starts_with('-')
    };
    if d.is_empty() || d.len() > 255 || !d.split('.').all(label_ok) {
        return Err("a malformed domain");
    }
    Ok(())
}

/// What the server offers in EHLO, each line a keyword (RFC 5321 4.1.1.1).
fn ehlo(tls: bool, auth: bool, max_body: usize) -> String {
    let mut keywords = vec!["segur-sink".to_string()];
    if tls && auth {
        keywords.push("AUTH PLAIN".into());
    }
    keywords.push(format!("SIZE {max_body}"));
    keywords.push("8BITMIME".into());
    keywords.push("PIPELINING".into());
    if !tls {
        keywords.push("STARTTLS".into());
    }
    let last = keywords.len() - 1;
    keywords
        .iter()
        .enumerate()
        .map(|(i, k)| format!("250{}{k}", if i == last { ' ' } else { '-' }))
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// Run one phase of a session on `s`: before TLS (`client` is `None`) only EHLO, HELO,
/// STARTTLS, NOOP, RSET and QUIT are served; after it, mail transactions, each message
/// decided by `accept`. While waiting for a command, a stopping sink ends the session with
/// 421.
pub(crate) fn phase<S: Read + Write + AwaitNext>(
    s: &mut S,
    client: Option<&Client>,
    accept: &dyn Fn(&[u8], &Client) -> Verdict,
    accounts: &[SmtpAccount],
    max_body: usize,
    on_message: &mut dyn FnMut(Verdict, String),
) -> std::io::Result<End> {
    let mut lines = Lines::default();
    let ended = transactions(
        s, &mut lines, client, accept, accounts, max_body, on_message,
    );
    match ended {
        Err(e) if is_stopping(&e) => {
            lines.reply("421 4.3.2 segur-sink shutting down");
            lines.flush(s)?;
            Ok(End::Quit)
        }
        Err(e) => Err(e),
        // Bytes pipelined after STARTTLS are dropped with `lines` (RFC 3207 5: they must
        // not be taken as commands sent over TLS).
        Ok(end) => lines.flush(s).map(|()| end),
    }
}

fn transactions<S: Read + Write + AwaitNext>(
    s: &mut S,
    lines: &mut Lines,
    client: Option<&Client>,
    accept: &dyn Fn(&[u8], &Client) -> Verdict,
    accounts: &[SmtpAccount],
    max_body: usize,
    on_message: &mut dyn FnMut(Verdict, String),
) -> std::io::Result<End> {
    let mut from = false;
    let mut rcpt = false;
    let mut authed = accounts.is_empty();
    let mut greeted = false;
    loop {
        s.renew();
        if lines.buf.is_empty() {
            s.await_next();
        }
        let line = match lines.line(s, MAX_LINE, false)? {
            Got::Line(l) => l,
            // RFC 5321 4.5.3.1.4, 4.3.2: 500 for a command line too long.
            Got::TooLong => {
                lines.reply("500 5.5.2 Line too long");
                continue;
            }
            // A client ending commands with a bare LF is told so, not served: servers differ
            // on such lines (some take them, some wait for the CR), which is how commands are
            // smuggled.
            Got::BareLf(_) => {
                lines.reply(BARE_LF);
                continue;
            }
            Got::End => return Ok(End::Quit),
        };
        let text = String::from_utf8_lossy(&line).to_string();
        let verb = text.split(' ').next().unwrap_or("").to_ascii_uppercase();
        match (verb.as_str(), client) {
            // EHLO and HELO name the client (RFC 5321 4.1.1.1).
            ("EHLO" | "HELO", _) if text[4..].trim_matches(' ').is_empty() => {
                lines.reply("501 5.5.4 Syntax error: EHLO and HELO take the client's domain")
            }
            // Either resets the transaction, as RSET does (RFC 5321 4.1.4).
            ("EHLO", _) => {
                greeted = true;
                from = false;
                rcpt = false;
                lines.reply(&ehlo(client.is_some(), !accounts.is_empty(), max_body));
            }
            ("HELO", _) => {
                greeted = true;
                from = false;
                rcpt = false;
                lines.reply("250 segur-sink")
            }
            ("AUTH", None) => {
                lines.reply("538 5.7.11 Encryption required for requested authentication mechanism")
            }
            ("AUTH", Some(_)) if accounts.is_empty() => lines.reply("502 5.5.1 AUTH not offered"),
            // AUTH is an extension EHLO announces (RFC 4954 4).
            ("AUTH", Some(_)) if !greeted => lines.reply("503 5.5.1 EHLO first"),
            ("AUTH", Some(_)) if authed => lines.reply("503 5.5.1 Already authenticated"),
            ("AUTH", Some(_)) => {
                let mut words = text.split_whitespace().skip(1);
                if !words
                    .next()
                    .is_some_and(|m| m.eq_ignore_ascii_case("PLAIN"))
                {
                    lines.reply("504 5.5.4 Unrecognized authentication type");
                    continue;
                }
                let response = match words.next() {
                    Some(r) => r.to_string(),
                    None => {
                        lines.reply("334 ");
                        match lines.line(s, MAX_LINE, false)? {
                            Got::Line(l) => String::from_utf8_lossy(&l).trim().to_string(),
                            Got::TooLong => {
                                lines.reply("500 5.5.2 Line too long");
                                continue;
                            }
                            Got::BareLf(_) => {
                                lines.reply(BARE_LF);
                                continue;
                            }
                            Got::End => return Ok(End::Quit),
                        }
                    }
                };
                if response == "*" {
                    lines.reply("501 5.0.0 Authentication cancelled");
                } else if plain_matches(&response, accounts) {
                    authed = true;
                    lines.reply("235 2.7.0 Authentication successful");
                } else {
                    lines.reply("535 5.7.8 Authentication credentials invalid");
                }
            }
            ("MAIL", Some(_)) if !authed => lines.reply("530 5.7.0 Authentication required"),
            ("STARTTLS", None) => {
                lines.reply("220 2.0.0 Ready to start TLS");
                return Ok(End::StartTls);
            }
            ("STARTTLS", Some(_)) => lines.reply("503 5.5.1 TLS already active"),
            ("MAIL" | "RCPT" | "DATA", None) => {
                lines.reply("530 5.7.0 Must issue a STARTTLS command first")
            }
            // A session opens with EHLO, and again after STARTTLS (RFC 5321 4.1.4, RFC 3207
            // 4.2: the server forgets the earlier one).
            ("MAIL", Some(_)) if !greeted => lines.reply("503 5.5.1 EHLO or HELO first"),
            ("MAIL", Some(_)) if from => lines.reply("503 5.5.1 Sender already specified"),
            ("MAIL", Some(_)) => {
                match check_envelope(&text[4..], true, max_body, !accounts.is_empty()) {
                    Ok(()) => {
                        from = true;
                        rcpt = false;
                        lines.reply("250 2.1.0 OK")
                    }
                    Err(e) => lines.reply(&envelope_reply(e, true)),
                }
            }
            ("RCPT", Some(_)) if from => {
                match check_envelope(&text[4..], false, max_body, !accounts.is_empty()) {
                    Ok(()) => {
                        rcpt = true;
                        lines.reply("250 2.1.5 OK")
                    }
                    Err(e) => lines.reply(&envelope_reply(e, false)),
                }
            }
            ("RCPT", Some(_)) => lines.reply("503 5.5.1 MAIL first"),
            // RFC 2920 3.1: a pipelined DATA after refused recipients is refused too, and
            // the client then sends nothing more of the message.
            // DATA takes no argument (RFC 5321 4.1.1.4).
            ("DATA", Some(_)) if !text[4..].trim_matches(' ').is_empty() => {
                lines.reply("501 5.5.4 Syntax error: DATA takes no argument")
            }
            ("DATA", Some(_)) if !rcpt => lines.reply("503 5.5.1 RCPT first"),
            ("DATA", Some(c)) => {
                lines.reply("354 End data with <CR><LF>.<CR><LF>");
                let mut message = Vec::new();
                let mut too_big = false;
                let mut too_long = false;
                loop {
                    let mut l = match lines.line(s, MAX_LINE.max(1000), true)? {
                        // In a message only CRLF ends a line: no bare-LF line comes here.
                        Got::Line(l) | Got::BareLf(l) => l,
                        Got::TooLong => {
                            too_long = true;
                            continue;
                        }
                        Got::End => return Ok(End::Quit),
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
                let refusal = if too_big {
                    Some(TOO_BIG)
                } else if too_long {
                    Some(LONG_LINE)
                } else {
                    None
                };
                if let Some(text) = refusal {
                    lines.reply(text);
                    // Logged as every answered message is: nothing stored.
                    on_message(
                        Verdict {
                            stored: 0,
                            problems: Vec::new(),
                        },
                        text.to_string(),
                    );
                    continue;
                }
                let verdict = accept(&message, c);
                let text = message_reply(&verdict);
                lines.reply(&text);
                on_message(verdict, text);
            }
            ("RSET", _) => {
                from = false;
                rcpt = false;
                lines.reply("250 2.0.0 OK")
            }
            ("NOOP", _) => lines.reply("250 2.0.0 OK"),
            ("QUIT", _) => {
                lines.reply("221 2.0.0 Bye");
                return Ok(End::Quit);
            }
            _ => lines.reply("502 5.5.2 Command not recognized"),
        }
    }
}

/// A client's bytes delivered in reads of given sizes, the replies kept: the connection of
/// the sink's wire property tests.
#[cfg(test)]
#[path = "../tests/support/wire.rs"]
mod test_wire;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use super::test_wire::Trickle;

    impl AwaitNext for Trickle {
        fn await_next(&mut self) {}
    }

    /// Runs a TLS-phase session over `input`: the replies, and the messages accepted.
    fn session(input: Vec<u8>, sizes: Vec<usize>, max_body: usize) -> (String, Vec<Vec<u8>>) {
        session_with(input, sizes, max_body, &[])
    }

    /// [`session`] with SMTP accounts (AUTH PLAIN offered).
    fn session_with(
        input: Vec<u8>,
        sizes: Vec<usize>,
        max_body: usize,
        accounts: &[SmtpAccount],
    ) -> (String, Vec<Vec<u8>>) {
        let client = Client {
            sha256: String::new(),
            subject: "CN=client".into(),
        };
        let received = std::cell::RefCell::new(Vec::new());
        let accept = |m: &[u8], _: &Client| {
            received.borrow_mut().push(m.to_vec());
            Verdict {
                stored: 1,
                problems: Vec::new(),
            }
        };
        let mut conn = Trickle::new(input, sizes);
        let _ = phase(
            &mut conn,
            Some(&client),
            &accept,
            accounts,
            max_body,
            &mut |_, _| {},
        );
        (
            String::from_utf8_lossy(&conn.written).into_owned(),
            received.into_inner(),
        )
    }

    /// The reply lines to EHLO (its last line only), then `commands`, `max_body` 1000.
    fn replies(commands: &str) -> Vec<String> {
        let input = format!("EHLO client.test\r\n{commands}QUIT\r\n");
        let (replies, _) = session(input.into_bytes(), vec![4096], 1000);
        replies
            .split("\r\n")
            .filter(|l| !l.is_empty() && !l.starts_with("250-"))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn an_overlong_line_is_answered_and_the_session_goes_on() {
        let long = "x".repeat(MAX_LINE + 10);
        let input = format!(
            "EHLO c\r\nNOOP {long}\r\nMAIL FROM:<a@b.fr>\r\nRCPT TO:<c@d.fr>\r\nDATA\r\n\
             short\r\n{long}\n{long}\r\n.\r\nMAIL FROM:<a@b.fr>\r\nRCPT TO:<c@d.fr>\r\n\
             DATA\r\nfine\r\n.\r\nQUIT\r\n"
        );
        for sizes in [vec![7], vec![4095], vec![4096]] {
            let (replies, messages) = session(input.clone().into_bytes(), sizes, 1 << 20);
            let codes: Vec<&str> = replies
                .split("\r\n")
                .filter(|l| !l.is_empty() && !l.starts_with("250-"))
                .map(|l| &l[..3])
                .collect();
            assert_eq!(
                codes,
                [
                    "250", "500", "250", "250", "354", "550", "250", "250", "354", "250", "221"
                ],
                "{replies}"
            );
            assert!(replies.contains(LONG_LINE), "{replies}");
            assert!(LONG_LINE.contains(&format!(" over {MAX_LINE} octets")));
            assert_eq!(messages, [b"fine\r\n".to_vec()]);
        }
    }

    #[test]
    fn mail_needs_ehlo_or_helo_first_and_either_resets_the_transaction() {
        let input = "MAIL FROM:<a@b.fr>\r\nEHLO\r\nHELO \r\nMAIL FROM:<a@b.fr>\r\n\
                     HELO client.test\r\nMAIL FROM:<a@b.fr>\r\nRCPT TO:<c@d.fr>\r\n\
                     HELO client.test\r\nRCPT TO:<c@d.fr>\r\nDATA\r\nMAIL FROM:<a@b.fr>\r\n\
                     RCPT TO:<c@d.fr>\r\nDATA now\r\nQUIT\r\n";
        let (replies, messages) = session(input.as_bytes().to_vec(), vec![4096], 1000);
        let codes: Vec<&str> = replies.split("\r\n").filter_map(|l| l.get(..9)).collect();
        assert_eq!(
            codes,
            [
                "503 5.5.1",
                "501 5.5.4",
                "501 5.5.4",
                "503 5.5.1",
                "250 segur",
                "250 2.1.0",
                "250 2.1.5",
                "250 segur",
                "503 5.5.1",
                "503 5.5.1",
                "250 2.1.0",
                "250 2.1.5",
                "501 5.5.4",
                "221 2.0.0"
            ],
            "{replies}"
        );
        assert!(messages.is_empty());
    }

    #[test]
    fn malformed_envelopes_are_refused_with_the_reason() {
        for (mail, expected) in [
            ("MAIL FROM:a@b.fr", "501 5.5.4 "),
            ("MAIL FROM:", "501 5.5.4 "),
            ("MAIL TO:<a@b.fr>", "501 5.5.4 "),
            ("MAIL FROM:<a@b.fr", "501 5.5.4 "),
            ("MAIL FROM:<a@b.fr>SIZE=1", "501 5.5.4 "),
            ("MAIL FROM:<a\x01@b.fr>", "501 5.1.7 "),
            ("MAIL FROM:<a@b.fr\x1b>", "501 5.1.7 "),
            ("MAIL FROM:<a b@c.fr>", "501 5.1.7 "),
            ("MAIL FROM:<a@b..fr>", "501 5.1.7 "),
            ("MAIL FROM:<a@>", "501 5.1.7 "),
            ("MAIL FROM:<a>", "501 5.1.7 "),
            ("MAIL FROM:<@b.fr>", "501 5.1.7 "),
            ("MAIL FROM:<\u{e9}@b.fr>", "501 5.1.7 "),
            ("MAIL FROM:<a@b.fr> SIZE=x", "501 5.5.4 "),
            ("MAIL FROM:<a@b.fr> BODY=BINARYMIME", "501 5.5.4 "),
            ("MAIL FROM:<a@b.fr> SIZE=1001", "552 5.3.4 "),
            (
                "MAIL FROM:<a@b.fr> SIZE=99999999999999999999999",
                "552 5.3.4 ",
            ),
            ("MAIL FROM:<a@b.fr> SMTPUTF8", "555 5.5.4 "),
            ("MAIL FROM:<a@b.fr> AUTH=<>", "555 5.5.4 "),
        ] {
            let got = replies(&format!("{mail}\r\nRCPT TO:<c@d.fr>\r\n"));
            assert!(got[1].starts_with(expected), "{mail:?}: {got:?}");
            assert!(
                got[2].starts_with("503 "),
                "no transaction: {mail:?}: {got:?}"
            );
        }
        for (rcpt, expected) in [
            ("RCPT TO:garbage", "501 5.5.4 "),
            ("RCPT TO:<>", "501 5.1.3 "),
            ("RCPT TO:<c\0@d.fr>", "501 5.1.3 "),
            ("RCPT TO:<c@d.fr> NOTIFY=NEVER", "555 5.5.4 "),
            ("RCPT TO:<c@d.fr> SIZE=1", "555 5.5.4 "),
        ] {
            let got = replies(&format!("MAIL FROM:<a@b.fr>\r\n{rcpt}\r\nDATA\r\n"));
            assert!(got[1].starts_with("250 2.1.0"), "{rcpt:?}: {got:?}");
            assert!(got[2].starts_with(expected), "{rcpt:?}: {got:?}");
            assert!(
                got[3].starts_with("503 5.5.1 RCPT first"),
                "{rcpt:?}: {got:?}"
            );
        }
    }

    #[test]
    fn well_formed_envelopes_are_accepted() {
        for (mail, rcpt) in [
            ("MAIL FROM:<>", "RCPT TO:<c@d.fr>"),
            (
                "MAIL FROM:<a@b.fr> SIZE=1000 BODY=8BITMIME",
                "RCPT TO:<Postmaster>",
            ),
            (
                "mail from: <a.b+c@x-y.b.fr>",
                "rcpt to:<\"c d\\\"\"@[127.0.0.1]>",
            ),
            ("MAIL FROM:<@x.fr,@y.fr:a@b.fr>", "RCPT TO:<c@d.fr>"),
        ] {
            let got = replies(&format!("{mail}\r\n{rcpt}\r\n"));
            assert!(got[1].starts_with("250 2.1.0"), "{mail:?}: {got:?}");
            assert!(got[2].starts_with("250 2.1.5"), "{rcpt:?}: {got:?}");
        }
    }

    #[test]
    fn a_message_over_the_limit_is_refused_and_reported() {
        let client = Client {
            sha256: String::new(),
            subject: "CN=client".into(),
        };
        let accept = |_: &[u8], _: &Client| Verdict {
            stored: 1,
            problems: Vec::new(),
        };
        let input = format!(
            "EHLO c\r\nMAIL FROM:<a@b.fr>\r\nRCPT TO:<c@d.fr>\r\nDATA\r\n{}\r\n.\r\nQUIT\r\n",
            "x".repeat(200)
        );
        let mut conn = Trickle::new(input.into_bytes(), vec![64]);
        let mut reported = Vec::new();
        let _ = phase(
            &mut conn,
            Some(&client),
            &accept,
            &[],
            100,
            &mut |v, text| {
                reported.push((v.stored, text));
            },
        );
        assert_eq!(reported.len(), 1);
        assert_eq!(reported[0].0, 0);
        assert!(reported[0].1.starts_with("552 "), "{reported:?}");
    }

    #[test]
    fn a_store_failure_asks_the_client_to_retry() {
        let problem = |rule: &str| crate::service::Problem {
            rule: rule.into(),
            severity: Severity::Error,
            error_code: "",
            location: String::new(),
            message: "x".into(),
        };
        let v = |rule: &str| Verdict {
            stored: 0,
            problems: vec![problem(rule)],
        };
        assert!(message_reply(&v("SEGUR-SINK-STORE")).starts_with("451 4.3.0 "));
        assert!(message_reply(&v("SEGUR-XDS-HASH")).starts_with("550 5.6.0 "));
    }

    #[test]
    fn a_command_ended_by_a_bare_lf_is_refused_not_served() {
        // The MAIL after a bare LF is not taken: 500, and the transaction goes on with CRLF.
        let input = "EHLO c\r\nMAIL FROM:<a@b.fr>\nRCPT TO:<c@d.fr>\r\n\
                     MAIL FROM:<a@b.fr>\r\nRCPT TO:<c@d.fr>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n";
        for sizes in [vec![1], vec![4096]] {
            let (replies, messages) = session(input.as_bytes().to_vec(), sizes, 1 << 20);
            assert!(replies.contains(BARE_LF), "{replies}");
            // RCPT before a MAIL that was taken: 503.
            assert!(replies.contains("503 "), "{replies}");
            assert_eq!(messages.len(), 1, "{replies}");
        }
    }

    #[test]
    fn a_bare_lf_dot_does_not_end_a_message() {
        let input = "EHLO c\r\nMAIL FROM:<a@b.fr>\r\nRCPT TO:<c@d.fr>\r\nDATA\r\nSubject: x\r\n\r\nbody\n.\nMAIL FROM:<smuggled@x.fr>\r\n\r\n.\nRCPT TO:<e@f.fr>\r\n.\r\nQUIT\r\n";
        for sizes in [vec![1], vec![7], vec![4096]] {
            let (replies, messages) = session(input.as_bytes().to_vec(), sizes, 1 << 20);
            assert_eq!(messages.len(), 1, "{replies}");
            let m = String::from_utf8_lossy(&messages[0]);
            assert!(m.contains("\n.\nMAIL FROM:<smuggled@x.fr>"), "{m}");
            assert_eq!(replies.matches("250 2.1.0").count(), 1, "{replies}");
        }
    }

    /// A message body: lines of printable text, some starting with dots, some empty.
    fn message() -> impl Strategy<Value = Vec<String>> {
        proptest::collection::vec("\\.{0,2}[ -~]{0,90}", 0..30)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn pipelined_transactions_in_reads_of_any_size_deliver_each_message_as_written(
            messages in proptest::collection::vec((message(), 1usize..4, any::<bool>()), 1..4),
            sizes in proptest::collection::vec(1usize..700, 1..8),
        ) {
            let mut input = String::from("EHLO client.test\r\n");
            let mut expected_replies = vec!["250"];
            let mut expected = Vec::new();
            for (lines, rcpts, rset) in &messages {
                if *rset {
                    input.push_str("RSET\r\nNOOP\r\n");
                    expected_replies.extend(["250", "250"]);
                }
                input.push_str("MAIL FROM:<a@test.mssante.fr>\r\n");
                expected_replies.push("250");
                for r in 0..*rcpts {
                    input.push_str(&format!("RCPT TO:<p{r}@patient.mssante.fr>\r\n"));
                    expected_replies.push("250");
                }
                input.push_str("DATA\r\n");
                expected_replies.push("354");
                let mut body = String::new();
                for l in lines {
                    // Dot-stuffing (RFC 5321 4.5.2).
                    if l.starts_with('.') {
                        input.push('.');
                    }
                    input.push_str(l);
                    input.push_str("\r\n");
                    body.push_str(l);
                    body.push_str("\r\n");
                }
                input.push_str(".\r\n");
                expected_replies.push("250");
                expected.push(body.into_bytes());
            }
            input.push_str("QUIT\r\n");
            expected_replies.push("221");
            let (replies, received) = session(input.into_bytes(), sizes, 1 << 20);
            let codes: Vec<&str> = replies
                .split("\r\n")
                .filter(|l| !l.is_empty() && !l.starts_with("250-"))
                .map(|l| &l[..3])
                .collect();
            prop_assert_eq!(codes, expected_replies, "{}", replies);
            prop_assert_eq!(received, expected);
        }

        #[test]
        fn hostile_bytes_get_one_reply_per_line_at_most_and_no_message_over_the_limit(
            input in proptest::collection::vec(
                prop_oneof![
                    3 => any::<u8>(),
                    1 => Just(b'\n'),
                    1 => Just(b'.'),
                ],
                0..3000,
            ),
            prefix in prop_oneof![
                Just(&b""[..]),
                Just(&b"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"[..]),
            ],
            sizes in proptest::collection::vec(1usize..700, 1..8),
        ) {
            let mut bytes = prefix.to_vec();
            bytes.extend_from_slice(&input);
            let lines = bytes.iter().filter(|&&b| b == b'\n').count();
            let limit = 500;
            let (replies, received) = session(bytes, sizes, limit);
            let reply_lines = replies.split("\r\n").filter(|l| !l.is_empty() && !l.starts_with("250-")).count();
            prop_assert!(reply_lines <= lines + 1, "{reply_lines} replies to {lines} lines");
            for l in replies.split("\r\n").filter(|l| !l.is_empty()) {
                prop_assert!(l.len() >= 3 && l.as_bytes()[..3].iter().all(u8::is_ascii_digit), "{l:?}");
            }
            prop_assert!(received.iter().all(|m| m.len() <= limit));
        }
    }

    #[test]
    fn auth_needs_ehlo_first() {
        let accounts = [SmtpAccount {
            user: "cabinet".into(),
            password: "s3cret".into(),
        }];
        let input = "AUTH PLAIN AGNhYmluZXQAczNjcmV0\r\nEHLO client.test\r\n\
                     AUTH PLAIN AGNhYmluZXQAczNjcmV0\r\nQUIT\r\n";
        let (replies, _) = session_with(input.as_bytes().to_vec(), vec![4096], 1000, &accounts);
        let codes: Vec<&str> = replies
            .split("\r\n")
            .filter(|l| !l.is_empty() && !l.starts_with("250-"))
            .filter_map(|l| l.get(..9))
            .collect();
        assert_eq!(
            codes,
            ["503 5.5.1", "250 PIPEL", "235 2.7.0", "221 2.0.0"],
            "{replies}"
        );
    }

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
