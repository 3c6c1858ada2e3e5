//! Connections are bounded (issue 17, item 3): idle keep-alive connections
//! and slow request heads are closed, connections per address and in all
//! are capped with a `503`, and the client address the server sees is still
//! the real peer. Real sockets throughout; every wait is bounded by
//! `PATIENCE` (failure, not a timing assertion).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use rocket::tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use rocket::tokio::net::TcpStream;
use rocket::tokio::time::{timeout, Instant};
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, header, json_with, spawn_app, spawn_app_with, Account, TestApp, PASSWORD,
};

/// How long a test waits for the server to act before it fails.
const PATIENCE: Duration = Duration::from_secs(30);

const HEALTH: &[u8] = b"GET /api/health HTTP/1.1\r\nHost: clinic\r\n\r\n";

fn public(app: &TestApp) -> SocketAddr {
    app.base
        .trim_start_matches("http://")
        .parse()
        .expect("the server's address")
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(public(app)).await.expect("connects")
}

/// Reads one response: its head (lower-cased) and its body (by `Content-Length`).
async fn read_response(stream: &mut (impl AsyncRead + Unpin)) -> (String, Vec<u8>) {
    let mut bytes = Vec::new();
    let mut buf = [0; 4096];
    let end = loop {
        if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = timeout(PATIENCE, stream.read(&mut buf))
            .await
            .expect("a response in time")
            .expect("read");
        assert!(n > 0, "the connection closed before a response");
        bytes.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&bytes[..end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().expect("a length"));
    let mut body = bytes[end..].to_vec();
    while body.len() < length {
        let n = timeout(PATIENCE, stream.read(&mut buf))
            .await
            .expect("the body in time")
            .expect("read");
        assert!(n > 0, "the connection closed inside the body");
        body.extend_from_slice(&buf[..n]);
    }
    (head, body)
}

/// True once the server has closed `stream` (EOF or reset); false if it is
/// still open after `wait`.
async fn closed_within(stream: &mut (impl AsyncRead + Unpin), wait: Duration) -> bool {
    let mut buf = [0; 1024];
    match timeout(wait, stream.read(&mut buf)).await {
        Ok(Ok(0) | Err(_)) => true,
        Ok(Ok(n)) => panic!("unexpected bytes: {:?}", String::from_utf8_lossy(&buf[..n])),
        Err(_) => false,
    }
}

#[rocket::async_test]
async fn an_idle_keep_alive_connection_is_closed_by_the_server() {
    // Arrange
    let app = spawn_app_with(|config| config.idle_timeout_seconds = 1).await;
    let mut stream = connect(&app).await;

    // Act: one request, answered, then nothing.
    stream.write_all(HEALTH).await.expect("sent");
    let (head, _) = read_response(&mut stream).await;

    // Assert: kept alive after the answer, then closed by the server.
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");
    assert!(
        closed_within(&mut stream, PATIENCE).await,
        "the server kept an idle connection open"
    );
}

#[rocket::async_test]
async fn a_slowloris_client_is_cut_before_it_completes_a_head() {
    // Arrange: a long idle time, so only the head's own limit can cut it.
    let app = spawn_app_with(|config| {
        config.head_timeout_seconds = 1;
        config.idle_timeout_seconds = 600;
    })
    .await;
    let mut stream = connect(&app).await;
    let started = Instant::now();

    // Act: a request line, then a header line every 100 ms, never the empty line.
    stream
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: clinic\r\n")
        .await
        .expect("sent");
    let mut lines = 0;
    let cut = loop {
        if closed_within(&mut stream, Duration::from_millis(100)).await {
            break true;
        }
        if started.elapsed() > PATIENCE {
            break false;
        }
        lines += 1;
        let line = format!("X-Drip-{lines}: still coming\r\n");
        if stream.write_all(line.as_bytes()).await.is_err() {
            break true;
        }
    };

    // Assert: the head never completed, and the server closed the connection.
    assert!(cut, "a head dribbled for {PATIENCE:?} was never cut");
    assert!(lines > 0, "header lines kept coming before the cut");
}

#[rocket::async_test]
async fn past_the_per_address_cap_a_connection_gets_503_with_retry_after_and_later_ones_work() {
    // Arrange: two connections from this address hold the cap.
    let app = spawn_app_with(|config| config.max_connections_per_address = 2).await;
    let mut holding = vec![connect(&app).await, connect(&app).await];
    // Each is admitted (answered) before the third is tried.
    for stream in &mut holding {
        stream.write_all(HEALTH).await.expect("sent");
        assert!(read_response(stream).await.0.starts_with("http/1.1 200"));
    }

    // Act
    let mut third = connect(&app).await;
    third.write_all(HEALTH).await.expect("sent");
    let (head, body) = read_response(&mut third).await;

    // Assert: a complete 503 in the API's error shape, then the close.
    assert!(head.starts_with("http/1.1 503"), "{head}");
    assert!(head.contains("retry-after: "), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    let error: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(error["code"], "too_many_connections");
    assert!(error["detail"].as_str().is_some_and(|d| !d.is_empty()));
    assert!(closed_within(&mut third, PATIENCE).await);

    // Once the held connections are gone, a normal request is served again.
    drop(holding);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let response = app.get("/api/health", "").await;
        if response.status() == 200 {
            break;
        }
        assert_error(response, 503, "too_many_connections").await;
        assert!(Instant::now() < deadline, "the cap was never released");
    }
}

#[rocket::async_test]
async fn past_the_total_cap_every_address_is_refused() {
    // Arrange
    let app = spawn_app_with(|config| {
        config.max_connections = 1;
        config.max_connections_per_address = 1;
    })
    .await;
    let mut held = connect(&app).await;
    held.write_all(HEALTH).await.expect("sent");
    assert!(read_response(&mut held).await.0.starts_with("http/1.1 200"));

    // Act: another address.
    let other = from_address("127.0.0.2");
    let refused = other
        .get(app.url("/api/health"))
        .send()
        .await
        .expect("sent");

    // Assert
    assert!(header(&refused, "retry-after").parse::<u64>().is_ok());
    assert_error(refused, 503, "too_many_connections").await;
}

/// An HTTP client whose connections come from `ip` (any 127.x.y.z is this
/// computer), so the server can tell it from its own loopback.
fn from_address(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().expect("ip"))
        .build()
        .expect("client")
}

