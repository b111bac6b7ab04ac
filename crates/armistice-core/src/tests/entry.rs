//! Unit tests of `entry`.
use super::*;

fn header(signature: Option<[u8; 64]>) -> Header {
    Header {
        schema: SCHEMA_VERSION,
        seq: 7,
        recorded_at: Timestamp(1_742_300_000_000_000),
        occurred_at: Timestamp(-5),
        event_type: EventType::ViolationAlleged,
        backfilled: true,
        event_id: Uuid::from_u128(0x0195_aaaa_bbbb_7ccc_8ddd_eeee_ffff_0000),
        stream: "claim/RU-1".into(),
        version: 3,
        by: PartyId::new("RU").unwrap(),
        prev_hash: [1; 32],
        payload_sha256: [2; 32],
        signature,
    }
}

#[test]
fn header_round_trips_with_and_without_signature() {
    for h in [header(None), header(Some([9; 64]))] {
        let bytes = h.encode();
        let (back, used) = Header::decode(&bytes).unwrap();
        assert_eq!(back, h);
        assert_eq!(used, bytes.len());
    }
    assert_eq!(header(None).encode().len(), 115 + 1 + 10 + 1 + 2);
}

#[test]
fn truncated_or_unknown_headers_are_errors_not_panics() {
    let bytes = header(Some([9; 64])).encode();
    for cut in 0..bytes.len() {
        assert!(Header::decode(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut bad = bytes.clone();
    bad[0] = 9;
    assert_eq!(Header::decode(&bad), Err(DecodeError::UnknownSchema(9)));
    let mut bad = bytes.clone();
    bad[2] = 99;
    assert_eq!(Header::decode(&bad), Err(DecodeError::UnknownEventType(99)));
    let mut bad = bytes;
    bad[1] = 0x80;
    assert_eq!(Header::decode(&bad), Err(DecodeError::UnknownFlags(0x80)));
}
