//! The arithmetic of C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>): tile
//! paths and which tree nodes a tile holds. Pure, no I/O.
//!
//! Kept apart from the handlers on purpose: `armistice-merkle` is getting a
//! `tiles` module of its own (on another branch); once it lands, this one
//! gives way to it.

/// Hashes in a full tile (tile height 8).
pub const TILE_WIDTH: u64 = 256;
/// Tree levels one tile spans.
pub const TILE_HEIGHT: u8 = 8;
/// Highest tile level the spec allows.
pub const TILE_LEVEL_MAX: u8 = 63;

/// What a tile path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileKind {
    /// `tile/<L>/…`: Merkle tree hashes at tree level `8 * L`.
    Hashes {
        /// The tile level `L`.
        level: u8,
    },
    /// `tile/entries/…`: an entry bundle.
    Entries,
}

/// A parsed tile path: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tile {
    /// Hashes or entries.
    pub kind: TileKind,
    /// The tile index `N` within its level.
    pub index: u64,
    /// Hashes (or entries) it holds: 256 for a full tile, 1 to 255 for a partial one.
    pub width: u64,
}

impl Tile {
    /// Whether the tile is full (and so never changes).
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The tree level whose nodes the tile holds (0 for entries).
    pub fn tree_level(&self) -> u8 {
        match self.kind {
            TileKind::Hashes { level } => level * TILE_HEIGHT,
            TileKind::Entries => 0,
        }
    }

    /// The indexes, at [`Tile::tree_level`], of the nodes the tile holds;
    /// `None` when they would not fit in a `u64`.
    pub fn node_range(&self) -> Option<std::ops::Range<u64>> {
        let first = self.index.checked_mul(TILE_WIDTH)?;
        Some(first..first.checked_add(self.width)?)
    }

    /// Whether a tree of `size` leaves holds every node of the tile.
    pub fn available_at(&self, size: u64) -> bool {
        let level = u32::from(self.tree_level());
        let nodes = if level >= 64 { 0 } else { size >> level };
        self.node_range().is_some_and(|range| range.end <= nodes)
    }

    /// The tile's path, as the spec spells it (without a leading `/`).
    pub fn path(&self) -> String {
        let level = match self.kind {
            TileKind::Hashes { level } => level.to_string(),
            TileKind::Entries => "entries".to_owned(),
        };
        let mut path = format!("tile/{level}/{}", encode_index(self.index));
        if !self.is_full() {
            path.push_str(&format!(".p/{}", self.width));
        }
        path
    }
}

/// `N` as zero-padded 3-digit path elements, all but the last prefixed
/// with `x`: 1234067 → `x001/x234/067`.
pub fn encode_index(index: u64) -> String {
    let mut groups = Vec::new();
    let mut rest = index;
    loop {
        groups.push(rest % 1000);
        rest /= 1000;
        if rest == 0 {
            break;
        }
    }
    let last = groups.len() - 1;
    groups
        .iter()
        .rev()
        .enumerate()
        .map(|(i, g)| {
            if i < last {
                format!("x{g:03}")
            } else {
                format!("{g:03}")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Parses the path after `tile/`: `<L>/<N>[.p/<W>]` or
/// `entries/<N>[.p/<W>]`, refusing every spelling but the canonical one.
pub fn parse_tile_path(path: &str) -> Result<Tile, String> {
    let bad = |why: &str| format!("`tile/{path}` is not a tile path: {why}");
    let (level, rest) = path.split_once('/').ok_or_else(|| bad("no level"))?;
    let kind = if level == "entries" {
        TileKind::Entries
    } else {
        let level: u8 = canonical_number(level)
            .and_then(|l| u8::try_from(l).ok())
            .filter(|l| *l <= TILE_LEVEL_MAX)
            .ok_or_else(|| bad("the level must be 0 to 63"))?;
        TileKind::Hashes { level }
    };
    let (index_part, width) = match rest.split_once(".p/") {
        Some((index, width)) => {
            let width = canonical_number(width)
                .filter(|w| (1..TILE_WIDTH).contains(w))
                .ok_or_else(|| bad("a partial width must be 1 to 255"))?;
            (index, width)
        }
        None => (rest, TILE_WIDTH),
    };
    let index = parse_index(index_part)
        .ok_or_else(|| bad("the index must be 3-digit groups, `x` before all but the last"))?;
    Ok(Tile { kind, index, width })
}

fn parse_index(text: &str) -> Option<u64> {
    let groups: Vec<&str> = text.split('/').collect();
    let last = groups.len().checked_sub(1)?;
    let mut index: u64 = 0;
    for (i, group) in groups.iter().enumerate() {
        let digits = if i < last {
            group.strip_prefix('x')?
        } else {
            group
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        index = index.checked_mul(1000)?.checked_add(digits.parse().ok()?)?;
    }
    // Only the canonical spelling names a tile (no leading `x000/` groups).
    (encode_index(index) == text).then_some(index)
}

/// A decimal number with no sign and no leading zeros.
fn canonical_number(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_read_and_written_as_the_spec_spells_them() {
        assert_eq!(encode_index(1_234_067), "x001/x234/067");
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(1000), "x001/000");
        let tile = parse_tile_path("1/x001/x234/067.p/17").unwrap();
        assert_eq!(
            tile,
            Tile {
                kind: TileKind::Hashes { level: 1 },
                index: 1_234_067,
                width: 17
            }
        );
        assert_eq!(tile.path(), "tile/1/x001/x234/067.p/17");
        let entries = parse_tile_path("entries/005").unwrap();
        assert_eq!(
            entries,
            Tile {
                kind: TileKind::Entries,
                index: 5,
                width: 256
            }
        );
        for bad in [
            "0/5",
            "0/x000/005",
            "01/000",
            "64/000",
            "0/000.p/0",
            "0/000.p/256",
            "0/000.p/07",
            "0/x01/000",
            "0",
            "x/000",
        ] {
            assert!(parse_tile_path(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn availability_follows_the_tree_size() {
        // The spec's example: a tree of 70,000 leaves.
        let tile = |level, index, width| Tile {
            kind: TileKind::Hashes { level },
            index,
            width,
        };
        assert!(tile(0, 272, 256).available_at(70_000));
        assert!(!tile(0, 273, 256).available_at(70_000));
        assert!(tile(0, 273, 112).available_at(70_000));
        assert!(tile(1, 0, 256).available_at(70_000));
        assert!(tile(1, 1, 17).available_at(70_000));
        assert!(!tile(1, 1, 18).available_at(70_000));
        assert!(tile(2, 0, 1).available_at(70_000));
        assert!(!tile(3, 0, 1).available_at(70_000));
    }
}
