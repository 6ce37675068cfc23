//! The HTTPS server: std `TcpListener`, a fixed pool of worker threads, rustls requiring a
//! client certificate, one request per connection.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use segur_tls::explain::{Side, explain};
use segur_tls::inspect::CertInfo;
use segur_tls::rustls::{ServerConfig, ServerConnection, StreamOwned};
use segur_validate::engine::{Engine, EngineOptions};

use crate::http::{ReadError, Reader, Response};
use crate::service::{Problem, Service};
use crate::store::{Client, Store};
use crate::{Config, Faults, SinkError, smtp};

/// Something that happened on a connection, for the log.
#[derive(Debug, Clone)]
pub enum Event {
    /// The TLS handshake failed (a client without certificate, an unknown CA…).
    Tls {
        /// The peer.
        peer: Option<SocketAddr>,
        /// In plain words, from [`segur_tls::explain`].
        text: String,
    },
    /// The connection failed before a whole request came (closed, timed out).
    Io {
        /// The peer.
        peer: Option<SocketAddr>,
        /// The error.
        text: String,
    },
    /// A fault was injected (`[faults]` of the configuration).
    Injected {
        /// The peer.
        peer: Option<SocketAddr>,
        /// `POST /iti41`.
        request: String,
        /// `dropped` or `503`.
        fault: &'static str,
    },
    /// A request was answered.
    Answered {
        /// The peer.
        peer: Option<SocketAddr>,
        /// The client certificate.
        client: Client,
        /// `POST /iti41`.
        request: String,
        /// The HTTP status.
        status: u16,
        /// Documents stored.
        stored: usize,
        /// Problems found (errors refused the submission).
        problems: Vec<Problem>,
    },
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let peer = |p: &Option<SocketAddr>| p.map_or_else(|| "?".to_string(), |a| a.to_string());
        match self {
            Event::Tls { peer: p, text } => write!(f, "{} TLS refused: {text}", peer(p)),
            Event::Io { peer: p, text } => write!(f, "{} connection: {text}", peer(p)),
            Event::Injected {
                peer: p,
                request,
                fault,
            } => write!(f, "{} {request}: injected fault: {fault}", peer(p)),
            Event::Answered {
                peer: p,
                client,
                request,
                status,
                stored,
                problems,
            } => {
                write!(
                    f,
                    "{} [{}] {request} -> {status}, {stored} stored",
                    peer(p),
                    client.subject
                )?;
                for pr in problems {
                    write!(f, "\n  {} {}: {}", pr.error_code, pr.rule, pr.message)?;
                }
                Ok(())
            }
        }
    }
}

/// Most requests served on one connection before it is closed.
pub const MAX_REQUESTS: usize = 1000;
/// Longest wait for the next request on a kept-alive connection.
pub const KEEP_ALIVE_IDLE: Duration = Duration::from_secs(5);

/// A callback receiving every [`Event`].
pub type Log = Arc<dyn Fn(&Event) + Send + Sync>;

/// Stops a running [`Sink::serve`] from another thread.
#[derive(Debug, Clone)]
pub struct Stopper {
    flag: Arc<AtomicBool>,
    addrs: Vec<SocketAddr>,
}

impl Stopper {
    /// Ask the server to stop: no new connection is taken, connections in progress finish.
    pub fn stop(&self) {
        self.flag.store(true, Ordering::SeqCst);
        // Wake the accept loops.
        for mut addr in self.addrs.iter().copied() {
            if addr.ip().is_unspecified() {
                addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(2));
        }
    }
}

/// The sink, bound and ready to serve.
pub struct Sink {
    listener: TcpListener,
    smtp: Option<TcpListener>,
    smtps: Option<TcpListener>,
    accounts: Vec<crate::config::SmtpAccount>,
    tls: Arc<ServerConfig>,
    service: Arc<Service>,
    workers: usize,
    timeout: Duration,
    max_body: usize,
    faults: Arc<Injector>,
    stop: Arc<AtomicBool>,
    log: Option<Log>,
}

