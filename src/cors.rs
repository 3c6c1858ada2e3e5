//! Cross-origin access to the API (and its FHIR view, the same records
//! under the same sign-in) from other web pages: none, unless an
//! origin is on the configured allow-list (`cors_origins`). An allowed
//! origin gets its own name back (never `*`, so no page can ride on a
//! staff member's session by accident), and its preflight `OPTIONS` gets
//! `204` with the methods and headers the API takes.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{Header, Method, Status};
use rocket::{Request, Response};

pub struct Cors {
    allowed: Vec<String>,
}

impl Cors {
    pub fn new(origins: &[String]) -> Self {
        Self {
            allowed: origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        }
    }
}

#[rocket::async_trait]
impl Fairing for Cors {
    fn info(&self) -> Info {
        Info {
            name: "CORS allow-list",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        if !for_programs(req.uri().path().as_str()) {
            return;
        }
        // Caches must keep answers for different origins apart.
        res.adjoin_header(Header::new("Vary", "Origin"));
        let Some(origin) = req.headers().get_one("Origin") else {
            return;
        };
        if !self.allowed.contains(&origin.to_ascii_lowercase()) {
            return;
        }
        res.set_header(Header::new(
            "Access-Control-Allow-Origin",
            origin.to_owned(),
        ));
        res.set_header(Header::new(
            "Access-Control-Expose-Headers",
            "X-Total-Count, Link, Location, Retry-After, X-Request-Id",
        ));
        let preflight = req.method() == Method::Options
            && req
                .headers()
                .get_one("Access-Control-Request-Method")
                .is_some();
        if preflight {
            res.set_status(Status::NoContent);
            res.set_sized_body(0, std::io::Cursor::new(Vec::new()));
            res.remove_header("Content-Type");
            res.remove_header("Allow");
            res.set_header(Header::new(
                "Access-Control-Allow-Methods",
                "GET, POST, PUT, PATCH, DELETE",
            ));
            res.set_header(Header::new(
                "Access-Control-Allow-Headers",
                "Authorization, Content-Type",
            ));
            res.set_header(Header::new("Access-Control-Max-Age", "600"));
        }
    }
}

/// The paths other programs call: `/api` and `/fhir`. The UI's own pages
/// are never for another origin.
fn for_programs(path: &str) -> bool {
    path.starts_with("/api") || path == "/fhir" || path.starts_with("/fhir/")
}
