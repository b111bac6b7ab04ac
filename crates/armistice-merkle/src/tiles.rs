//! C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>): the Merkle tree served as
//! static tiles of 256 hashes, and the log entries as entry bundles.
//!
//! - Tile `(L, N)` holds, for `i` in `0..256`, the hash of the complete subtree
//!   of `256^L` leaves numbered `N * 256 + i` at its level: node
//!   `(8 * L, N * 256 + i)` in this crate's [`NodeSource`] numbering. Level-0
//!   tiles hold leaf hashes.
//! - The rightmost tile of each level is *partial* (1 to 255 hashes) and is
//!   addressed with a `.p/<W>` suffix: `tile/<L>/<N>[.p/<W>]`, with `N` written
//!   in groups of three digits, all but the last prefixed by `x`
//!   (`x001/x234/067`).
//! - Entry bundles `tile/entries/<N>[.p/<W>]` hold the entries of level-0 tile
//!   `N`, each as a big-endian `uint16` length and its bytes, so an entry is at
//!   most 65,535 bytes ([`ENTRY_BYTES_MAX`]).
//!
//! A client rebuilds roots and proofs from fetched tiles with [`TileReader`],
//! a [`NodeSource`] over tiles:
//!
//! ```
//! use armistice_merkle::tiles::{tile_data, Tile, TileReader};
//! use armistice_merkle::{root, MemoryTree};
//!
//! let mut tree = MemoryTree::new();
//! for i in 0u32..1000 {
//!     tree.push(&i.to_be_bytes());
//! }
//! // A "server" serving tiles for size 1000 (here straight from the tree).
//! let fetch = |tile: &Tile| tile_data(tile, &tree);
//! let reader = TileReader::new(1000, fetch);
//! assert_eq!(reader.root()?, root(1000, &tree)?);
//! assert_eq!(Tile::new(0, 3, 232)?.path(), "tile/0/003.p/232");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use crate::hash::{leaf_hash, node_hash, Hash};
use crate::tree::{consistency_proof, inclusion_proof, root, NodeSource, ProofError};

/// Tree levels spanned by one tile: a tile is a subtree of height 8.
pub const TILE_HEIGHT: u8 = 8;

/// Hashes in a full tile (`2^TILE_HEIGHT`).
pub const TILE_WIDTH_MAX: u16 = 256;

/// The largest tile level a path may name (the spec's 63).
pub const TILE_LEVEL_MAX: u8 = 63;

/// Bytes of one hash in a tile.
const HASH_BYTES: usize = 32;

/// The largest entry an entry bundle can carry: its length is a `uint16`.
pub const ENTRY_BYTES_MAX: usize = u16::MAX as usize;

/// Why a tile, a tile path or an entry bundle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// The level is above [`TILE_LEVEL_MAX`].
    #[error("tile level {0} is above {TILE_LEVEL_MAX}")]
    LevelOutOfRange(u8),
    /// The width is 0 or above [`TILE_WIDTH_MAX`].
    #[error("tile width {0} is not between 1 and {TILE_WIDTH_MAX}")]
    WidthOutOfRange(u16),
    /// A path is not the one canonical encoding of a tile or entry bundle.
    #[error("not a canonical tile path: {0:?}")]
    BadPath(String),
    /// Tile data is not `32 * width` bytes.
    #[error("tile {path} has {actual} bytes, expected {expected}")]
    WrongTileLength {
        /// The tile's path.
        path: String,
        /// Bytes received.
        actual: usize,
        /// Bytes a tile of that width has.
        expected: usize,
    },
    /// An entry is longer than a `uint16` length prefix can say.
    #[error("entry {index} of the bundle has {bytes} bytes; an entry bundle carries at most {ENTRY_BYTES_MAX}")]
    EntryTooLarge {
        /// Position of the entry in the bundle.
        index: usize,
        /// Its length in bytes.
        bytes: usize,
    },
    /// A bundle holds another number of entries than its tile's width
    /// (or none, or more than 256).
    #[error("entry bundle has {actual} entries, expected {expected}")]
    WrongEntryCount {
        /// Entries found or given.
        actual: usize,
        /// Entries the bundle must hold.
        expected: usize,
    },
    /// A bundle ends inside a length prefix or an entry.
    #[error("entry bundle is truncated in entry {0}")]
    TruncatedBundle(usize),
    /// An entry of a bundle does not hash to the level-0 tile's leaf hash.
    #[error("entry {0} of the bundle does not match its leaf hash in the level-0 tile")]
    EntryHashMismatch(usize),
}

