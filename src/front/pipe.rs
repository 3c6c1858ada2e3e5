//! One client connection, piped to Rocket's private port, with its clock:
//!
//! - a request head (the first one from the accept, TLS handshake included;
//!   later ones from their first byte) must arrive whole within
//!   `head_timeout`;
//! - otherwise the connection is closed once nothing has moved either way
//!   for `idle_timeout`, except while the server owes an answer to a
//!   complete request (a slow handler) or is not taking the bytes the
//!   client sends (a busy server is never the client's fault).
//!
//! A response (a backup download) keeps its connection open as long as its
//! bytes move; a client that reads nothing of it for `idle_timeout` is cut.

use std::sync::Mutex;
use std::time::Duration;

use rocket::tokio::io::{self, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use rocket::tokio::net::TcpStream;
use rocket::tokio::sync::Notify;
use rocket::tokio::time::{sleep_until, Instant};

use super::framing::Requests;

/// Bytes read per step, each way.
const CHUNK: usize = 16 * 1024;

/// Why a connection was closed by its clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// A request head did not arrive whole in time.
    SlowHead,
    /// Nothing moved for the idle time.
    Idle,
    /// The client spoke HTTP/2 (not offered).
    Refused,
}

/// The clock of one connection.
struct Watch {
    requests: Requests,
    /// When the head now arriving began, if one is.
    head_since: Option<Instant>,
    last_activity: Instant,
    /// A complete request has had no byte of answer yet.
    owed: bool,
    /// The server answered while the current request was still arriving
    /// (an early error): its completion is then owed nothing more.
    answered_early: bool,
    /// Client bytes are waiting for the server to take them.
    pushing: bool,
    /// Cut now, whatever the clock says (the client spoke HTTP/2).
    forced: Option<Cut>,
    head_timeout: Duration,
    idle_timeout: Duration,
}

impl Watch {
    fn deadline(&self) -> Option<(Instant, Cut)> {
        if let Some(cut) = self.forced {
            return Some((self.last_activity, cut));
        }
        if self.pushing {
            return None;
        }
        if let Some(since) = self.head_since {
            return Some((since + self.head_timeout, Cut::SlowHead));
        }
        if self.owed {
            return None;
        }
        Some((self.last_activity + self.idle_timeout, Cut::Idle))
    }

    /// The client sent `bytes`; true when the deadline may have come closer.
    fn client_sent(&mut self, bytes: &[u8], now: Instant) -> bool {
        self.last_activity = now;
        let progress = self.requests.feed(bytes);
        if progress.head_started {
            self.head_since = Some(now);
            self.answered_early = false;
        }
        if !self.requests.in_head() {
            self.head_since = None;
        }
        if progress.completed && !self.answered_early {
            self.owed = true;
        }
        if progress.refused {
            self.forced = Some(Cut::Refused);
        }
        progress.head_started || progress.refused
    }

    /// The server sent `bytes`; true when the deadline may have come closer.
    fn server_sent(&mut self, bytes: &[u8], now: Instant) -> bool {
        self.last_activity = now;
        if only_interim(bytes) {
            return false;
        }
        if !self.requests.between() {
            self.answered_early = true;
        }
        std::mem::replace(&mut self.owed, false)
    }
}

/// Whether `bytes` hold nothing but interim answers (`100 Continue`): the
/// request goes on, and its answer is still owed.
fn only_interim(mut bytes: &[u8]) -> bool {
    while bytes.starts_with(b"HTTP/1.1 1") {
        match bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(end) => bytes = &bytes[end + 4..],
            None => return true,
        }
    }
    bytes.is_empty()
}

