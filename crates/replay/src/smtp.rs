//! MSSanté SMTP submission (RFC 5321, STARTTLS per RFC 3207, or implicit TLS per RFC 8314)
//! with a client certificate, over the same rustls configuration as HTTPS: the whole chain
//! of the identity is sent. A [`Session`] per virtual user keeps its SMTP session open for
//! successive messages when keep-alive is on. AUTH PLAIN is sent after TLS when the endpoint
//! names a user. When the server offers PIPELINING (RFC 2920), a message's MAIL FROM, RCPT
//! TO and DATA go in one write and their replies are read after; otherwise one at a time.

use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;
use std::time::Instant;

use segur_tls::rustls::ClientConfig;

use crate::Prepared;
use crate::config::Scheme;
use crate::http::{Connector, Deadlined, Stream, classify, is_closed, still_open};
use crate::run::Failure;

/// Longest reply accepted (all lines of a multi-line reply).
pub const MAX_REPLY: usize = 64 * 1024;

/// The name given in EHLO.
const EHLO_NAME: &str = "segur-replay";

/// The envelope of a message: sender and recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// MAIL FROM.
    pub from: String,
    /// RCPT TO, in order.
    pub to: Vec<String>,
}

/// The envelope read from a message's `From`, `To` and `Cc` headers (folded lines joined).
pub fn envelope_of(message: &[u8]) -> Envelope {
    let end = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| message.windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(message.len());
    let head = String::from_utf8_lossy(&message[..end]);
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((n, v)) = line.split_once(':') {
            fields.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let mut from = String::new();
    let mut to = Vec::new();
    for (n, v) in &fields {
        match n.as_str() {
            "from" if from.is_empty() => from = addresses(v).into_iter().next().unwrap_or_default(),
            "to" | "cc" => to.extend(addresses(v)),
            _ => {}
        }
    }
    Envelope { from, to }
}

/// The addresses of an address-list header: `<a@b>` forms, else bare `a@b` words.
fn addresses(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in value.split(',') {
        let addr = match (part.find('<'), part.rfind('>')) {
            (Some(i), Some(j)) if i < j => part[i + 1..j].trim(),
            _ => part
                .split_whitespace()
                .find(|w| w.contains('@'))
                .unwrap_or(""),
        };
        if addr.contains('@') && !addr.contains(['\r', '\n', '<', '>']) {
            out.push(addr.to_string());
        }
    }
    out
}

/// A reply: its code and its text lines joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// The text after the code, lines joined with ` / `.
    pub text: String,
}

impl Reply {
    fn failure(&self) -> Failure {
        Failure::Smtp(self.code, self.text.clone())
    }
}

/// Read one (possibly multi-line) reply.
fn read_reply(s: &mut impl Read, buf: &mut Vec<u8>) -> Result<Reply, Failure> {
    let mut lines: Vec<String> = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(p) = buf.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = buf.drain(..=p).collect();
            let line = String::from_utf8_lossy(&raw).trim_end().to_string();
            let code: u16 = line
                .get(..3)
                .and_then(|c| c.parse().ok())
                .filter(|c| (200..600).contains(c))
                .ok_or_else(|| Failure::Protocol(format!("not an SMTP reply: {line:?}")))?;
            let more = line.as_bytes().get(3) == Some(&b'-');
            lines.push(line.get(4..).unwrap_or_default().to_string());
            if !more {
                return Ok(Reply {
                    code,
                    text: lines.join(" / "),
                });
            }
        }
        if buf.len() + lines.iter().map(String::len).sum::<usize>() > MAX_REPLY {
            return Err(Failure::Protocol(format!(
                "SMTP reply over {MAX_REPLY} bytes"
            )));
        }
        match s.read(&mut chunk) {
            Ok(0) => return Err(Failure::Protocol(CLOSED.into())),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::UnexpectedEof && e.get_ref().is_none() => {
                return Err(Failure::Protocol(CLOSED.into()));
            }
            Err(e) => return Err(classify(e)),
        }
    }
}

const CLOSED: &str = "the SMTP server closed the connection";

/// Send a command line and read its reply.
fn command(s: &mut (impl Read + Write), buf: &mut Vec<u8>, line: &str) -> Result<Reply, Failure> {
    s.write_all(line.as_bytes())
        .and_then(|()| s.write_all(b"\r\n"))
        .and_then(|()| s.flush())
        .map_err(write_failure)?;
    read_reply(s, buf)
}

