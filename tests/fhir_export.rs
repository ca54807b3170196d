//! FHIR R5 export of the access log and consents (`medledger::access::fhir`):
//! structure, ids, codes, outcome mapping and timestamps, on a ledger with
//! a controlled clock. The FHIR library validation of the same output is
//! `scripts/test-fhir.sh`; these are the Rust-side facts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use medledger::access::fhir::{self, BundleType};
use medledger::log::state::AccessEntry;
use medledger::{
    Actions, Basis, Category, Consent, Decision, Genesis, Keypair, Ledger, NewRecord, Purpose,
    Purposes, RecordId, Roles, Scope,
};
use serde_json::Value;

const YEAR_MS: u64 = 365 * 24 * 3600 * 1000;
const ACT_REASON: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
const OUTCOME: &str = "http://terminology.hl7.org/CodeSystem/audit-event-outcome";
const JUSTIFICATION: &str = "unconscious patient in the emergency department";

fn kp(n: u8) -> Keypair {
    Keypair::from_seeds(&[n; 32], &[n.wrapping_add(100); 32])
}

struct World {
    ledger: Ledger,
    clock: Arc<AtomicU64>,
    v: [Arc<Keypair>; 2],
    clinic: Keypair,
    hospital: Keypair,
    patient: Keypair,
    auditor: Keypair,
    base: u64,
}

impl World {
    /// Sets the ledger clock to `base + offset` ms.
    fn at(&self, offset: u64) {
        self.clock.store(self.base + offset, Ordering::SeqCst);
    }

    fn commit(&self) {
        self.ledger
            .commit_block(&[self.v[0].as_ref(), self.v[1].as_ref()])
            .unwrap();
    }
}

/// Results of the scenario: what the checks need to know.
struct Played {
    w: World,
    lab: RecordId,
    imaging: RecordId,
    treating: medledger::ConsentId,
    research: medledger::ConsentId,
    emergency: medledger::BreakGlassId,
}

/// Admin, two validators, a clinic and a hospital, a patient, an auditor,
/// a custodian. Times: grants at +0, records at +100, reads at +200 (the
/// patient), +300 (the author), +400 (research consent), +500 (the same
/// record twice in one transaction), +600 (denied, revoked consent), +800
/// (break-glass).
fn play() -> Played {
    let base = (medledger::now_ms() / 1000 + 10) * 1000;
    let clock = Arc::new(AtomicU64::new(base));
    let v = [Arc::new(kp(2)), Arc::new(kp(3))];
    let admin = kp(1);
    let genesis = Genesis::new(
        "fhir export test",
        2,
        vec![
            admin.participant(Roles::ADMIN, "registration desk"),
            v[0].participant(Roles::VALIDATOR, "validator 0"),
            v[1].participant(Roles::VALIDATOR, "validator 1"),
        ],
    )
    .unwrap();
    let c = clock.clone();
    let ledger = Ledger::create_in_memory(genesis, &[v[0].as_ref(), v[1].as_ref()])
        .unwrap()
        .with_clock(move || c.load(Ordering::SeqCst));
    ledger
        .attach_validators(vec![v[0].clone(), v[1].clone()])
        .unwrap();
    let custodian = Arc::new(kp(9));
    let w = World {
        ledger,
        clock,
        v,
        clinic: kp(5),
        hospital: kp(6),
        patient: kp(7),
        auditor: kp(8),
        base,
    };
    for (k, roles, label) in [
        (&w.clinic, Roles::PROVIDER, "clinic EHR"),
        (&w.hospital, Roles::PROVIDER, "hospital EHR"),
        (&w.patient, Roles::PATIENT, "patient app"),
        (&w.auditor, Roles::AUDITOR, "privacy office"),
        (custodian.as_ref(), Roles::CUSTODIAN, "key custodian"),
    ] {
        w.ledger
            .register(&admin, k.participant(roles, label))
            .unwrap();
    }
    w.commit();
    w.ledger.attach_custodian(custodian).unwrap();

    let treating = w
        .ledger
        .grant(
            &w.patient,
            &Consent {
                patient: w.patient.id(),
                grantee: w.clinic.id(),
                actions: Actions::ALL,
                purposes: Purposes::of(&[Purpose::Treat]),
                scope: Scope {
                    all_categories: true,
                    ..Scope::default()
                },
                not_before: base,
                not_after: base + YEAR_MS,
            },
        )
        .unwrap();
    w.commit();
    w.at(100);
    let rec = |category, payload: &'static [u8]| NewRecord {
        patient: w.patient.id(),
        category,
        content_type: "application/fhir+json",
        payload,
    };
    let lab = w
        .ledger
        .append_record(&w.clinic, rec("lab", b"{}"))
        .unwrap();
    let imaging = w
        .ledger
        .append_record(&w.clinic, rec("imaging", b"{}"))
        .unwrap();
    let research = w
        .ledger
        .grant(
            &w.patient,
            &Consent {
                patient: w.patient.id(),
                grantee: w.hospital.id(),
                actions: Actions::READ,
                purposes: Purposes::of(&[Purpose::Research]),
                scope: Scope {
                    categories: vec![Category::new("lab").unwrap()],
                    ..Scope::default()
                },
                not_before: base,
                not_after: base + YEAR_MS,
            },
        )
        .unwrap();
    w.commit();

    w.at(200);
    w.ledger
        .read_record(&w.patient, &lab, Purpose::PatientRequest)
        .unwrap();
    w.at(300);
    w.ledger
        .read_record(&w.clinic, &imaging, Purpose::Treat)
        .unwrap();
    w.at(400);
    w.ledger
        .read_record(&w.hospital, &lab, Purpose::Research)
        .unwrap();
    w.at(500);
    for r in w
        .ledger
        .read_records(&w.patient, &[imaging, imaging], Purpose::PatientRequest)
        .unwrap()
    {
        r.unwrap();
    }
    w.at(550);
    w.ledger.revoke(&w.patient, &research).unwrap();
    w.commit();
    w.at(600);
    let denied = w.ledger.read_record(&w.hospital, &lab, Purpose::Research);
    assert!(matches!(denied, Err(medledger::Error::AccessDenied { .. })));
    w.commit();
    w.at(700);
    let emergency = w
        .ledger
        .break_glass(
            &w.hospital,
            &w.patient.id(),
            Purpose::EmergencyTreat,
            JUSTIFICATION,
            3_600_000,
        )
        .unwrap();
    w.commit();
    w.at(800);
    w.ledger
        .read_record(&w.hospital, &imaging, Purpose::EmergencyTreat)
        .unwrap();
    Played {
        w,
        lab,
        imaging,
        treating,
        research,
        emergency,
    }
}

