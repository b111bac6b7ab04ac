//! Property tests on random event sequences: bitemporal replay equals a
//! replay of the filtered records, replay is deterministic, and entries
//! recorded after `known_at` never change a `known_at` answer.

mod common;

use armistice_core::{Record, Timestamp};
use armistice_projections::*;
use proptest::prelude::*;
use serde_json::{json, Value};

const HOUR_MICROS: i64 = 3_600_000_000;
/// 2025-03-01T00:00:00Z.
const START_MICROS: i64 = 1_740_787_200_000_000;

#[derive(Clone, Debug)]
enum Op {
    Propose {
        unilateral: bool,
        party: usize,
        effective_h: i64,
        expires_h: Option<i64>,
        scope: usize,
    },
    Sign {
        agreement: usize,
        party: usize,
        conditional: bool,
    },
    Suspend {
        agreement: usize,
    },
    Resume {
        agreement: usize,
    },
    AmendExpiry {
        agreement: usize,
        expires_h: i64,
    },
    AmendScope {
        agreement: usize,
        scope: usize,
    },
    Terminate {
        agreement: usize,
    },
    Contest {
        agreement: usize,
        party: usize,
    },
    Allege {
        agreement: usize,
        by: usize,
        incident_back_h: i64,
        category: usize,
        count: u64,
    },
    Respond {
        claim: usize,
        response: usize,
        counter: bool,
    },
    Assess {
        claim: usize,
        monitor: usize,
        finding: usize,
    },
    Retract {
        claim: usize,
    },
    Evidence {
        claim: usize,
    },
}

/// An op with when it is recorded (hours after the previous record) and
/// how long before that it occurred.
type Step = (Op, i64, i64);

fn op() -> impl Strategy<Value = Op> {
    let i = || 0usize..8;
    prop_oneof![
        3 => (any::<bool>(), 0usize..2, -48i64..200, proptest::option::of(1i64..400), 0usize..5)
            .prop_map(|(unilateral, party, effective_h, expires_h, scope)| Op::Propose { unilateral, party, effective_h, expires_h, scope }),
        4 => (i(), 0usize..2, any::<bool>()).prop_map(|(agreement, party, conditional)| Op::Sign { agreement, party, conditional }),
        1 => i().prop_map(|agreement| Op::Suspend { agreement }),
        1 => i().prop_map(|agreement| Op::Resume { agreement }),
        1 => (i(), -100i64..500).prop_map(|(agreement, expires_h)| Op::AmendExpiry { agreement, expires_h }),
        1 => (i(), 0usize..5).prop_map(|(agreement, scope)| Op::AmendScope { agreement, scope }),
        1 => i().prop_map(|agreement| Op::Terminate { agreement }),
        1 => (i(), 0usize..2).prop_map(|(agreement, party)| Op::Contest { agreement, party }),
        5 => (i(), 0usize..2, 0i64..100, 0usize..7, 1u64..5000)
            .prop_map(|(agreement, by, incident_back_h, category, count)| Op::Allege { agreement, by, incident_back_h, category, count }),
        4 => (i(), 0usize..3, any::<bool>()).prop_map(|(claim, response, counter)| Op::Respond { claim, response, counter }),
        2 => (i(), 0usize..2, 0usize..3).prop_map(|(claim, monitor, finding)| Op::Assess { claim, monitor, finding }),
        1 => i().prop_map(|claim| Op::Retract { claim }),
        1 => i().prop_map(|claim| Op::Evidence { claim }),
    ]
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec((op(), 0i64..30, 0i64..240), 0..60)
}

const SIDES: [&str; 2] = ["UA", "RU"];
const MONITORS: [&str; 2] = ["MON", "MON2"];
const SCOPES: [&str; 5] = [
    "all_hostilities",
    "energy_infrastructure",
    "maritime",
    "civilian_targets",
    "other",
];
const RESPONSES: [&str; 3] = ["acknowledged", "denied", "disputed_facts"];
const FINDINGS: [&str; 3] = ["verified", "refuted", "inconclusive"];

fn time(hours: i64) -> String {
    Timestamp(START_MICROS + hours * HOUR_MICROS).to_string()
}

/// Turns ops into JSON lines that respect who may do what; ops naming
/// nothing yet (no agreement, no claim) are dropped.
struct Builder {
    lines: Vec<String>,
    /// Per agreement: its parties.
    agreements: Vec<Vec<&'static str>>,
    /// Per claim: (claimant, accused).
    claims: Vec<(&'static str, &'static str)>,
    recorded_h: i64,
}

