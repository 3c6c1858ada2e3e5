//! The front door: clinicdesk's public socket, which bounds connections.
//!
//! Rocket 0.5.2 serves HTTP/1 through hyper with no header-read timeout and
//! no idle timeout (its `keep_alive` setting only switches keep-alive on),
//! and its listener API is private, so it cannot be given a socket that
//! does. Instead clinicdesk accepts the public socket itself and pipes each
//! connection to Rocket, which listens on a private loopback port:
//!
//! - **caps**: at most `max_connections` at once, and
//!   `max_connections_per_address` from one address (a configured trusted
//!   proxy counts only towards the total); past a cap, plain HTTP gets a
//!   `503 too_many_connections` with `Retry-After` and is closed, HTTPS is
//!   closed (answering would cost a TLS handshake per refused connection);
//! - **time**: see `pipe` (a head must arrive within `head_timeout_seconds`,
//!   an idle connection closes after `idle_timeout_seconds`);
//! - **TLS** is terminated here, not by Rocket, so the same clock applies to
//!   HTTPS (handshake included). Only HTTP/1.1 is offered (ALPN), and
//!   HTTP/2 without TLS is refused: its pings would keep an idle
//!   connection open past any idle timeout.
//!
//! Rocket sees every connection as coming from loopback; the `on_request`
//! fairing here puts the real peer back (`Request::set_remote`) before any
//! other code reads it, found by the source port of the internal
//! connection. `throttle::ClientAddr` then judges trusted proxies as before.
//! A program on this computer can reach the private port directly, as it can
//! the public one; it is then seen as loopback, which it is.

mod framing;
mod pipe;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use rocket::fairing::{Fairing, Info, Kind};
use rocket::tokio::io::{AsyncReadExt, AsyncWriteExt};
use rocket::tokio::net::{TcpListener, TcpStream};
use rocket::tokio::sync::Semaphore;
use rocket::tokio::time::{timeout, timeout_at, Instant};
use rocket::{Data, Orbit, Request, Rocket};
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::error::Code;
use crate::tls::Transport;

/// Seconds a refused client is told to wait.
const RETRY_AFTER: u64 = 5;
/// Refusals answered at once; past that a refused connection is just
/// closed, so refusing cannot itself hold many sockets.
const ANSWERED_REFUSALS: usize = 64;
/// How long a refusal may take: the client's request, the answer, its close.
const REFUSAL_LINGER: Duration = Duration::from_secs(3);
/// How long a finished connection's peer is remembered, for a request
/// Rocket read just before the client hung up.
const PEER_GRACE: Duration = Duration::from_secs(30);

/// Where clients connect: the address and port the server announces.
#[derive(Debug, Clone, Copy)]
pub struct PublicAddress(pub SocketAddr);

/// The front door, attached as a fairing (`server::build`).
pub struct FrontDoor {
    listener: Mutex<Option<std::net::TcpListener>>,
    shared: Arc<Shared>,
}

struct Shared {
    tls: Option<TlsAcceptor>,
    head_timeout: Duration,
    idle_timeout: Duration,
    max_total: usize,
    max_per_address: usize,
    trusted_proxies: Vec<IpAddr>,
    counts: Mutex<Counts>,
    peers: Mutex<HashMap<u16, Peer>>,
    refusals: Arc<Semaphore>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
    next_id: u64,
    /// When a full cap was last logged (once a minute at most).
    warned: Option<Instant>,
}

/// The client behind one internal connection.
struct Peer {
    id: u64,
    addr: SocketAddr,
    ended: Option<Instant>,
}