fn log(p: &Played) -> Vec<AccessEntry> {
    p.w.ledger
        .access_log(&p.w.auditor.id(), &p.w.patient.id())
        .unwrap()
}

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for k in path {
        cur = match k.parse::<usize>() {
            Ok(i) => &cur[i],
            Err(_) => &cur[*k],
        };
    }
    cur.as_str()
        .unwrap_or_else(|| panic!("{path:?} is not a string in {v:#}"))
}

fn fhir_id_ok(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Milliseconds since the epoch of a FHIR instant `YYYY-MM-DDThh:mm:ss.sssZ`
/// (an independent parser: days from the civil date).
fn parse_instant(t: &str) -> u64 {
    let b = t.as_bytes();
    assert_eq!(t.len(), 24, "{t}");
    for (i, c) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (23, b'Z'),
    ] {
        assert_eq!(b[i], c, "{t}");
    }
    let n = |r: std::ops::Range<usize>| t[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let ms = ((days * 24 + n(11..13)) * 60 + n(14..16)) * 60_000 + n(17..19) * 1000 + n(20..23);
    u64::try_from(ms).unwrap()
}

fn codes(concepts: &Value, system: &str) -> Vec<String> {
    concepts
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["coding"].as_array().into_iter().flatten())
        .filter(|c| c["system"] == system)
        .map(|c| c["code"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn audit_events_map_the_access_log() {
    let p = play();
    let w = &p.w;
    let id = w.ledger.id();
    let entries = log(&p);
    // patient, author, consent, 2 × patient in one tx, denied, break-glass.
    assert_eq!(entries.len(), 7);
    let events = fhir::audit_events(&id, &entries);
    assert_eq!(events.len(), entries.len());

    let mut ids = HashSet::new();
    for (e, entry) in events.iter().zip(&entries) {
        let eid = s(e, &["id"]);
        assert!(fhir_id_ok(eid), "{eid}");
        assert!(ids.insert(eid.to_owned()), "duplicate id {eid}");
        assert!(eid.starts_with(&id.to_hex()[..16]), "{eid}");
        assert!(eid.contains(&format!("-{}-", entry.position.leaf)), "{eid}");
        assert_eq!(s(e, &["resourceType"]), "AuditEvent");
        assert_eq!(s(e, &["action"]), "R");
        assert_eq!(s(e, &["category", "0", "coding", "0", "code"]), "110110");
        assert_eq!(s(e, &["code", "coding", "0", "code"]), "read");
        // Timestamps: the access transaction's time, as an instant.
        let t = s(e, &["recorded"]);
        assert_eq!(parse_instant(t), entry.time);
        assert_eq!(s(e, &["occurredDateTime"]), t);
        assert_eq!(t, fhir::instant(entry.time));
        // Who, whose, where, what.
        assert_eq!(
            s(e, &["agent", "0", "who", "identifier", "system"]),
            fhir::PARTICIPANT_SYSTEM
        );
        assert_eq!(
            s(e, &["agent", "0", "who", "identifier", "value"]),
            entry.reader.to_hex()
        );
        assert_eq!(e["agent"][0]["requestor"], true);
        assert_eq!(
            s(e, &["patient", "identifier", "value"]),
            w.patient.id().to_hex()
        );
        assert_eq!(s(e, &["patient", "type"]), "Patient");
        assert_eq!(
            s(e, &["source", "observer", "identifier", "value"]),
            id.to_hex()
        );
        assert_eq!(
            s(e, &["entity", "0", "what", "identifier", "system"]),
            fhir::RECORD_SYSTEM
        );
        assert_eq!(
            s(e, &["entity", "0", "what", "identifier", "value"]),
            entry.record.to_hex()
        );
        assert_eq!(
            s(e, &["entity", "0", "detail", "0", "valueString"]),
            entry.category.as_str()
        );
        assert_eq!(
            codes(&e["authorization"], ACT_REASON),
            [entry.purpose.code()]
        );
        assert_eq!(s(e, &["outcome", "code", "system"]), OUTCOME);
        assert!(e["outcome"]["detail"][0]["text"].is_string());
        // The single-entry form agrees (up to the repeat number).
        if !eid.ends_with("-1") {
            assert_eq!(fhir::audit_event(&id, entry), *e);
        }
    }
    let times: Vec<u64> = entries.iter().map(|e| e.time - w.base).collect();
    assert_eq!(times, [200, 300, 400, 500, 500, 600, 800]);

    let by_basis = |f: &dyn Fn(&Decision) -> bool| -> Vec<&Value> {
        events
            .iter()
            .zip(&entries)
            .filter(|(_, en)| f(&en.decision))
            .map(|(e, _)| e)
            .collect()
    };
    // Permitted reads: outcome 0, the basis as detail.
    for (basis, code) in [
        (Basis::Patient, "patient"),
        (Basis::Author, "author"),
        (Basis::Consent(p.research), "consent"),
    ] {
        let found = by_basis(&|d| *d == Decision::Permit(basis));
        assert!(!found.is_empty(), "{basis:?}");
        for e in found {
            assert_eq!(s(e, &["outcome", "code", "code"]), "0");
            assert_eq!(
                s(e, &["outcome", "detail", "0", "coding", "0", "code"]),
                code
            );
            assert_eq!(s(e, &["severity"]), "informational");
            assert!(e["agent"][0].get("authorization").is_none());
        }
    }
    // The consent that permitted a read is an entity.
    let consented = by_basis(&|d| matches!(d, Decision::Permit(Basis::Consent(_))));
    assert_eq!(consented.len(), 1);
    assert_eq!(s(consented[0], &["entity", "1", "what", "type"]), "Consent");
    assert_eq!(
        s(
            consented[0],
            &["entity", "1", "what", "identifier", "value"]
        ),
        p.research.to_hex()
    );
    assert_eq!(
        s(
            consented[0],
            &["entity", "1", "role", "coding", "0", "code"]
        ),
        "13"
    );
    // The denial: outcome 4 with the reason.
    let denied = by_basis(&|d| !d.is_permit());
    assert_eq!(denied.len(), 1);
    let d = denied[0];
    assert_eq!(s(d, &["outcome", "code", "code"]), "4");
    assert_eq!(s(d, &["outcome", "code", "display"]), "Minor failure");
    assert_eq!(
        s(d, &["outcome", "detail", "0", "coding", "0", "system"]),
        fhir::DENY_REASON_SYSTEM
    );
    assert_eq!(
        s(d, &["outcome", "detail", "0", "coding", "0", "code"]),
        "revoked"
    );
    assert!(
        s(d, &["outcome", "detail", "0", "text"])
            .contains(medledger::DenyReason::Revoked.describe())
    );
    assert_eq!(s(d, &["severity"]), "notice");
    assert_eq!(d["entity"].as_array().unwrap().len(), 1);
    // The break-glass read: stated ETREAT, flagged BTG, the declaration.
    let bg = by_basis(&|d| matches!(d, Decision::Permit(Basis::BreakGlass(_))));
    assert_eq!(bg.len(), 1);
    let b = bg[0];
    assert_eq!(codes(&b["authorization"], ACT_REASON), ["ETREAT"]);
    assert_eq!(codes(&b["agent"][0]["authorization"], ACT_REASON), ["BTG"]);
    assert_eq!(s(b, &["severity"]), "warning");
    assert_eq!(
        s(b, &["entity", "1", "what", "identifier", "system"]),
        fhir::BREAK_GLASS_SYSTEM
    );
    assert_eq!(
        s(b, &["entity", "1", "what", "identifier", "value"]),
        p.emergency.to_hex()
    );
    assert_eq!(
        s(b, &["entity", "0", "what", "identifier", "value"]),
        p.imaging.to_hex()
    );
    // The same record twice in one transaction: distinct ids.
    let twice: Vec<&str> = events
        .iter()
        .zip(&entries)
        .filter(|(_, en)| en.time == w.base + 500)
        .map(|(e, _)| s(e, &["id"]))
        .collect();
    assert_eq!(twice.len(), 2);
    assert_eq!(twice[1], format!("{}-1", twice[0]));
    // The break-glass review lists the same event, same id.
    let reviews = w.ledger.break_glass_reviews(&w.auditor.id()).unwrap();
    assert_eq!(fhir::audit_events(&id, &reviews), std::slice::from_ref(b));

    // No personal data: labels, justification and payloads stay out.
    let text = serde_json::to_string(&events).unwrap();
    for secret in [JUSTIFICATION, "clinic EHR", "hospital EHR", "patient app"] {
        assert!(!text.contains(secret), "{secret}");
    }
    let _ = p.lab;
}

#[test]
fn consents_map_status_period_and_provisions() {
    let p = play();
    let w = &p.w;
    let id = w.ledger.id();
    let consents = w.ledger.consents(&w.auditor.id(), &w.patient.id()).unwrap();
    assert_eq!(consents.len(), 2);
    let now = w.base + 1000;
    let docs: Vec<Value> = consents
        .iter()
        .map(|c| fhir::consent(&id, c, now))
        .collect();
    let treating = &docs[0];
    let research = &docs[1];
    assert_eq!(s(treating, &["id"]), p.treating.to_hex());
    assert_eq!(s(research, &["id"]), p.research.to_hex());
    for (doc, st) in docs.iter().zip(&consents) {
        assert!(fhir_id_ok(s(doc, &["id"])));
        assert_eq!(s(doc, &["resourceType"]), "Consent");
        assert_eq!(s(doc, &["identifier", "0", "system"]), fhir::CONSENT_SYSTEM);
        assert_eq!(
            s(doc, &["subject", "identifier", "value"]),
            w.patient.id().to_hex()
        );
        assert_eq!(
            s(doc, &["grantor", "0", "identifier", "value"]),
            w.patient.id().to_hex()
        );
        assert_eq!(
            s(doc, &["grantee", "0", "identifier", "value"]),
            st.consent.grantee.to_hex()
        );
        assert_eq!(s(doc, &["date"]), &fhir::instant(st.granted_at)[..10]);
        // Half-open validity → inclusive FHIR period.
        assert_eq!(
            parse_instant(s(doc, &["period", "start"])),
            st.consent.not_before
        );
        assert_eq!(
            parse_instant(s(doc, &["period", "end"])),
            st.consent.not_after - 1
        );
        // Base deny, one permit provision for the grantee.
        assert_eq!(s(doc, &["decision"]), "deny");
        let provisions = doc["provision"].as_array().unwrap();
        assert_eq!(provisions.len(), 1);
        assert_eq!(
            s(
                doc,
                &[
                    "provision",
                    "0",
                    "actor",
                    "0",
                    "reference",
                    "identifier",
                    "value"
                ]
            ),
            st.consent.grantee.to_hex()
        );
        assert_eq!(
            s(
                doc,
                &[
                    "provision",
                    "0",
                    "actor",
                    "0",
                    "role",
                    "coding",
                    "0",
                    "code"
                ]
            ),
            "IRCP"
        );
    }
    // Status: active, and inactive once revoked or expired.
    assert_eq!(s(treating, &["status"]), "active");
    assert_eq!(s(research, &["status"]), "inactive");
    assert_eq!(
        parse_instant(s(research, &["meta", "lastUpdated"])),
        w.base + 550
    );
    let expired = fhir::consent(&id, &consents[0], consents[0].consent.not_after);
    assert_eq!(s(&expired, &["status"]), "inactive");
    let last_ms = fhir::consent(&id, &consents[0], consents[0].consent.not_after - 1);
    assert_eq!(s(&last_ms, &["status"]), "active");
    // Actions and purposes.
    let action_codes = |doc: &Value| {
        codes(
            &doc["provision"][0]["action"],
            "http://terminology.hl7.org/CodeSystem/consentaction",
        )
    };
    assert_eq!(action_codes(treating), ["access", "collect", "correct"]);
    assert_eq!(action_codes(research), ["access"]);
    assert_eq!(
        s(treating, &["provision", "0", "purpose", "0", "code"]),
        "TREAT"
    );
    assert_eq!(
        s(research, &["provision", "0", "purpose", "0", "code"]),
        "HRESCH"
    );
    assert_eq!(
        s(research, &["provision", "0", "purpose", "0", "system"]),
        ACT_REASON
    );
    // Scope: all categories → no data criterion; listed → documentType.
    assert!(treating["provision"][0].get("documentType").is_none());
    assert!(treating["provision"][0].get("data").is_none());
    assert_eq!(
        research["provision"][0]["documentType"],
        serde_json::json!([{ "system": fhir::CATEGORY_SYSTEM, "code": "lab" }])
    );
}

#[test]
fn record_level_consents_list_versions_beside_categories() {
    let p = play();
    let w = &p.w;
    let mut state = w
        .ledger
        .consents(&w.patient.id(), &w.patient.id())
        .unwrap()
        .remove(1);
    state.consent.scope.records = vec![p.lab, p.imaging];
    state.consent.scope.records.sort();
    let doc = fhir::consent(&w.ledger.id(), &state, w.base);
    let provisions = doc["provision"].as_array().unwrap();
    // Categories or listed versions: two sibling permits.
    assert_eq!(provisions.len(), 2);
    assert!(provisions[0].get("documentType").is_some());
    assert!(provisions[0].get("data").is_none());
    let data = provisions[1]["data"].as_array().unwrap();
    assert!(provisions[1].get("documentType").is_none());
    assert_eq!(data.len(), 2);
    for (d, r) in data.iter().zip(&state.consent.scope.records) {
        assert_eq!(d["meaning"], "instance");
        assert_eq!(
            s(d, &["reference", "identifier", "system"]),
            fhir::RECORD_SYSTEM
        );
        assert_eq!(s(d, &["reference", "identifier", "value"]), r.to_hex());
    }
    for pr in provisions {
        assert_eq!(pr["actor"], provisions[0]["actor"]);
        assert_eq!(pr["purpose"], provisions[0]["purpose"]);
    }
}

#[test]
fn bundles_wrap_resources_with_unique_full_urls() {
    let p = play();
    let w = &p.w;
    let id = w.ledger.id();
    let mut resources = fhir::audit_events(&id, &log(&p));
    let n_events = resources.len();
    for c in w.ledger.consents(&w.patient.id(), &w.patient.id()).unwrap() {
        resources.push(fhir::consent(&id, &c, w.base));
    }
    let b = fhir::bundle(BundleType::Collection, resources.clone());
    assert_eq!(s(&b, &["resourceType"]), "Bundle");
    assert_eq!(s(&b, &["type"]), "collection");
    assert!(b.get("total").is_none());
    let entries = b["entry"].as_array().unwrap();
    assert_eq!(entries.len(), n_events + 2);
    let mut urls = HashSet::new();
    for (e, r) in entries.iter().zip(&resources) {
        assert_eq!(e["resource"], *r);
        let url = s(e, &["fullUrl"]);
        let uuid = url.strip_prefix("urn:uuid:").unwrap();
        let groups: Vec<usize> = uuid.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{url}");
        assert!(uuid.bytes().all(|c| c == b'-' || c.is_ascii_hexdigit()));
        assert!(urls.insert(url.to_owned()), "duplicate fullUrl {url}");
        assert!(e.get("search").is_none());
    }
    // Stable: the same resources give the same full URLs.
    assert_eq!(fhir::bundle(BundleType::Collection, resources.clone()), b);
    let sr = fhir::bundle(BundleType::Searchset, resources[..2].to_vec());
    assert_eq!(s(&sr, &["type"]), "searchset");
    assert_eq!(sr["total"], 2);
    assert_eq!(s(&sr, &["entry", "1", "search", "mode"]), "match");
    let empty = fhir::bundle(BundleType::Searchset, Vec::new());
    assert_eq!(empty["total"], 0);
    assert!(empty.get("entry").is_none());
}
