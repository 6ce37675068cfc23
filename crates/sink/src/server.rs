//! The servers (HTTPS, SMTP): std `TcpListener`s, a thread per open connection up to
//! `max_connections`, rustls requiring a client certificate. The heavy work of a request
//! (unpack, validate, store) runs at most `workers` at a time, whatever the number of
//! connections, so kept-alive connections never wait for one another to close.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use segur_finding::printable;
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
    /// A connection was closed at once: `max_connections` were already open.
    Refused {
        /// The peer.
        peer: Option<SocketAddr>,
        /// The listener: `https`, `smtp` or `smtps`.
        listener: &'static str,
        /// The configured `max_connections`.
        limit: usize,
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

/// One line per event (and one per problem): what came from outside (a request's path, an
/// error's or a problem's text) has its control characters escaped.
impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let peer = |p: &Option<SocketAddr>| p.map_or_else(|| "?".to_string(), |a| a.to_string());
        match self {
            Event::Tls { peer: p, text } => write!(f, "{} TLS refused: {text}", peer(p)),
            Event::Io { peer: p, text } => {
                write!(f, "{} connection: {}", peer(p), printable(text))
            }
            Event::Refused {
                peer: p,
                listener,
                limit,
            } => write!(
                f,
                "{} {listener} connection refused: max_connections ({limit}) are open",
                peer(p)
            ),
            Event::Injected {
                peer: p,
                request,
                fault,
            } => write!(
                f,
                "{} {}: injected fault: {fault}",
                peer(p),
                printable(request)
            ),
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
                    "{} [{}] {} -> {status}, {stored} stored",
                    peer(p),
                    printable(&client.subject),
                    printable(request)
                )?;
                for pr in problems {
                    write!(
                        f,
                        "\n  {} {}: {}",
                        pr.error_code,
                        printable(&pr.rule),
                        printable(&pr.message)
                    )?;
                }
                Ok(())
            }
        }
    }
}

/// Most requests served on one connection before it is closed.
pub const MAX_REQUESTS: usize = 1000;
/// Longest wait for the next request on a kept-alive connection, by default (`keep_alive_s`).
pub const KEEP_ALIVE_IDLE: Duration = Duration::from_secs(5);
/// The stop flag, and the connections waiting for the first byte of a request or command. A
/// stop shuts the reading side of those that are waiting, so each wait ends at once (the read
/// sees the end of the stream) instead of every idle connection waking up ten times a second
/// to look at the flag.
#[derive(Debug, Default)]
struct Stop {
    flag: AtomicBool,
    next: AtomicU64,
    waiters: Mutex<std::collections::HashMap<u64, Arc<Waiter>>>,
}

/// A registered connection: its socket (shared, not duplicated: no descriptor more per
/// connection), and whether it is waiting now.
#[derive(Debug)]
struct Waiter {
    tcp: Arc<TcpStream>,
    idle: AtomicBool,
}

/// A connection's place in [`Stop::waiters`], given up when the connection ends.
#[derive(Debug)]
struct Registration {
    stop: Arc<Stop>,
    id: u64,
    waiter: Arc<Waiter>,
}

impl Stop {
    fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Sets the flag, then ends the waits under way. A connection marks itself waiting before
    /// it looks at the flag, and this sets the flag before looking at the marks: either the
    /// connection sees the flag, or this sees the mark.
    fn set(&self) {
        self.flag.store(true, Ordering::SeqCst);
        for w in lock(&self.waiters).values() {
            if w.idle.load(Ordering::SeqCst) {
                let _ = w.tcp.shutdown(std::net::Shutdown::Read);
            }
        }
    }