fn write_failure(e: std::io::Error) -> Failure {
    if is_closed(&e) && e.get_ref().is_none() {
        Failure::Protocol(CLOSED.into())
    } else {
        classify(e)
    }
}

/// Expect a reply code (or one of a class, `2` for any 2xx).
fn expect(r: Reply, ok: fn(u16) -> bool) -> Result<Reply, Failure> {
    if ok(r.code) { Ok(r) } else { Err(r.failure()) }
}

/// The message body for DATA: CRLF line ends, dot-stuffed, ended by `.`.
pub fn data_block(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 50 + 5);
    let body = message.strip_suffix(b"\n").unwrap_or(message);
    for line in body.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// An open, authenticated-by-certificate SMTP session after EHLO.
struct Open {
    s: Stream,
    buf: Vec<u8>,
    /// The server offered PIPELINING in its EHLO reply (after TLS).
    pipelining: bool,
}

/// Whether an EHLO reply offers `keyword` (one of its lines starts with it).
fn offers(ehlo: &Reply, keyword: &str) -> bool {
    ehlo.text.split(" / ").any(|l| {
        l.split_whitespace()
            .next()
            .is_some_and(|k| k.eq_ignore_ascii_case(keyword))
    })
}

/// One virtual user's SMTP session, kept open between messages when keep-alive is on.
pub struct Session {
    tls: Arc<ClientConfig>,
    /// AUTH PLAIN credentials (user, password), sent after TLS when given.
    login: Option<(String, String)>,
    open: Option<Open>,
    /// TLS handshakes begun.
    pub handshakes: u64,
    /// Messages whose MAIL FROM met a closed kept-alive session and went on a new one.
    pub reconnects: u64,
}

impl Session {
    /// A session with no connection yet, using `tls` (this user's identity), and
    /// authenticating as `login` (user, password) when given.
    pub fn new(tls: Arc<ClientConfig>, login: Option<(String, String)>) -> Session {
        Session {
            tls,
            login,
            open: None,
            handshakes: 0,
            reconnects: 0,
        }
    }

    /// Connect, greet, secure (STARTTLS or implicit TLS) and EHLO.
    fn connect(&mut self, c: &Connector, scheme: Scheme) -> Result<Open, Failure> {
        let mut tcp = c.connect_tcp()?;
        let mut buf = Vec::new();
        if scheme == Scheme::Smtps {
            self.handshakes += 1;
            let mut s = c.handshake(tcp, &self.tls)?;
            expect(read_reply(&mut s, &mut buf)?, |c| c == 220)?;
            let r = command(&mut s, &mut buf, &format!("EHLO {EHLO_NAME}"))?;
            let ehlo = expect(r, |c| c == 250)?;
            let pipelining = offers(&ehlo, "PIPELINING");
            let mut open = Open { s, buf, pipelining };
            self.login(&mut open)?;
            return Ok(open);
        }
        expect(read_reply(&mut tcp, &mut buf)?, |c| c == 220)?;
        let ehlo = expect(
            command(&mut tcp, &mut buf, &format!("EHLO {EHLO_NAME}"))?,
            |c| c == 250,
        )?;
        if !offers(&ehlo, "STARTTLS") {
            return Err(Failure::Protocol(
                "the SMTP server does not offer STARTTLS".into(),
            ));
        }
        expect(command(&mut tcp, &mut buf, "STARTTLS")?, |c| c == 220)?;
        if !buf.is_empty() {
            // Bytes after the 220 would be read as TLS: a server injecting plain text.
            return Err(Failure::Protocol(
                "plain text after the STARTTLS reply".into(),
            ));
        }
        self.handshakes += 1;
        let mut s = c.handshake(tcp, &self.tls)?;
        // What the server offers before TLS does not count (RFC 3207 4.2).
        let r = command(&mut s, &mut buf, &format!("EHLO {EHLO_NAME}"))?;
        let ehlo = expect(r, |c| c == 250)?;
        let pipelining = offers(&ehlo, "PIPELINING");
        let mut open = Open { s, buf, pipelining };
        self.login(&mut open)?;
        Ok(open)
    }

