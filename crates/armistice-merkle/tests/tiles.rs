//! Property tests of the tlog-tiles module: paths round-trip, and a
//! `TileReader` over tiles cut from a `MemoryTree` gives the tree's roots and
//! proofs, fetching only tiles that exist at its size.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::OnceLock;

use armistice_merkle::tiles::{
    decode_entry_bundle, encode_entry_bundle, root_tiles, tile_data, tiles_for_size, Tile,
    TilePath, TileReader,
};
use armistice_merkle::{
    consistency_proof, inclusion_proof, leaf_hash, root, verify_consistency, verify_inclusion,
    MemoryTree,
};
use proptest::prelude::*;

/// Large enough for level-2 tiles (65,536 leaves and up).
const TREE_LEAVES: u64 = 70_000;

fn tree() -> &'static MemoryTree {
    static TREE: OnceLock<MemoryTree> = OnceLock::new();
    TREE.get_or_init(|| {
        MemoryTree::from_leaf_hashes((0..TREE_LEAVES).map(|i| leaf_hash(&i.to_be_bytes())))
    })
}

/// A reader of the tree of `size` leaves whose fetcher refuses any tile that
/// the tree of that size does not have, and records what it fetched.
fn reader(
    size: u64,
    log: &RefCell<Vec<Tile>>,
) -> TileReader<impl Fn(&Tile) -> Result<Vec<u8>, String> + '_> {
    TileReader::new(size, move |tile: &Tile| {
        if !tiles_for_size(size).any(|t| t == *tile) {
            return Err(format!("{tile} is not a tile of size {size}"));
        }
        log.borrow_mut().push(*tile);
        tile_data(tile, tree()).map_err(|e| e.to_string())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn tile_paths_round_trip(level in 0u8..=63, index: u64, width in 1u16..=256) {
        let tile = Tile::new(level, index, width).unwrap();
        prop_assert_eq!(Tile::parse_path(&tile.path()), Ok(TilePath::Hashes(tile)));
        let entries = Tile::new(0, index, width).unwrap();
        let path = entries.entries_path().unwrap();
        prop_assert_eq!(Tile::parse_path(&path), Ok(TilePath::Entries(entries)));
    }

    #[test]
    fn small_indices_round_trip(index in 0u64..2_000_000, width in 1u16..=256) {
        let tile = Tile::new(0, index, width).unwrap();
        prop_assert_eq!(Tile::parse_path(&tile.path()), Ok(TilePath::Hashes(tile)));
    }

    #[test]
    fn reader_roots_and_proofs_match_the_tree(size in 1u64..=TREE_LEAVES, pick: u64, pick_old: u64) {
        let log = RefCell::new(Vec::new());
        let tiles = reader(size, &log);
        let expected = root(size, tree()).unwrap();
        prop_assert_eq!(tiles.root().unwrap(), expected);
        // The root needs exactly the partial tiles.
        let fetched: BTreeSet<Tile> = log.borrow().iter().copied().collect();
        prop_assert_eq!(fetched, root_tiles(size).into_iter().collect::<BTreeSet<_>>());

        let index = pick % size;
        let proof = tiles.inclusion_proof(index).unwrap();
        prop_assert_eq!(&proof, &inclusion_proof(index, size, tree()).unwrap());
        verify_inclusion(&leaf_hash(&index.to_be_bytes()), index, size, &proof, &expected).unwrap();

        let old = 1 + pick_old % size;
        let proof = tiles.consistency_proof(old).unwrap();
        prop_assert_eq!(&proof, &consistency_proof(old, size, tree()).unwrap());
        verify_consistency(old, size, &root(old, tree()).unwrap(), &expected, &proof).unwrap();
        // No tile is fetched twice.
        let all = log.borrow().len();
        prop_assert_eq!(all, log.borrow().iter().collect::<BTreeSet<_>>().len());
    }

    #[test]
    fn entry_bundles_round_trip(entries in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..=256)) {
        let bundle = encode_entry_bundle(&entries).unwrap();
        let width = u16::try_from(entries.len()).unwrap();
        let decoded = decode_entry_bundle(&bundle, width).unwrap();
        prop_assert_eq!(decoded, entries.iter().map(Vec::as_slice).collect::<Vec<_>>());
    }
}

#[test]
fn every_size_up_to_600_matches() {
    for size in 1..=600 {
        let log = RefCell::new(Vec::new());
        assert_eq!(
            reader(size, &log).root().unwrap(),
            root(size, tree()).unwrap(),
            "size {size}"
        );
    }
}

#[test]
fn the_size_of_a_tile_set_matches_the_spec_formula() {
    for size in [1u64, 255, 256, 257, 65_535, 65_536, 65_537, 70_000] {
        for tile in tiles_for_size(size) {
            let hashes = size >> (8 * u32::from(tile.level()));
            let expected = (hashes - tile.index() * 256).min(256);
            assert_eq!(u64::from(tile.width()), expected, "{tile} at size {size}");
        }
    }
}
