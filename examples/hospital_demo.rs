//! The medledger hospital demo: two hospitals and a health information
//! exchange share one tamper-evident, encrypted ledger of a patient's
//! records, kept durably in a ledger directory (`<dir>/ledger.log`).
//!
//! Run with `cargo run --release --example hospital_demo`. Every payload is a
//! small FHIR-like JSON string with made-up data; only encrypted payloads and
//! pseudonymous ids are stored, never personal data in the clear. The node
//! also restarts, meets the writer lock, crashes mid-commit and has its file
//! tampered with. The directory lives under the system temporary directory
//! and is removed at the end.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use medledger::log::block::BlockHeader;
use medledger::store::dir::LEDGER_FILE;
use medledger::store::frame::{FRAME_PREFIX, FrameKind, HEADER_LEN, SYNC, push_frame, scan};
use medledger::{Error, Genesis, KdfParams, Keypair, Ledger, NewRecord, Roles};

type DemoResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

const FHIR: &str = "application/fhir+json";

// Fictitious clinical documents (no real patient, no real values).
const LAB_V1: &str = r#"{"resourceType":"Observation","status":"final","code":{"text":"Serum potassium"},"valueQuantity":{"value":6.8,"unit":"mmol/L"},"subject":{"display":"FICTITIOUS TEST PATIENT"}}"#;
const LAB_V2: &str = r#"{"resourceType":"Observation","status":"corrected","code":{"text":"Serum potassium"},"valueQuantity":{"value":4.2,"unit":"mmol/L"},"note":[{"text":"Re-run: first sample haemolysed"}]}"#;
const MEDS: &str = r#"{"resourceType":"List","title":"Current medications","entry":[{"item":{"display":"Metformin 500 mg twice daily"}},{"item":{"display":"Lisinopril 10 mg daily"}}]}"#;
const IMAGING: &str = r#"{"resourceType":"DiagnosticReport","status":"final","code":{"text":"Chest X-ray, 2 views"},"conclusion":"No acute cardiopulmonary findings."}"#;