impl Builder {
    fn new() -> Self {
        let mut lines = Vec::new();
        for (party, role) in [
            ("UA", "belligerent"),
            ("RU", "belligerent"),
            ("US", "mediator"),
            ("MON", "monitor"),
            ("MON2", "monitor"),
        ] {
            lines.push(json!({"type": "party_registered", "by": "operator", "occurred_at": time(0), "recorded_at": time(0), "party": party, "name": party, "role": role}).to_string());
        }
        Builder {
            lines,
            agreements: Vec::new(),
            claims: Vec::new(),
            recorded_h: 0,
        }
    }

    fn push(&mut self, kind: &str, by: &str, occurred_h: i64, fields: Value) {
        let mut line = json!({"type": kind, "by": by, "occurred_at": time(occurred_h), "recorded_at": time(self.recorded_h)});
        if let (Value::Object(map), Value::Object(extra)) = (&mut line, fields) {
            map.extend(extra);
        }
        self.lines.push(line.to_string());
    }

    fn step(&mut self, (op, after_h, lag_h): &Step) {
        self.recorded_h += after_h;
        let occurred = self.recorded_h - lag_h;
        let agreement_id = |i: usize| format!("a{i}");
        let pick_agreement = |n: usize, count: usize| (count > 0).then(|| n % count);
        let pick_claim = |n: usize, count: usize| (count > 0).then(|| n % count);
        match *op {
            Op::Propose {
                unilateral,
                party,
                effective_h,
                expires_h,
                scope,
            } => {
                let id = agreement_id(self.agreements.len());
                let (by, parties) = if unilateral {
                    (SIDES[party], vec![SIDES[party]])
                } else {
                    ("US", SIDES.to_vec())
                };
                let effective = occurred + effective_h;
                let mut fields = json!({"agreement": id, "title": "t", "kind": if unilateral {"unilateral"} else {"bilateral"},
                    "parties": parties, "scope": [SCOPES[scope]], "effective_from": time(effective)});
                if let Some(e) = expires_h {
                    fields["expires_at"] = json!(time(effective + e));
                }
                self.agreements.push(parties);
                self.push("agreement_proposed", by, occurred, fields);
            }
            Op::Sign {
                agreement,
                party,
                conditional,
            } => {
                let Some(a) = pick_agreement(agreement, self.agreements.len()) else {
                    return;
                };
                let by = self.agreements[a][party % self.agreements[a].len()];
                let mut fields = json!({"agreement": agreement_id(a)});
                if conditional {
                    fields["conditions"] = json!("if");
                }
                self.push("agreement_signed", by, occurred, fields);
            }
            Op::Suspend { agreement } | Op::Resume { agreement } | Op::Terminate { agreement } => {
                let Some(a) = pick_agreement(agreement, self.agreements.len()) else {
                    return;
                };
                let (kind, fields) = match op {
                    Op::Suspend { .. } => (
                        "agreement_suspended",
                        json!({"agreement": agreement_id(a), "reason": "r"}),
                    ),
                    Op::Resume { .. } => {
                        ("agreement_resumed", json!({"agreement": agreement_id(a)}))
                    }
                    _ => (
                        "agreement_terminated",
                        json!({"agreement": agreement_id(a), "reason": "r"}),
                    ),
                };
                let by = self.agreements[a][0];
                self.push(kind, by, occurred, fields);
            }
            Op::AmendExpiry {
                agreement,
                expires_h,
            } => {
                let Some(a) = pick_agreement(agreement, self.agreements.len()) else {
                    return;
                };
                self.push(
                    "agreement_amended",
                    self.agreements[a][0],
                    occurred,
                    json!({"agreement": agreement_id(a), "expires_at": time(occurred + expires_h)}),
                );
            }
            Op::AmendScope { agreement, scope } => {
                let Some(a) = pick_agreement(agreement, self.agreements.len()) else {
                    return;
                };
                self.push(
                    "agreement_amended",
                    self.agreements[a][0],
                    occurred,
                    json!({"agreement": agreement_id(a), "scope": [SCOPES[scope]]}),
                );
            }
            Op::Contest { agreement, party } => {
                let Some(a) = pick_agreement(agreement, self.agreements.len()) else {
                    return;
                };
                let by = self.agreements[a][party % self.agreements[a].len()];
                self.push("agreement_terms_contested", by, occurred, json!({"agreement": agreement_id(a), "statement": "s", "asserted_scope": ["maritime"]}));
            }
            Op::Allege {
                agreement,
                by,
                incident_back_h,
                category,
                count,
            } => {
                let Some(a) = pick_agreement(agreement, self.agreements.len()) else {
                    return;
                };
                let parties = &self.agreements[a];
                let against = parties[by % parties.len()];
                let claimant = if against == "UA" { "RU" } else { "UA" };
                let id = format!("c{}", self.claims.len());
                self.claims.push((claimant, against));
                // A claim is about an incident at or before the time it is made.
                self.push("violation_alleged", claimant, occurred, json!({"claim": id, "agreement": agreement_id(a), "against": against,
                    "incident_at": time(occurred - incident_back_h), "category": armistice_projections::CATEGORY_NAMES[category],
                    "count": count, "location": {"name": "x"}, "description": "d"}));
            }
            Op::Respond {
                claim,
                response,
                counter,
            } => {
                let Some(c) = pick_claim(claim, self.claims.len()) else {
                    return;
                };
                let (claimant, accused) = self.claims[c];
                let mut fields = json!({"claim": format!("c{c}"), "response": RESPONSES[response], "statement": "s"});
                if counter {
                    if let Some(k) = self
                        .claims
                        .iter()
                        .position(|&(b, a)| b == accused && a == claimant)
                    {
                        fields["counter_claim"] = json!(format!("c{k}"));
                    }
                }
                self.push("allegation_responded", accused, occurred, fields);
            }
            Op::Assess {
                claim,
                monitor,
                finding,
            } => {
                let Some(c) = pick_claim(claim, self.claims.len()) else {
                    return;
                };
                self.push("allegation_assessed", MONITORS[monitor], occurred, json!({"claim": format!("c{c}"), "finding": FINDINGS[finding], "confidence": "low", "reasoning": "r"}));
            }
            Op::Retract { claim } => {
                let Some(c) = pick_claim(claim, self.claims.len()) else {
                    return;
                };
                self.push(
                    "allegation_retracted",
                    self.claims[c].0,
                    occurred,
                    json!({"claim": format!("c{c}"), "reason": "r"}),
                );
            }
            Op::Evidence { claim } => {
                let Some(c) = pick_claim(claim, self.claims.len()) else {
                    return;
                };
                let item = json!({"sha256": "ab".repeat(32), "media_type": "image/png", "uri": "u", "description": "d"});
                self.push(
                    "evidence_added",
                    self.claims[c].0,
                    occurred,
                    json!({"claim": format!("c{c}"), "evidence": [item]}),
                );
            }
        }
    }
}

