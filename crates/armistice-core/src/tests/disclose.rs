//! Unit tests of `disclose`.
use super::*;
use crate::json::parse_line;
use proptest::prelude::*;

const CLAIM: &str = r#"{"type":"violation_alleged","by":"UA","source":"General Staff","agreement":"a1","against":"RU","incident_at":"2025-03-19T01:00:00Z","category":"drone_strike","location":{"name":"Sloviansk","lat":48.85,"lon":37.6},"casualties":{"killed":1,"injured":4},"description":"substation hit","evidence":[{"sha256":"0000000000000000000000000000000000000000000000000000000000000000","media_type":"image/jpeg","uri":"file:a.jpg","description":"photo"}]}"#;

fn claim() -> Statement {
    parse_line(CLAIM, uuid::Uuid::from_u128(1))
        .unwrap()
        .statement
}

fn salts_for(statement: &Statement) -> Salts {
    committed_fields(statement)
        .into_iter()
        .enumerate()
        .map(|(i, f)| (f, [i as u8 + 1; 16]))
        .collect()
}

#[test]
fn every_present_field_is_committed_in_code_order() {
    let statement = claim();
    assert_eq!(
        committed_fields(&statement),
        vec![
            Field::Source,
            Field::Description,
            Field::Location,
            Field::Casualties,
            Field::Evidence
        ]
    );
    let committed = commit(&statement, &salts_for(&statement)).unwrap();
    check_canonical(&committed.payload).unwrap();
    let Event::ViolationAlleged(skeleton) = &committed.payload.skeleton.event else {
        panic!()
    };
    assert_eq!(skeleton.description, "");
    assert_eq!(skeleton.location.lat, None);
    assert_eq!(skeleton.casualties, None);
    assert_eq!(skeleton.evidence[0].sha256.len(), 64);
    assert_eq!(skeleton.evidence[0].uri, "");
    assert_eq!(skeleton.count, 1);
}

#[test]
fn each_field_redacts_alone_and_the_rest_still_proves() {
    let statement = claim();
    let committed = commit(&statement, &salts_for(&statement)).unwrap();
    for removed in committed_fields(&statement) {
        let kept: Vec<Disclosure> = committed
            .disclosures
            .iter()
            .filter(|d| d.field != removed as u8)
            .cloned()
            .collect();
        let (copy, redacted) = reveal(&committed.payload, &kept).unwrap();
        assert_eq!(redacted, vec![removed]);
        let mut expected = statement.clone();
        for (field, mut slot) in slots(&mut expected) {
            if field == removed {
                slot.mark_redacted();
            }
        }
        assert_eq!(copy, expected, "{removed}");
    }
}

#[test]
fn salts_must_match_the_fields() {
    let statement = claim();
    let mut salts = salts_for(&statement);
    salts.remove(&Field::Description);
    assert_eq!(
        commit(&statement, &salts).unwrap_err(),
        DisclosureError::MissingSalt(Field::Description)
    );
    let mut salts = salts_for(&statement);
    salts.insert(Field::Reasoning, [0; 16]);
    assert_eq!(
        commit(&statement, &salts).unwrap_err(),
        DisclosureError::StraySalt(Field::Reasoning)
    );
}

#[test]
fn an_edited_disclosure_or_payload_is_caught() {
    let statement = claim();
    let committed = commit(&statement, &salts_for(&statement)).unwrap();
    let mut edited = committed.disclosures.clone();
    edited[1].value = encode(&"another text".to_owned());
    assert_eq!(
        reveal(&committed.payload, &edited).unwrap_err(),
        DisclosureError::DigestMismatch(Field::Description)
    );
    let mut moved = committed.disclosures.clone();
    moved[0].field = Field::Title as u8;
    assert!(reveal(&committed.payload, &moved).is_err());
    let mut not_blank = committed.payload.clone();
    if let Event::ViolationAlleged(e) = &mut not_blank.skeleton.event {
        e.description = "shown but not proven".into();
    }
    assert!(check_canonical(&not_blank).is_err());
    let mut shuffled = committed.payload.clone();
    shuffled.commitments.swap(0, 1);
    assert!(check_canonical(&shuffled).is_err());
    let mut missing = committed.payload;
    missing.commitments.remove(1);
    assert!(check_canonical(&missing).is_err());
}

#[test]
fn absent_optional_fields_have_no_commitment() {
    let line = r#"{"type":"agreement_signed","by":"UA","agreement":"a1"}"#;
    let statement = parse_line(line, uuid::Uuid::from_u128(2))
        .unwrap()
        .statement;
    assert!(committed_fields(&statement).is_empty());
    let committed = commit(&statement, &Salts::new()).unwrap();
    assert!(committed.payload.commitments.is_empty());
    let (copy, redacted) = reveal(&committed.payload, &[]).unwrap();
    assert_eq!((copy, redacted), (statement, vec![]));
}

proptest! {
    #[test]
    fn any_subset_of_disclosures_reveals_exactly_the_rest(mask in 0u32..32, salt in any::<[u8; 16]>()) {
        let statement = claim();
        let salts: Salts = committed_fields(&statement).into_iter().map(|f| (f, salt)).collect();
        let committed = commit(&statement, &salts).unwrap();
        let kept: Vec<Disclosure> = committed.disclosures.iter().enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0).map(|(_, d)| d.clone()).collect();
        let (_, redacted) = reveal(&committed.payload, &kept).unwrap();
        prop_assert_eq!(redacted.len() + kept.len(), committed.disclosures.len());
        let bytes = encode_payload(&committed.payload);
        let again = crate::entry::decode_payload_v2(&bytes).unwrap();
        prop_assert_eq!(again, committed.payload);
    }
}
