//! The medledger hospital demo: two hospitals and a health information
//! exchange share one tamper-evident, encrypted ledger of a patient's
//! records, kept durably in a ledger directory (`<dir>/ledger.log`), and
//! the patient decides who may read what.
//!
//! Run with `cargo run --release --example hospital_demo`. Every payload is
//! a small FHIR-like JSON string with made-up data; only encrypted payloads
//! and pseudonymous ids are stored, never personal data in the clear.
//!
//! The story: the patient consents to treatment at St. Mary's (everything)
//! and to a 30-day lab follow-up at City General (lab results only); City
//! General reads a lab result, is refused the imaging report, and is cut
//! off when the patient revokes; an emergency physician at City General
//! breaks the glass; the patient reads who saw the record; a misfiled
//! document is erased with a signed receipt. Along the way the node
//! restarts, meets the writer lock, crashes mid-commit and has its file
//! tampered with. Days pass on a simulated clock (the ledger's clock is
//! replaceable), so the whole run takes a few seconds. The directory lives
//! under the system temporary directory and is removed at the end.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use medledger::log::block::BlockHeader;
use medledger::log::state::AccessEntry;
use medledger::store::dir::LEDGER_FILE;
use medledger::store::frame::{FRAME_PREFIX, FrameKind, HEADER_LEN, SYNC, push_frame, scan};
use medledger::{
    Actions, Basis, Category, Consent, Decision, DenyReason, Error, Genesis, KdfParams, Keypair,
    Ledger, NewRecord, Purpose, Purposes, RecordId, Roles, Scope, now_ms,
};

type DemoResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

const FHIR: &str = "application/fhir+json";
const MINUTE_MS: u64 = 60 * 1000;
const HOUR_MS: u64 = 60 * MINUTE_MS;
const DAY_MS: u64 = 24 * HOUR_MS;

// Fictitious clinical documents (no real patient, no real values).
const LAB_V1: &str = r#"{"resourceType":"Observation","status":"final","code":{"text":"Serum potassium"},"valueQuantity":{"value":6.8,"unit":"mmol/L"},"subject":{"display":"FICTITIOUS TEST PATIENT"}}"#;
const LAB_V2: &str = r#"{"resourceType":"Observation","status":"corrected","code":{"text":"Serum potassium"},"valueQuantity":{"value":4.2,"unit":"mmol/L"},"note":[{"text":"Re-run: first sample haemolysed"}]}"#;
const LAB_HBA1C: &str = r#"{"resourceType":"Observation","status":"final","code":{"text":"HbA1c"},"valueQuantity":{"value":6.9,"unit":"%"}}"#;
const MEDS: &str = r#"{"resourceType":"List","title":"Current medications","entry":[{"item":{"display":"Metformin 500 mg twice daily"}},{"item":{"display":"Lisinopril 10 mg daily"}}]}"#;
const ALLERGY: &str = r#"{"resourceType":"AllergyIntolerance","code":{"text":"Penicillin"},"reaction":[{"manifestation":[{"text":"Anaphylaxis"}],"severity":"severe"}]}"#;
const IMAGING: &str = r#"{"resourceType":"DiagnosticReport","status":"final","code":{"text":"Chest X-ray, 2 views"},"conclusion":"No acute cardiopulmonary findings."}"#;
const MISFILED: &str = r#"{"resourceType":"DocumentReference","description":"Discharge letter of ANOTHER fictitious patient, filed here by mistake"}"#;