async fn searched_from(app: &TestApp, admin: &Account, ip: &str, forwarded: &str) -> Value {
    from_address(ip)
        .get(app.url("/api/patients/"))
        .bearer_auth(&admin.access)
        .header("X-Forwarded-For", forwarded)
        .send()
        .await
        .expect("sent");
    let page = app
        .get("/api/audit/?action=search&entity=patient", &admin.access)
        .await;
    json_with(page, 200).await[0]["client_ip"].clone()
}

#[rocket::async_test]
async fn the_audit_trail_records_the_real_peer_and_trusted_proxies_still_count() {
    // Arrange: 127.0.0.3 is a trusted proxy; 127.0.0.2 is a plain client.
    let app = spawn_app_with(|config| {
        config.trusted_proxies = vec!["127.0.0.3".parse().expect("ip")];
    })
    .await;
    let admin = app.admin().await;

    // Act
    let direct = searched_from(&app, &admin, "127.0.0.2", "10.9.8.7").await;
    let proxied = searched_from(&app, &admin, "127.0.0.3", "10.9.8.7").await;

    // Assert: the peer, not the front door's loopback; the proxy's client.
    assert_eq!(direct, "127.0.0.2");
    assert_eq!(proxied, "10.9.8.7");
}

#[rocket::async_test]
async fn the_login_throttle_counts_the_real_peer() {
    // Arrange
    let app = spawn_app().await;
    app.admin().await;
    let attacker = from_address("127.0.0.2");
    let colleague = from_address("127.0.0.4");
    let login = |email: &str, password: &str| json!({ "email": email, "password": password });

    // Act: the attacker fails until it is throttled (guessing an unknown
    // account, so that only the address can be what is throttled).
    let mut throttled = false;
    for _ in 0..100 {
        let response = attacker
            .post(app.url("/api/auth/login/"))
            .json(&login("nobody@clinic.test", "wrong password, surely"))
            .send()
            .await
            .expect("sent");
        if response.status() == 429 {
            throttled = true;
            break;
        }
    }
    let signed_in = colleague
        .post(app.url("/api/auth/login/"))
        .json(&login(crate::helpers::ADMIN_EMAIL, PASSWORD))
        .send()
        .await
        .expect("sent");

    // Assert: another address of this computer is not the attacker.
    assert!(throttled, "the attacker's address is throttled");
    assert_eq!(signed_in.status(), 200);
}

