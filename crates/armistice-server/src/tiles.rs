//! C2SP tlog-tiles at the root (<https://c2sp.org/tlog-tiles>), so that
//! stock tiled-log clients and witnesses can follow and check the log:
//! `/checkpoint`, `/tile/<L>/<N>[.p/<W>]` (hashes) and
//! `/tile/entries/<N>[.p/<W>]` (entry bundles: each entry is its leaf,
//! the bytes the Merkle leaf hash covers, after a big-endian u16 length).
//! A full tile never changes and is served as immutable.

use crate::error::HttpError;
use crate::state::AppState;
use crate::tilemath::{parse_tile_path, Tile, TileKind};
use armistice_core::entry::split_entry;
use armistice_store::Store;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// How long a full tile may be cached: a year, immutable.
const FULL_TILE_CACHE: &str = "public, max-age=31536000, immutable";
/// A partial tile's bytes never change either, but the log may drop it once
/// the full tile exists.
const PARTIAL_TILE_CACHE: &str = "public, max-age=60";

/// The newest signed checkpoint, as tlog-tiles clients fetch it.
#[utoipa::path(get, path = "/checkpoint", responses(
    (status = 200, description = "The newest signed checkpoint note", content_type = "text/plain", body = String),
    (status = 404, description = "No checkpoint signed yet", body = armistice_api::wire::ErrorBody),
))]
pub async fn checkpoint(State(state): State<Arc<AppState>>) -> Result<Response, HttpError> {
    let signed = state
        .latest_checkpoint()
        .ok_or_else(|| HttpError::not_found("no checkpoint has been signed yet"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        signed.to_note(),
    )
        .into_response())
}

/// A tile of hashes or an entry bundle.
#[utoipa::path(get, path = "/tile/{path}", params(("path" = String, Path, description = "`<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`")), responses(
    (status = 200, description = "The tile's bytes", content_type = "application/octet-stream", body = Vec<u8>),
    (status = 400, description = "Not a tile path", body = armistice_api::wire::ErrorBody),
    (status = 404, description = "Beyond the log", body = armistice_api::wire::ErrorBody),
))]
pub async fn tile(
    State(state): State<Arc<AppState>>,
    Path(path): Path<String>,
) -> Result<Response, HttpError> {
    let tile = parse_tile_path(&path).map_err(HttpError::invalid)?;
    let bytes = state
        .blocking(move |store| tile_bytes(store, &tile))
        .await?;
    let cache = if tile.is_full() {
        FULL_TILE_CACHE
    } else {
        PARTIAL_TILE_CACHE
    };
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, cache),
        ],
        bytes,
    )
        .into_response())
}

/// The tile's contents, from durable entries only.
pub fn tile_bytes(store: &dyn Store, tile: &Tile) -> Result<Vec<u8>, HttpError> {
    let size = store.head().seq;
    if !tile.available_at(size) {
        return Err(HttpError::not_found(format!(
            "tile/{} is beyond the log, which holds {size} entries",
            tile.path().trim_start_matches("tile/")
        )));
    }
    let range = tile
        .node_range()
        .ok_or_else(|| HttpError::not_found("no such tile"))?;
    match tile.kind {
        TileKind::Entries => {
            let mut out = Vec::new();
            for_each_leaf(store, range, |leaf| {
                let length = u16::try_from(leaf.len()).map_err(|_| {
                    HttpError::internal("a leaf longer than 65535 bytes cannot be bundled")
                })?;
                out.extend_from_slice(&length.to_be_bytes());
                out.extend_from_slice(leaf);
                Ok(())
            })?;
            Ok(out)
        }
        TileKind::Hashes { level: 0 } => {
            let mut out = Vec::with_capacity(32 * tile.width as usize);
            for_each_leaf(store, range, |leaf| {
                out.extend_from_slice(&armistice_merkle::leaf_hash(leaf));
                Ok(())
            })?;
            Ok(out)
        }
        TileKind::Hashes { .. } => {
            let level = tile.tree_level();
            let mut out = Vec::with_capacity(32 * tile.width as usize);
            for index in range {
                out.extend_from_slice(&store.node(level, index)?);
            }
            Ok(out)
        }
    }
}

/// Calls `each` with the leaf of every entry whose leaf index is in `range`,
/// read in one pass.
fn for_each_leaf(
    store: &dyn Store,
    range: std::ops::Range<u64>,
    mut each: impl FnMut(&[u8]) -> Result<(), HttpError>,
) -> Result<(), HttpError> {
    let mut expected = range.start + 1;
    for item in store.entries(range.start + 1, range.end) {
        let (seq, bytes) = item?;
        if seq != expected {
            return Err(HttpError::internal(format!(
                "expected entry {expected}, read {seq}"
            )));
        }
        let split =
            split_entry(&bytes).map_err(|e| HttpError::internal(format!("entry {seq}: {e}")))?;
        each(split.leaf)?;
        expected += 1;
    }
    if expected != range.end + 1 {
        return Err(HttpError::internal("the log ended before the tile"));
    }
    Ok(())
}
