//! C2SP checkpoint / signed-note tests.

mod common;

use armistice_merkle::checkpoint::{
    key_id, parse_note, sign, Checkpoint, CheckpointError, SignedCheckpoint,
};
use armistice_merkle::root;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use common::{standard_tree, vectors};
use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

const NAME: &str = "example.com/ledger";

/// RFC 8032 §7.1 TEST 1 key.
fn test1_key() -> SigningKey {
    let seed =
        hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap();
    SigningKey::from_bytes(&seed.try_into().unwrap())
}

fn example_checkpoint() -> Checkpoint {
    Checkpoint::new(NAME, 8, root(8, &standard_tree()).unwrap())
}

/// The exact note for `example_checkpoint` signed by `test1_key`, produced
/// independently with Python `cryptography` (Ed25519 signatures are deterministic).
const EXPECTED_NOTE: &str = "example.com/ledger\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n\
\u{2014} example.com/ledger YNtRn2gzE9LAJwGMgl/BVkntTh9PpiPy/kV5jU1IrHQ8tEC00JHqKCIoEpwgkM2AgFamiFXF1o00jTDXQucFLBEpCgc=\n";

#[test]
fn body_matches_vector() {
    let v = vectors();
    let want = v["derived_not_upstream"]["example_c2sp_checkpoint_body"]
        .as_str()
        .unwrap();
    assert_eq!(example_checkpoint().body(), want);
}

#[test]
fn key_id_from_definition_and_vector() {
    let key = test1_key();
    let public = key.verifying_key().to_bytes();
    let mut preimage = NAME.as_bytes().to_vec();
    preimage.extend_from_slice(&[0x0a, 0x01]);
    preimage.extend_from_slice(&public);
    let by_hand = Sha256::digest(&preimage);
    assert_eq!(key_id(NAME, &public), by_hand[..4]);

    let v = vectors();
    let example = &v["derived_not_upstream"]
        ["example_signed_note_ed25519_key_id_for_rfc8032_test1_key_and_origin"];
    assert_eq!(example["origin"], NAME);
    assert_eq!(
        hex::encode(key_id(NAME, &public)),
        example["key_id_hex"].as_str().unwrap()
    );
}

#[test]
fn note_text_is_byte_exact() {
    let note = sign(&example_checkpoint(), NAME, &test1_key())
        .unwrap()
        .to_note();
    assert_eq!(note, EXPECTED_NOTE);
    // Shape: body, blank line, EM DASH (E2 80 94) + space, name, space, base64 of 4 + 64 bytes.
    let (body, sig_line) = note.split_once("\n\n").unwrap();
    assert_eq!(format!("{body}\n"), example_checkpoint().body());
    assert!(sig_line
        .as_bytes()
        .starts_with(b"\xe2\x80\x94 example.com/ledger "));
    let blob = BASE64
        .decode(sig_line.trim_end().rsplit(' ').next().unwrap())
        .unwrap();
    assert_eq!(blob.len(), 68);
    assert_eq!(hex::encode(&blob[..4]), "60db519f");
}

#[test]
fn round_trip_and_verify() {
    let key = test1_key();
    let signed = sign(&example_checkpoint(), NAME, &key).unwrap();
    let parsed = parse_note(&signed.to_note()).unwrap();
    assert_eq!(parsed, signed);
    parsed.verify(NAME, &key.verifying_key()).unwrap();
    assert_eq!(parse_note(EXPECTED_NOTE).unwrap(), signed);
}

#[test]
fn wrong_key_or_name_fails() {
    let signed = parse_note(EXPECTED_NOTE).unwrap();
    let other = SigningKey::from_bytes(&[42u8; 32]).verifying_key();
    assert_eq!(
        signed.verify(NAME, &other),
        Err(CheckpointError::NoMatchingSignature(NAME.into()))
    );
    assert_eq!(
        signed.verify("example.com/other", &test1_key().verifying_key()),
        Err(CheckpointError::NoMatchingSignature(
            "example.com/other".into()
        ))
    );
    assert_eq!(
        signed.verify("bad name", &other),
        Err(CheckpointError::InvalidKeyName("bad name".into()))
    );
}

