//! One test per rule of the projections issue, each a table of
//! given (records) / when (view) / then (expected) cases.

mod common;

use armistice_core::Timestamp;
use armistice_projections::*;
use common::{records, t, ts};
use serde_json::{json, Value};

/// A JSON line; `recorded_at` equals `occurred_at` unless changed with [`rec`].
fn ev(kind: &str, by: &str, occurred: &str, fields: Value) -> String {
    let mut line =
        json!({"type": kind, "by": by, "occurred_at": ts(occurred), "recorded_at": ts(occurred)});
    let (Value::Object(map), Value::Object(extra)) = (&mut line, fields) else {
        panic!()
    };
    map.extend(extra);
    line.to_string()
}

/// The same line recorded at another time.
fn rec(line: String, recorded: &str) -> String {
    set(line, "recorded_at", json!(ts(recorded)))
}

fn set(line: String, key: &str, value: Value) -> String {
    let mut v: Value = serde_json::from_str(&line).unwrap();
    v[key] = value;
    v.to_string()
}

fn parties() -> Vec<String> {
    let reg = |p: &str, role: &str| {
        ev(
            "party_registered",
            "operator",
            "01-01 00:00",
            json!({"party": p, "name": format!("{p} name"), "role": role}),
        )
    };
    vec![
        reg("UA", "belligerent"),
        reg("RU", "belligerent"),
        reg("US", "mediator"),
        reg("MON", "monitor"),
        reg("MON2", "monitor"),
    ]
}

/// Bilateral `a` between UA and RU, proposed 03-01, effective 03-02, expiring 03-10.
fn propose(scope: &[&str]) -> String {
    ev(
        "agreement_proposed",
        "US",
        "03-01 00:00",
        json!({
        "agreement": "a", "title": "A truce", "kind": "bilateral", "parties": ["UA", "RU"],
        "mediators": ["US"], "scope": scope, "effective_from": ts("03-02 00:00"), "expires_at": ts("03-10 00:00")}),
    )
}

fn sign(by: &str, at: &str) -> String {
    ev("agreement_signed", by, at, json!({"agreement": "a"}))
}

fn agreement_event(kind: &str, at: &str, fields: Value) -> String {
    let mut fields = fields;
    fields["agreement"] = json!("a");
    ev(kind, "US", at, fields)
}

fn amend_expiry(at: &str, expires: &str) -> String {
    agreement_event("agreement_amended", at, json!({"expires_at": ts(expires)}))
}

fn suspend(at: &str) -> String {
    agreement_event("agreement_suspended", at, json!({"reason": "r"}))
}

fn resume(at: &str) -> String {
    agreement_event("agreement_resumed", at, json!({}))
}

/// A claim by `by` against the other side, made at `at` about an incident at `incident`.
fn allege(claim: &str, by: &str, at: &str, incident: &str, category: &str) -> String {
    let against = if by == "UA" { "RU" } else { "UA" };
    ev(
        "violation_alleged",
        by,
        at,
        json!({
        "claim": claim, "agreement": "a", "against": against, "incident_at": ts(incident),
        "category": category, "location": {"name": "somewhere"}, "description": "d"}),
    )
}

fn respond(claim: &str, by: &str, at: &str, response: &str) -> String {
    ev(
        "allegation_responded",
        by,
        at,
        json!({"claim": claim, "response": response, "statement": "s"}),
    )
}

fn assess(claim: &str, by: &str, at: &str, finding: &str) -> String {
    ev(
        "allegation_assessed",
        by,
        at,
        json!({"claim": claim, "finding": finding, "confidence": "low", "reasoning": "r"}),
    )
}

fn retract(claim: &str, by: &str, at: &str) -> String {
    ev(
        "allegation_retracted",
        by,
        at,
        json!({"claim": claim, "reason": "r"}),
    )
}

fn signed_base() -> Vec<String> {
    let mut lines = parties();
    lines.extend([
        propose(&["all_hostilities"]),
        sign("UA", "03-01 06:00"),
        sign("RU", "03-01 12:00"),
    ]);
    lines
}

fn with(mut base: Vec<String>, more: &[String]) -> Vec<String> {
    base.extend(more.iter().cloned());
    base
}

fn status_of(lines: &[String], view: View) -> StatusRow {
    let rows = replay(&records(lines), view).status(None).unwrap();
    assert_eq!(rows.len(), 1, "one agreement expected");
    rows.into_iter().next().unwrap()
}