/// One tile: its level, its index within the level and its width (256 for a
/// full tile, 1 to 255 for a partial one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    level: u8,
    index: u64,
    width: u16,
}

/// What a tlog-tiles path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TilePath {
    /// `tile/<L>/<N>[.p/<W>]`: a tile of hashes.
    Hashes(Tile),
    /// `tile/entries/<N>[.p/<W>]`: the entry bundle of level-0 tile `N`
    /// (the tile given has level 0).
    Entries(Tile),
}

impl Tile {
    /// A tile, checking level and width.
    pub fn new(level: u8, index: u64, width: u16) -> Result<Self, TileError> {
        if level > TILE_LEVEL_MAX {
            return Err(TileError::LevelOutOfRange(level));
        }
        if width == 0 || width > TILE_WIDTH_MAX {
            return Err(TileError::WidthOutOfRange(width));
        }
        Ok(Tile {
            level,
            index,
            width,
        })
    }

    /// The tile's level (`0` holds leaf hashes).
    pub fn level(&self) -> u8 {
        self.level
    }

    /// The tile's index within its level.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Hashes in the tile.
    pub fn width(&self) -> u16 {
        self.width
    }

    /// Whether the tile is full (256 hashes wide).
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH_MAX
    }

    /// The tree level of the hashes in the tile (`8 * level`).
    pub fn hash_level(&self) -> u32 {
        u32::from(self.level) * u32::from(TILE_HEIGHT)
    }

    /// The tile path, `tile/<L>/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        format!("tile/{}/{}", self.level, self.suffix())
    }

    /// The path of the entry bundle of this level-0 tile,
    /// `tile/entries/<N>[.p/<W>]`; `None` for a tile above level 0.
    pub fn entries_path(&self) -> Option<String> {
        (self.level == 0).then(|| format!("tile/entries/{}", self.suffix()))
    }

    /// `<N>[.p/<W>]`.
    fn suffix(&self) -> String {
        let mut text = encode_index(self.index);
        if !self.is_full() {
            text.push_str(&format!(".p/{}", self.width));
        }
        text
    }

    /// Parses a tile or entry-bundle path strictly: only the canonical form of
    /// each tile is accepted (no leading zeros, no `x000/` groups in front,
    /// no `.p/256`, no index beyond `u64`).
    ///
    /// ```
    /// use armistice_merkle::tiles::{Tile, TilePath};
    ///
    /// let tile = Tile::new(1, 1_234_067, 17)?;
    /// assert_eq!(tile.path(), "tile/1/x001/x234/067.p/17");
    /// assert_eq!(Tile::parse_path("tile/1/x001/x234/067.p/17")?, TilePath::Hashes(tile));
    /// assert!(Tile::parse_path("tile/1/x000/x001/x234/067.p/17").is_err());
    /// # Ok::<(), armistice_merkle::tiles::TileError>(())
    /// ```
    pub fn parse_path(path: &str) -> Result<TilePath, TileError> {
        let bad = || TileError::BadPath(path.to_owned());
        let rest = path.strip_prefix("tile/").ok_or_else(bad)?;
        let (level_text, rest) = rest.split_once('/').ok_or_else(bad)?;
        let (index_text, width) = match rest.split_once(".p/") {
            Some((index, width)) => {
                let width = parse_decimal(width)
                    .and_then(|w| u16::try_from(w).ok())
                    .filter(|w| (1..TILE_WIDTH_MAX).contains(w))
                    .ok_or_else(bad)?;
                (index, width)
            }
            None => (rest, TILE_WIDTH_MAX),
        };
        let index = decode_index(index_text).ok_or_else(bad)?;
        if level_text == "entries" {
            return Ok(TilePath::Entries(Tile::new(0, index, width)?));
        }
        let level = parse_decimal(level_text)
            .and_then(|l| u8::try_from(l).ok())
            .filter(|l| *l <= TILE_LEVEL_MAX)
            .ok_or_else(bad)?;
        Ok(TilePath::Hashes(Tile::new(level, index, width)?))
    }

    /// The tile of `level` and `index` as it stands in a tree of `size`
    /// leaves (full, or partial with the width that size gives it); `None`
    /// if the tree does not reach into that tile yet.
    pub fn in_tree(level: u8, index: u64, size: u64) -> Option<Tile> {
        let hashes = hashes_at_level(level, size);
        let start = index.checked_mul(u64::from(TILE_WIDTH_MAX))?;
        let width = hashes.checked_sub(start).filter(|w| *w > 0)?;
        let width = u16::try_from(width.min(u64::from(TILE_WIDTH_MAX))).ok()?;
        Tile::new(level, index, width).ok()
    }
}