#[rocket::async_test]
async fn the_front_door_stops_with_the_server() {
    // Arrange
    let app = spawn_app().await;
    let address = public(&app);
    json_with(app.get("/api/health", "").await, 200).await;

    // Act
    drop(app);

    // Assert: the public port stops accepting (polled, bounded).
    let deadline = Instant::now() + PATIENCE;
    loop {
        let refused = match TcpStream::connect(address).await {
            Err(_) => true,
            Ok(mut stream) => {
                let _ = stream.write_all(HEALTH).await;
                closed_within(&mut stream, Duration::from_millis(500)).await
            }
        };
        if refused {
            break;
        }
        assert!(Instant::now() < deadline, "the public port still serves");
    }
}

#[rocket::async_test]
async fn a_request_waiting_on_a_slow_handler_is_not_cut_by_the_idle_timer() {
    // Arrange: the database is locked by someone else, so a write waits
    // (up to SQLite's busy timeout) longer than the idle time.
    let app = spawn_app_with(|config| config.idle_timeout_seconds = 1).await;
    let admin = app.admin().await;
    let lock = rusqlite::Connection::open(app.data_dir.path().join("clinicdesk.sqlite3"))
        .expect("opens the database");
    lock.execute_batch("BEGIN EXCLUSIVE").expect("locks it");
    let body = json!({ "first_name": "Tobias", "last_name": "Slow", "phone": "+44 7700 900123" })
        .to_string();
    let request = format!(
        "POST /api/patients/ HTTP/1.1\r\nHost: clinic\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        admin.access,
        body.len()
    );
    let mut stream = connect(&app).await;

    // Act: twice the idle time passes while the answer is owed.
    stream.write_all(request.as_bytes()).await.expect("sent");
    let cut_while_waiting = closed_within(&mut stream, Duration::from_secs(2)).await;
    lock.execute_batch("COMMIT").expect("unlocks");
    let (head, _) = read_response(&mut stream).await;

    // Assert
    assert!(!cut_while_waiting, "the idle timer cut a request in flight");
    assert!(head.starts_with("http/1.1 201"), "{head}");
}

/// A TLS client that trusts the server's self-signed certificate and
/// offers HTTP/2 as well as HTTP/1.1.
fn tls_client(app: &TestApp) -> tokio_rustls::TlsConnector {
    use tokio_rustls::rustls::pki_types::{pem::PemObject, CertificateDer};
    use tokio_rustls::rustls::{crypto, ClientConfig, RootCertStore};

    let mut roots = RootCertStore::empty();
    let cert = app.data_dir.path().join("tls").join("cert.pem");
    for cert in CertificateDer::pem_file_iter(cert).expect("the certificate") {
        roots.add(cert.expect("PEM")).expect("a root");
    }
    let provider = std::sync::Arc::new(crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
}

#[rocket::async_test]
async fn over_https_the_handshake_the_head_and_idle_time_are_bounded_too() {
    // Arrange
    let app = spawn_app_with(|config| {
        config.tls = clinicdesk::config::TlsMode::On;
        config.head_timeout_seconds = 1;
        config.idle_timeout_seconds = 1;
    })
    .await;
    let connector = tls_client(&app);
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").expect("name");

    // Act: a connection that never starts its handshake; one that sends a
    // request and then sits idle; one that dribbles its head.
    let mut silent = connect(&app).await;
    let mut served = connector
        .connect(name.clone(), connect(&app).await)
        .await
        .expect("a TLS handshake");
    served.write_all(HEALTH).await.expect("sent");
    let (head, _) = read_response(&mut served).await;
    let mut dribbling = connector
        .connect(name, connect(&app).await)
        .await
        .expect("a TLS handshake");
    dribbling
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: clinic\r\n")
        .await
        .expect("sent");
    let started = Instant::now();
    let mut dribble_cut = false;
    while started.elapsed() < PATIENCE {
        if closed_within(&mut dribbling, Duration::from_millis(100)).await {
            dribble_cut = true;
            break;
        }
        if dribbling.write_all(b"X-Drip: 1\r\n").await.is_err() {
            dribble_cut = true;
            break;
        }
    }

    // Assert: HTTP/1.1 was chosen (HTTP/2 is not offered), and all three close.
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("strict-transport-security"), "{head}");
    assert_eq!(served.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert!(
        closed_within(&mut served, PATIENCE).await,
        "idle HTTPS kept open"
    );
    assert!(
        closed_within(&mut silent, PATIENCE).await,
        "no handshake, kept open"
    );
    assert!(dribble_cut, "a dribbled HTTPS head was never cut");
}