    /// Registers the connection on `tcp`.
    fn register(self: &Arc<Self>, tcp: &Arc<TcpStream>) -> Registration {
        let waiter = Arc::new(Waiter {
            tcp: tcp.clone(),
            idle: AtomicBool::new(false),
        });
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        lock(&self.waiters).insert(id, waiter.clone());
        Registration {
            stop: self.clone(),
            id,
            waiter,
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        lock(&self.stop.waiters).remove(&self.id);
    }
}

/// A callback receiving every [`Event`].
pub type Log = Arc<dyn Fn(&Event) + Send + Sync>;

/// Stops a running [`Sink::serve`] from another thread.
#[derive(Debug, Clone)]
pub struct Stopper {
    stop: Arc<Stop>,
    addrs: Vec<SocketAddr>,
}

impl Stopper {
    /// Ask the server to stop: no new connection is taken, connections in progress finish.
    pub fn stop(&self) {
        self.stop.set();
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
    max_connections: usize,
    timeout: Duration,
    keep_alive: Duration,
    max_body: usize,
    faults: Arc<Injector>,
    stop: Arc<Stop>,
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
            .field("max_connections", &self.max_connections)
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
        limits: segur_exchange::cda::limits(),
        cache_dir: segur_validate::rules::default_cache_dir(),
    };
    Ok(Engine::new(options)?)
}

impl Sink {
    /// Load the identity, roots, store (and rules), and bind the listen address. Also returns
    /// the store's notes (a torn index line cut off…).
    pub fn from_config(c: &Config) -> Result<(Sink, Vec<String>), SinkError> {
        let cert = |e: segur_tls::TlsError| SinkError::setting("cert", &c.cert, e);
        let roots =
            |e: &dyn std::fmt::Display| SinkError::setting("client_roots", &c.client_roots, e);
        // A file that cannot be read is named with its own setting.
        if let Err(e) = std::fs::metadata(&c.cert) {
            return Err(SinkError::setting("cert", &c.cert, e));
        }
        if let Some(key) = &c.key
            && let Err(e) = std::fs::metadata(key)
        {
            return Err(SinkError::setting("key", key, e));
        }
        let identity =
            segur_tls::Identity::from_pem_files(&c.cert, c.key.as_deref()).map_err(cert)?;
        let roots_pem =
            segur_tls::read_limited(&c.client_roots, segur_tls::MAX_FILE).map_err(|e| roots(&e))?;
        let roots = segur_tls::roots_from_pem(&roots_pem).map_err(|e| roots(&e))?;
        let tls = segur_tls::server_config(&identity, roots).map_err(cert)?;
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
                max_connections: c.max_connections.max(1),
                timeout: Duration::from_secs(c.timeout_s.clamp(1, crate::config::MAX_SECONDS)),
                keep_alive: Duration::from_secs(
                    c.keep_alive_s.clamp(1, crate::config::MAX_SECONDS),
                ),
                max_body: c.max_body,
                faults: Arc::new(Injector {
                    faults: c.faults.clone(),
                    counter: AtomicU64::new(0),
                }),
                stop: Arc::new(Stop::default()),
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
            stop: self.stop.clone(),
            addrs,
        })
    }

    /// Serve until stopped; returns once every connection has ended: those in the middle of
    /// a request are answered first, idle ones are closed at once.
    pub fn serve(self) -> Result<(), SinkError> {
        let shared = Arc::new(Shared {
            tls: self.tls.clone(),
            accounts: self.accounts.clone(),
            service: self.service.clone(),
            permits: Permits::new(self.workers),
            faults: self.faults.clone(),
            log: self.log.clone(),
            stop: self.stop.clone(),
            timeout: self.timeout,
            keep_alive: self.keep_alive,
            max_body: self.max_body,
        });
        let slots = Slots::new(self.max_connections);
        let others: Vec<_> = [(self.smtp, Listener::Smtp), (self.smtps, Listener::Smtps)]
            .into_iter()
            .filter_map(|(l, kind)| l.map(|l| (l, kind)))
            .map(|(listener, kind)| {
                let (shared, slots) = (shared.clone(), slots.clone());
                std::thread::spawn(move || accept_loop(&listener, kind, &shared, &slots))
            })
            .collect();
        accept_loop(&self.listener, Listener::Https, &shared, &slots);
        for h in others {
            let _ = h.join();
        }
        slots.wait_drained();
        Ok(())
    }
}

