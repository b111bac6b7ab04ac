//! Unit tests of `ids`.
use super::*;

#[test]
fn ids_accept_codes_and_reject_bad_text() {
    assert!(PartyId::new("UA").is_ok());
    assert!(ClaimId::new("RU-2025-03-21:sudzha.1").is_ok());
    assert!(PartyId::new("").unwrap_err().contains("empty"));
    assert!(AgreementId::new("a b").unwrap_err().contains("` `"));
    assert!(ClaimId::new("x".repeat(65))
        .unwrap_err()
        .contains("limit is 64"));
}

#[test]
fn stream_names_round_trip() {
    for stream in [
        StreamId::Party(PartyId::new("UA").unwrap()),
        StreamId::Agreement(AgreementId::new("energy-2025").unwrap()),
        StreamId::Claim(ClaimId::new("c1").unwrap()),
        StreamId::Ledger,
    ] {
        assert_eq!(StreamId::parse(&stream.name()).unwrap(), stream);
        assert!(stream.has_name(&stream.name()));
        assert!(!stream.has_name("claim/other"));
    }
    assert!(StreamId::parse("what/x").is_err());
}