#[test]
fn status_follows_the_precedence_rules() {
    let unsigned = with(parties(), &[propose(&["all_hostilities"])]);
    let signed = signed_base();
    let cases: Vec<(&str, Vec<String>, &str, AgreementStatus)> = vec![
        (
            "nobody signed",
            unsigned.clone(),
            "03-05 00:00",
            AgreementStatus::Proposed,
        ),
        (
            "one side signed",
            with(unsigned.clone(), &[sign("UA", "03-01 06:00")]),
            "03-05 00:00",
            AgreementStatus::Proposed,
        ),
        (
            "signed, not yet effective",
            signed.clone(),
            "03-01 18:00",
            AgreementStatus::Pending,
        ),
        (
            "signed and effective",
            signed.clone(),
            "03-05 00:00",
            AgreementStatus::InForce,
        ),
        (
            "a signature after T does not count",
            with(
                unsigned.clone(),
                &[sign("UA", "03-01 06:00"), sign("RU", "03-06 00:00")],
            ),
            "03-05 00:00",
            AgreementStatus::Proposed,
        ),
        (
            "suspended",
            with(signed.clone(), &[suspend("03-04 00:00")]),
            "03-05 00:00",
            AgreementStatus::Suspended,
        ),
        (
            "resumed",
            with(
                signed.clone(),
                &[suspend("03-04 00:00"), resume("03-04 12:00")],
            ),
            "03-05 00:00",
            AgreementStatus::InForce,
        ),
        (
            "resumption after T",
            with(
                signed.clone(),
                &[suspend("03-04 00:00"), resume("03-04 12:00")],
            ),
            "03-04 06:00",
            AgreementStatus::Suspended,
        ),
        (
            "suspend and resume at once: seq decides",
            with(
                signed.clone(),
                &[suspend("03-04 00:00"), resume("03-04 00:00")],
            ),
            "03-05 00:00",
            AgreementStatus::InForce,
        ),
        (
            "resume and suspend at once: seq decides",
            with(
                signed.clone(),
                &[resume("03-04 00:00"), suspend("03-04 00:00")],
            ),
            "03-05 00:00",
            AgreementStatus::Suspended,
        ),
        (
            "expiry beats suspension",
            with(signed.clone(), &[suspend("03-04 00:00")]),
            "03-10 00:00",
            AgreementStatus::Expired,
        ),
        (
            "expired even if never in force",
            unsigned.clone(),
            "03-11 00:00",
            AgreementStatus::Expired,
        ),
        (
            "termination beats expiry",
            with(
                signed.clone(),
                &[agreement_event(
                    "agreement_terminated",
                    "03-06 00:00",
                    json!({"reason": "r"}),
                )],
            ),
            "03-11 00:00",
            AgreementStatus::Terminated,
        ),
        (
            "termination after T",
            with(
                signed.clone(),
                &[agreement_event(
                    "agreement_terminated",
                    "03-06 00:00",
                    json!({"reason": "r"}),
                )],
            ),
            "03-05 00:00",
            AgreementStatus::InForce,
        ),
        (
            "extension",
            with(
                signed.clone(),
                &[amend_expiry("03-05 00:00", "03-20 00:00")],
            ),
            "03-15 00:00",
            AgreementStatus::InForce,
        ),
        (
            "extension made after T",
            with(
                signed.clone(),
                &[amend_expiry("03-12 00:00", "03-20 00:00")],
            ),
            "03-11 00:00",
            AgreementStatus::Expired,
        ),
        (
            "amendments apply in occurred_at order, not seq",
            with(
                signed.clone(),
                &[
                    amend_expiry("03-06 00:00", "03-20 00:00"),
                    amend_expiry("03-05 00:00", "03-08 00:00"),
                ],
            ),
            "03-15 00:00",
            AgreementStatus::InForce,
        ),
        (
            "amendments apply in occurred_at order (reverse)",
            with(
                signed.clone(),
                &[
                    amend_expiry("03-05 00:00", "03-20 00:00"),
                    amend_expiry("03-06 00:00", "03-08 00:00"),
                ],
            ),
            "03-15 00:00",
            AgreementStatus::Expired,
        ),
        (
            "amendments at the same time: seq decides",
            with(
                signed.clone(),
                &[
                    amend_expiry("03-05 00:00", "03-08 00:00"),
                    amend_expiry("03-05 00:00", "03-20 00:00"),
                ],
            ),
            "03-15 00:00",
            AgreementStatus::InForce,
        ),
        (
            "amendments at the same time: seq decides (reverse)",
            with(
                signed.clone(),
                &[
                    amend_expiry("03-05 00:00", "03-20 00:00"),
                    amend_expiry("03-05 00:00", "03-08 00:00"),
                ],
            ),
            "03-15 00:00",
            AgreementStatus::Expired,
        ),
    ];
    for (name, lines, at, expected) in cases {
        let row = status_of(&lines, View::at(t(at)));
        assert_eq!(row.status, expected, "{name}");
        assert_eq!(row.rules, "1");
    }
}