impl fmt::Display for Tile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// Number of complete level-`8 * level` subtrees in a tree of `size` leaves:
/// the hashes available at tile level `level`.
fn hashes_at_level(level: u8, size: u64) -> u64 {
    let shift = u32::from(level) * u32::from(TILE_HEIGHT);
    size.checked_shr(shift).unwrap_or(0)
}

/// `N` as zero-padded groups of three digits, all but the last with `x`.
fn encode_index(index: u64) -> String {
    let mut groups = Vec::new();
    let mut rest = index;
    loop {
        groups.push(rest % 1000);
        rest /= 1000;
        if rest == 0 {
            break;
        }
    }
    // The loop pushes at least one group, so this does not underflow.
    let last = groups.len() - 1;
    groups
        .iter()
        .rev()
        .enumerate()
        .map(|(i, group)| {
            if i == last {
                format!("{group:03}")
            } else {
                format!("x{group:03}")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The inverse of [`encode_index`], refusing every other spelling.
fn decode_index(text: &str) -> Option<u64> {
    let groups: Vec<&str> = text.split('/').collect();
    let (last, leading) = groups.split_last()?;
    let mut value: u64 = 0;
    for (i, group) in leading.iter().enumerate() {
        let digits = group.strip_prefix('x')?;
        let group = three_digits(digits)?;
        // A leading zero group would be a second spelling of the same index.
        if i == 0 && group == 0 {
            return None;
        }
        value = value.checked_mul(1000)?.checked_add(group)?;
    }
    value.checked_mul(1000)?.checked_add(three_digits(last)?)
}

fn three_digits(text: &str) -> Option<u64> {
    (text.len() == 3 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// Canonical decimal: digits only, no leading zeros except `"0"`.
fn parse_decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

/// Every tile of a tree of `size` leaves, level by level from 0 and left to
/// right: the full tiles, then the partial one if the level has one.
///
/// A tree of 70,000 leaves has 273 full level-0 tiles and one of width 112,
/// one full level-1 tile and one of width 17, and a level-2 tile of width 1.
pub fn tiles_for_size(size: u64) -> impl Iterator<Item = Tile> {
    (0..=TILE_LEVEL_MAX)
        .take_while(move |level| hashes_at_level(*level, size) > 0)
        .flat_map(move |level| {
            let hashes = hashes_at_level(level, size);
            let count = hashes.div_ceil(u64::from(TILE_WIDTH_MAX));
            (0..count).filter_map(move |index| Tile::in_tree(level, index, size))
        })
}

/// The tiles a client needs to compute the root of a tree of `size` leaves:
/// the partial tile of each level that has one. (The root combines one
/// complete subtree per set bit of `size`; those of levels `8L ..= 8L + 7` are
/// made of the hashes of level-`L` tiles past the last full one.)
pub fn root_tiles(size: u64) -> Vec<Tile> {
    (0..=TILE_LEVEL_MAX)
        .map(|level| (level, hashes_at_level(level, size)))
        .take_while(|(_, hashes)| *hashes > 0)
        .filter(|(_, hashes)| hashes % u64::from(TILE_WIDTH_MAX) != 0)
        .filter_map(|(level, hashes)| {
            Tile::in_tree(level, hashes / u64::from(TILE_WIDTH_MAX), size)
        })
        .collect()
}

/// The content of `tile`: its `width` hashes concatenated (32 bytes each),
/// read from `source` as nodes `(8 * level, index * 256 + i)`.
///
/// The source must hold those nodes (the tree must be at least as large as the
/// tile says). A tile of level 8 or above lies beyond any tree a `u64` size
/// describes and gives [`ProofError::TreeFull`].
pub fn tile_data<S: NodeSource + ?Sized>(
    tile: &Tile,
    source: &S,
) -> Result<Vec<u8>, ProofError<S::Error>> {
    let level = u8::try_from(tile.hash_level()).map_err(|_| ProofError::TreeFull(tile.index))?;
    let first = tile
        .index
        .checked_mul(u64::from(TILE_WIDTH_MAX))
        .ok_or(ProofError::TreeFull(tile.index))?;
    let mut data = Vec::with_capacity(usize::from(tile.width) * HASH_BYTES);
    for i in 0..u64::from(tile.width) {
        data.extend_from_slice(&source.node(level, first + i).map_err(ProofError::Source)?);
    }
    Ok(data)
}

/// An entry bundle: each entry as a big-endian `uint16` length and its bytes.
///
/// At most 256 entries, each at most [`ENTRY_BYTES_MAX`] bytes.
pub fn encode_entry_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, TileError> {
    if entries.is_empty() || entries.len() > usize::from(TILE_WIDTH_MAX) {
        return Err(TileError::WrongEntryCount {
            actual: entries.len(),
            expected: usize::from(TILE_WIDTH_MAX),
        });
    }
    let mut bundle = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let entry = entry.as_ref();
        let length = u16::try_from(entry.len()).map_err(|_| TileError::EntryTooLarge {
            index,
            bytes: entry.len(),
        })?;
        bundle.extend_from_slice(&length.to_be_bytes());
        bundle.extend_from_slice(entry);
    }
    Ok(bundle)
}

/// Decodes the entry bundle of a level-0 tile of `width` entries, strictly:
/// exactly `width` entries and no byte left over.
pub fn decode_entry_bundle(bundle: &[u8], width: u16) -> Result<Vec<&[u8]>, TileError> {
    let expected = usize::from(width);
    let mut entries = Vec::with_capacity(expected);
    let mut rest = bundle;
    while !rest.is_empty() {
        let index = entries.len();
        if index == expected {
            // Count what is left, for the message, without trusting it further.
            return Err(TileError::WrongEntryCount {
                actual: index + 1,
                expected,
            });
        }
        let (length, tail) = rest
            .split_first_chunk::<2>()
            .ok_or(TileError::TruncatedBundle(index))?;
        let length = usize::from(u16::from_be_bytes(*length));
        if tail.len() < length {
            return Err(TileError::TruncatedBundle(index));
        }
        let (entry, tail) = tail.split_at(length);
        entries.push(entry);
        rest = tail;
    }
    if entries.len() != expected {
        return Err(TileError::WrongEntryCount {
            actual: entries.len(),
            expected,
        });
    }
    Ok(entries)
}

/// Checks that `entries` hash (RFC 6962 leaf hash) to the hashes of the
/// level-0 `tile_data`, one by one.
pub fn verify_entry_bundle(entries: &[&[u8]], tile_data: &[u8]) -> Result<(), TileError> {
    if tile_data.len() != entries.len() * HASH_BYTES {
        return Err(TileError::WrongEntryCount {
            actual: entries.len(),
            expected: tile_data.len() / HASH_BYTES,
        });
    }
    for (index, (entry, hash)) in entries
        .iter()
        .zip(tile_data.chunks_exact(HASH_BYTES))
        .enumerate()
    {
        if leaf_hash(entry) != hash {
            return Err(TileError::EntryHashMismatch(index));
        }
    }
    Ok(())
}

/// Where a [`TileReader`] gets tile bytes: any `Fn(&Tile) -> Result<Vec<u8>, E>`
/// (an HTTP GET of `<prefix>/<tile.path()>`, a file read, a test tree).
pub trait TileFetcher {
    /// The fetcher's own error, passed through in [`TileReadError::Fetch`].
    type Error;

    /// The bytes of `tile` as the log serves them.
    fn fetch(&self, tile: &Tile) -> Result<Vec<u8>, Self::Error>;
}

impl<F, E> TileFetcher for F
where
    F: Fn(&Tile) -> Result<Vec<u8>, E>,
{
    type Error = E;

    fn fetch(&self, tile: &Tile) -> Result<Vec<u8>, E> {
        self(tile)
    }
}

/// Why a [`TileReader`] could not give a node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileReadError<E> {
    /// The fetcher failed.
    #[error("fetching a tile failed: {0}")]
    Fetch(E),
    /// A fetched tile is malformed (wrong length).
    #[error(transparent)]
    Tile(TileError),
    /// A node outside the tree of the reader's size was asked for.
    #[error("node (level {level}, index {index}) is not complete in a tree of {size} leaves")]
    NotInTree {
        /// Level of the node.
        level: u8,
        /// Index of the node.
        index: u64,
        /// The reader's tree size.
        size: u64,
    },
}

/// A [`NodeSource`] over the tiles of a tree of `size` leaves, fetched on first
/// use and kept: the root, inclusion proofs and consistency proofs from any
/// older size can be computed from it, so a tiles client can check a signed
/// checkpoint's root and prove entries itself.
///
/// It fetches each tile with the width it has at `size` (the spec forbids
/// fetching partial tiles that no verified checkpoint requires), and trusts no
/// tile: whatever it computes is only as good as its comparison with a signed
/// root (see [`TileReader::check_root`]).
pub struct TileReader<F> {
    size: u64,
    fetcher: F,
    tiles: RefCell<HashMap<(u8, u64), Vec<u8>>>,
}

impl<F: TileFetcher> TileReader<F> {
    /// A reader of the tree of `size` leaves.
    pub fn new(size: u64, fetcher: F) -> Self {
        TileReader {
            size,
            fetcher,
            tiles: RefCell::new(HashMap::new()),
        }
    }

    /// The tree size this reader serves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tiles fetched so far.
    pub fn fetched(&self) -> Vec<Tile> {
        let mut tiles: Vec<Tile> = self
            .tiles
            .borrow()
            .iter()
            .filter_map(|(&(level, index), data)| {
                Tile::new(level, index, u16::try_from(data.len() / HASH_BYTES).ok()?).ok()
            })
            .collect();
        tiles.sort();
        tiles
    }

    /// The root of the tree of `size` leaves.
    pub fn root(&self) -> Result<Hash, ProofError<TileReadError<F::Error>>> {
        root(self.size, self)
    }

    /// Whether the root computed from the tiles is `expected` (e.g. a verified
    /// checkpoint's root): only then are the fetched tiles known to be right.
    pub fn check_root(&self, expected: &Hash) -> Result<bool, ProofError<TileReadError<F::Error>>> {
        Ok(self.root()? == *expected)
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves.
    pub fn inclusion_proof(
        &self,
        index: u64,
    ) -> Result<Vec<Hash>, ProofError<TileReadError<F::Error>>> {
        inclusion_proof(index, self.size, self)
    }

    /// The consistency proof from `old_size` to `size`.
    pub fn consistency_proof(
        &self,
        old_size: u64,
    ) -> Result<Vec<Hash>, ProofError<TileReadError<F::Error>>> {
        consistency_proof(old_size, self.size, self)
    }

    /// Hands the reader a tile fetched beforehand (e.g. in parallel by an
    /// async client): it must be the tile as it stands at the reader's size,
    /// with `32 * width` bytes.
    pub fn insert(&self, tile: Tile, data: Vec<u8>) -> Result<(), TileError> {
        if Tile::in_tree(tile.level, tile.index, self.size) != Some(tile) {
            return Err(TileError::BadPath(format!(
                "{} is not a tile of the tree of {} leaves",
                tile.path(),
                self.size
            )));
        }
        check_tile_length(&tile, &data)?;
        self.tiles
            .borrow_mut()
            .insert((tile.level, tile.index), data);
        Ok(())
    }

    /// The hashes of `tile`, fetched once and checked for length.
    fn with_tile<T>(
        &self,
        tile: Tile,
        read: impl FnOnce(&[u8]) -> T,
    ) -> Result<T, TileReadError<F::Error>> {
        let key = (tile.level, tile.index);
        if let Some(data) = self.tiles.borrow().get(&key) {
            return Ok(read(data));
        }
        let data = self.fetcher.fetch(&tile).map_err(TileReadError::Fetch)?;
        check_tile_length(&tile, &data).map_err(TileReadError::Tile)?;
        let value = read(&data);
        self.tiles.borrow_mut().insert(key, data);
        Ok(value)
    }
}

impl<F: TileFetcher> NodeSource for TileReader<F> {
    type Error = TileReadError<F::Error>;

    /// Node `(level, index)` lies in the tile of level `level / 8`: it is the
    /// hash of `2^(level % 8)` consecutive hashes of that tile, rehashed as the
    /// perfect subtree they form.
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        let not_in_tree = || TileReadError::NotInTree {
            level,
            index,
            size: self.size,
        };
        let tile_level = level / TILE_HEIGHT;
        let height = u32::from(level % TILE_HEIGHT);
        // The node's first hash at the tile's level, and how many it spans.
        let first = index.checked_shl(height).filter(|f| f >> height == index);
        let first = first.ok_or_else(not_in_tree)?;
        let span = 1u64 << height;
        let end = first.checked_add(span).ok_or_else(not_in_tree)?;
        if end > hashes_at_level(tile_level, self.size) {
            return Err(not_in_tree());
        }
        let tile_index = first / u64::from(TILE_WIDTH_MAX);
        let tile = Tile::in_tree(tile_level, tile_index, self.size).ok_or_else(not_in_tree)?;
        // In bounds: the node's span is aligned to its size (at most 128),
        // which divides 256, so it lies inside one tile, and `end` was checked
        // against the hashes the tree has at this level, which the tile holds.
        let offset =
            usize::try_from(first % u64::from(TILE_WIDTH_MAX)).map_err(|_| not_in_tree())?;
        let count = usize::try_from(span).map_err(|_| not_in_tree())?;
        self.with_tile(tile, |data| {
            perfect_subtree_hash(&data[offset * HASH_BYTES..(offset + count) * HASH_BYTES])
        })
    }
}

fn check_tile_length(tile: &Tile, data: &[u8]) -> Result<(), TileError> {
    let expected = usize::from(tile.width) * HASH_BYTES;
    if data.len() != expected {
        return Err(TileError::WrongTileLength {
            path: tile.path(),
            actual: data.len(),
            expected,
        });
    }
    Ok(())
}

/// The root of a perfect subtree whose leaves (at any level) are the
/// concatenated hashes in `data`, a power of two of them.
fn perfect_subtree_hash(data: &[u8]) -> Hash {
    let mut row: Vec<Hash> = data
        .chunks_exact(HASH_BYTES)
        .map(|chunk| {
            let mut hash = [0u8; HASH_BYTES];
            hash.copy_from_slice(chunk);
            hash
        })
        .collect();
    while row.len() > 1 {
        row = row
            .chunks_exact(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
    }
    row.first().copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryTree;

    fn check_path(tile: Tile, path: &str) {
        assert_eq!(tile.path(), path);
        assert_eq!(Tile::parse_path(path), Ok(TilePath::Hashes(tile)));
    }

    #[test]
    fn index_encoding_follows_the_spec() {
        check_path(
            Tile::new(0, 1_234_067, 256).unwrap(),
            "tile/0/x001/x234/067",
        );
        check_path(Tile::new(0, 0, 256).unwrap(), "tile/0/000");
        check_path(Tile::new(2, 999, 1).unwrap(), "tile/2/999.p/1");
        check_path(Tile::new(1, 1000, 255).unwrap(), "tile/1/x001/000.p/255");
        check_path(
            Tile::new(63, u64::MAX, 256).unwrap(),
            "tile/63/x018/x446/x744/x073/x709/x551/615",
        );
        let entries = Tile::new(0, 1_234_067, 5).unwrap();
        assert_eq!(
            entries.entries_path().unwrap(),
            "tile/entries/x001/x234/067.p/5"
        );
        assert_eq!(
            Tile::parse_path("tile/entries/x001/x234/067.p/5"),
            Ok(TilePath::Entries(entries))
        );
        assert_eq!(Tile::new(1, 0, 5).unwrap().entries_path(), None);
    }

    #[test]
    fn non_canonical_paths_are_refused() {
        for path in [
            "tile/0/1",
            "tile/0/01",
            "tile/0/0001",
            "tile/0/x000/001",
            "tile/0/x001/x234",
            "tile/0/001/234",
            "tile/0/x1/234",
            "tile/00/001",
            "tile/01/001",
            "tile/64/001",
            "tile/0/001.p/0",
            "tile/0/001.p/256",
            "tile/0/001.p/010",
            "tile/0/001.p/",
            "tile/0/001.p/5/",
            "tile/0/001/",
            "tile/0//001",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
            "tile/0/x999/x999/x999/x999/x999/x999/x999/999",
            "tile/0/-01",
            "tile/0/+01",
            "tile/entries/01",
            "tile/entry/001",
            "/tile/0/001",
            "tile/0/001 ",
            "tile/8/0/001",
            "tile/data/001",
            "tile/0/00a",
            "tile/ 0/001",
        ] {
            assert!(Tile::parse_path(path).is_err(), "{path} accepted");
        }
    }

    #[test]
    fn the_spec_example_of_70000_leaves() {
        let tiles: Vec<Tile> = tiles_for_size(70_000).collect();
        let at = |level: u8| tiles.iter().filter(move |t| t.level() == level);
        assert_eq!(at(0).filter(|t| t.is_full()).count(), 273);
        assert_eq!(
            at(0)
                .filter(|t| !t.is_full())
                .map(|t| t.width())
                .collect::<Vec<_>>(),
            [112]
        );
        assert_eq!(at(1).map(|t| t.width()).collect::<Vec<_>>(), [256, 17]);
        assert_eq!(at(2).map(|t| t.width()).collect::<Vec<_>>(), [1]);
        assert_eq!(tiles.len(), 273 + 1 + 2 + 1);
        // "a tree of size 256 will be represented by a full level 0 tile and a
        // partial level 1 tile of width 1"
        assert_eq!(
            tiles_for_size(256).collect::<Vec<_>>(),
            [Tile::new(0, 0, 256).unwrap(), Tile::new(1, 0, 1).unwrap()]
        );
        assert_eq!(tiles_for_size(0).count(), 0);
        assert_eq!(
            root_tiles(70_000),
            [
                Tile::new(0, 273, 112).unwrap(),
                Tile::new(1, 1, 17).unwrap(),
                Tile::new(2, 0, 1).unwrap()
            ]
        );
    }

    #[test]
    fn tile_data_holds_the_subtree_hashes() {
        let tree = MemoryTree::from_leaf_hashes((0u32..600).map(|i| leaf_hash(&i.to_be_bytes())));
        let level0 = tile_data(&Tile::new(0, 2, 88).unwrap(), &tree).unwrap();
        assert_eq!(level0.len(), 88 * 32);
        assert_eq!(level0[..32], leaf_hash(&512u32.to_be_bytes()));
        let level1 = tile_data(&Tile::new(1, 0, 2).unwrap(), &tree).unwrap();
        assert_eq!(
            level1[32..],
            root(
                256,
                &MemoryTree::from_leaf_hashes(tree.leaf_hashes()[256..512].iter().copied())
            )
            .unwrap()
        );
    }

    #[test]
    fn entry_bundles_round_trip_strictly() {
        let entries: Vec<Vec<u8>> = vec![vec![], b"a".to_vec(), vec![7; 65_535]];
        let bundle = encode_entry_bundle(&entries).unwrap();
        assert_eq!(bundle[..5], [0, 0, 0, 1, b'a']);
        let decoded = decode_entry_bundle(&bundle, 3).unwrap();
        assert_eq!(
            decoded,
            entries.iter().map(Vec::as_slice).collect::<Vec<_>>()
        );
        assert!(matches!(
            decode_entry_bundle(&bundle, 2),
            Err(TileError::WrongEntryCount { .. })
        ));
        assert!(matches!(
            decode_entry_bundle(&bundle, 4),
            Err(TileError::WrongEntryCount { .. })
        ));
        assert_eq!(
            decode_entry_bundle(&bundle[..bundle.len() - 1], 3),
            Err(TileError::TruncatedBundle(2))
        );
        assert_eq!(
            decode_entry_bundle(&[0], 1),
            Err(TileError::TruncatedBundle(0))
        );
        assert!(decode_entry_bundle(&[], 1).is_err());
        assert_eq!(
            encode_entry_bundle(&[vec![0u8; 65_536]]),
            Err(TileError::EntryTooLarge {
                index: 0,
                bytes: 65_536
            })
        );
        assert!(encode_entry_bundle::<&[u8]>(&[]).is_err());
        assert!(encode_entry_bundle(&vec![b"x"; 257]).is_err());

        let tree = MemoryTree::from_leaf_hashes(entries.iter().map(|e| leaf_hash(e)));
        let level0 = tile_data(&Tile::new(0, 0, 3).unwrap(), &tree).unwrap();
        assert_eq!(verify_entry_bundle(&decoded, &level0), Ok(()));
        let mut swapped = decoded.clone();
        swapped.swap(0, 1);
        assert_eq!(
            verify_entry_bundle(&swapped, &level0),
            Err(TileError::EntryHashMismatch(0))
        );
    }

    #[test]
    fn a_short_tile_is_refused() {
        let tree = MemoryTree::from_leaf_hashes((0u32..10).map(|i| leaf_hash(&i.to_be_bytes())));
        let reader = TileReader::new(10, |tile: &Tile| {
            tile_data(tile, &tree).map(|mut data| {
                data.pop();
                data
            })
        });
        assert!(matches!(
            reader.root(),
            Err(ProofError::Source(TileReadError::Tile(
                TileError::WrongTileLength { .. }
            )))
        ));
    }

    #[test]
    fn nodes_outside_the_tree_are_refused() {
        let tree = MemoryTree::from_leaf_hashes((0u32..10).map(|i| leaf_hash(&i.to_be_bytes())));
        let reader = TileReader::new(10, |tile: &Tile| tile_data(tile, &tree));
        assert_eq!(reader.node(0, 9).unwrap(), tree.node(0, 9).unwrap());
        assert_eq!(reader.node(3, 0).unwrap(), tree.node(3, 0).unwrap());
        assert!(matches!(
            reader.node(0, 10),
            Err(TileReadError::NotInTree { .. })
        ));
        assert!(matches!(
            reader.node(3, 1),
            Err(TileReadError::NotInTree { .. })
        ));
        assert!(matches!(
            reader.node(63, u64::MAX),
            Err(TileReadError::NotInTree { .. })
        ));
        assert_eq!(reader.fetched(), [Tile::new(0, 0, 10).unwrap()]);
    }
}