/// What every connection uses.
struct Shared {
    tls: Arc<ServerConfig>,
    accounts: Vec<crate::config::SmtpAccount>,
    service: Arc<Service>,
    /// `workers`: how many requests are unpacked, validated and stored at once.
    permits: Permits,
    faults: Arc<Injector>,
    log: Option<Log>,
    stop: Arc<Stop>,
    timeout: Duration,
    keep_alive: Duration,
    max_body: usize,
}

impl Shared {
    fn emit(&self, e: Event) {
        if let Some(log) = &self.log {
            log(&e);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A counting semaphore: the heavy work of at most `workers` requests at once.
struct Permits {
    free: Mutex<usize>,
    released: Condvar,
}

impl Permits {
    fn new(n: usize) -> Permits {
        Permits {
            free: Mutex::new(n),
            released: Condvar::new(),
        }
    }

    /// Run `work` once a permit is free.
    fn run<T>(&self, work: impl FnOnce() -> T) -> T {
        let mut free = lock(&self.free);
        while *free == 0 {
            free = self.released.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        drop(free);
        // Given back even if `work` panics.
        struct Permit<'a>(&'a Permits);
        impl Drop for Permit<'_> {
            fn drop(&mut self) {
                *lock(&self.0.free) += 1;
                self.0.released.notify_one();
            }
        }
        let _permit = Permit(self);
        work()
    }
}

/// The open connections, at most `max_connections`; [`Sink::serve`] waits for them to end.
struct Slots {
    open: Mutex<usize>,
    max: usize,
    drained: Condvar,
}

/// One open connection's place in [`Slots`], given back when dropped.
struct Slot(Arc<Slots>);

impl Drop for Slot {
    fn drop(&mut self) {
        *lock(&self.0.open) -= 1;
        self.0.drained.notify_all();
    }
}

impl Slots {
    fn new(max: usize) -> Arc<Slots> {
        Arc::new(Slots {
            open: Mutex::new(0),
            max,
            drained: Condvar::new(),
        })
    }

    /// A place for a new connection, unless `max` are open.
    fn take(self: &Arc<Self>) -> Option<Slot> {
        let mut open = lock(&self.open);
        if *open >= self.max {
            return None;
        }
        *open += 1;
        Some(Slot(self.clone()))
    }

    fn wait_drained(&self) {
        let mut open = lock(&self.open);
        while *open > 0 {
            open = self.drained.wait(open).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Which listener a connection came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listener {
    Https,
    Smtp,
    Smtps,
}

impl Listener {
    fn name(self) -> &'static str {
        match self {
            Listener::Https => "https",
            Listener::Smtp => "smtp",
            Listener::Smtps => "smtps",
        }
    }
}

/// Refused connections logged one by one in a second, per listener.
const REFUSALS_LOGGED: u32 = 10;

/// How long the accept loop waits after a failed accept (out of descriptors) before it tries
/// again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Take connections until stopped, each on its own thread while fewer than
/// `max_connections` are open; beyond, close at once (SMTP: after a 421 greeting).
fn accept_loop(listener: &TcpListener, kind: Listener, shared: &Arc<Shared>, slots: &Arc<Slots>) {
    // Refusals logged: at most REFUSALS_LOGGED a second, then one line for the rest (a
    // client connecting in a loop made thousands of lines a second).
    let mut window = (Instant::now(), 0u32, 0u64);
    for stream in listener.incoming() {
        if shared.stop.is_set() {
            break;
        }
        let stream = match stream {
            Ok(s) => s,
            // A connection reset before it was taken: nothing to do.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionAborted => continue,
            // Out of descriptors (or memory): accept fails at once until a connection ends.
            // Not fatal, but wait a little rather than spin on it, and say so.
            Err(e) => {
                shared.emit(Event::Io {
                    peer: None,
                    text: format!("accepting a connection on {}: {e}", kind.name()),
                });
                std::thread::sleep(ACCEPT_BACKOFF);
                continue;
            }
        };
        let peer = stream.peer_addr().ok();
        let Some(slot) = slots.take() else {
            refuse(stream, kind);
            if window.0.elapsed() >= Duration::from_secs(1) {
                if window.2 > 0 {
                    shared.emit(Event::Io {
                        peer: None,
                        text: format!(
                            "{} more {} connection(s) refused in a second: max_connections ({}) are open",
                            window.2,
                            kind.name(),
                            slots.max
                        ),
                    });
                }
                window = (Instant::now(), 0, 0);
            }
            if window.1 < REFUSALS_LOGGED {
                window.1 += 1;
                shared.emit(Event::Refused {
                    peer,
                    listener: kind.name(),
                    limit: slots.max,
                });
            } else {
                window.2 += 1;
            }
            continue;
        };
        let shared_for = shared.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("sink-{}", kind.name()))
            .spawn(move || {
                let _slot = slot;
                match kind {
                    Listener::Https => connection(stream, &shared_for),
                    Listener::Smtp => smtp_connection(stream, &shared_for, false),
                    Listener::Smtps => smtp_connection(stream, &shared_for, true),
                }
            });
        if let Err(e) = spawned {
            shared.emit(Event::Io {
                peer,
                text: format!("no thread for the connection: {e}"),
            });
        }
    }
}

/// Close a connection over the limit: SMTP says why (RFC 5321 4.3.2: 421 as the greeting);
/// HTTPS and implicit-TLS SMTP cannot say anything before a handshake.
fn refuse(mut tcp: TcpStream, kind: Listener) {
    if kind == Listener::Smtp {
        let _ = tcp.set_write_timeout(Some(Duration::from_secs(1)));
        let _ = tcp.write_all(b"421 4.3.2 segur-sink: too many connections, try again later\r\n");
    }
    let _ = tcp.shutdown(std::net::Shutdown::Both);
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
    // Until the handshake is over, a stop closes the connection (the stop handle's own
    // wake-up connection is one such; so is a client stalled in its handshake).
    tcp.await_next();
    tcp.handshaking = true;
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
                // Stopped in the middle of a handshake: end it with an alert, so that a
                // client already past its own side of it sees the connection closed cleanly.
                None if is_stopping(&e) => {
                    conn.send_close_notify();
                    tcp.idle_until = None;
                    tcp.handshaking = false;
                    tcp.until = Instant::now() + Duration::from_secs(1);
                    while conn.wants_write() {
                        if conn.write_tls(tcp).is_err() {
                            break;
                        }
                    }
                }
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
    tcp.handshaking = false;
    tcp.idle_until = None;
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
    let mut tcp = Deadline::new(tcp, shared.timeout, shared.stop.clone());
    let io = |e: std::io::Error| {
        shared.emit(Event::Io {
            peer,
            text: format!("SMTP: {}", io_text(&e)),
        });
    };
    let accept = |message: &[u8], client: &Client| {
        shared
            .permits
            .run(|| shared.service.accept_message(message, client))
    };
    const GREETING: &[u8] = b"220 segur-sink ESMTP\r\n";
    if !implicit {
        if let Err(e) = tcp.write_all(GREETING).and_then(|()| tcp.flush()) {
            return io(e);
        }
        match smtp::phase(
            &mut tcp,
            None,
            &accept,
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
        &accept,
        &shared.accounts,
        shared.max_body,
        &mut on_message,
    );
    // The goodbye has a second at most, whatever the session's deadline.
    stream.sock.until = stream
        .sock
        .until
        .min(Instant::now() + Duration::from_secs(1));
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

/// The marker of the error a waiting read returns once the sink is stopping.
#[derive(Debug)]
struct Stopping;

impl std::fmt::Display for Stopping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the sink is stopping")
    }
}

impl std::error::Error for Stopping {}

/// Whether `e` says the sink is stopping (a connection waiting for a request or command).
pub(crate) fn is_stopping(e: &std::io::Error) -> bool {
    e.get_ref().is_some_and(|i| i.is::<Stopping>())
}

/// A connection that can wait for its next request or command while watching the stop flag.
pub(crate) trait AwaitNext {
    /// The next read waits for the first byte of a request or command: a stop ends the wait
    /// (the read fails with [`is_stopping`]).
    fn await_next(&mut self);

    /// A new SMTP command starts: it has the whole timeout again (a busy session is not cut
    /// in the middle of its next transaction because earlier ones took time).
    fn renew(&mut self) {}
}

impl AwaitNext for Deadline {
    fn await_next(&mut self) {
        self.idle_until = Some(self.idle_until.map_or(self.until, |i| i.min(self.until)));
    }

    fn renew(&mut self) {
        self.until = Instant::now() + self.timeout;
    }
}

impl AwaitNext for StreamOwned<ServerConnection, Deadline> {
    fn await_next(&mut self) {
        // Plaintext already received: the command is there, nothing to wait for.
        if self.conn.wants_read() {
            self.sock.await_next();
        }
    }

    fn renew(&mut self) {
        self.sock.renew();
    }
}

/// A socket with an overall deadline: each read or write may wait only for the time left,
/// so a client trickling bytes cannot hold its thread longer than the connection timeout.
struct Deadline {
    /// Shared with [`Stop::waiters`] while registered there.
    tcp: Arc<TcpStream>,
    until: Instant,
    /// The time a connection (HTTPS) or a command and its data (SMTP) has.
    timeout: Duration,
    /// While waiting for the first byte of a request or command: the deadline of that wait
    /// (at most `until`); the wait also ends when the sink stops.
    idle_until: Option<Instant>,
    stop: Arc<Stop>,
    /// The socket's place among the waiting connections a stop wakes, taken at the first
    /// wait.
    registration: Option<Registration>,
    /// During the TLS handshake: every read is a wait that a stop ends (no request has
    /// come yet, so nothing is lost by closing).
    handshaking: bool,
    /// Reads made while waiting (each wake-up of a waiting connection is one).
    #[cfg(test)]
    waits: u32,
}

impl Deadline {
    fn new(tcp: TcpStream, timeout: Duration, stop: Arc<Stop>) -> Deadline {
        Deadline {
            tcp: Arc::new(tcp),
            until: Instant::now() + timeout,
            timeout,
            idle_until: None,
            stop,
            registration: None,
            handshaking: false,
            #[cfg(test)]
            waits: 0,
        }
    }

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
        if self.idle_until.is_none() {
            let left = self.left()?;
            self.tcp.set_read_timeout(Some(left))?;
            return (&*self.tcp).read(buf);
        }
        let waiter = self
            .registration
            .get_or_insert_with(|| self.stop.register(&self.tcp))
            .waiter
            .clone();
        loop {
            let left = self.left()?;
            waiter.idle.store(true, Ordering::SeqCst);
            if self.stop.is_set() {
                waiter.idle.store(false, Ordering::SeqCst);
                return Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    Stopping,
                ));
            }
            // The whole wait in one read, which a stop ends.
            #[cfg(test)]
            {
                self.waits += 1;
            }
            let read = self
                .tcp
                .set_read_timeout(Some(left))
                .and_then(|()| (&*self.tcp).read(buf));
            waiter.idle.store(false, Ordering::SeqCst);
            match read {
                // The reading side shut by a stop (or the client gone as the sink stops).
                Ok(0) if self.stop.is_set() => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        Stopping,
                    ));
                }
                Ok(n) => {
                    if n > 0 && !self.handshaking {
                        self.idle_until = None;
                    }
                    return Ok(n);
                }
                // Woken a little early: look at the deadline again.
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl Write for Deadline {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let left = self.left()?;
        self.tcp.set_write_timeout(Some(left))?;
        (&*self.tcp).write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        (&*self.tcp).flush()
    }
}