#[test]
fn unilateral_proposal_is_its_partys_signature() {
    let mut lines = parties();
    lines.push(ev("agreement_proposed", "RU", "03-01 00:00", json!({
        "agreement": "a", "title": "Truce", "kind": "unilateral", "parties": ["RU"], "scope": ["all_hostilities"],
        "effective_from": ts("03-02 00:00"), "expires_at": ts("03-03 00:00")})));
    let before = status_of(&lines, View::at(t("03-01 12:00")));
    assert_eq!(before.status, AgreementStatus::Pending);
    let during = status_of(&lines, View::at(t("03-02 12:00")));
    assert_eq!(during.status, AgreementStatus::InForce);
    assert_eq!(
        during.signed_by,
        vec![armistice_core::PartyId::new("RU").unwrap()]
    );
    assert_eq!(
        status_of(&lines, View::at(t("03-03 00:00"))).status,
        AgreementStatus::Expired
    );
}

#[test]
fn conditional_signature_counts_and_its_conditions_are_shown() {
    let mut lines = with(parties(), &[propose(&["all_hostilities"])]);
    lines.push(ev(
        "agreement_signed",
        "RU",
        "03-01 06:00",
        json!({"agreement": "a", "conditions": "sanctions lifted"}),
    ));
    lines.push(sign("UA", "03-01 07:00"));
    let row = status_of(&lines, View::at(t("03-05 00:00")));
    assert_eq!(row.status, AgreementStatus::InForce);
    assert_eq!(row.signed_by.len(), 2);
    let conditions: Vec<(String, String)> = row
        .conditions
        .iter()
        .map(|(p, c)| (p.to_string(), c.clone()))
        .collect();
    assert_eq!(
        conditions,
        vec![("RU".to_owned(), "sanctions lifted".to_owned())]
    );
    let json = serde_json::to_value(&row).unwrap();
    assert_eq!(json["status"], "in_force");
    assert_eq!(json["conditions"]["RU"], "sanctions lifted");
    for key in [
        "agreement",
        "title",
        "kind",
        "status",
        "parties",
        "signed_by",
        "effective_from",
        "expires_at",
        "scope",
        "rules",
        "claims",
        "claims_by",
        "alleged_by",
    ] {
        assert!(json.get(key).is_some(), "status JSON lacks `{key}`");
    }
}

#[test]
fn amended_scope_replaces_the_old_one() {
    let lines = with(
        signed_base(),
        &[agreement_event(
            "agreement_amended",
            "03-05 00:00",
            json!({"scope": ["maritime"]}),
        )],
    );
    assert_eq!(
        serde_json::to_value(status_of(&lines, View::at(t("03-04 00:00"))).scope).unwrap(),
        json!(["all_hostilities"])
    );
    assert_eq!(
        serde_json::to_value(status_of(&lines, View::at(t("03-06 00:00"))).scope).unwrap(),
        json!(["maritime"])
    );
}

fn claim_state(lines: &[String], view: View) -> ClaimState {
    let projection = replay(&records(lines), view);
    projection
        .claim_row(&armistice_core::ClaimId::new("c").unwrap())
        .unwrap()
        .state
}