impl FrontDoor {
    /// Binds the public socket now, so a port in use fails the start with a
    /// clear message and `--port 0` is known before Rocket launches.
    pub fn bind(config: &Config, transport: &Transport) -> anyhow::Result<(Self, PublicAddress)> {
        let wanted = SocketAddr::new(config.address, config.port);
        let listener = std::net::TcpListener::bind(wanted)
            .with_context(|| format!("cannot listen on {wanted} (is it already in use?)"))?;
        listener.set_nonblocking(true)?;
        let public = listener.local_addr()?;
        let tls = match transport {
            Transport::Tls { cert, key, .. } => Some(acceptor(cert, key)?),
            Transport::Plain { .. } => None,
        };
        let shared = Arc::new(Shared {
            tls,
            head_timeout: Duration::from_secs(config.head_timeout_seconds),
            idle_timeout: Duration::from_secs(config.idle_timeout_seconds),
            max_total: config.max_connections,
            max_per_address: config.max_connections_per_address,
            trusted_proxies: config.trusted_proxies.clone(),
            counts: Mutex::default(),
            peers: Mutex::default(),
            refusals: Arc::new(Semaphore::new(ANSWERED_REFUSALS)),
        });
        let door = Self {
            listener: Mutex::new(Some(listener)),
            shared,
        };
        Ok((door, PublicAddress(public)))
    }
}

/// The address Rocket itself listens on: loopback, a port the OS picks.
pub const PRIVATE_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[rocket::async_trait]
impl Fairing for FrontDoor {
    fn info(&self) -> Info {
        Info {
            name: "front door",
            kind: Kind::Liftoff | Kind::Request,
        }
    }

    async fn on_liftoff(&self, rocket: &Rocket<Orbit>) {
        let private = SocketAddr::new(rocket.config().address, rocket.config().port);
        let taken = lock(&self.listener).take();
        let Some(listener) = taken else { return };
        match TcpListener::from_std(listener) {
            Ok(listener) => {
                let shared = Arc::clone(&self.shared);
                rocket::tokio::spawn(accept_loop(listener, private, shared, rocket.shutdown()));
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot use the public socket; shutting down");
                rocket.shutdown().notify();
            }
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        let Some(internal) = req.remote() else { return };
        if internal.ip() != PRIVATE_ADDRESS {
            return;
        }
        let peer = lock(&self.shared.peers)
            .get(&internal.port())
            .map(|peer| peer.addr);
        if let Some(peer) = peer {
            req.set_remote(peer);
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    private: SocketAddr,
    shared: Arc<Shared>,
    shutdown: rocket::Shutdown,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = rocket::tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, most likely: let some close.
                tracing::warn!(error = %e, "could not accept a connection");
                rocket::tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        match shared.admit(peer.ip()) {
            Ok(slot) => {
                rocket::tokio::spawn(connection(stream, peer, private, slot));
            }
            Err(detail) if shared.tls.is_none() => {
                if let Ok(permit) = Arc::clone(&shared.refusals).try_acquire_owned() {
                    rocket::tokio::spawn(async move {
                        refuse(stream, detail).await;
                        drop(permit);
                    });
                }
            }
            Err(_) => drop(stream),
        }
    }
    // Dropping the listener closes the public port; Rocket drains the rest.
}

impl Shared {
    /// Counts a new connection from `ip`, or says why it is refused.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, &'static str> {
        let mut counts = lock(&self.counts);
        let exempt = self.trusted_proxies.contains(&ip);
        let from_ip = counts.per_address.get(&ip).copied().unwrap_or(0);
        let refusal = if counts.total >= self.max_total {
            Some("The server has too many connections open. Try again in a few seconds.")
        } else if !exempt && from_ip >= self.max_per_address {
            Some("Too many connections from your address. Try again in a few seconds.")
        } else {
            None
        };
        if let Some(detail) = refusal {
            let now = Instant::now();
            if counts
                .warned
                .is_none_or(|at| now - at > Duration::from_secs(60))
            {
                counts.warned = Some(now);
                tracing::warn!(client = %ip, total = counts.total, "connection cap reached; refusing connections");
            }
            return Err(detail);
        }
        counts.total += 1;
        *counts.per_address.entry(ip).or_insert(0) += 1;
        counts.next_id += 1;
        Ok(Slot {
            shared: Arc::clone(self),
            ip,
            id: counts.next_id,
        })
    }
}

/// One admitted connection; dropping it frees its place.
struct Slot {
    shared: Arc<Shared>,
    ip: IpAddr,
    id: u64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = lock(&self.shared.counts);
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_address.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.per_address.remove(&self.ip);
            }
        }
    }
}

