//! The OpenAPI 3.1 description, generated from the handlers' own types and
//! annotations (utoipa), never written by hand: `GET /v1/openapi.json`.

use utoipa::OpenApi;

/// The API of `armistice serve`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Armistice",
        description = "A ledger of ceasefire agreements and alleged violations. Reads answer with exactly what the matching `armistice` command prints (`--json` by default, its text with `format=text`); appends answer with a signed receipt; the log is also served as C2SP tlog-tiles at the root."
    ),
    paths(
        crate::append::append,
        crate::read::entries,
        crate::read::entry,
        crate::read::status,
        crate::read::claims,
        crate::read::audit,
        crate::read::timeline,
        crate::read::parties,
        crate::read::log,
        crate::read::checkpoint,
        crate::read::inclusion,
        crate::read::consistency,
        crate::read::healthz,
        crate::feed::feed,
        crate::tiles::checkpoint,
        crate::tiles::tile,
        openapi_json,
    ),
    components(schemas(
        armistice_api::wire::Receipt,
        armistice_api::wire::AppendedJson,
        armistice_api::wire::InclusionProofJson,
        armistice_api::wire::ConsistencyProofJson,
        armistice_api::wire::ErrorBody,
        armistice_api::wire::PartyJson,
        armistice_api::wire::CheckpointJson,
        crate::read::OutputFormat,
        crate::read::Health,
    ))
)]
pub struct ApiDoc;

/// This description.
#[utoipa::path(get, path = "/v1/openapi.json", responses((status = 200, description = "OpenAPI 3.1", body = Object)))]
pub async fn openapi_json() -> impl axum::response::IntoResponse {
    let text = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        text,
    )
}