#[test]
fn claim_state_follows_the_precedence_rules() {
    let base = with(
        signed_base(),
        &[allege("c", "UA", "03-03 00:00", "03-03 00:00", "shelling")],
    );
    let cases: Vec<(&str, Vec<String>, ClaimState)> = vec![
        ("no answer", vec![], ClaimState::Open),
        (
            "acknowledged",
            vec![respond("c", "RU", "03-04 00:00", "acknowledged")],
            ClaimState::Acknowledged,
        ),
        (
            "denied",
            vec![respond("c", "RU", "03-04 00:00", "denied")],
            ClaimState::Disputed,
        ),
        (
            "facts disputed",
            vec![respond("c", "RU", "03-04 00:00", "disputed_facts")],
            ClaimState::Disputed,
        ),
        (
            "latest answer by occurred_at, not seq",
            vec![
                respond("c", "RU", "03-05 00:00", "denied"),
                respond("c", "RU", "03-04 00:00", "acknowledged"),
            ],
            ClaimState::Disputed,
        ),
        (
            "same occurred_at: seq decides",
            vec![
                respond("c", "RU", "03-04 00:00", "denied"),
                respond("c", "RU", "03-04 00:00", "acknowledged"),
            ],
            ClaimState::Acknowledged,
        ),
        (
            "assessment beats answer",
            vec![
                respond("c", "RU", "03-04 00:00", "acknowledged"),
                assess("c", "MON", "03-05 00:00", "refuted"),
            ],
            ClaimState::Refuted,
        ),
        (
            "latest assessment by occurred_at",
            vec![
                assess("c", "MON", "03-06 00:00", "verified"),
                assess("c", "MON", "03-05 00:00", "refuted"),
            ],
            ClaimState::Verified,
        ),
        (
            "same occurred_at: seq decides",
            vec![
                assess("c", "MON", "03-06 00:00", "verified"),
                assess("c", "MON2", "03-06 00:00", "inconclusive"),
            ],
            ClaimState::Inconclusive,
        ),
        (
            "retraction beats assessment",
            vec![
                assess("c", "MON", "03-05 00:00", "inconclusive"),
                retract("c", "UA", "03-06 00:00"),
            ],
            ClaimState::Retracted,
        ),
        (
            "retraction beats a later assessment",
            vec![
                retract("c", "UA", "03-05 00:00"),
                assess("c", "MON", "03-06 00:00", "verified"),
            ],
            ClaimState::Retracted,
        ),
    ];
    for (name, more, expected) in cases {
        assert_eq!(
            claim_state(&with(base.clone(), &more), View::EVERYTHING),
            expected,
            "{name}"
        );
    }
}

#[test]
fn latest_answer_and_assessment_are_shown_beside_the_state() {
    // "Latest" is by occurred_at, then seq: an assessment recorded later but
    // occurring earlier does not replace the one after it, and its finding
    // and confidence are read from the same assessment.
    let base = with(
        signed_base(),
        &[allege("c", "UA", "03-03 00:00", "03-03 00:00", "shelling")],
    );
    let graded = |at: &str, finding: &str, confidence: &str| {
        set(
            assess("c", "MON", at, finding),
            "confidence",
            json!(confidence),
        )
    };
    type Case = (
        &'static str,
        Vec<String>,
        Option<&'static str>,
        Option<(&'static str, &'static str)>,
    );
    let cases: Vec<Case> = vec![
        ("nothing yet", vec![], None, None),
        (
            "a denial, then an acknowledgement",
            vec![
                respond("c", "RU", "03-04 00:00", "denied"),
                respond("c", "RU", "03-05 00:00", "acknowledged"),
            ],
            Some("acknowledged"),
            None,
        ),
        (
            "an earlier assessment recorded last",
            vec![
                graded("03-06 00:00", "verified", "high"),
                rec(graded("03-05 00:00", "refuted", "low"), "03-07 00:00"),
            ],
            None,
            Some(("verified", "high")),
        ),
    ];
    for (name, more, response, assessment) in cases {
        let projection = replay(&records(&with(base.clone(), &more)), View::EVERYTHING);
        let row = projection
            .claim_row(&armistice_core::ClaimId::new("c").unwrap())
            .unwrap();
        let row = serde_json::to_value(&row).unwrap();
        assert_eq!(row["response"], json!(response), "{name}: {row}");
        let (finding, confidence) = assessment.unzip();
        assert_eq!(row["finding"], json!(finding), "{name}: {row}");
        assert_eq!(row["confidence"], json!(confidence), "{name}: {row}");
    }
}

#[test]
fn only_events_passing_both_filters_count() {
    let base = with(
        signed_base(),
        &[allege("c", "UA", "03-03 00:00", "03-03 00:00", "shelling")],
    );
    let answered = with(
        base.clone(),
        &[rec(
            respond("c", "RU", "03-04 00:00", "acknowledged"),
            "03-09 00:00",
        )],
    );
    assert_eq!(
        claim_state(&answered, View::at(t("03-03 12:00"))),
        ClaimState::Open,
        "answer after --at"
    );
    assert_eq!(
        claim_state(&answered, View::new(Timestamp::MAX, t("03-08 00:00"))),
        ClaimState::Open,
        "answer recorded after --known-at"
    );
    assert_eq!(
        claim_state(&answered, View::new(t("03-05 00:00"), t("03-09 00:00"))),
        ClaimState::Acknowledged
    );
}

