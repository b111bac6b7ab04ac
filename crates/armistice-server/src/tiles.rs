//! C2SP tlog-tiles at the root (<https://c2sp.org/tlog-tiles>), so that
//! stock tiled-log clients and witnesses can follow and check the log:
//! `/checkpoint`, `/tile/<L>/<N>[.p/<W>]` (hashes) and
//! `/tile/entries/<N>[.p/<W>]` (entry bundles: each entry is its leaf,
//! the bytes the Merkle leaf hash covers, after a big-endian u16 length).
//! A full tile never changes and is served as immutable. The tile
//! arithmetic is `armistice_merkle::tiles`'.

use crate::error::HttpError;
use crate::state::AppState;
use armistice_core::entry::{split_entry, Hash};
use armistice_merkle::tiles::{encode_entry_bundle, tile_data, Tile, TilePath};
use armistice_merkle::{NodeSource, ProofError};
use armistice_store::{Store, StoreError};
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
    let asked = Tile::parse_path(&format!("tile/{path}"))
        .map_err(|e| HttpError::invalid(format!("`tile/{path}`: {e}")))?;
    let full = match asked {
        TilePath::Hashes(tile) | TilePath::Entries(tile) => tile.is_full(),
    };
    let bytes = state
        .blocking(move |store| tile_bytes(store, asked))
        .await?;
    let cache = if full {
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

/// The store's committed nodes, as the tiles module reads them.
struct StoredNodes<'a>(&'a dyn Store);

impl NodeSource for StoredNodes<'_> {
    type Error = StoreError;

    fn node(&self, level: u8, index: u64) -> Result<Hash, StoreError> {
        self.0.node(level, index)
    }
}

/// The contents of a tile or entry bundle, from durable entries only: the
/// first `width` hashes (or entries) of the tile, which never change once
/// the log holds them.
pub fn tile_bytes(store: &dyn Store, asked: TilePath) -> Result<Vec<u8>, HttpError> {
    let tile = match asked {
        TilePath::Hashes(tile) | TilePath::Entries(tile) => tile,
    };
    let size = store.head().seq;
    let there = Tile::in_tree(tile.level(), tile.index(), size);
    if there.is_none_or(|t| t.width() < tile.width()) {
        return Err(HttpError::not_found(format!(
            "{} is beyond the log, which holds {size} entries",
            match asked {
                TilePath::Entries(t) => t.entries_path().unwrap_or_default(),
                TilePath::Hashes(t) => t.path(),
            }
        )));
    }
    let first = tile.index() * 256;
    let range = first..first + u64::from(tile.width());
    match asked {
        TilePath::Entries(_) => {
            let mut leaves = Vec::with_capacity(usize::from(tile.width()));
            for_each_leaf(store, range, |leaf| {
                leaves.push(leaf.to_vec());
                Ok(())
            })?;
            encode_entry_bundle(&leaves).map_err(|e| HttpError::internal(e.to_string()))
        }
        TilePath::Hashes(_) if tile.level() == 0 => {
            let mut out = Vec::with_capacity(32 * usize::from(tile.width()));
            for_each_leaf(store, range, |leaf| {
                out.extend_from_slice(&armistice_merkle::leaf_hash(leaf));
                Ok(())
            })?;
            Ok(out)
        }
        TilePath::Hashes(_) => tile_data(&tile, &StoredNodes(store)).map_err(|e| match e {
            ProofError::Source(inner) => inner.into(),
            other => HttpError::internal(other.to_string()),
        }),
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