/// Draws the injected faults: a splitmix64 sequence from the configured seed.
struct Injector {
    faults: Faults,
    counter: AtomicU64,
}

/// What to do with a request that was read.
enum Fate {
    Serve,
    Error,
    Drop,
}

impl Injector {
    fn draw(&self) -> Fate {
        if self.faults.error_rate <= 0.0 && self.faults.drop_rate <= 0.0 {
            return Fate::Serve;
        }
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut z = self
            .faults
            .seed
            .wrapping_add(n.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // 53 random bits as a fraction in [0, 1).
        let u = (z >> 11) as f64 / (1u64 << 53) as f64;
        if u < self.faults.drop_rate {
            Fate::Drop
        } else if u < self.faults.drop_rate + self.faults.error_rate {
            Fate::Error
        } else {
            Fate::Serve
        }
    }
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("listener", &self.listener)
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

/// An engine on `rules` with the catalogue files found beside it, as `segur validate` does.
fn engine(rules: PathBuf) -> Result<Engine, SinkError> {
    let beside = |rel: &str| {
        let p = rules.join(rel);
        p.is_file().then_some(p)
    };
    let options = EngineOptions {
        mapping: beside("../peer/mapping.properties"),
        overrides: beside("../sch_overrides.tsv"),
        rules_dir: rules,
        select: Default::default(),
        profile: Default::default(),
        xsd: true,
        limits: segur_xml::Limits::default(),
        cache_dir: segur_validate::rules::default_cache_dir(),
    };
    Ok(Engine::new(options)?)
}

impl Sink {
    /// Load the identity, roots, store (and rules), and bind the listen address. Also returns
    /// the store's notes (a torn index line cut off…).
    pub fn from_config(c: &Config) -> Result<(Sink, Vec<String>), SinkError> {
        let identity = segur_tls::Identity::from_pem_files(&c.cert, c.key.as_deref())?;
        let roots_pem =
            std::fs::read(&c.client_roots).map_err(|e| SinkError::io(&c.client_roots, e))?;
        let roots = segur_tls::roots_from_pem(&roots_pem)?;
        let tls = segur_tls::server_config(&identity, roots)?;
        let (store, notes) = Store::open(&c.store)?;
        let engine = c.rules.clone().map(engine).transpose()?;
        let bind = |address: &String| {
            TcpListener::bind(address).map_err(|source| SinkError::Bind {
                address: address.clone(),
                source,
            })
        };
        let listener = bind(&c.listen)?;
        let smtp = c.smtp_listen.as_ref().map(bind).transpose()?;
        let smtps = c.smtps_listen.as_ref().map(bind).transpose()?;
        Ok((
            Sink {
                listener,
                smtp,
                smtps,
                accounts: c.smtp_accounts.clone(),
                tls: Arc::new(tls),
                service: Arc::new(Service::new(store, engine)),
                workers: c.workers.max(1),
                timeout: Duration::from_secs(c.timeout_s.max(1)),
                max_body: c.max_body,
                faults: Arc::new(Injector {
                    faults: c.faults.clone(),
                    counter: AtomicU64::new(0),
                }),
                stop: Arc::new(AtomicBool::new(false)),
                log: None,
            },
            notes,
        ))
    }

    /// Send every event to `log`.
    pub fn with_log(mut self, log: Log) -> Sink {
        self.log = Some(log);
        self
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> Result<SocketAddr, SinkError> {
        self.listener
            .local_addr()
            .map_err(|source| SinkError::Bind {
                address: "?".into(),
                source,
            })
    }

    /// The SMTP address actually bound, when `smtp_listen` is set.
    pub fn smtp_addr(&self) -> Option<SocketAddr> {
        self.smtp.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The implicit-TLS SMTP address actually bound, when `smtps_listen` is set.
    pub fn smtps_addr(&self) -> Option<SocketAddr> {
        self.smtps.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// A handle that stops [`Sink::serve`].
    pub fn stopper(&self) -> Result<Stopper, SinkError> {
        let mut addrs = vec![self.local_addr()?];
        addrs.extend(self.smtp_addr());
        addrs.extend(self.smtps_addr());
        Ok(Stopper {
            flag: self.stop.clone(),
            addrs,
        })
    }

    /// Serve until stopped; returns once the workers have finished their connections.
    pub fn serve(self) -> Result<(), SinkError> {
        let (tx, rx) = sync_channel::<Job>(self.workers * 4);
        let rx = Arc::new(Mutex::new(rx));
        let mut handles = Vec::with_capacity(self.workers);
        let shared = Arc::new(Shared {
            tls: self.tls.clone(),
            accounts: self.accounts.clone(),
            service: self.service.clone(),
            faults: self.faults.clone(),
            log: self.log.clone(),
            stop: self.stop.clone(),
            timeout: self.timeout,
            max_body: self.max_body,
        });
        for _ in 0..self.workers {
            let rx = rx.clone();
            let shared = shared.clone();
            handles.push(std::thread::spawn(move || worker(&rx, &shared)));
        }
        let smtp_loop = self.smtp.map(|listener| {
            let (tx, stop) = (tx.clone(), self.stop.clone());
            std::thread::spawn(move || accept_loop(&listener, &stop, &tx, Job::Smtp))
        });
        let smtps_loop = self.smtps.map(|listener| {
            let (tx, stop) = (tx.clone(), self.stop.clone());
            std::thread::spawn(move || accept_loop(&listener, &stop, &tx, Job::Smtps))
        });
        accept_loop(&self.listener, &self.stop, &tx, Job::Https);
        for h in [smtp_loop, smtps_loop].into_iter().flatten() {
            let _ = h.join();
        }
        drop(tx);
        for h in handles {
            let _ = h.join();
        }
        Ok(())
    }
}

/// What every worker uses.
struct Shared {
    tls: Arc<ServerConfig>,
    accounts: Vec<crate::config::SmtpAccount>,
    service: Arc<Service>,
    faults: Arc<Injector>,
    log: Option<Log>,
    stop: Arc<AtomicBool>,
    timeout: Duration,
    max_body: usize,
}

impl Shared {
    fn emit(&self, e: Event) {
        if let Some(log) = &self.log {
            log(&e);
        }
    }
}

/// A connection for the workers.
enum Job {
    Https(TcpStream),
    Smtp(TcpStream),
    Smtps(TcpStream),
}

fn accept_loop(
    listener: &TcpListener,
    stop: &AtomicBool,
    tx: &std::sync::mpsc::SyncSender<Job>,
    job: fn(TcpStream) -> Job,
) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        // A failed accept (out of descriptors, a reset before accept) is not fatal.
        let Ok(stream) = stream else { continue };
        if tx.send(job(stream)).is_err() {
            break;
        }
    }
}

fn worker(rx: &Mutex<Receiver<Job>>, shared: &Shared) {
    loop {
        let next = match rx.lock() {
            Ok(r) => r.recv(),
            Err(p) => p.into_inner().recv(),
        };
        let Ok(stream) = next else { return };
        match stream {
            Job::Https(tcp) => connection(tcp, shared),
            Job::Smtp(tcp) => smtp_connection(tcp, shared, false),
            Job::Smtps(tcp) => smtp_connection(tcp, shared, true),
        }
    }
}

/// The TLS handshake, requiring a client certificate; failures are logged in words.
fn handshake(
    tcp: &mut Deadline,
    shared: &Shared,
    peer: Option<SocketAddr>,
) -> Option<(ServerConnection, Client)> {
    let mut conn = match ServerConnection::new(shared.tls.clone()) {
        Ok(c) => c,
        Err(e) => {
            shared.emit(Event::Tls {
                peer,
                text: e.to_string(),
            });
            return None;
        }
    };
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(tcp) {
            match e
                .get_ref()
                .and_then(|i| i.downcast_ref::<segur_tls::rustls::Error>())
            {
                Some(te) => shared.emit(Event::Tls {
                    peer,
                    text: explain(te, Side::Server).text,
                }),
                // The stop handle's wake-up connection, or a port scan.
                None if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
                None => shared.emit(Event::Io {
                    peer,
                    text: format!("during the TLS handshake: {}", io_text(&e)),
                }),
            }
            return None;
        }
    }
    let client = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|der| CertInfo::from_der(der.as_ref()).ok())
        .map(|i| Client {
            sha256: i.sha256,
            subject: i.subject,
        })
        .unwrap_or_else(|| Client {
            sha256: String::new(),
            subject: String::new(),
        });
    Some((conn, client))
}

/// An SMTP session: plain until STARTTLS, then TLS with a client certificate; or, with
/// `implicit`, TLS from the first byte (RFC 8314).
fn smtp_connection(tcp: TcpStream, shared: &Shared, implicit: bool) {
    let peer = tcp.peer_addr().ok();
    let _ = tcp.set_nodelay(true);
    let mut tcp = Deadline {
        tcp,
        until: Instant::now() + shared.timeout,
        idle_until: None,
    };
    let io = |e: std::io::Error| {
        shared.emit(Event::Io {
            peer,
            text: format!("SMTP: {}", io_text(&e)),
        });
    };
    const GREETING: &[u8] = b"220 segur-sink ESMTP\r\n";
    if !implicit {
        if let Err(e) = tcp.write_all(GREETING).and_then(|()| tcp.flush()) {
            return io(e);
        }
        match smtp::phase(
            &mut tcp,
            None,
            &shared.service,
            &shared.accounts,
            shared.max_body,
            &mut |_, _| {},
        ) {
            Ok(smtp::End::StartTls) => {}
            Ok(smtp::End::Quit) => return,
            Err(e) => return io(e),
        }
    }
    let Some((conn, client)) = handshake(&mut tcp, shared, peer) else {
        return;
    };
    let mut stream = StreamOwned::new(conn, tcp);
    if implicit && let Err(e) = stream.write_all(GREETING).and_then(|()| stream.flush()) {
        return io(e);
    }
    let mut on_message = |verdict: crate::service::Verdict, text: String| {
        shared.emit(Event::Answered {
            peer,
            client: client.clone(),
            request: "SMTP DATA".into(),
            status: text.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0),
            stored: verdict.stored,
            problems: verdict.problems,
        });
    };
    let ended = smtp::phase(
        &mut stream,
        Some(&client),
        &shared.service,
        &shared.accounts,
        shared.max_body,
        &mut on_message,
    );
    stream.conn.send_close_notify();
    let _ = stream.flush();
    if let Err(e) = ended {
        io(e);
    }
}