#[test]
fn invisible_agreements_and_claims_are_left_out() {
    let lines = with(
        signed_base(),
        &[allege("c", "UA", "03-06 00:00", "03-03 00:00", "shelling")],
    );
    let before_claim = replay(&records(&lines), View::at(t("03-05 00:00")));
    assert!(before_claim.claims(&ClaimFilter::default()).is_empty());
    let id = armistice_core::ClaimId::new("c").unwrap();
    assert!(matches!(
        before_claim.claim_row(&id),
        Err(ProjectionError::UnknownClaim(_))
    ));
    assert_eq!(before_claim.status(None).unwrap()[0].claims.total, 0);

    let recorded_late = with(
        parties(),
        &[rec(propose(&["all_hostilities"]), "03-03 00:00")],
    );
    let known_before = replay(
        &records(&recorded_late),
        View::new(Timestamp::MAX, t("03-02 00:00")),
    );
    assert!(known_before.status(None).unwrap().is_empty());
    let a = armistice_core::AgreementId::new("a").unwrap();
    let err = known_before.status(Some(&a)).unwrap_err();
    assert!(matches!(err, ProjectionError::UnknownAgreement { .. }));
    assert!(err.to_string().contains("unknown agreement `a`"), "{err}");

    // A claim whose agreement is proposed (in world time) only after it.
    let mut lines = parties();
    lines.push(set(
        propose(&["all_hostilities"]),
        "occurred_at",
        json!(ts("03-04 00:00")),
    ));
    lines.push(allege("c", "UA", "03-03 00:00", "03-03 00:00", "shelling"));
    let projection = replay(&records(&lines), View::at(t("03-03 12:00")));
    assert!(projection.claims(&ClaimFilter::default()).is_empty());
    assert!(projection.status(None).unwrap().is_empty());
}

fn flags(lines: &[String], view: View) -> Vec<Flag> {
    let projection = replay(&records(lines), view);
    projection
        .claim_row(&armistice_core::ClaimId::new("c").unwrap())
        .unwrap()
        .flags
}

#[test]
fn flags_follow_the_rules() {
    use Flag::*;
    let energy = with(
        parties(),
        &[
            propose(&["energy_infrastructure"]),
            sign("UA", "03-01 06:00"),
            sign("RU", "03-02 12:00"),
        ],
    );
    let all = with(
        parties(),
        &[
            propose(&["all_hostilities"]),
            sign("UA", "03-01 06:00"),
            sign("RU", "03-02 12:00"),
        ],
    );
    // The claim is recorded on 03-05; RU's signature of 03-01 only on 03-09.
    let late_signature = with(
        parties(),
        &[
            propose(&["all_hostilities"]),
            sign("UA", "03-01 06:00"),
            allege("c", "UA", "03-05 00:00", "03-03 00:00", "shelling"),
            rec(sign("RU", "03-01 12:00"), "03-09 00:00"),
        ],
    );
    let energy_strike = |incident: &str| {
        allege(
            "c",
            "UA",
            "03-13 00:00",
            incident,
            "energy_infrastructure_strike",
        )
    };
    let everything = View::EVERYTHING;
    let cases: Vec<(&str, Vec<String>, View, Vec<Flag>)> = vec![
        (
            "in window and scope",
            with(energy.clone(), &[energy_strike("03-03 00:00")]),
            everything,
            vec![],
        ),
        (
            "before all signed",
            with(energy.clone(), &[energy_strike("03-02 06:00")]),
            everything,
            vec![OutsideWindow],
        ),
        (
            "a later signature does not count",
            with(energy.clone(), &[energy_strike("03-02 11:00")]),
            everything,
            vec![OutsideWindow],
        ),
        (
            "signature not yet recorded at --known-at",
            late_signature.clone(),
            View::new(Timestamp::MAX, t("03-08 00:00")),
            vec![OutsideWindow],
        ),
        (
            "signature recorded by --known-at",
            late_signature.clone(),
            View::new(Timestamp::MAX, t("03-09 00:00")),
            vec![],
        ),
        (
            "after expiry",
            with(energy.clone(), &[energy_strike("03-11 00:00")]),
            everything,
            vec![OutsideWindow],
        ),
        (
            "an extension after the incident does not count",
            with(
                energy.clone(),
                &[
                    amend_expiry("03-12 00:00", "03-20 00:00"),
                    energy_strike("03-11 00:00"),
                ],
            ),
            everything,
            vec![OutsideWindow],
        ),
        (
            "an extension before the incident counts",
            with(
                energy.clone(),
                &[
                    amend_expiry("03-09 00:00", "03-20 00:00"),
                    energy_strike("03-11 00:00"),
                ],
            ),
            everything,
            vec![],
        ),
        (
            "shelling is outside an energy scope",
            with(
                energy.clone(),
                &[allege("c", "UA", "03-13 00:00", "03-03 00:00", "shelling")],
            ),
            everything,
            vec![OutsideScope],
        ),
        (
            "all_hostilities covers shelling",
            with(
                all.clone(),
                &[allege("c", "UA", "03-13 00:00", "03-03 00:00", "shelling")],
            ),
            everything,
            vec![],
        ),
        (
            "scope amended before the incident",
            with(
                energy.clone(),
                &[
                    agreement_event(
                        "agreement_amended",
                        "03-02 12:00",
                        json!({"scope": ["civilian_targets"]}),
                    ),
                    allege("c", "UA", "03-13 00:00", "03-03 00:00", "shelling"),
                ],
            ),
            everything,
            vec![],
        ),
        (
            "scope amended after the incident",
            with(
                energy.clone(),
                &[
                    agreement_event(
                        "agreement_amended",
                        "03-04 00:00",
                        json!({"scope": ["civilian_targets"]}),
                    ),
                    allege("c", "UA", "03-13 00:00", "03-03 00:00", "shelling"),
                ],
            ),
            everything,
            vec![OutsideScope],
        ),
        (
            "countered",
            with(
                all.clone(),
                &[
                    allege("k", "RU", "03-12 00:00", "03-03 00:00", "shelling"),
                    allege("c", "UA", "03-13 00:00", "03-03 00:00", "shelling"),
                    set(
                        respond("c", "RU", "03-14 00:00", "denied"),
                        "counter_claim",
                        json!("k"),
                    ),
                ],
            ),
            everything,
            vec![Countered],
        ),
        (
            "counter not yet made at --at",
            with(
                all.clone(),
                &[
                    allege("k", "RU", "03-12 00:00", "03-03 00:00", "shelling"),
                    allege("c", "UA", "03-13 00:00", "03-03 00:00", "shelling"),
                    set(
                        respond("c", "RU", "03-14 00:00", "denied"),
                        "counter_claim",
                        json!("k"),
                    ),
                ],
            ),
            View::at(t("03-13 12:00")),
            vec![],
        ),
        (
            "backfilled",
            with(
                all.clone(),
                &[set(
                    allege("c", "UA", "03-13 00:00", "03-03 00:00", "shelling"),
                    "backfilled",
                    json!(true),
                )],
            ),
            everything,
            vec![Backfilled],
        ),
    ];
    for (name, lines, view, expected) in cases {
        assert_eq!(flags(&lines, view), expected, "{name}");
    }
}