fn main() -> DemoResult {
    println!("medledger hospital demo (all data below is fictitious)");

    // ---- 1. The consortium --------------------------------------------------
    section("1. A consortium of two hospitals and a health information exchange");
    let admin = Keypair::generate(); // registration desk
    let st_marys_ehr = Keypair::generate(); // St. Mary's EHR system (provider)
    let st_marys_val = Keypair::generate();
    let city_ehr = Keypair::generate(); // City General's EHR system (provider)
    let city_val = Keypair::generate();
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
    println!("ledger directory   {}", dir.display());
    println!("ledger id          {}", ledger.id().to_hex());
    println!("validators         St. Mary's, City General, Regional HIE (2-of-3)");
    for (kp, label) in [
        (&st_marys_ehr, "St. Mary's Hospital EHR"),
        (&city_ehr, "City General Hospital EHR"),
    ] {
        ledger.register(&admin, kp.participant(Roles::PROVIDER, label))?;
        println!(
            "registered         {label:<26} {:<9} id {}",
            "provider",
            kp.id()
        );
    }
    // Blocks are sealed by any two of the three validators.
    let quorum = [&city_val, &hie_val];

    // ---- 2. The patient -----------------------------------------------------
    section("2. A patient joins with their own app key");
    let patient_app = Keypair::generate();
    ledger.register(
        &admin,
        patient_app.participant(Roles::PATIENT, "patient app"),
    )?;
    println!(
        "registered         {:<26} {:<9} id {}",
        "patient app",
        "patient",
        patient_app.id()
    );
    show_block(&ledger.commit_block(&quorum)?);
    // The app backs its secret key up under a passphrase (Argon2id + AES-GCM).
    let passphrase = b"correct horse battery staple (demo)";
    let backup = patient_app.export_encrypted_with(passphrase, KdfParams::default())?;
    let patient = Keypair::import_encrypted(&backup, passphrase)?;
    println!(
        "key backup         {} bytes; restored with the passphrase -> id {} (same: {})",
        backup.len(),
        patient.id(),
        patient.id() == patient_app.id()
    );
    let e = refused(Keypair::import_encrypted(&backup, b"guess"), |e| {
        matches!(e, Error::WrongPassphrase)
    })?;
    println!("wrong passphrase   refused: {e}");

    // ---- 3. Records from two hospitals --------------------------------------
    section("3. St. Mary's and City General add records");
    let rec = |category, payload: &'static str| NewRecord {
        patient: patient.id(),
        category,
        content_type: FHIR,
        payload: payload.as_bytes(),
    };
    let lab = ledger.append_record(&st_marys_ehr, rec("lab", LAB_V1))?;
    println!("St. Mary's         lab result         record {lab}");
    let meds = ledger.append_record(&st_marys_ehr, rec("medication", MEDS))?;
    println!("St. Mary's         medication list    record {meds}");
    let imaging = ledger.append_record(&city_ehr, rec("imaging", IMAGING))?;
    println!("City General       imaging report     record {imaging}");
    // The patient's `lab` key was opened by St. Mary's and wrapped only to
    // the patient and St. Mary's: City General holds no copy of it.
    let e = refused(ledger.append_record(&city_ehr, rec("lab", LAB_V1)), |e| {
        matches!(e, Error::Denied(_))
    })?;
    println!("City General       lab result         refused: {e}");
    println!("                   (consent-based sharing comes with the access-control release)");
    show_block(&ledger.commit_block(&quorum)?);

    // ---- 4. Amendment ---------------------------------------------------------
    section("4. St. Mary's corrects the lab result");
    let lab_v2 = ledger.amend_record(&st_marys_ehr, &lab, FHIR, LAB_V2.as_bytes())?;
    show_block(&ledger.commit_block(&quorum)?);
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

    // ---- 5. Bulk import -------------------------------------------------------
    section("5. St. Mary's imports 1,000 historical notes in one transaction");
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
    show_block(&ledger.commit_block(&quorum)?);

    // ---- 6. Restart -----------------------------------------------------------
    section("6. The node restarts: every acknowledged commit is on disk");
    let head = ledger.head()?;
    drop(ledger); // closes ledger.log and releases the writer lock
    let ledger = reopen(&dir, &head)?;
    let n = ledger.read_record(&patient, &lab_v2)?.plaintext.len();
    println!("patient reads      lab v2 after the restart ({n} bytes decrypted)");

    // ---- 7. Reads -------------------------------------------------------------
    section("7. Reading: the patient sees everything, other hospitals do not");
    for (what, id) in [
        ("lab v1", &lab),
        ("lab v2", &lab_v2),
        ("medication", &meds),
        ("imaging", &imaging),
    ] {
        let r = ledger.read_record(&patient, id)?;
        println!("{what:<11} {}", String::from_utf8_lossy(&r.plaintext));
    }
    let started = Instant::now();
    let mut bytes = 0;
    for id in &note_ids {
        bytes += ledger.read_record(&patient, id)?.plaintext.len();
    }
    println!(
        "notes       {} decrypted by the patient ({bytes} bytes, {:.1} ms)",
        note_ids.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    let e = refused(ledger.read_record(&city_ehr, &lab_v2), |e| {
        matches!(e, Error::Denied(_))
    })?;
    println!("City General reads St. Mary's lab -> refused: {e}");

    // ---- 8. One writer --------------------------------------------------------
    section("8. One writer at a time; read-only observers beside it");
    let e = refused(Ledger::open_dir(&dir), |e| matches!(e, Error::Denied(_)))?;
    println!("second writer      refused: {e}");
    let (observer, _) = Ledger::open_dir_read_only(&dir)?;
    println!("read-only open     verify -> {}", observer.verify()?);
    let e = refused(observer.read_record(&patient, &lab_v2), |e| {
        matches!(e, Error::Denied(_))
    })?;
    println!("read-only read     refused: {e}");
    drop(observer);

    // ---- 9. Verification ------------------------------------------------------
    section("9. Anyone holding the stored bytes can verify the whole chain");
    let started = Instant::now();
    let report = ledger.verify()?;
    println!("{report}");
    println!(
        "(replayed from genesis in {:.1} ms)",
        started.elapsed().as_secs_f64() * 1e3
    );

    // ---- 10. Crash ------------------------------------------------------------
    section("10. A crash in the middle of a commit");
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
    let ledger = reopen(&dir, &head)?;

    // ---- 11. Tampering --------------------------------------------------------
    section("11. Tampering with ledger.log is detected and located");
    // (a) Note #417's ciphertext, changed behind the running node's back. Its
    // payload frame is found by its digest, which is on chain.
    let victim = note_ids.get(417).ok_or("no note 417")?;
    let digest = ledger.record_info(victim)?.header.ciphertext_digest;
    let bytes = std::fs::read(&log)?; // also the copy that restores the file
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
    let e = refused(ledger.read_record(&patient, victim), |e| {
        matches!(e, Error::Tampered(_))
    })?;
    println!("read     -> fails closed: {e}");
    drop(ledger);
    let e = refused(Ledger::open_dir(&dir), |e| matches!(e, Error::Corrupt(_)))?;
    println!("open_dir -> refused: {e}");
    flip(&log, at)?;
    let (ledger, _) = Ledger::open_dir(&dir)?;
    let report = ledger.verify()?;
    println!("restored the byte: open_dir OK, verify -> {report}");

    // (b) The last 64 bytes of the last block are the signature of its one
    // transaction, the bulk import. Flip a byte of it and rebuild the frame
    // with a valid CRC: the file looks intact, only the chain can tell.
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
    let (ledger, _) = Ledger::open_dir(&dir)?;
    let report = ledger.verify()?;
    println!("restored ledger.log: open_dir OK, verify -> {report}");

    // ---- 12. Summary -----------------------------------------------------------
    section("12. What this demo showed");
    for line in [
        "blocks commit only with a 2-of-3 validator quorum; every transaction is signed",
        "payloads are encrypted per record; keys are wrapped to the patient and the author",
        "other hospitals are refused: no write without the category key, no read of others' records",
        "amendments add versions; earlier versions stay readable and linked",
        "a 1,000-record import costs one signature and one transaction",
        "verification replays from genesis and names the block, tx, record and field at fault",
        "a tampered ciphertext is never decrypted: reads fail closed",
        "the patient's key backup opens only with the right passphrase",
        "commits are synced to ledger.log before they are acknowledged; a restart replays them",
        "one writer holds the directory lock; read-only observers verify but never decrypt",
        "a crash mid-commit leaves a torn tail: it is cut and reported, the head is kept",
        "on-disk damage is refused with its offset; a re-checksummed frame still fails the chain",
    ] {
        println!("  * {line}");
    }
    drop(ledger);
    std::fs::remove_dir_all(&dir)?;
    println!("\nremoved {}", dir.display());
    Ok(())
}

/// Removes the demo directory when dropped (also when a step fails).
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0); // already gone on success
    }
}

/// Reopens the ledger directory for writing, prints its open report, and
/// checks that the head is the one the ledger had when it was closed.
fn reopen(dir: &Path, head: &BlockHeader) -> DemoResult<Ledger> {
    let (ledger, report) = Ledger::open_dir(dir)?;
    println!("open_dir           {report:?}");
    let (height, same) = (ledger.head()?.height, ledger.head()? == *head);
    println!("head               block {height} (unchanged: {same})");
    if !same {
        return Err("the head moved across the reopen".into());
    }
    Ok(ledger)
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

/// Prints a section heading.
fn section(title: &str) {
    println!("\n== {title}");
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