    /// AUTH PLAIN (RFC 4616) with the session's credentials, if any; a refusal is counted by
    /// its reply code (535, say).
    fn login(&self, o: &mut Open) -> Result<(), Failure> {
        use base64::Engine;
        let Some((user, password)) = &self.login else {
            return Ok(());
        };
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("\0{user}\0{password}").as_bytes());
        let r = command(&mut o.s, &mut o.buf, &format!("AUTH PLAIN {token}"))?;
        expect(r, |c| c == 235).map(drop)
    }

    /// Submit one message. `Ok(Err(..))`: the server answered with a refusal (a reply code);
    /// `Err(..)`: no answer (connection, TLS, timeout).
    pub fn send(
        &mut self,
        c: &Connector,
        scheme: Scheme,
        envelope: &Envelope,
        req: &Prepared,
    ) -> Result<Result<(), Failure>, Failure> {
        if envelope.from.is_empty() || envelope.to.is_empty() {
            return Ok(Err(Failure::Protocol(format!(
                "{}: no sender or no recipient (From/To headers, or mail_from/rcpt_to)",
                req.name
            ))));
        }
        let mut open = match self.open.take() {
            Some(mut o) => {
                if still_open(&mut o.s) {
                    o
                } else {
                    self.reconnects += 1;
                    self.connect(c, scheme)?
                }
            }
            None => self.connect(c, scheme)?,
        };
        // The message's replies must all come within its timeout (a server trickling them
        // cannot hold it longer), each read also within the connection's own timeout.
        let until = Instant::now() + c.timeout;
        let first = envelope_commands(
            &mut Deadlined::new(&mut open.s, until, c.timeout),
            &mut open.buf,
            open.pipelining,
            envelope,
        );
        let replies = match first {
            Err(Failure::Protocol(p)) if p == CLOSED => {
                // The server ended the session we kept (its idle timeout): nothing of this
                // message was sent, so it goes on a new session.
                self.reconnects += 1;
                open = self.connect(c, scheme)?;
                envelope_commands(
                    &mut Deadlined::new(&mut open.s, until, c.timeout),
                    &mut open.buf,
                    open.pipelining,
                    envelope,
                )?
            }
            other => other?,
        };
        let verdict = transaction(
            &mut Deadlined::new(&mut open.s, until, c.timeout),
            &mut open.buf,
            replies,
            &req.body,
        );
        match &verdict {
            // A transport failure mid-transaction: the session is unusable.
            Err(_) => return verdict,
            Ok(Err(Failure::Smtp(421, _))) => return verdict,
            Ok(Err(_)) => {
                // A refusal inside the transaction: reset it to reuse the session.
                if command(&mut open.s, &mut open.buf, "RSET").is_err() {
                    return verdict;
                }
            }
            Ok(Ok(())) => {}
        }
        if c.keep_alive {
            self.open = Some(open);
        } else {
            quit(open);
        }
        verdict
    }

    /// Say QUIT on the open session, if any.
    pub fn finish(&mut self) {
        if let Some(o) = self.open.take() {
            quit(o);
        }
    }
}

fn quit(mut o: Open) {
    let _ = command(&mut o.s, &mut o.buf, "QUIT");
    o.s.conn.send_close_notify();
    let _ = o.s.flush();
}

/// The replies to a message's envelope commands.
#[derive(Debug)]
struct Replies {
    mail: Reply,
    /// One per recipient; fewer when MAIL was refused without pipelining.
    rcpts: Vec<Reply>,
    /// None when DATA was not sent (no pipelining and nothing accepted before it).
    data: Option<Reply>,
}

fn accepted(r: &Reply) -> bool {
    r.code == 250 || r.code == 251
}

/// MAIL FROM, RCPT TO for each recipient, and DATA. With `pipelining` they go in one write
/// and the replies are read after, in order (RFC 2920 3.1: DATA ends the group); without,
/// one at a time, stopping when MAIL or every RCPT is refused.
fn envelope_commands<S: Read + Write>(
    s: &mut S,
    buf: &mut Vec<u8>,
    pipelining: bool,
    env: &Envelope,
) -> Result<Replies, Failure> {
    let mail = format!("MAIL FROM:<{}>", env.from);
    if pipelining {
        let mut group = format!("{mail}\r\n");
        for to in &env.to {
            group.push_str(&format!("RCPT TO:<{to}>\r\n"));
        }
        group.push_str("DATA\r\n");
        s.write_all(group.as_bytes())
            .and_then(|()| s.flush())
            .map_err(write_failure)?;
        let mail = read_reply(s, buf)?;
        let rcpts = env
            .to
            .iter()
            .map(|_| read_reply(s, buf))
            .collect::<Result<Vec<_>, _>>()?;
        let data = read_reply(s, buf)?;
        return Ok(Replies {
            mail,
            rcpts,
            data: Some(data),
        });
    }
    let mail = command(s, buf, &mail)?;
    let mut rcpts = Vec::new();
    if mail.code == 250 {
        for to in &env.to {
            rcpts.push(command(s, buf, &format!("RCPT TO:<{to}>"))?);
        }
    }
    let data = if rcpts.iter().any(accepted) {
        Some(command(s, buf, "DATA")?)
    } else {
        None
    };
    Ok(Replies { mail, rcpts, data })
}

