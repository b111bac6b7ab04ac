//! Interop with Go's `golang.org/x/mod/sumdb/note` and `tlog`: the same keys
//! sign byte-identical notes and verify each other's; the same leaves give
//! the same root, proofs and tiles (tile paths and contents).
//!
//! Runs `tests/go/interop.go` when `go` is on PATH and the x/mod sources are
//! installed (Debian: `apt-get install golang-go golang-golang-x-mod-dev`);
//! otherwise it prints `skipped: …` and passes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use armistice_merkle::checkpoint::{parse_note, sign, Checkpoint};
use armistice_merkle::note::NoteSigner;
use armistice_merkle::tiles::{tile_data, tiles_for_size, Tile, TilePath, TileReader};
use armistice_merkle::{consistency_proof, inclusion_proof, root, Hash, MemoryTree};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Over 65,536, so that the tree has a level-2 tile.
const SIZE: u64 = 65_800;

/// A GOPATH holding golang.org/x/mod: `$GOPATH` if it does, else Debian's.
fn gopath() -> Option<PathBuf> {
    let candidates = std::env::var_os("GOPATH")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from("/usr/share/gocode")]);
    candidates
        .into_iter()
        .find(|p| p.join("src/golang.org/x/mod/sumdb/tlog").is_dir())
}

fn hashes(text: &str) -> Vec<Hash> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| BASE64.decode(s).unwrap().try_into().unwrap())
        .collect()
}

#[test]
fn go_sumdb_note_and_tlog_agree() {
    // CI installs Go and x/mod (.ci/run): there, a missing one is a failure.
    let ci = std::env::var_os("CI").is_some();
    if Command::new("go").arg("version").output().is_err() {
        assert!(!ci, "go is not installed, but CI must run this test");
        println!("skipped: go not installed");
        return;
    }
    let Some(gopath) = gopath() else {
        assert!(
            !ci,
            "golang.org/x/mod is not installed, but CI must run this test"
        );
        println!("skipped: golang.org/x/mod not installed (golang-golang-x-mod-dev)");
        return;
    };

    let signer = NoteSigner::from_seed("example.com/interop", [5; 32]).unwrap();
    let mut tree = MemoryTree::new();
    for i in 0..SIZE {
        tree.push(format!("entry {i}").as_bytes());
    }
    let checkpoint = Checkpoint::new("example.com/interop", SIZE, root(SIZE, &tree).unwrap());
    let ours = sign(&checkpoint, signer.name(), signer.signing_key())
        .unwrap()
        .to_note();

    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/interop.go");
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-build-cache");
    let output = Command::new("go")
        .arg("run")
        .arg(&program)
        .arg(signer.to_secret_string())
        .arg(signer.verifier().to_string())
        .arg(BASE64.encode(checkpoint.body()))
        .arg(BASE64.encode(&ours))
        .arg(SIZE.to_string())
        .env("GOPATH", &gopath)
        .env("GO111MODULE", "off")
        .env("GOFLAGS", "")
        .env("GOCACHE", &cache)
        .output()
        .expect("run go");
    assert!(
        output.status.success(),
        "go run failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();

    let mut go_tiles = BTreeMap::new();
    let mut checked = 0;
    for line in stdout.lines() {
        let (kind, rest) = line.split_once(' ').unwrap();
        match kind {
            "note" => {
                // Ed25519 is deterministic: Go's note is ours, byte for byte.
                let theirs = String::from_utf8(BASE64.decode(rest).unwrap()).unwrap();
                assert_eq!(theirs, ours);
                parse_note(&theirs)
                    .unwrap()
                    .verify(signer.name(), signer.verifier().verifying_key())
                    .unwrap();
            }
            "verified" => assert_eq!(rest, "ok", "Go did not verify our note"),
            "root" => assert_eq!(hashes(rest), [root(SIZE, &tree).unwrap()]),
            "inclusion" => {
                let (index, proof) = rest.split_once(' ').unwrap();
                let index: u64 = index.parse().unwrap();
                assert_eq!(hashes(proof), inclusion_proof(index, SIZE, &tree).unwrap());
            }
            "consistency" => {
                let (old, proof) = rest.split_once(' ').unwrap();
                let old: u64 = old.parse().unwrap();
                assert_eq!(hashes(proof), consistency_proof(old, SIZE, &tree).unwrap());
            }
            "tile" => {
                let (path, digest) = rest.split_once(' ').unwrap();
                // Go's sumdb paths carry the tile height: tile/8/<L>/<N>.
                let path = format!("tile/{}", path.strip_prefix("tile/8/").unwrap());
                let Ok(TilePath::Hashes(tile)) = Tile::parse_path(&path) else {
                    panic!("{path} does not parse");
                };
                go_tiles.insert(tile, digest.to_owned());
                continue;
            }
            other => panic!("unexpected line kind {other}"),
        }
        checked += 1;
    }
    assert_eq!(
        checked,
        1 + 1 + 1 + 3 + 4,
        "every line kind seen:\n{stdout}"
    );

    let ours_tiles: Vec<Tile> = tiles_for_size(SIZE).collect();
    assert_eq!(go_tiles.keys().copied().collect::<Vec<_>>(), ours_tiles);
    for (tile, digest) in &go_tiles {
        let data = tile_data(tile, &tree).unwrap();
        assert_eq!(&hex::encode(Sha256::digest(&data)), digest, "{tile}");
    }
    // And a reader over those tiles rebuilds the root Go computed.
    let reader = TileReader::new(SIZE, |tile: &Tile| tile_data(tile, &tree));
    assert_eq!(reader.root().unwrap(), root(SIZE, &tree).unwrap());
}