fn main() -> DemoResult {
    let run = Instant::now();
    println!("medledger hospital demo (all data below is fictitious)");

    // ---- 1. The consortium --------------------------------------------------
    let admin = Keypair::generate(); // registration desk
    let st_marys_ehr = Keypair::generate(); // St. Mary's EHR system (provider)
    let st_marys_val = Keypair::generate();
    let city_ehr = Keypair::generate(); // City General's EHR system (provider)
    let city_val = Keypair::generate();
    let city_ed = Keypair::generate(); // an emergency physician at City General
    let city_custodian = Arc::new(Keypair::generate()); // City General's key escrow
    let privacy_office = Keypair::generate(); // reviews break-glass reads (auditor)
    let hie_val = Keypair::generate(); // Regional Health Information Exchange
    let founders = vec![
        admin.participant(Roles::ADMIN, "Registration desk"),
        st_marys_val.participant(Roles::VALIDATOR, "St. Mary's Hospital validator"),
        city_val.participant(Roles::VALIDATOR, "City General Hospital validator"),
        hie_val.participant(Roles::VALIDATOR, "Regional HIE validator"),
    ];
    let genesis = Genesis::new("Regional care consortium (demo)", 2, founders)?;
    // A fresh ledger directory, removed at the end (or when a step fails).
    let dir = std::env::temp_dir().join(format!("medledger-demo-{}", std::process::id()));
    let _cleanup = RemoveOnDrop(dir.clone());
    let log = dir.join(LEDGER_FILE);
    let ledger = Ledger::create_dir(&dir, genesis, &[&st_marys_val, &hie_val])?;
    // Days pass on a simulated clock; the demo starts on day 0 at 08:00.
    let clock = SimClock::new(now_ms());
    // This node seals blocks with two of the three validator keys (in a
    // real consortium the second seal comes from another institution's
    // node), so an audited read commits its own access event at once.
    let node = NodeKeys {
        validators: vec![Arc::new(city_val), Arc::new(hie_val)],
        custodian: city_custodian.clone(),
    };
    let ledger = ledger.with_clock(clock.source());
    section(
        &clock,
        "1. A consortium of two hospitals and a health information exchange",
    );
    println!("ledger directory   {}", dir.display());
    println!("ledger id          {}", ledger.id().to_hex());
    println!("validators         St. Mary's, City General, Regional HIE (2-of-3)");
    for (kp, roles, role, label) in [
        (
            &st_marys_ehr,
            Roles::PROVIDER,
            "provider",
            "St. Mary's Hospital EHR",
        ),
        (
            &city_ehr,
            Roles::PROVIDER,
            "provider",
            "City General Hospital EHR",
        ),
        (
            &city_ed,
            Roles::PROVIDER,
            "provider",
            "City General emergency physician",
        ),
        (
            &*city_custodian,
            Roles::CUSTODIAN,
            "custodian",
            "City General key custodian",
        ),
        (
            &privacy_office,
            Roles::AUDITOR,
            "auditor",
            "Consortium privacy office",
        ),
    ] {
        ledger.register(&admin, kp.participant(roles, label))?;
        println!("registered         {label:<33} {role:<9} id {}", kp.id());
    }
    node.attach(&ledger)?;
    println!("this node          holds 2 validator keys and City General's custodian key");

    // ---- 2. The patient -----------------------------------------------------
    section(&clock, "2. A patient joins with their own app key");
    let patient_app = Keypair::generate();
    ledger.register(
        &admin,
        patient_app.participant(Roles::PATIENT, "patient app"),
    )?;
    println!(
        "registered         {:<33} {:<9} id {}",
        "patient app",
        "patient",
        patient_app.id()
    );
    show_block(&node.commit(&ledger)?);
    // The app backs its secret key up under a passphrase (Argon2id + AES-GCM).
    let passphrase = b"correct horse battery staple (demo)";
    let backup = patient_app.export_encrypted_with(passphrase, KdfParams::default())?;
    let patient = Keypair::import_encrypted(&backup, passphrase)?;
    println!(
        "key backup         {} bytes; restored with the passphrase -> same id: {}",
        backup.len(),
        patient.id() == patient_app.id()
    );
    let e = refused(Keypair::import_encrypted(&backup, b"guess"), |e| {
        matches!(e, Error::WrongPassphrase)
    })?;
    println!("wrong passphrase   refused: {e}");

    // ---- 3. Consent -----------------------------------------------------------
    section(&clock, "3. The patient grants consent");
    let now = ledger.now();
    ledger.grant(
        &patient,
        &Consent {
            patient: patient.id(),
            grantee: st_marys_ehr.id(),
            actions: Actions::ALL, // read, append, amend
            purposes: Purposes::of(&[Purpose::Treat]),
            scope: Scope {
                all_categories: true,
                ..Scope::default()
            },
            not_before: now,
            not_after: now + 365 * DAY_MS,
        },
    )?;
    let city_consent = ledger.grant(
        &patient,
        &Consent {
            patient: patient.id(),
            grantee: city_ehr.id(),
            actions: Actions::READ,
            purposes: Purposes::of(&[Purpose::Treat]),
            scope: Scope {
                categories: vec![Category::new("lab")?],
                ..Scope::default()
            },
            not_before: now,
            not_after: now + 30 * DAY_MS,
        },
    )?;
    show_block(&node.commit(&ledger)?);
    show_consents(&ledger, &patient, &clock)?;

    // ---- 4. Records -------------------------------------------------------------
    clock.set(0, 9, 40);
    section(
        &clock,
        "4. St. Mary's records results; each category gets its own key",
    );
    let rec = |category, payload: &'static str| NewRecord {
        patient: patient.id(),
        category,
        content_type: FHIR,
        payload: payload.as_bytes(),
    };
    let mut names: HashMap<RecordId, &str> = HashMap::new();
    let mut append = |what: &'static str, category, payload| -> DemoResult<RecordId> {
        let id = ledger.append_record(&st_marys_ehr, rec(category, payload))?;
        names.insert(id, what);
        println!("St. Mary's         {what:<18} record {id}  ({category})");
        Ok(id)
    };
    let lab = append("potassium v1", "lab", LAB_V1)?;
    let meds = append("medication list", "medication", MEDS)?;
    let allergy = append("allergy", "allergy", ALLERGY)?;
    let imaging = append("chest X-ray", "imaging", IMAGING)?;
    let misfiled = append("discharge letter", "note", MISFILED)?;
    show_block(&node.commit(&ledger)?);
    println!(
        "key epochs         lab {}, imaging {}: sealed to the patient, St. Mary's and the \
         custodian, and for lab also to City General",
        ledger.record_info(&lab)?.header.key_epoch,
        ledger.record_info(&imaging)?.header.key_epoch
    );

    // ---- 5. Amendment ---------------------------------------------------------
    clock.set(1, 11, 5);
    section(
        &clock,
        "5. St. Mary's corrects the lab result (a new version)",
    );
    let lab_v2 = ledger.amend_record(&st_marys_ehr, &lab, FHIR, LAB_V2.as_bytes())?;
    names.insert(lab_v2, "potassium v2");
    show_block(&node.commit(&ledger)?);
    for id in ledger.versions(&lab)? {
        let info = ledger.record_info(&id)?;
        let status = match info.superseded_by {
            Some(next) => format!("superseded by {next}"),
            None => "current".to_owned(),
        };
        println!(
            "version {}          record {id}  block {}  {status}",
            info.header.version, info.height
        );
    }

    // ---- 6. Bulk import -------------------------------------------------------
    clock.set(2, 7, 0);
    section(
        &clock,
        "6. St. Mary's imports 1,000 historical notes in one transaction",
    );
    let notes: Vec<String> = (0..1000)
        .map(|i| {
            format!(
                r#"{{"resourceType":"DocumentReference","id":"hist-{i:04}","description":"Historical progress note {i} (fictitious)"}}"#
            )
        })
        .collect();
    let batch: Vec<NewRecord<'_>> = notes
        .iter()
        .map(|n| NewRecord {
            patient: patient.id(),
            category: "note",
            content_type: FHIR,
            payload: n.as_bytes(),
        })
        .collect();
    let started = Instant::now();
    let note_ids = ledger.append_batch(&st_marys_ehr, &batch)?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "append_batch       {} records, 1 signature, {:.1} ms ({:.0} records/s)",
        note_ids.len(),
        secs * 1e3,
        note_ids.len() as f64 / secs.max(1e-9)
    );
    show_block(&node.commit(&ledger)?);

    // ---- 7. Restart -----------------------------------------------------------
    section(
        &clock,
        "7. The node restarts: every acknowledged commit is on disk",
    );
    let head = ledger.head()?;
    drop(ledger); // closes ledger.log and releases the writer lock
    let ledger = reopen(&dir, &head, &clock, &node)?;

    // ---- 8. Reads under consent -------------------------------------------------
    clock.set(3, 10, 15);
    section(&clock, "8. Every read is decided, recorded, then decrypted");
    for (what, id) in [
        ("potassium v2", &lab_v2),
        ("medication", &meds),
        ("chest X-ray", &imaging),
    ] {
        let r = ledger.read_record(&patient, id, Purpose::PatientRequest)?;
        println!(
            "patient (PATRQT)   {what:<13} {}",
            String::from_utf8_lossy(&r.plaintext)
        );
    }
    let started = Instant::now();
    let mut bytes = 0;
    for r in ledger.read_records(&patient, &note_ids, Purpose::PatientRequest)? {
        bytes += r?.plaintext.len();
    }
    println!(
        "patient (PATRQT)   {} notes in one audited read ({bytes} bytes, {:.1} ms, one access \
         transaction)",
        note_ids.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    clock.set(3, 14, 30);
    let r = ledger.read_record(&city_ehr, &lab_v2, Purpose::Treat)?;
    println!(
        "City General TREAT potassium v2  permitted by consent {city_consent}: {} bytes",
        r.plaintext.len()
    );
    let e = refused(
        ledger.read_record(&city_ehr, &imaging, Purpose::Treat),
        |e| denied(e, DenyReason::NoConsent),
    )?;
    println!("City General TREAT chest X-ray   {e}");
    let e = refused(
        ledger.read_record(&city_ehr, &lab_v2, Purpose::Payment),
        |e| denied(e, DenyReason::WrongPurpose),
    )?;
    println!("City General HPAYMT potassium v2 {e}");

    // ---- 9. Revocation ----------------------------------------------------------
    clock.set(10, 18, 0);
    section(&clock, "9. The patient revokes City General's consent");
    let before = ledger.record_info(&lab_v2)?.header.key_epoch;
    ledger.revoke(&patient, &city_consent)?;
    show_block(&node.commit(&ledger)?);
    let e = refused(
        ledger.read_record(&city_ehr, &lab_v2, Purpose::Treat),
        |e| denied(e, DenyReason::Revoked),
    )?;
    println!("City General TREAT potassium v2  {e}");
    clock.set(11, 9, 0);
    let hba1c = ledger.append_record(&st_marys_ehr, rec("lab", LAB_HBA1C))?;
    names.insert(hba1c, "HbA1c");
    show_block(&node.commit(&ledger)?);
    let after = ledger.record_info(&hba1c)?.header.key_epoch;
    println!("St. Mary's         new lab result (HbA1c) record {hba1c}");
    println!(
        "key epoch          lab moved from epoch {before} to {after} at the revocation; epoch \
         {after} is sealed to the patient, St. Mary's and the custodian only"
    );
    let e = refused(ledger.read_record(&city_ehr, &hba1c, Purpose::Treat), |e| {
        denied(e, DenyReason::Revoked)
    })?;
    println!("City General TREAT HbA1c         {e}");
    println!("                   (what City General decrypted before day 10 stays with it)");

    // ---- 10. Break-glass --------------------------------------------------------
    clock.set(20, 2, 14);
    section(
        &clock,
        "10. Emergency: the patient arrives unresponsive at City General",
    );
    let e = refused(
        ledger.read_record(&city_ed, &meds, Purpose::EmergencyTreat),
        |e| denied(e, DenyReason::NoConsent),
    )?;
    println!("ED physician ETREAT medication   {e}");
    let bg = ledger.break_glass(
        &city_ed,
        &patient.id(),
        Purpose::EmergencyTreat,
        "Unresponsive on arrival; medication and allergy history needed",
        4 * HOUR_MS,
    )?;
    show_block(&node.commit(&ledger)?);
    println!("break-glass        declared {bg}: ETREAT for 4 hours, custodian releases keys");
    clock.set(20, 2, 16);
    let wanted = [meds, allergy, hba1c];
    for (id, r) in
        wanted
            .iter()
            .zip(ledger.read_records(&city_ed, &wanted, Purpose::EmergencyTreat)?)
    {
        let r = r?;
        println!(
            "ED physician ETREAT {:<16}{}",
            names.get(id).copied().unwrap_or("record"),
            String::from_utf8_lossy(&r.plaintext)
        );
    }
    clock.set(20, 7, 0);
    let e = refused(
        ledger.read_record(&city_ed, &meds, Purpose::EmergencyTreat),
        |e| denied(e, DenyReason::NoConsent),
    )?;
    println!("ED physician, window over        {e}");
    clock.set(21, 9, 30);
    let reviews = ledger.break_glass_reviews(&privacy_office.id())?;
    println!(
        "privacy office     {} break-glass reads flagged for review:",
        reviews.len()
    );
    for e in &reviews {
        println!(
            "                   {}  {:<32} {}",
            clock.show(e.time),
            label(&ledger, e)?,
            names.get(&e.record).copied().unwrap_or("record")
        );
    }

    // ---- 11. Who saw my record ---------------------------------------------------
    section(&clock, "11. The patient asks: who saw my record?");
    let entries = ledger.access_log(&patient.id(), &patient.id())?;
    let own = entries.iter().filter(|e| e.reader == patient.id()).count();
    println!(
        "{:<12}  {:<32}  {:<17} {:<10} {:<7} outcome",
        "when", "who", "record", "category", "purpose"
    );
    for e in entries.iter().filter(|e| e.reader != patient.id()) {
        println!(
            "{:<12}  {:<32}  {:<17} {:<10} {:<7} {}",
            clock.show(e.time),
            label(&ledger, e)?,
            names.get(&e.record).copied().unwrap_or("record"),
            e.category.as_str(),
            e.purpose.code(),
            outcome(&e.decision)
        );
    }
    println!("(and {own} reads by the patient's own app)");
    show_consents(&ledger, &patient, &clock)?;

    // ---- 12. One writer --------------------------------------------------------
    section(
        &clock,
        "12. One writer at a time; read-only observers beside it",
    );
    let e = refused(Ledger::open_dir(&dir), |e| matches!(e, Error::Denied(_)))?;
    println!("second writer      refused: {e}");
    let (observer, _) = Ledger::open_dir_read_only(&dir)?;
    println!("read-only open     verify -> {}", observer.verify()?);
    let e = refused(
        observer.read_record(&patient, &lab_v2, Purpose::PatientRequest),
        |e| matches!(e, Error::Denied(_)),
    )?;
    println!("read-only read     refused: {e}");
    drop(observer);

    // ---- 13. Verification ------------------------------------------------------
    section(
        &clock,
        "13. Anyone holding the stored bytes can verify the whole chain",
    );
    let started = Instant::now();
    let report = ledger.verify()?;
    println!("{report}");
    println!(
        "(replayed from genesis in {:.1} ms: every signature, seal, consent, key epoch and \
         access decision)",
        started.elapsed().as_secs_f64() * 1e3
    );

    // ---- 14. Crash ------------------------------------------------------------
    section(&clock, "14. A crash in the middle of a commit");
    let head = ledger.head()?;
    drop(ledger);
    // What a power cut during a commit's write leaves: a payload frame of a
    // block that never committed, then the start of its block frame (sync
    // marker, a length beyond the end of the file, kind, garbage).
    let mut torn = Vec::new();
    push_frame(&mut torn, FrameKind::Payload, &[&[0x5a; 32], &[0xa5; 120]])?;
    torn.extend_from_slice(SYNC);
    torn.extend_from_slice(&4096u32.to_le_bytes());
    torn.push(FrameKind::Block as u8);
    torn.extend((0..160u8).map(|i| i.wrapping_mul(37)));
    OpenOptions::new()
        .append(true)
        .open(&log)?
        .write_all(&torn)?;
    let n = torn.len();
    println!("crash              left {n} unacknowledged bytes at the end of ledger.log");
    let ledger = reopen(&dir, &head, &clock, &node)?;

    // ---- 15. Tampering --------------------------------------------------------
    section(
        &clock,
        "15. Tampering with ledger.log is detected and located",
    );
    // (a) Note #417's ciphertext, changed behind the running node's back. Its
    // payload frame is found by its digest, which is on chain.
    let victim = note_ids.get(417).ok_or("no note 417")?;
    let digest = ledger.record_info(victim)?.header.ciphertext_digest;
    let bytes = std::fs::read(&log)?;
    let frames = scan(&mut bytes.as_slice(), HEADER_LEN as u64);
    let frames = frames.map_err(|e| format!("scan: {e:?}"))?.frames;
    let frame = frames
        .iter()
        .find(|f| slice(&bytes, f.body_offset, 32).ok() == Some(&digest.0[..]))
        .ok_or("note 417's payload frame not found")?;
    let (at, size) = (frame.body_offset + 32 + 20, bytes.len());
    flip(&log, at)?;
    println!("flipped            byte {at} of {size} in ledger.log (note #417's ciphertext)");
    println!("verify   -> {}", ledger.verify()?);
    let e = refused(
        ledger.read_record(&patient, victim, Purpose::PatientRequest),
        |e| matches!(e, Error::Tampered(_)),
    )?;
    println!("read     -> fails closed (the attempt is logged, nothing decrypted): {e}");
    let head = ledger.head()?;
    drop(ledger);
    let e = refused(Ledger::open_dir(&dir), |e| matches!(e, Error::Corrupt(_)))?;
    println!("open_dir -> refused: {e}");
    flip(&log, at)?;
    println!("restored the byte:");
    let ledger = reopen(&dir, &head, &clock, &node)?;
    println!("verify   -> {}", ledger.verify()?);

    // (b) The last 64 bytes of the last block are the signature of its last
    // transaction (the patient's logged read above). Flip a byte of it and
    // rebuild the frame with a valid CRC: the file looks intact, only the
    // chain can tell.
    let bytes = std::fs::read(&log)?; // also the copy that restores the file
    let frames = scan(&mut bytes.as_slice(), HEADER_LEN as u64);
    let frames = frames.map_err(|e| format!("scan: {e:?}"))?.frames;
    let block = frames.iter().rfind(|f| f.kind == FrameKind::Block);
    let block = block.ok_or("no block frame")?;
    let len = usize::try_from(block.body_len)?;
    let mut body = slice(&bytes, block.body_offset, len)?.to_vec();
    let sig = body.len().checked_sub(40).and_then(|i| body.get_mut(i));
    *sig.ok_or("block too short")? ^= 0x01;
    let mut rebuilt = Vec::new();
    push_frame(&mut rebuilt, FrameKind::Block, &[&body])?;
    let at = block.body_offset - FRAME_PREFIX as u64;
    OpenOptions::new()
        .write(true)
        .open(&log)?
        .write_all_at(&rebuilt, at)?;
    println!("\nrewrote            last block frame at {at}: a signature byte flipped, CRC redone");
    println!("verify   -> {}", ledger.verify()?);
    drop(ledger);
    let e = refused(Ledger::open_dir(&dir), |e| matches!(e, Error::Corrupt(_)))?;
    println!("open_dir -> refused: {e}");
    std::fs::write(&log, &bytes)?;
    println!("restored ledger.log:");
    let ledger = reopen(&dir, &head, &clock, &node)?;

    // ---- 16. Erasure -----------------------------------------------------------
    clock.set(25, 16, 0);
    section(
        &clock,
        "16. The patient has the misfiled letter erased (GDPR art. 17)",
    );
    // The letter's ciphertext as stored in ledger.log (found by its digest).
    let digest = ledger.record_info(&misfiled)?.header.ciphertext_digest;
    let bytes = std::fs::read(&log)?;
    let frames = scan(&mut bytes.as_slice(), HEADER_LEN as u64);
    let frames = frames.map_err(|e| format!("scan: {e:?}"))?.frames;
    let frame = frames
        .iter()
        .find(|f| slice(&bytes, f.body_offset, 32).ok() == Some(&digest.0[..]))
        .ok_or("the letter's payload frame not found")?;
    let len = usize::try_from(frame.body_len)? - 32;
    let ciphertext = slice(&bytes, frame.body_offset + 32, len)?.to_vec();
    let receipts = ledger.erase(&patient, &[misfiled])?;
    let validators = ledger.validators()?;
    for r in &receipts {
        r.verify(&validators)?;
        println!(
            "receipt            record {} (ciphertext digest {}) erased by the tx at leaf {} in \
             block {}",
            r.record, r.ciphertext_digest, r.leaf, r.height
        );
        println!(
            "                   signed by validator {}: signature verifies",
            r.signer
        );
    }
    let gone = !std::fs::read(&log)?
        .windows(ciphertext.len())
        .any(|w| w == ciphertext.as_slice());
    println!(
        "ledger.log         the letter's {} ciphertext bytes are overwritten (gone: {gone})",
        ciphertext.len()
    );
    if !gone {
        return Err("the erased ciphertext is still in ledger.log".into());
    }
    let e = refused(
        ledger.read_record(&patient, &misfiled, Purpose::PatientRequest),
        |e| denied(e, DenyReason::Erased),
    )?;
    println!("patient reads it   {e}");
    println!("verify   -> {}", ledger.verify()?);

    // ---- 17. Summary -----------------------------------------------------------
    section(&clock, "17. What this demo showed");
    for line in [
        "blocks commit only with a 2-of-3 validator quorum; every transaction is signed",
        "payloads are encrypted per record; category keys are sealed only to entitled readers",
        "consent is checked on every read and fails closed: no consent, wrong purpose, revoked",
        "every read attempt is recorded; a permitted one is committed before the plaintext is released",
        "revocation starts a new key epoch: later records are unreadable to the revoked reader",
        "break-glass is time-limited, served by the custodian and flagged for review",
        "the patient sees who read what, when, why and on what basis",
        "erasure removes the ciphertext, keeps the digest, and yields a signed receipt",
        "amendments add versions; a 1,000-record import costs one signature",
        "verification replays every rule from genesis, access decisions included",
        "a crash mid-commit leaves a torn tail: it is cut and reported, the head is kept",
        "on-disk damage is refused with its offset; a re-checksummed frame still fails the chain",
    ] {
        println!("  * {line}");
    }
    drop(ledger);
    std::fs::remove_dir_all(&dir)?;
    println!("\nremoved {}", dir.display());
    println!("ran in {:.1} s", run.elapsed().as_secs_f64());
    Ok(())
}