async fn connection(stream: TcpStream, peer: SocketAddr, private: SocketAddr, slot: Slot) {
    let accepted = Instant::now();
    let shared = Arc::clone(&slot.shared);
    let _ = stream.set_nodelay(true);
    let cut = match &shared.tls {
        None => forward(stream, peer, private, &slot, accepted).await,
        Some(acceptor) => {
            let due = accepted + shared.head_timeout;
            match timeout_at(due, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => forward(tls, peer, private, &slot, accepted).await,
                Ok(Err(_)) => None,
                Err(_) => Some(pipe::Cut::SlowHead),
            }
        }
    };
    if let Some(cut) = cut {
        tracing::debug!(client = %peer.ip(), ?cut, "closed a connection");
    }
}

/// Connects to Rocket, records whose connection it is, and pipes.
async fn forward<C>(
    client: C,
    peer: SocketAddr,
    private: SocketAddr,
    slot: &Slot,
    accepted: Instant,
) -> Option<pipe::Cut>
where
    C: rocket::tokio::io::AsyncRead + rocket::tokio::io::AsyncWrite + Unpin,
{
    let shared = &slot.shared;
    let server = match TcpStream::connect(private).await {
        Ok(server) => server,
        Err(e) => {
            tracing::warn!(error = %e, "cannot reach the server's private port");
            return None;
        }
    };
    let _ = server.set_nodelay(true);
    let port = server.local_addr().map(|a| a.port()).ok()?;
    shared.remember(port, slot.id, peer);
    let cut = pipe::pipe(
        client,
        server,
        accepted,
        shared.head_timeout,
        shared.idle_timeout,
    )
    .await;
    shared.forget(port, slot.id);
    cut
}

impl Shared {
    /// Records that the internal connection from `port` carries `peer`.
    fn remember(&self, port: u16, id: u64, peer: SocketAddr) {
        let mut peers = lock(&self.peers);
        // Swept now and then: entries are few (one per port at most).
        if peers.len() > self.max_total * 2 {
            peers.retain(|_, p| p.ended.is_none_or(|at| at.elapsed() < PEER_GRACE));
        }
        peers.insert(
            port,
            Peer {
                id,
                addr: peer,
                ended: None,
            },
        );
    }

    /// Marks the connection ended; its entry stays a little while, for a
    /// request Rocket reads after the client left (so a client that sends
    /// and hangs up at once is still seen as itself).
    fn forget(&self, port: u16, id: u64) {
        if let Some(peer) = lock(&self.peers).get_mut(&port) {
            if peer.id == id {
                peer.ended = Some(Instant::now());
            }
        }
    }
}

/// Answers a connection past a cap with a complete `503` and closes it.
/// The answer waits for the request head (a client that is answered
/// before it asks takes the answer for garbage), and the close waits for
/// the client to stop sending (closing with unread bytes would reset the
/// connection and lose the answer); all within `REFUSAL_LINGER`.
async fn refuse(mut stream: TcpStream, detail: &str) {
    let body =
        serde_json::json!({ "detail": detail, "code": Code::TooManyConnections }).to_string();
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: {RETRY_AFTER}\r\ncache-control: no-store\r\n\
         x-content-type-options: nosniff\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = timeout(REFUSAL_LINGER, async {
        let mut head = Vec::new();
        let mut buf = [0; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            match stream.read(&mut buf).await? {
                0 => return Ok(()),
                n => head.extend_from_slice(&buf[..n]),
            }
        }
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        while stream.read(&mut buf).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}

/// The TLS side of HTTPS: the certificate chain and key from PEM files,
/// HTTP/1.1 only.
fn acceptor(cert: &std::path::Path, key: &std::path::Path) -> anyhow::Result<TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .with_context(|| format!("cannot read the TLS certificate {}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("cannot read the TLS key {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the TLS certificate and key do not work together")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