#[test]
fn claims_filter_selects_rows() {
    let lines = with(
        signed_base(),
        &[
            allege("c1", "UA", "03-03 00:00", "03-03 00:00", "shelling"),
            allege("c2", "RU", "03-04 00:00", "03-04 00:00", "drone_strike"),
            allege("c3", "UA", "03-05 00:00", "03-05 00:00", "drone_strike"),
            respond("c3", "RU", "03-06 00:00", "denied"),
        ],
    );
    let projection = replay(&records(&lines), View::EVERYTHING);
    let ids = |filter: ClaimFilter| -> Vec<String> {
        projection
            .claims(&filter)
            .iter()
            .map(|r| r.claim.to_string())
            .collect()
    };
    let party = |p: &str| Some(armistice_core::PartyId::new(p).unwrap());
    assert_eq!(ids(ClaimFilter::default()), ["c1", "c2", "c3"]);
    assert_eq!(
        ids(ClaimFilter {
            by: party("UA"),
            ..Default::default()
        }),
        ["c1", "c3"]
    );
    assert_eq!(
        ids(ClaimFilter {
            against: party("UA"),
            ..Default::default()
        }),
        ["c2"]
    );
    assert_eq!(
        ids(ClaimFilter {
            state: Some("disputed".parse().unwrap()),
            ..Default::default()
        }),
        ["c3"]
    );
    assert_eq!(
        ids(ClaimFilter {
            category: Some(parse_category("drone_strike").unwrap()),
            ..Default::default()
        }),
        ["c2", "c3"]
    );
    assert_eq!(
        ids(ClaimFilter {
            incident_from: Some(t("03-04 00:00")),
            incident_to: Some(t("03-04 00:00")),
            ..Default::default()
        }),
        ["c2"],
        "bounds are inclusive"
    );
    assert_eq!(
        ids(ClaimFilter {
            agreement: Some(armistice_core::AgreementId::new("b").unwrap()),
            ..Default::default()
        }),
        Vec::<String>::new()
    );
    let row = serde_json::to_value(&projection.claims(&ClaimFilter::default())[2]).unwrap();
    for key in [
        "claim",
        "agreement",
        "by",
        "against",
        "category",
        "incident_at",
        "occurred_at",
        "recorded_at",
        "location",
        "state",
        "flags",
        "responses",
        "assessments",
    ] {
        assert!(row.get(key).is_some(), "claim JSON lacks `{key}`");
    }
    assert_eq!(row["responses"], 1);
    assert_eq!(row["state"], "disputed");
}

