//! Exports a patient's access log and consents as FHIR R5 JSON.
//!
//! Run with `cargo run --example fhir_export -- <dir>`. Builds a small
//! in-memory consortium (an admin, two validators, a clinic and a hospital
//! as providers, a patient, an auditor and the hospital's emergency key
//! custodian), then plays out: a treating consent to the clinic, records
//! by the clinic, permitted reads (by the patient, by the author, under a
//! research consent), the research consent revoked and a read denied
//! because of it, and a break-glass read by the hospital whose key the
//! custodian releases. The auditor then exports, into `<dir>` (created if
//! missing):
//!
//! * `AuditEvent-<id>.json`, one per recorded read attempt;
//! * `Consent-<id>.json`, one per consent (active, revoked);
//! * `bundle.json`, a `collection` Bundle of all of them;
//! * `break-glass-review.json`, a `searchset` Bundle of the break-glass
//!   reads.
//!
//! `scripts/test-fhir.sh` validates these files with a FHIR R5 library.
//! All ids are pseudonymous; no personal data is written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use medledger::access::fhir::{self, BundleType};
use medledger::{
    Actions, Consent, Genesis, Keypair, Ledger, NewRecord, Purpose, Purposes, Roles, Scope,
};
use serde_json::Value;

type DemoResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

const YEAR_MS: u64 = 365 * 24 * 3600 * 1000;
const FHIR: &str = "application/fhir+json";
const LAB: &str = r#"{"resourceType":"Observation","status":"final","code":{"text":"Serum sodium"},"valueQuantity":{"value":140,"unit":"mmol/L"}}"#;
const IMAGING: &str = r#"{"resourceType":"DiagnosticReport","status":"final","code":{"text":"Chest X-ray"},"conclusion":"No acute findings."}"#;