/// The rest of a transaction once its envelope commands are answered: the message after
/// a 354, else the refusal. A pipelined DATA that the server accepted although no
/// recipient was is ended at once with an empty message (RFC 2920 3.1).
fn transaction<S: Read + Write>(
    s: &mut S,
    buf: &mut Vec<u8>,
    replies: Replies,
    message: &[u8],
) -> Result<Result<(), Failure>, Failure> {
    let refusal = if replies.mail.code == 250 {
        replies.rcpts.iter().find(|r| !accepted(r)).cloned()
    } else {
        Some(replies.mail.clone())
    };
    let nothing_to_send = replies.mail.code != 250 || !replies.rcpts.iter().any(accepted);
    let data = match replies.data {
        Some(d) if nothing_to_send && d.code == 354 => {
            s.write_all(b".\r\n")
                .and_then(|()| s.flush())
                .map_err(write_failure)?;
            read_reply(s, buf)?;
            None
        }
        other => other,
    };
    if nothing_to_send {
        return Ok(Err(refusal.map_or_else(
            || Failure::Protocol("no recipient".into()),
            |r| r.failure(),
        )));
    }
    let Some(data) = data else {
        return Err(Failure::Protocol("no reply to DATA".into()));
    };
    if data.code != 354 {
        return Ok(Err(data.failure()));
    }
    s.write_all(&data_block(message))
        .and_then(|()| s.flush())
        .map_err(write_failure)?;
    let r = read_reply(s, buf)?;
    Ok(if r.code == 250 {
        // Some recipients refused: the message went to the others; count it as refused.
        match refusal {
            Some(r) => Err(r.failure()),
            None => Ok(()),
        }
    } else {
        Err(r.failure())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_come_from_the_headers() {
        let m = b"From: Cabinet <doc@test.mssante.fr>\r\nTo: a@b.fr,\r\n \"C, D\" <c@d.fr>\r\nCc: e@f.fr\r\nSubject: x\r\n\r\nTo: not@header.fr\r\n";
        assert_eq!(
            envelope_of(m),
            Envelope {
                from: "doc@test.mssante.fr".into(),
                to: vec!["a@b.fr".into(), "c@d.fr".into(), "e@f.fr".into()],
            }
        );
        assert_eq!(envelope_of(b"").to, Vec::<String>::new());
    }

    #[test]
    fn data_is_dot_stuffed_with_crlf_line_ends() {
        assert_eq!(
            data_block(b"a\n.b\r\n..c\r\n"),
            b"a\r\n..b\r\n...c\r\n.\r\n"
        );
        assert_eq!(data_block(b"x"), b"x\r\n.\r\n");
    }

    /// A server side that answers from a script, one reply line per read, and records each
    /// write with how many reply bytes had been read before it.
    struct Script {
        replies: Vec<u8>,
        read: usize,
        writes: Vec<(usize, Vec<u8>)>,
    }

    impl Script {
        fn new(replies: &str) -> Script {
            Script {
                replies: replies.as_bytes().to_vec(),
                read: 0,
                writes: Vec::new(),
            }
        }

        /// The writes, each with the reply bytes read before it (writes in a row joined).
        fn writes(&self) -> Vec<(usize, String)> {
            self.writes
                .iter()
                .map(|(n, w)| (*n, String::from_utf8_lossy(w).into_owned()))
                .collect()
        }
    }

    impl Read for Script {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let rest = &self.replies[self.read..];
            let line = rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |p| p + 1);
            let n = line.min(out.len());
            out[..n].copy_from_slice(&rest[..n]);
            self.read += n;
            Ok(n)
        }
    }

    impl Write for Script {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            match self.writes.last_mut() {
                Some((n, w)) if *n == self.read => w.extend_from_slice(b),
                _ => self.writes.push((self.read, b.to_vec())),
            }
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn env() -> Envelope {
        Envelope {
            from: "a@x.fr".into(),
            to: vec!["b@y.fr".into(), "c@y.fr".into()],
        }
    }

    fn send(s: &mut Script, pipelining: bool) -> Result<Result<(), Failure>, Failure> {
        let mut buf = Vec::new();
        let replies = envelope_commands(s, &mut buf, pipelining, &env())?;
        transaction(s, &mut buf, replies, b"hello\r\n")
    }

    #[test]
    fn with_pipelining_the_envelope_goes_in_one_write_before_any_reply_is_read() {
        let mut s = Script::new("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n250 stored\r\n");
        assert_eq!(send(&mut s, true), Ok(Ok(())));
        assert_eq!(
            s.writes(),
            [
                (
                    0,
                    "MAIL FROM:<a@x.fr>\r\nRCPT TO:<b@y.fr>\r\nRCPT TO:<c@y.fr>\r\nDATA\r\n"
                        .to_string()
                ),
                (32, "hello\r\n.\r\n".to_string()),
            ]
        );
    }

    #[test]
    fn without_pipelining_each_command_waits_for_its_reply() {
        let mut s = Script::new("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n250 stored\r\n");
        assert_eq!(send(&mut s, false), Ok(Ok(())));
        let writes: Vec<String> = s.writes().into_iter().map(|(_, w)| w).collect();
        assert_eq!(
            writes,
            [
                "MAIL FROM:<a@x.fr>\r\n",
                "RCPT TO:<b@y.fr>\r\n",
                "RCPT TO:<c@y.fr>\r\n",
                "DATA\r\n",
                "hello\r\n.\r\n"
            ]
        );
        // MAIL refused: nothing more is sent.
        let mut s = Script::new("530 auth first\r\n");
        assert_eq!(
            send(&mut s, false),
            Ok(Err(Failure::Smtp(530, "auth first".into())))
        );
        assert_eq!(s.writes().len(), 1);
    }

    #[test]
    fn pipelined_refusals_are_read_in_order_and_no_message_follows() {
        // Both recipients refused, DATA refused too (RFC 2920): the first refusal counts.
        let mut s = Script::new("250 ok\r\n550 no b\r\n550 no c\r\n503 RCPT first\r\n");
        assert_eq!(
            send(&mut s, true),
            Ok(Err(Failure::Smtp(550, "no b".into())))
        );
        assert_eq!(s.writes().len(), 1, "{:?}", s.writes());
        // A server that answers DATA 354 all the same gets an empty message at once.
        let mut s = Script::new("250 ok\r\n550 no b\r\n550 no c\r\n354 go\r\n554 empty\r\n");
        assert_eq!(
            send(&mut s, true),
            Ok(Err(Failure::Smtp(550, "no b".into())))
        );
        assert_eq!(s.writes().last().map(|(_, w)| w.as_str()), Some(".\r\n"));
        // One recipient refused: the message goes to the other, and counts as refused.
        let mut s = Script::new("250 ok\r\n250 ok\r\n550 no c\r\n354 go\r\n250 stored\r\n");
        assert_eq!(
            send(&mut s, true),
            Ok(Err(Failure::Smtp(550, "no c".into())))
        );
        assert_eq!(
            s.writes().last().map(|(_, w)| w.as_str()),
            Some("hello\r\n.\r\n")
        );
    }

    #[test]
    fn ehlo_keywords_are_matched_whole() {
        let ehlo = Reply {
            code: 250,
            text: "srv / SIZE 10 / PIPELINING / 8BITMIME".into(),
        };
        assert!(offers(&ehlo, "pipelining"));
        assert!(!offers(&ehlo, "STARTTLS"));
        assert!(!offers(&ehlo, "SIZE 10"));
    }

    #[test]
    fn multi_line_replies_are_joined_and_junk_refused() {
        let mut buf = Vec::new();
        let mut r: &[u8] = b"250-srv\r\n250-SIZE 10\r\n250 STARTTLS\r\n";
        let reply = read_reply(&mut r, &mut buf).expect("reply");
        assert_eq!(
            (reply.code, reply.text.as_str()),
            (250, "srv / SIZE 10 / STARTTLS")
        );
        let mut r: &[u8] = b"HTTP/1.1 200 OK\r\n";
        assert!(matches!(
            read_reply(&mut r, &mut Vec::new()),
            Err(Failure::Protocol(_))
        ));
        let mut r: &[u8] = b"";
        assert_eq!(
            read_reply(&mut r, &mut Vec::new()),
            Err(Failure::Protocol(CLOSED.into()))
        );
    }
}
