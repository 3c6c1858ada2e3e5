//! The browser UI: the files under `ui/`, compiled into the binary (read
//! from disk in debug builds, so UI edits need no rebuild).

use std::borrow::Cow;
use std::path::PathBuf;

use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket::{get, routes, Route};

#[derive(rust_embed::Embed)]
#[folder = "ui/"]
struct Assets;

pub fn routes() -> Vec<Route> {
    routes![asset]
}

/// An embedded file with its type, an `ETag` from its hash, and
/// `Cache-Control: no-cache` (revalidate, so an upgrade shows at once).
struct Asset {
    content_type: ContentType,
    etag: String,
    data: Cow<'static, [u8]>,
}

impl<'r> Responder<'r, 'static> for Asset {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let fresh = req.headers().get_one("If-None-Match") == Some(self.etag.as_str());
        let mut response = Response::build();
        response
            .header(self.content_type)
            .header(Header::new("ETag", self.etag))
            .header(Header::new("Cache-Control", "no-cache"));
        if fresh {
            response.status(Status::NotModified);
        } else {
            response.sized_body(self.data.len(), std::io::Cursor::new(self.data));
        }
        response.ok()
    }
}

/// Any GET no API route claimed. Ranked last; `/api/...` is refused here so an
/// unknown API path still gets the JSON 404 from the `/api` catcher. Paths
/// without an extension (`/setup`, `/patients/7`) are the app's own pages and
/// get `index.html`, which routes on the client.
#[get("/<path..>", rank = 20)]
fn asset(path: PathBuf) -> Option<Asset> {
    if path.starts_with("api") {
        return None;
    }
    let name = path.to_str()?;
    let name = if name.is_empty() || path.extension().is_none() {
        "index.html"
    } else {
        name
    };
    let file = Assets::get(name)?;
    let content_type = std::path::Path::new(name)
        .extension()
        .and_then(|ext| ext.to_str())
        .and_then(ContentType::from_extension)
        .unwrap_or(ContentType::Bytes);
    let etag = hex::encode(&file.metadata.sha256_hash()[..16]);
    Some(Asset {
        content_type,
        etag: format!("\"{etag}\""),
        data: file.data,
    })
}