/// The injected latency before an answer: `latency`, cut short at the connection's deadline
/// (`until`) or when the sink stops (the answer is then sent at once, as for every request in
/// progress at a stop).
fn added_latency(latency: Duration, until: Instant, stop: &Stop) {
    const SLICE: Duration = Duration::from_millis(50);
    let end = until.min(Instant::now() + latency);
    while !stop.is_set() {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(SLICE));
    }
}

fn connection(tcp: TcpStream, shared: &Shared) {
    let (timeout, max_body) = (shared.timeout, shared.max_body);
    let faults = &shared.faults;
    let peer = tcp.peer_addr().ok();
    let _ = tcp.set_nodelay(true);
    let mut tcp = Deadline::new(tcp, timeout, shared.stop.clone());
    let Some((conn, client)) = handshake(&mut tcp, shared, peer) else {
        return;
    };
    let mut stream = StreamOwned::new(conn, tcp);
    let mut reader = Reader::new();
    for served in 1..=MAX_REQUESTS {
        let now = Instant::now();
        if served > 1 {
            stream.sock.until = now + timeout;
        }
        // Nothing of the next request yet (none pipelined, nothing buffered by TLS): wait
        // for it, `keep_alive` at most on a kept-alive connection (then the whole timeout
        // once it starts coming), and close it if the sink stops meanwhile.
        if !reader.has_pending() && stream.conn.wants_read() {
            stream.sock.idle_until = Some(if served > 1 {
                now + shared.keep_alive.min(timeout)
            } else {
                stream.sock.until
            });
        }
        let (response, request, verdict, keep, head_only) = match reader
            .read_request(&mut stream, max_body)
        {
            Ok(req) => {
                let request = format!("{} {}", req.method, req.path);
                let head_only = req.method == "HEAD";
                let keep = req.keep_alive && served < MAX_REQUESTS && !shared.stop.is_set();
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
                        (resp, request, None, keep, head_only)
                    }
                    Fate::Serve => {
                        let (resp, verdict) =
                            shared.permits.run(|| shared.service.handle(&req, &client));
                        (resp, request, Some(verdict), keep, head_only)
                    }
                }
            }
            // The body of a refused request was not read: the connection cannot go on.
            Err(ReadError::Refused(resp)) => (resp, "(refused request)".into(), None, false, false),
            Err(ReadError::Closed) => return,
            Err(ReadError::Io(e))
                if is_stopping(&e)
                    || (served > 1
                        && matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        )) =>
            {
                // An idle kept-alive connection, or the sink stopping: close it politely.
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
            added_latency(
                Duration::from_millis(faults.faults.latency_ms),
                stream.sock.until,
                &shared.stop,
            );
        }
        let status = response.status;
        let written = response.write_to(&mut stream, !keep, head_only);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A connected pair: the client's end, and the sink's end in a [`Deadline`] waiting for
    /// the first byte of a request until `idle`.
    fn waiting(stop: &Arc<Stop>, idle: Duration) -> (TcpStream, Deadline) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        let now = Instant::now();
        let mut d = Deadline::new(server, Duration::from_secs(60), stop.clone());
        d.idle_until = Some(now + idle);
        (client, d)
    }

    #[test]
    fn a_stop_ends_a_waiting_read_which_slept_through_the_wait() {
        let stop = Arc::new(Stop::default());
        let (_client, mut d) = waiting(&stop, Duration::from_secs(60));
        let stopper = stop.clone();
        let t = std::thread::spawn(move || {
            // Until the connection has registered and is waiting.
            while lock(&stopper.waiters)
                .values()
                .all(|w| !w.idle.load(Ordering::SeqCst))
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(Duration::from_millis(300));
            stopper.set();
        });
        let e = d.read(&mut [0; 16]).expect_err("stopped");
        t.join().expect("stopper");
        assert!(is_stopping(&e), "{e}");
        // One read for the whole wait: it did not wake up to look at the flag.
        assert_eq!(d.waits, 1);
        drop(d);
        assert!(
            lock(&stop.waiters).is_empty(),
            "the registration is given up"
        );
    }

    #[test]
    fn a_stop_ends_a_handshake_stalled_after_its_first_bytes() {
        let stop = Arc::new(Stop::default());
        let (mut client, mut d) = waiting(&stop, Duration::from_secs(60));
        d.handshaking = true;
        // The start of a ClientHello, then nothing.
        client.write_all(&[0x16, 3, 1, 2, 0, 1]).expect("write");
        let mut buf = [0; 16];
        assert_eq!(d.read(&mut buf).expect("read"), 6);
        assert!(d.idle_until.is_some(), "still interruptible");
        let stopper = stop.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            stopper.set();
        });
        let began = Instant::now();
        let e = d.read(&mut buf).expect_err("stopped");
        t.join().expect("stopper");
        assert!(is_stopping(&e), "{e}");
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "ended by the stop"
        );
    }

    #[test]
    fn each_smtp_command_has_the_whole_timeout() {
        let stop = Arc::new(Stop::default());
        let (_client, mut d) = waiting(&stop, Duration::from_secs(60));
        let first = d.until;
        std::thread::sleep(Duration::from_millis(50));
        d.renew();
        assert!(d.until >= first + Duration::from_millis(50));
        assert!(d.until <= Instant::now() + d.timeout);
    }

    #[test]
    fn an_injected_latency_ends_at_the_deadline_or_a_stop() {
        let stop = Stop::default();
        let began = Instant::now();
        added_latency(
            Duration::from_secs(60),
            began + Duration::from_millis(100),
            &stop,
        );
        let took = began.elapsed();
        assert!(took >= Duration::from_millis(100) && took < Duration::from_secs(30));
        stop.set();
        let began = Instant::now();
        added_latency(
            Duration::from_secs(60),
            began + Duration::from_secs(60),
            &stop,
        );
        assert!(began.elapsed() < Duration::from_secs(30));
    }

    #[test]
    fn a_wait_ends_with_the_first_byte_its_timeout_or_a_stop_set_before_it() {
        let stop = Arc::new(Stop::default());
        let (mut client, mut d) = waiting(&stop, Duration::from_secs(60));
        client.write_all(b"GET").expect("write");
        let mut buf = [0; 16];
        assert_eq!(d.read(&mut buf).expect("read"), 3);
        assert_eq!(
            d.idle_until, None,
            "the request has started: no longer waiting"
        );

        let (_client, mut d) = waiting(&stop, Duration::from_millis(200));
        let e = d.read(&mut buf).expect_err("timed out");
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut, "{e}");
        assert!(!is_stopping(&e));

        stop.set();
        let (_client, mut d) = waiting(&stop, Duration::from_secs(60));
        let e = d.read(&mut buf).expect_err("stopped");
        assert!(is_stopping(&e), "{e}");
        assert_eq!(d.waits, 0, "no read once the sink is stopping");
    }

    #[test]
    fn a_log_line_holds_no_control_character_from_outside() {
        let event = Event::Answered {
            peer: None,
            client: Client {
                sha256: String::new(),
                subject: "CN=c".into(),
            },
            request: "POST /a\x1b[2J".into(),
            status: 422,
            stored: 0,
            problems: vec![Problem {
                rule: "SEGUR-X".into(),
                severity: segur_finding::Severity::Error,
                error_code: "XDSRegistryError",
                location: String::new(),
                message: "bad value 'x\n? [CN=forged] POST /iti41 -> 200, 1 stored\u{202e}'".into(),
            }],
        };
        let text = event.to_string();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(!text.contains(['\x1b', '\u{202e}']), "{text}");
        assert!(text.contains("POST /a\\x1b[2J"), "{text}");
        let io = Event::Io {
            peer: None,
            text: "x\ny".into(),
        };
        assert_eq!(io.to_string().lines().count(), 1);
    }

    #[test]
    fn permits_bound_the_work_running_at_once() {
        let permits = Permits::new(2);
        let (running, most, done) = (
            AtomicUsize::new(0),
            AtomicUsize::new(0),
            AtomicUsize::new(0),
        );
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    permits.run(|| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        // Long enough for the others to pile up behind the permits.
                        std::thread::sleep(Duration::from_millis(5));
                        running.fetch_sub(1, Ordering::SeqCst);
                        done.fetch_add(1, Ordering::SeqCst);
                    })
                });
            }
        });
        assert_eq!(done.load(Ordering::SeqCst), 8);
        assert!(most.load(Ordering::SeqCst) <= 2);
        assert_eq!(*lock(&permits.free), 2, "every permit given back");
    }

    #[test]
    fn slots_refuse_beyond_their_limit_and_free_when_dropped() {
        let slots = Slots::new(2);
        let a = slots.take().expect("first");
        let b = slots.take().expect("second");
        assert!(slots.take().is_none());
        drop(a);
        let c = slots.take().expect("freed by the first");
        drop((b, c));
        slots.wait_drained();
        assert_eq!(*lock(&slots.open), 0);
    }
}