#[test]
fn changed_size_or_root_fails() {
    let key = test1_key().verifying_key();
    let mut signed = parse_note(EXPECTED_NOTE).unwrap();
    signed.checkpoint.size = 9;
    assert_eq!(
        signed.verify(NAME, &key),
        Err(CheckpointError::InvalidSignature(NAME.into()))
    );

    let tampered = EXPECTED_NOTE.replacen("\n8\n", "\n7\n", 1);
    let parsed = parse_note(&tampered).unwrap();
    assert_eq!(parsed.checkpoint.size, 7);
    assert_eq!(
        parsed.verify(NAME, &key),
        Err(CheckpointError::InvalidSignature(NAME.into()))
    );

    let mut signed = parse_note(EXPECTED_NOTE).unwrap();
    signed.checkpoint.root[0] ^= 1;
    assert_eq!(
        signed.verify(NAME, &key),
        Err(CheckpointError::InvalidSignature(NAME.into()))
    );

    let mut signed = parse_note(EXPECTED_NOTE).unwrap();
    signed.checkpoint.extensions.push("extra".into());
    assert_eq!(
        signed.verify(NAME, &key),
        Err(CheckpointError::InvalidSignature(NAME.into()))
    );

    let mut signed = parse_note(EXPECTED_NOTE).unwrap();
    signed.signatures[0].signature[10] ^= 1;
    assert_eq!(
        signed.verify(NAME, &key),
        Err(CheckpointError::InvalidSignature(NAME.into()))
    );
}

#[test]
fn extensions_and_cosignatures_round_trip() {
    let mut checkpoint = example_checkpoint();
    checkpoint.extensions = vec!["ext one".into(), "— ext two".into()];
    let key = test1_key();
    let witness = SigningKey::from_bytes(&[5u8; 32]);
    let mut signed = sign(&checkpoint, NAME, &key).unwrap();
    signed
        .add_signature("witness.example/w1", &witness)
        .unwrap();
    let note = signed.to_note();
    assert!(note.starts_with(&format!(
        "{}ext one\n— ext two\n\n",
        EXPECTED_NOTE.split("\n\n").next().unwrap().to_owned() + "\n"
    )));
    let parsed = parse_note(&note).unwrap();
    assert_eq!(parsed, signed);
    parsed.verify(NAME, &key.verifying_key()).unwrap();
    parsed
        .verify("witness.example/w1", &witness.verifying_key())
        .unwrap();
}

#[test]
fn key_names_are_validated() {
    let key = test1_key();
    for name in [
        "",
        "has space",
        "plus+sign",
        "tab\tname",
        "nl\nname",
        "nbsp\u{a0}name",
    ] {
        assert_eq!(
            sign(&example_checkpoint(), name, &key).map(|s: SignedCheckpoint| s.to_note()),
            Err(CheckpointError::InvalidKeyName(name.into())),
            "{name:?}"
        );
    }
}

#[test]
fn invalid_checkpoints_are_not_signed() {
    let key = test1_key();
    let mut c = example_checkpoint();
    c.origin = String::new();
    assert_eq!(
        sign(&c, NAME, &key),
        Err(CheckpointError::InvalidOrigin(String::new()))
    );
    c.origin = "a\nb".into();
    assert!(matches!(
        sign(&c, NAME, &key),
        Err(CheckpointError::InvalidOrigin(_))
    ));
    let mut c = example_checkpoint();
    c.extensions = vec![String::new()];
    assert!(matches!(
        sign(&c, NAME, &key),
        Err(CheckpointError::InvalidExtension(_))
    ));
}

fn sig_line() -> &'static str {
    EXPECTED_NOTE.split("\n\n").nth(1).unwrap()
}