/// The keys this node holds for its institutions.
struct NodeKeys {
    validators: Vec<Arc<Keypair>>,
    custodian: Arc<Keypair>,
}

impl NodeKeys {
    /// Attaches the validator and custodian keys to a (re)opened ledger.
    fn attach(&self, ledger: &Ledger) -> DemoResult {
        ledger.attach_validators(self.validators.clone())?;
        ledger.attach_custodian(self.custodian.clone())?;
        Ok(())
    }

    /// Seals and commits what is pending.
    fn commit(&self, ledger: &Ledger) -> DemoResult<BlockHeader> {
        let keys: Vec<&Keypair> = self.validators.iter().map(|k| k.as_ref()).collect();
        Ok(ledger.commit_block(&keys)?)
    }
}

/// A clock that moves only when the story says so (ms since the Unix
/// epoch), starting at the real time, shown as day 0 08:00.
#[derive(Clone)]
struct SimClock {
    start: u64,
    now: Arc<AtomicU64>,
}

impl SimClock {
    fn new(start: u64) -> Self {
        SimClock {
            start,
            now: Arc::new(AtomicU64::new(start)),
        }
    }

    /// The time source for `Ledger::with_clock`.
    fn source(&self) -> impl Fn() -> u64 + Send + Sync + 'static {
        let now = self.now.clone();
        move || now.load(Ordering::SeqCst)
    }

    /// Moves the clock forward to `day` at `hh:mm` (never backwards).
    fn set(&self, day: u64, hh: u64, mm: u64) {
        let t = self.start + day * DAY_MS + hh * HOUR_MS + mm * MINUTE_MS - 8 * HOUR_MS;
        self.now.fetch_max(t, Ordering::SeqCst);
    }

    /// `t` as "day N hh:mm".
    fn show(&self, t: u64) -> String {
        let m = t.saturating_sub(self.start) / MINUTE_MS + 8 * 60;
        format!("day {} {:02}:{:02}", m / 1440, m / 60 % 24, m % 60)
    }
}