#[test]
fn filter_values_parse_or_list_the_allowed_ones() {
    for state in ClaimState::ALL {
        assert_eq!(state.name().parse::<ClaimState>(), Ok(state));
    }
    let err = "pending".parse::<ClaimState>().unwrap_err();
    assert!(
        err.contains("open, acknowledged, disputed, verified, refuted, inconclusive, retracted"),
        "{err}"
    );
    for flag in Flag::ALL {
        assert_eq!(flag.name().parse::<Flag>(), Ok(flag));
        assert_eq!(serde_json::to_value(flag).unwrap(), flag.name());
    }
    for name in CATEGORY_NAMES {
        assert!(parse_category(name).is_ok(), "{name}");
    }
    assert!(parse_category("arson")
        .unwrap_err()
        .contains("shelling, drone_strike"));
}

// ---- audit ----

fn audit_of(lines: &[String], claim: &str, known_at: Timestamp) -> Audit {
    let id = armistice_core::ClaimId::new(claim).unwrap();
    let inputs = AuditInputs {
        chain_ok: true,
        evidence_checks: None,
    };
    audit_records(&records(lines), &id, known_at, inputs).unwrap()
}

fn codes(audit: &Audit) -> Vec<FindingCode> {
    audit.findings.iter().map(|f| f.code).collect()
}

#[test]
fn audit_timeline_holds_the_claim_its_counter_claims_and_answers_naming_it() {
    let lines = with(
        signed_base(),
        &[
            allege("k", "RU", "03-03 00:00", "03-03 00:00", "shelling"), // seq 9
            allege("c", "UA", "03-04 00:00", "03-03 00:00", "shelling"), // seq 10
            allege("other", "UA", "03-04 00:00", "03-03 00:00", "shelling"), // seq 11
            set(
                respond("c", "RU", "03-05 00:00", "denied"),
                "counter_claim",
                json!("k"),
            ), // seq 12
            respond("k", "UA", "03-05 06:00", "denied"),                 // seq 13
            assess("c", "MON", "03-06 00:00", "refuted"),                // seq 14
            respond("other", "RU", "03-06 00:00", "denied"),             // seq 15
        ],
    );
    let audit = audit_of(&lines, "c", Timestamp::MAX);
    let seqs: Vec<u64> = audit.timeline.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [9, 10, 12, 13, 14]);
    let states: Vec<ClaimState> = audit.timeline.iter().map(|e| e.state).collect();
    use ClaimState::*;
    assert_eq!(states, [Open, Open, Disputed, Disputed, Refuted]);
    assert_eq!(audit.state, Refuted);
    assert_eq!(audit.timeline[0].signature, SignatureCheck::Unsigned);
    assert_eq!(
        audit.timeline[1].hash,
        hex::encode(armistice_core::entry::sha256(&10u64.to_be_bytes()))
    );
    assert!(audit.flags.contains(&Flag::Countered));

    // The counter-claim's own audit shows the answer that names it.
    let counter = audit_of(&lines, "k", Timestamp::MAX);
    let seqs: Vec<u64> = counter.timeline.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [9, 12, 13]);
    let json = serde_json::to_value(&audit).unwrap();
    for key in [
        "claim",
        "agreement",
        "by",
        "against",
        "state",
        "flags",
        "timeline",
        "findings",
        "chain_ok",
    ] {
        assert!(json.get(key).is_some(), "audit JSON lacks `{key}`");
    }
    for key in [
        "seq",
        "type",
        "by",
        "occurred_at",
        "recorded_at",
        "hash",
        "state",
        "signature",
    ] {
        assert!(
            json["timeline"][0].get(key).is_some(),
            "timeline entry lacks `{key}`"
        );
    }
}