/// An I/O error in words; a socket timeout reads "timed out".
fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            "timed out (the connection timeout ran out)".into()
        }
        std::io::ErrorKind::UnexpectedEof => "the client closed the connection".into(),
        _ => e.to_string(),
    }
}

/// A socket with an overall deadline: each read or write may wait only for the time left,
/// so a client trickling bytes cannot hold a worker longer than the connection timeout.
struct Deadline {
    tcp: TcpStream,
    until: Instant,
    /// Until the first byte of the next request of a kept-alive connection: a shorter wait.
    idle_until: Option<Instant>,
}

impl Deadline {
    fn left(&self) -> std::io::Result<Duration> {
        let until = self.idle_until.map_or(self.until, |i| i.min(self.until));
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the connection timeout ran out",
            ));
        }
        Ok(left)
    }
}

impl Read for Deadline {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.left()?;
        self.tcp.set_read_timeout(Some(left))?;
        let n = self.tcp.read(buf)?;
        if n > 0 {
            self.idle_until = None;
        }
        Ok(n)
    }
}

impl Write for Deadline {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let left = self.left()?;
        self.tcp.set_write_timeout(Some(left))?;
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.tcp.flush()
    }
}

fn connection(tcp: TcpStream, shared: &Shared) {
    let (timeout, max_body) = (shared.timeout, shared.max_body);
    let faults = &shared.faults;
    let peer = tcp.peer_addr().ok();
    let _ = tcp.set_nodelay(true);
    let mut tcp = Deadline {
        tcp,
        until: Instant::now() + timeout,
        idle_until: None,
    };
    let Some((conn, client)) = handshake(&mut tcp, shared, peer) else {
        return;
    };
    let mut stream = StreamOwned::new(conn, tcp);
    let mut reader = Reader::new();
    for served in 1..=MAX_REQUESTS {
        if served > 1 {
            // Waiting for the next request of a kept-alive connection: KEEP_ALIVE_IDLE at
            // most, then the whole timeout once it starts coming.
            let now = Instant::now();
            stream.sock.until = now + timeout;
            stream.sock.idle_until = Some(now + KEEP_ALIVE_IDLE.min(timeout));
        }
        let (response, request, verdict, keep) = match reader.read_request(&mut stream, max_body) {
            Ok(req) => {
                let request = format!("{} {}", req.method, req.path);
                let keep =
                    req.keep_alive && served < MAX_REQUESTS && !shared.stop.load(Ordering::SeqCst);
                match faults.draw() {
                    Fate::Drop => {
                        let _ = stream.sock.tcp.shutdown(std::net::Shutdown::Both);
                        shared.emit(Event::Injected {
                            peer,
                            request,
                            fault: "dropped",
                        });
                        return;
                    }
                    Fate::Error => {
                        let mut resp = Response::text(503, "injected fault: try again later");
                        resp.headers.push(("Retry-After".into(), "1".into()));
                        shared.emit(Event::Injected {
                            peer,
                            request: request.clone(),
                            fault: "503",
                        });
                        (resp, request, None, keep)
                    }
                    Fate::Serve => {
                        let (resp, verdict) = shared.service.handle(&req, &client);
                        (resp, request, Some(verdict), keep)
                    }
                }
            }
            // The body of a refused request was not read: the connection cannot go on.
            Err(ReadError::Refused(resp)) => (resp, "(refused request)".into(), None, false),
            Err(ReadError::Closed) => return,
            Err(ReadError::Io(e))
                if served > 1
                    && matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
            {
                // An idle kept-alive connection: close it politely.
                stream.sock.until = Instant::now() + Duration::from_secs(1);
                stream.sock.idle_until = None;
                stream.conn.send_close_notify();
                let _ = stream.flush();
                return;
            }
            Err(ReadError::Io(e)) => {
                shared.emit(Event::Io {
                    peer,
                    text: format!("reading the request: {}", io_text(&e)),
                });
                return;
            }
        };
        if faults.faults.latency_ms > 0 {
            std::thread::sleep(Duration::from_millis(faults.faults.latency_ms));
        }
        let status = response.status;
        let written = response.write_to(&mut stream, !keep);
        if !keep {
            stream.conn.send_close_notify();
        }
        let written = written.and_then(|()| stream.flush());
        let (stored, problems) = verdict.map_or((0, Vec::new()), |v| (v.stored, v.problems));
        if let Err(e) = written {
            shared.emit(Event::Io {
                peer,
                text: format!(
                    "{request} -> {status}, {stored} stored, but the answer was not sent: {}",
                    io_text(&e)
                ),
            });
            return;
        }
        shared.emit(Event::Answered {
            peer,
            client: client.clone(),
            request,
            status,
            stored,
            problems,
        });
        if !keep {
            return;
        }
    }
}