/// Removes the demo directory when dropped (also when a step fails).
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0); // already gone on success
    }
}

/// Reopens the ledger directory for writing with the node's clock and
/// keys, prints its open report, and checks that the head is the one the
/// ledger had when it was closed.
fn reopen(dir: &Path, head: &BlockHeader, clock: &SimClock, node: &NodeKeys) -> DemoResult<Ledger> {
    let (ledger, report) = Ledger::open_dir(dir)?;
    let ledger = ledger.with_clock(clock.source());
    node.attach(&ledger)?;
    println!("open_dir           {report:?}");
    let (height, same) = (ledger.head()?.height, ledger.head()? == *head);
    println!("head               block {height} (unchanged: {same})");
    if !same {
        return Err("the head moved across the reopen".into());
    }
    Ok(ledger)
}

/// Prints the patient's consents.
fn show_consents(ledger: &Ledger, patient: &Keypair, clock: &SimClock) -> DemoResult {
    for c in ledger.consents(&patient.id(), &patient.id())? {
        let k = &c.consent;
        let actions: Vec<&str> = [
            (Actions::READ, "read"),
            (Actions::APPEND, "append"),
            (Actions::AMEND, "amend"),
        ]
        .into_iter()
        .filter(|(a, _)| k.actions.contains(*a))
        .map(|(_, n)| n)
        .collect();
        let purposes: Vec<&str> = k.purposes.iter().map(Purpose::code).collect();
        let scope = if k.scope.all_categories {
            "all categories".to_owned()
        } else {
            let cats: Vec<&str> = k.scope.categories.iter().map(Category::as_str).collect();
            cats.join(",")
        };
        let status = match c.revoked_at {
            Some(t) => format!("REVOKED {}", clock.show(t)),
            None => "active".to_owned(),
        };
        println!(
            "consent {}  {:<26} {:<18} {:<6} {:<15} until {}  {status}",
            c.id,
            ledger.participant(&k.grantee)?.label,
            actions.join("+"),
            purposes.join(","),
            scope,
            clock.show(k.not_after)
        );
    }
    Ok(())
}

