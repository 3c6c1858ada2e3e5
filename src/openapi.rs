//! `GET /api/openapi.json`, generated from the handlers' annotations so it
//! cannot drift from the code, and `/api/docs/`, Swagger UI served from the
//! binary (its files are vendored into the crate: no CDN, works offline).

use rocket::Route;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// The generated description of the API.
#[derive(OpenApi)]
#[openapi(info(
    title = "clinicdesk",
    description = "A small clinic's patients, doctors and patient–doctor mappings."
))]
pub struct ApiDoc;

/// The docs page and the JSON it reads.
pub fn routes() -> Vec<Route> {
    SwaggerUi::new("/api/docs/<_..>")
        .url("/api/openapi.json", ApiDoc::openapi())
        .into()
}