#[test]
fn strict_parsing_rejects_malformed_notes() {
    let root = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=";
    let sig = sig_line();
    type Expect = fn(&CheckpointError) -> bool;
    let cases: Vec<(String, Expect)> = vec![
        (format!("\n8\n{root}\n\n{sig}"), |e| {
            matches!(e, CheckpointError::InvalidOrigin(_))
        }),
        (format!("{NAME}\n08\n{root}\n\n{sig}"), |e| {
            matches!(e, CheckpointError::InvalidSize(_))
        }),
        (format!("{NAME}\n+8\n{root}\n\n{sig}"), |e| {
            matches!(e, CheckpointError::InvalidSize(_))
        }),
        (format!("{NAME}\n\n{root}\n\n{sig}"), |e| {
            matches!(e, CheckpointError::InvalidSize(_))
        }),
        (
            format!("{NAME}\n18446744073709551616\n{root}\n\n{sig}"),
            |e| matches!(e, CheckpointError::InvalidSize(_)),
        ),
        (format!("{NAME}\n8\nAAAA\n\n{sig}"), |e| {
            matches!(e, CheckpointError::InvalidRoot(_))
        }),
        (
            format!("{NAME}\n8\n{}\n\n{sig}", root.trim_end_matches('=')),
            |e| matches!(e, CheckpointError::InvalidRoot(_)),
        ),
        (
            format!("{NAME}\n8\n{}\n\n{sig}", root.replace("Qyg=", "Qyh=")),
            |e| matches!(e, CheckpointError::InvalidRoot(_)),
        ),
        (format!("{NAME}\n8\n\n{sig}"), |e| {
            matches!(
                e,
                CheckpointError::TruncatedBody | CheckpointError::InvalidRoot(_)
            )
        }),
        (format!("{NAME}\n8\n{root}\n\n"), |e| {
            matches!(e, CheckpointError::MissingSignatures)
        }),
        (format!("{NAME}\n8\n{root}\n{sig}"), |e| {
            matches!(e, CheckpointError::MissingSignatures)
        }),
        (format!("{NAME}\n8\n{root}\n\n{}", sig.trim_end()), |e| {
            matches!(e, CheckpointError::MissingSignatures)
        }),
        (
            format!("{NAME}\n8\n{root}\n\n{}", sig.replacen('\u{2014}', "-", 1)),
            |e| matches!(e, CheckpointError::MalformedSignatureLine(_)),
        ),
        (format!("{NAME}\n8\n{root}\n\n\u{2014} {NAME}\n"), |e| {
            matches!(e, CheckpointError::MalformedSignatureLine(_))
        }),
        (
            format!("{NAME}\n8\n{root}\n\n\u{2014} {NAME} AAAA\n"),
            |e| matches!(e, CheckpointError::MalformedSignatureLine(_)),
        ),
        (
            format!("{NAME}\n8\n{root}\n\n\u{2014} {NAME} !!!!\n"),
            |e| matches!(e, CheckpointError::MalformedSignatureLine(_)),
        ),
        (
            format!("{NAME}\n8\n{root}\n\n\u{2014} a+b AAAAAAA=\n"),
            |e| matches!(e, CheckpointError::MalformedSignatureLine(_)),
        ),
        // A trailing blank line makes the (empty) tail the signature block.
        (format!("{NAME}\n8\n{root}\n\n{sig}\n"), |e| {
            matches!(e, CheckpointError::MissingSignatures)
        }),
        (format!("{NAME}\n8\n{root}\n\n{sig} \n"), |e| {
            matches!(e, CheckpointError::MalformedSignatureLine(_))
        }),
        (format!("{NAME}\r\n8\n{root}\n\n{sig}"), |e| {
            matches!(e, CheckpointError::ControlCharacter)
        }),
        (format!("{NAME}\n8\n{root}\n\nextension\n\n{sig}"), |e| {
            matches!(e, CheckpointError::InvalidExtension(_))
        }),
    ];
    for (note, expected) in cases {
        match parse_note(&note) {
            Err(e) => assert!(expected(&e), "unexpected error {e:?} for {note:?}"),
            Ok(parsed) => panic!("accepted {note:?} as {parsed:?}"),
        }
    }
}

#[test]
fn size_zero_and_unknown_signatures_parse() {
    let empty = Checkpoint::new(NAME, 0, armistice_merkle::empty_root());
    let note = sign(&empty, NAME, &test1_key()).unwrap().to_note();
    assert!(note.contains("\n0\n"));
    assert_eq!(parse_note(&note).unwrap().checkpoint, empty);
    // A signature line of an unknown key type/length is kept and ignored by verify.
    let with_unknown = format!("{note}\u{2014} other.example AAAAAAA=\n");
    let parsed = parse_note(&with_unknown).unwrap();
    assert_eq!(parsed.signatures.len(), 2);
    assert_eq!(parsed.signatures[1].signature, vec![0u8]);
    parsed.verify(NAME, &test1_key().verifying_key()).unwrap();
    assert_eq!(parsed.to_note(), with_unknown);
}