/// The reader's registered label.
fn label(ledger: &Ledger, e: &AccessEntry) -> DemoResult<String> {
    Ok(ledger.participant(&e.reader)?.label)
}

/// An access decision in words.
fn outcome(d: &Decision) -> String {
    match d {
        Decision::Permit(Basis::Patient) => "permitted: the patient".into(),
        Decision::Permit(Basis::Guardian) => "permitted: guardian".into(),
        Decision::Permit(Basis::Author) => "permitted: author".into(),
        Decision::Permit(Basis::Consent(id)) => format!("permitted: consent {id}"),
        Decision::Permit(Basis::BreakGlass(id)) => {
            format!("permitted: BREAK-GLASS {id}, flagged for review")
        }
        Decision::Deny(reason) => format!("DENIED: {reason}"),
    }
}

/// True when `e` is an access denial for `reason`.
fn denied(e: &Error, reason: DenyReason) -> bool {
    matches!(e, Error::AccessDenied { reason: r, .. } if *r == reason)
}

/// The `len` bytes of `bytes` at offset `at`.
fn slice(bytes: &[u8], at: u64, len: usize) -> DemoResult<&[u8]> {
    let start = usize::try_from(at)?;
    Ok(bytes
        .get(start..start + len)
        .ok_or("offset beyond the file")?)
}

/// Flips the lowest bit of the byte at `at` in the file, in place.
fn flip(path: &Path, at: u64) -> DemoResult {
    let f = OpenOptions::new().read(true).write(true).open(path)?;
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, at)?;
    Ok(f.write_all_at(&b.map(|x| x ^ 0x01), at)?)
}

/// Prints a section heading with the simulated time.
fn section(clock: &SimClock, title: &str) {
    println!(
        "\n== [{}] {title}",
        clock.show(clock.now.load(Ordering::SeqCst))
    );
}

/// Prints a committed block header in one line.
fn show_block(h: &BlockHeader) {
    println!(
        "committed          block {} with {} tx(s), log size {}, log root {}",
        h.height, h.tx_count, h.log_size, h.log_root
    );
}

/// Expects `r` to fail with an error matching `expected`; returns that error.
/// Success, or any other error, aborts the demo.
fn refused<T>(r: Result<T, Error>, expected: impl Fn(&Error) -> bool) -> DemoResult<Error> {
    match r {
        Ok(_) => Err("expected a refusal, but the operation succeeded".into()),
        Err(e) if expected(&e) => Ok(e),
        Err(e) => Err(e.into()),
    }
}