fn main() -> DemoResult {
    let dir = PathBuf::from(
        std::env::args_os()
            .nth(1)
            .ok_or("usage: fhir_export <output directory>")?,
    );
    std::fs::create_dir_all(&dir)?;

    // The consortium: an admin and two validators (2-of-2) found it.
    let admin = Keypair::generate();
    let (v0, v1) = (Arc::new(Keypair::generate()), Arc::new(Keypair::generate()));
    let genesis = Genesis::new(
        "FHIR export demo",
        2,
        vec![
            admin.participant(Roles::ADMIN, "registration desk"),
            v0.participant(Roles::VALIDATOR, "validator 0"),
            v1.participant(Roles::VALIDATOR, "validator 1"),
        ],
    )?;
    let quorum = [v0.as_ref(), v1.as_ref()];
    let ledger = Ledger::create_in_memory(genesis, &quorum)?;
    // Reads commit their access events themselves with these keys.
    ledger.attach_validators(vec![v0.clone(), v1.clone()])?;

    let clinic = Keypair::generate();
    let hospital = Keypair::generate();
    let patient = Keypair::generate();
    let auditor = Keypair::generate();
    let custodian = Arc::new(Keypair::generate());
    for (k, roles, label) in [
        (&clinic, Roles::PROVIDER, "clinic EHR"),
        (&hospital, Roles::PROVIDER, "hospital EHR"),
        (&patient, Roles::PATIENT, "patient app"),
        (&auditor, Roles::AUDITOR, "privacy office"),
        (
            custodian.as_ref(),
            Roles::CUSTODIAN,
            "hospital key custodian",
        ),
    ] {
        ledger.register(&admin, k.participant(roles, label))?;
    }
    ledger.commit_block(&quorum)?;
    // The hospital's node holds its custodian key (emergency escrow).
    ledger.attach_custodian(custodian)?;

    // The patient lets the clinic treat them; the clinic writes records.
    let now = ledger.now();
    let treating = Consent {
        patient: patient.id(),
        grantee: clinic.id(),
        actions: Actions::ALL,
        purposes: Purposes::of(&[Purpose::Treat]),
        scope: Scope {
            all_categories: true,
            ..Scope::default()
        },
        not_before: now.saturating_sub(1000),
        not_after: now + YEAR_MS,
    };
    ledger.grant(&patient, &treating)?;
    ledger.commit_block(&quorum)?;
    let rec = |category, payload: &'static str| NewRecord {
        patient: patient.id(),
        category,
        content_type: FHIR,
        payload: payload.as_bytes(),
    };
    let lab = ledger.append_record(&clinic, rec("lab", LAB))?;
    let imaging = ledger.append_record(&clinic, rec("imaging", IMAGING))?;
    ledger.commit_block(&quorum)?;

    // Permitted reads: the patient, the author.
    ledger.read_record(&patient, &lab, Purpose::PatientRequest)?;
    ledger.read_record(&clinic, &imaging, Purpose::Treat)?;

    // A research consent for the lab results, used, then revoked.
    let research = Consent {
        patient: patient.id(),
        grantee: hospital.id(),
        actions: Actions::READ,
        purposes: Purposes::of(&[Purpose::Research]),
        scope: Scope {
            categories: vec![medledger::Category::new("lab")?],
            ..Scope::default()
        },
        not_before: now.saturating_sub(1000),
        not_after: now + YEAR_MS,
    };
    let research_id = ledger.grant(&patient, &research)?;
    ledger.commit_block(&quorum)?;
    ledger.read_record(&hospital, &lab, Purpose::Research)?;
    ledger.revoke(&patient, &research_id)?;
    ledger.commit_block(&quorum)?;
    match ledger.read_record(&hospital, &lab, Purpose::Research) {
        Err(medledger::Error::AccessDenied { .. }) => {}
        Ok(_) => return Err("the read after revocation was permitted".into()),
        Err(e) => return Err(e.into()),
    }
    ledger.commit_block(&quorum)?; // the denied attempt is recorded too

    // An emergency: the hospital breaks the glass and reads the imaging.
    ledger.break_glass(
        &hospital,
        &patient.id(),
        Purpose::BreakTheGlass,
        "unconscious patient in the emergency department",
        3_600_000,
    )?;
    ledger.commit_block(&quorum)?;
    ledger.read_record(&hospital, &imaging, Purpose::BreakTheGlass)?;

    // The auditor exports the patient's log and consents.
    let id = ledger.id();
    let log = ledger.access_log(&auditor.id(), &patient.id())?;
    let consents = ledger.consents(&auditor.id(), &patient.id())?;
    let reviews = ledger.break_glass_reviews(&auditor.id())?;
    let events = fhir::audit_events(&id, &log);
    let now = ledger.now();
    let consent_docs: Vec<Value> = consents
        .iter()
        .map(|c| fhir::consent(&id, c, now))
        .collect();

    println!("ledger {}", id.to_hex());
    println!("patient {} (pseudonymous id)", patient.id().to_hex());
    let mut written = 0usize;
    for r in events.iter().chain(&consent_docs) {
        let kind = r.get("resourceType").and_then(Value::as_str);
        let rid = r.get("id").and_then(Value::as_str);
        let (kind, rid) = kind.zip(rid).ok_or("resource without a type or id")?;
        let path = dir.join(format!("{kind}-{rid}.json"));
        write_json(&path, r)?;
        println!("wrote {:<60} {}", path.display(), summary(r));
        written += 1;
    }
    let all: Vec<Value> = events.iter().chain(&consent_docs).cloned().collect();
    let path = dir.join("bundle.json");
    write_json(&path, &fhir::bundle(BundleType::Collection, all))?;
    println!(
        "wrote {:<60} collection of {written} resources",
        path.display()
    );
    let path = dir.join("break-glass-review.json");
    let review = fhir::bundle(BundleType::Searchset, fhir::audit_events(&id, &reviews));
    write_json(&path, &review)?;
    println!(
        "wrote {:<60} searchset of {} break-glass reads",
        path.display(),
        reviews.len()
    );
    println!(
        "{} AuditEvent, {} Consent, 2 Bundle files in {}",
        events.len(),
        consent_docs.len(),
        dir.display()
    );
    Ok(())
}

fn write_json(path: &Path, v: &Value) -> DemoResult {
    std::fs::write(path, serde_json::to_string_pretty(v)? + "\n")?;
    Ok(())
}

/// One line about a resource, for the listing.
fn summary(r: &Value) -> String {
    let at = |path: &str| r.pointer(path).and_then(Value::as_str).unwrap_or("?");
    match at("/resourceType") {
        "AuditEvent" => format!(
            "{} {} {}",
            at("/authorization/0/coding/0/code"),
            at("/outcome/detail/0/text"),
            at("/recorded"),
        ),
        "Consent" => format!("{} {}", at("/status"), at("/provision/0/purpose/0/code")),
        _ => String::new(),
    }
}