/// Pipes `client` to `server` both ways until either side is done or the
/// clock cuts the connection. `accepted` starts the first head's time.
pub async fn pipe<C>(
    client: C,
    mut server: TcpStream,
    accepted: Instant,
    head_timeout: Duration,
    idle_timeout: Duration,
) -> Option<Cut>
where
    C: AsyncRead + AsyncWrite + Unpin,
{
    let watch = Mutex::new(Watch {
        requests: Requests::new(),
        head_since: Some(accepted),
        last_activity: accepted,
        owed: false,
        answered_early: false,
        pushing: false,
        forced: None,
        head_timeout,
        idle_timeout,
    });
    let wake = Notify::new();
    let (mut from_client, mut to_client) = io::split(client);
    let (mut from_server, mut to_server) = server.split();

    let upload = async {
        let mut buf = vec![0; CHUNK];
        while let Ok(n @ 1..) = from_client.read(&mut buf).await {
            if with(&watch, |w| {
                w.pushing = true;
                w.client_sent(&buf[..n], Instant::now())
            }) {
                wake.notify_one();
            }
            let sent = to_server.write_all(&buf[..n]).await;
            with(&watch, |w| w.pushing = false);
            wake.notify_one();
            if sent.is_err() {
                break;
            }
        }
        // The client is done sending (or gone): the server may still answer.
        let _ = to_server.shutdown().await;
        std::future::pending::<()>().await;
    };
    let download = async {
        let mut buf = vec![0; CHUNK];
        while let Ok(n @ 1..) = from_server.read(&mut buf).await {
            if with(&watch, |w| w.server_sent(&buf[..n], Instant::now())) {
                wake.notify_one();
            }
            let mut rest = &buf[..n];
            while !rest.is_empty() {
                match to_client.write(rest).await {
                    Ok(0) | Err(_) => return,
                    Ok(k) => rest = &rest[k..],
                }
                with(&watch, |w| w.last_activity = Instant::now());
            }
            if to_client.flush().await.is_err() {
                return;
            }
        }
        let _ = to_client.shutdown().await;
    };
    let clock = async {
        loop {
            let deadline = with(&watch, |w| w.deadline());
            match deadline {
                Some((at, _)) => rocket::tokio::select! {
                    () = sleep_until(at) => {
                        // Still due after the sleep? Activity may have moved it.
                        match with(&watch, |w| w.deadline()) {
                            Some((at, cut)) if at <= Instant::now() => return cut,
                            _ => {}
                        }
                    }
                    () = wake.notified() => {}
                },
                None => wake.notified().await,
            }
        }
    };
    rocket::tokio::select! {
        () = upload => None,
        () = download => None,
        cut = clock => Some(cut),
    }
}

fn with<T>(watch: &Mutex<Watch>, f: impl FnOnce(&mut Watch) -> T) -> T {
    let mut guard = watch
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    f(&mut guard)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: Duration = Duration::from_secs(10);
    const IDLE: Duration = Duration::from_secs(15);

    fn watch(at: Instant) -> Watch {
        Watch {
            requests: Requests::new(),
            head_since: Some(at),
            last_activity: at,
            owed: false,
            answered_early: false,
            pushing: false,
            forced: None,
            head_timeout: HEAD,
            idle_timeout: IDLE,
        }
    }

    #[test]
    fn the_first_head_is_due_from_the_accept_and_a_dribble_does_not_move_it() {
        let t0 = Instant::now();
        let mut w = watch(t0);
        w.client_sent(b"GET / HTTP/1.1\r\n", t0 + Duration::from_secs(5));
        w.client_sent(b"X-A: b\r\n", t0 + Duration::from_secs(9));
        assert_eq!(w.deadline(), Some((t0 + HEAD, Cut::SlowHead)));
    }

    #[test]
    fn an_owed_answer_has_no_deadline_and_the_idle_time_runs_after_it() {
        let t0 = Instant::now();
        let mut w = watch(t0);
        w.client_sent(b"GET / HTTP/1.1\r\n\r\n", t0);
        assert_eq!(w.deadline(), None, "a slow handler is never cut");
        let answered = t0 + Duration::from_secs(60);
        w.server_sent(b"HTTP/1.1 200 OK\r\n", answered);
        assert_eq!(w.deadline(), Some((answered + IDLE, Cut::Idle)));
        // The next request's head is due from its own first byte.
        let next = answered + Duration::from_secs(3);
        assert!(w.client_sent(b"GET", next), "the clock is woken");
        assert_eq!(w.deadline(), Some((next + HEAD, Cut::SlowHead)));
    }

    #[test]
    fn an_interim_100_continue_does_not_pay_the_answer_owed() {
        let t0 = Instant::now();
        let mut w = watch(t0);
        w.client_sent(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n", t0);
        w.server_sent(b"HTTP/1.1 100 Continue\r\n\r\n", t0);
        w.client_sent(b"{}", t0);
        assert_eq!(w.deadline(), None);
        // The interim and the answer in one read: the answer counts.
        w.server_sent(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n", t0);
        assert_eq!(w.deadline(), Some((t0 + IDLE, Cut::Idle)));
    }

    #[test]
    fn an_early_answer_leaves_nothing_owed_and_a_busy_server_stops_the_clock() {
        let t0 = Instant::now();
        let mut w = watch(t0);
        w.client_sent(b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab", t0);
        w.server_sent(b"HTTP/1.1 413 Payload Too Large\r\n", t0);
        w.client_sent(b"cd", t0);
        assert_eq!(w.deadline(), Some((t0 + IDLE, Cut::Idle)));
        w.pushing = true;
        assert_eq!(w.deadline(), None);
    }

    #[test]
    fn http2_without_tls_is_cut_at_once() {
        let t0 = Instant::now();
        let mut w = watch(t0);
        assert!(w.client_sent(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", t0));
        assert_eq!(w.deadline(), Some((t0, Cut::Refused)));
    }
}