fn build(steps: &[Step]) -> (Vec<Record>, i64) {
    let mut builder = Builder::new();
    for step in steps {
        builder.step(step);
    }
    (common::records(&builder.lines), builder.recorded_h)
}

/// Everything a query answers, as comparable values.
fn answers(projection: &Projection) -> (Vec<StatusRow>, Vec<ClaimRow>) {
    (
        projection.status(None).unwrap(),
        projection.claims(&ClaimFilter::default()),
    )
}

fn hours(h: i64) -> Timestamp {
    Timestamp(START_MICROS + h * HOUR_MICROS)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn replay_at_t_k_equals_replay_of_the_filtered_records(steps in steps(), at_h in -50i64..1500, known_h in -50i64..1500) {
        let (records, _) = build(&steps);
        let view = View::new(hours(at_h), hours(known_h));
        let filtered: Vec<Record> = records
            .iter()
            .filter(|r| view.admits(r.header.occurred_at, r.header.recorded_at))
            .cloned()
            .collect();
        let direct = replay(&records, view);
        let fresh = replay(&filtered, View::EVERYTHING).evaluate_at(view.at);
        prop_assert_eq!(answers(&direct), answers(&fresh));
    }

    #[test]
    fn rebuilding_twice_gives_identical_results(steps in steps(), at_h in -50i64..1500, known_h in -50i64..1500) {
        let (records, _) = build(&steps);
        let view = View::new(hours(at_h), hours(known_h));
        let first = answers(&replay(&records, view));
        let second = answers(&replay(&records, view));
        prop_assert_eq!(serde_json::to_string(&first).unwrap(), serde_json::to_string(&second).unwrap());
        prop_assert_eq!(first, second);
    }

    #[test]
    fn entries_recorded_after_known_at_change_nothing(steps in steps(), extra in steps(), at_h in -50i64..1500, known_back_h in 0i64..500) {
        let (records, last_h) = build(&steps);
        let known_at = hours(last_h - known_back_h);
        let view = View::new(hours(at_h), known_at);
        let before = answers(&replay(&records, view));
        // Continue the same ledger with entries all recorded after known_at.
        let mut builder = Builder::new();
        for step in &steps {
            builder.step(step);
        }
        builder.recorded_h = builder.recorded_h.max(last_h - known_back_h) + 1;
        for step in &extra {
            builder.step(step);
        }
        let longer = common::records(&builder.lines);
        prop_assert!(longer[records.len()..].iter().all(|r| r.header.recorded_at > known_at));
        let after = answers(&replay(&longer, view));
        prop_assert_eq!(before, after);
    }
}