#[test]
fn audit_findings_follow_the_rules() {
    use FindingCode::*;
    let base = with(
        signed_base(),
        &[allege("c", "UA", "03-03 00:00", "03-03 00:00", "shelling")],
    );
    let cases: Vec<(&str, Vec<String>, Vec<FindingCode>)> = vec![
        ("no answer", vec![], vec![NoResponse]),
        (
            "prompt answer",
            vec![respond("c", "RU", "03-10 00:00", "denied")],
            vec![],
        ),
        (
            "answer after exactly 7 days is not late",
            vec![respond("c", "RU", "03-10 00:00", "denied")],
            vec![],
        ),
        (
            "late answer",
            vec![respond("c", "RU", "03-10 00:01", "denied")],
            vec![LateResponse],
        ),
        (
            "first answer decides lateness",
            vec![
                respond("c", "RU", "03-20 00:00", "denied"),
                respond("c", "RU", "03-04 00:00", "acknowledged"),
            ],
            vec![],
        ),
        (
            "monitors disagree",
            vec![
                respond("c", "RU", "03-04 00:00", "denied"),
                assess("c", "MON", "03-05 00:00", "verified"),
                assess("c", "MON2", "03-05 00:00", "refuted"),
            ],
            vec![ConflictingAssessments],
        ),
        (
            "monitors agree in their latest findings",
            vec![
                respond("c", "RU", "03-04 00:00", "denied"),
                assess("c", "MON", "03-05 00:00", "verified"),
                assess("c", "MON2", "03-05 00:00", "refuted"),
                assess("c", "MON2", "03-06 00:00", "verified"),
            ],
            vec![],
        ),
        (
            "recorded late",
            vec![rec(
                respond("c", "RU", "03-04 00:00", "denied"),
                "03-12 00:00",
            )],
            vec![RecordedLate],
        ),
        (
            "backfilled",
            vec![set(
                respond("c", "RU", "03-04 00:00", "denied"),
                "backfilled",
                json!(true),
            )],
            vec![Backfilled],
        ),
    ];
    for (name, more, expected) in cases {
        assert_eq!(
            codes(&audit_of(&with(base.clone(), &more), "c", Timestamp::MAX)),
            expected,
            "{name}"
        );
    }
    let outside = with(
        parties(),
        &[
            propose(&["energy_infrastructure"]),
            allege("c", "UA", "03-03 00:00", "03-03 00:00", "shelling"),
            respond("c", "RU", "03-04 00:00", "denied"),
        ],
    );
    assert_eq!(
        codes(&audit_of(&outside, "c", Timestamp::MAX)),
        vec![OutsideWindow, OutsideScope]
    );
}

#[test]
fn audit_reports_evidence_checks_and_unknown_claims() {
    let sha = "ab".repeat(32);
    let evidence = json!([{"sha256": sha, "media_type": "image/png", "uri": "https://x/a.png", "description": "d"}]);
    let lines = with(
        signed_base(),
        &[
            set(
                allege("c", "UA", "03-03 00:00", "03-03 00:00", "shelling"),
                "evidence",
                evidence.clone(),
            ),
            ev(
                "evidence_added",
                "UA",
                "03-04 00:00",
                json!({"claim": "c", "evidence": [{"sha256": "cd".repeat(32), "media_type": "text/csv", "uri": "https://x/b.csv", "description": "d"}]}),
            ),
            respond("c", "RU", "03-04 00:00", "denied"),
        ],
    );
    let records = records(&lines);
    let view = View::new(Timestamp::MAX, Timestamp::MAX);
    let projection = replay(&records, view);
    let id = armistice_core::ClaimId::new("c").unwrap();
    let mut collector = AuditCollector::new(&projection, &id).unwrap();
    for record in &records {
        let _ = collector.apply(record, SignatureCheck::unverified(&record.header));
    }
    let offered: Vec<&str> = collector
        .evidence()
        .iter()
        .map(|e| e.uri.as_str())
        .collect();
    assert_eq!(offered, ["https://x/a.png", "https://x/b.csv"]);
    assert_eq!(collector.last_shown_seq(), Some(11));
    let checks = vec![
        EvidenceCheck {
            sha256: "ab".repeat(32),
            uri: "https://x/a.png".into(),
            outcome: EvidenceOutcome::Missing,
        },
        EvidenceCheck {
            sha256: "cd".repeat(32),
            uri: "https://x/b.csv".into(),
            outcome: EvidenceOutcome::Mismatch {
                actual: "ee".repeat(32),
            },
        },
    ];
    let audit = collector.finish(AuditInputs {
        chain_ok: false,
        evidence_checks: Some(checks),
    });
    assert_eq!(
        codes(&audit),
        vec![FindingCode::EvidenceMissing, FindingCode::EvidenceMismatch]
    );
    assert!(!audit.chain_ok);
    assert!(audit.findings[1].detail.contains(&"ee".repeat(32)));

    let unknown = armistice_core::ClaimId::new("nope").unwrap();
    let err = AuditCollector::new(&projection, &unknown).unwrap_err();
    assert_eq!(err, ProjectionError::UnknownClaim(unknown));
}
