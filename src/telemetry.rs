//! Logging: `tracing` to stderr, filtered by `CLINICDESK_LOG` (or `RUST_LOG`),
//! and one line per API response. Never bodies, query strings or tokens:
//! those can carry patient data and credentials.

use std::io::IsTerminal;
use std::time::Instant;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Data, Request, Response};
use tracing_subscriber::EnvFilter;

use crate::origin::RequestId;

/// The filter used when neither `CLINICDESK_LOG` nor `RUST_LOG` is set.
/// (Rocket announces its launch as a warning; our own line says the same.)
pub const DEFAULT_FILTER: &str = "clinicdesk=info,rocket=warn,rocket::launch=error";

/// Targets whose verbose output can carry patient data or credentials.
const QUIET_DEPENDENCIES: [&str; 4] = ["rocket=warn", "hyper=warn", "rustls=warn", "reqwest=warn"];

/// Installs the global subscriber (and the `log` bridge that carries Rocket's
/// own messages), writing to stderr. Call once, before building the server;
/// later calls are no-ops.
pub fn init(default_filter: &str) {
    install(
        default_filter,
        std::io::stderr,
        std::io::stderr().is_terminal(),
    );
}

/// As `init`, but appending to `file` (a service has no console).
pub fn init_to_file(default_filter: &str, file: std::fs::File) {
    install(default_filter, std::sync::Mutex::new(file), false);
}

fn install<W>(default_filter: &str, writer: W, ansi: bool)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let mut filter = std::env::var("CLINICDESK_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .map_or_else(|_| EnvFilter::new(default_filter), EnvFilter::new);
    // Whatever level is asked for, the HTTP stack stays at warnings: its
    // info lines hold query strings (search terms) and its debug lines whole
    // headers (access tokens). Our own request line says what is safe.
    for cap in QUIET_DEPENDENCIES {
        if let Ok(directive) = cap.parse() {
            filter = filter.add_directive(directive);
        }
    }
    // `try_init` fails only if a subscriber exists already (tests start many servers).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}

/// Gives every request an id (answered as `X-Request-Id`) and logs its
/// method, route, status and latency.
pub struct RequestLog;

/// When the request arrived; kept in the request's local cache.
struct Started(Instant);

#[rocket::async_trait]
impl Fairing for RequestLog {
    fn info(&self) -> Info {
        Info {
            name: "request log",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        req.local_cache(|| Started(Instant::now()));
        // Made first, here, so every later reader gets this same id.
        RequestId::of(req);
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let elapsed = req.local_cache(|| Started(Instant::now())).0.elapsed();
        // The path without its query: ids are fine, but queries hold search terms.
        let route = req.route().map_or("-", |r| r.uri.as_str());
        // The same id is in the audit trail: a support call can quote it.
        let id = RequestId::of(req).0;
        res.set_header(Header::new("X-Request-Id", id.to_string()));
        tracing::info!(
            request_id = %id,
            method = %req.method(),
            route,
            path = %req.uri().path(),
            status = res.status().code,
            ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            "request"
        );
    }
}
