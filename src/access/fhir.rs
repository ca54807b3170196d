//! Export of the access log and of consents as FHIR R5 (5.0.0) JSON:
//! [`audit_event`] / [`audit_events`] turn [`AccessEntry`] values (from
//! [`Ledger::access_log`](crate::Ledger::access_log) or
//! [`Ledger::break_glass_reviews`](crate::Ledger::break_glass_reviews)) into
//! `AuditEvent` resources, [`consent`] turns a [`ConsentState`] (from
//! [`Ledger::consents`](crate::Ledger::consents)) into a `Consent`, and
//! [`bundle`] wraps resources in a `Bundle`.
//!
//! The functions are pure: they read no ledger state and no clock (the
//! caller passes "now" where a status depends on it), so the same entry
//! always yields the same JSON. The output carries only pseudonymous
//! identifiers (participant, record, consent and ledger ids as lowercase
//! hex), category codes and coded purposes: no names, no record contents.
//! Participants, records, consents and break-glass declarations are
//! referenced by `identifier` (logical references), never by a server URL,
//! with these systems:
//!
//! | system                      | value                               |
//! |-----------------------------|-------------------------------------|
//! | [`PARTICIPANT_SYSTEM`]      | a participant id (patient, reader)  |
//! | [`LEDGER_SYSTEM`]           | the ledger id                       |
//! | [`RECORD_SYSTEM`]           | a record version id                 |
//! | [`CONSENT_SYSTEM`]          | a consent id (also the `Consent.id`)|
//! | [`BREAK_GLASS_SYSTEM`]      | a break-glass declaration id        |
//! | [`CATEGORY_SYSTEM`]         | a record category code (`lab`, …)   |
//!
//! Times are FHIR `instant`s in UTC with milliseconds
//! (`2024-05-01T09:30:00.250Z`), formatted here from milliseconds since
//! the Unix epoch (a few lines of civil-calendar arithmetic; no date crate
//! is needed for one UTC format).
//!
//! Mapping choices, which the validation script `scripts/test-fhir.sh`
//! checks against the `fhir.resources` R5 models:
//!
//! * **AuditEvent.** `category` DICOM `110110` *Patient Record*, `code`
//!   `restful-interaction#read`, `action` `R`; `recorded` and
//!   `occurredDateTime` the access transaction's time; `authorization` the
//!   stated purpose of use (`v3-ActReason`: `TREAT`, `ETREAT`, `BTG`, …);
//!   `patient` the record's patient; one `agent`, the reader
//!   (`requestor: true`); `source.observer` the ledger; `entity` the
//!   record version read (role *Domain Resource*, its category as a
//!   `detail`), plus, for a consent-based or break-glass read, the consent
//!   or break-glass declaration that permitted it (role *Security
//!   Resource*). R5's `basedOn` only admits orders and plans, so the
//!   authorizing consent is an `entity`, not a `basedOn`.
//! * **Outcome.** A permitted read is `audit-event-outcome#0` *Success*
//!   with the basis (patient, guardian, author, consent, break-glass) as
//!   `outcome.detail`; a denied read is `#4` *Minor failure* (the request
//!   was refused, the system worked) with the [`DenyReason`] as
//!   `outcome.detail` (code and explanation).
//! * **Break-glass flag.** A read permitted under a break-glass
//!   declaration carries `agent.authorization` = `v3-ActReason#BTG`
//!   whatever purpose was stated (`ETREAT` or `BTG`), the declaration as an
//!   `entity`, and `severity` `warning` (flagged for review). Plain
//!   permitted reads are `informational`, denied ones `notice`.
//! * **Consent.** R5 reads provisions as exceptions to `Consent.decision`
//!   ("provisions assumed to be a negation of the previous level"). A
//!   ledger consent permits *only* its grantee, actions, purposes and
//!   scope, so it is exported as `decision: deny` (the fail-closed base)
//!   with `permit` provisions naming the grantee as `actor`. Exporting it
//!   as `decision: permit` with those provisions would, read per R5, deny
//!   exactly what the patient allowed. See [`consent`].

use serde_json::{Map, Value, json};

use crate::crypto::hash::tagged_hash;
use crate::log::state::{AccessEntry, ConsentState};
use crate::model::{Actions, Basis, Decision, DenyReason, LedgerId, ParticipantId, Purpose};

/// FHIR version of every resource produced here.
pub const FHIR_VERSION: &str = "5.0.0";
/// Identifier system of participant ids (patients, readers, grantors).
pub const PARTICIPANT_SYSTEM: &str = "urn:medledger:participant";
/// Identifier system of ledger ids.
pub const LEDGER_SYSTEM: &str = "urn:medledger:ledger";
/// Identifier system of record version ids.
pub const RECORD_SYSTEM: &str = "urn:medledger:record";
/// Identifier system of consent ids.
pub const CONSENT_SYSTEM: &str = "urn:medledger:consent";
/// Identifier system of break-glass declaration ids.
pub const BREAK_GLASS_SYSTEM: &str = "urn:medledger:break-glass";
/// Code system of record categories (`lab`, `imaging`, …).
pub const CATEGORY_SYSTEM: &str = "urn:medledger:category";
/// Code system of the reasons a read was denied ([`DenyReason`]).
pub const DENY_REASON_SYSTEM: &str = "urn:medledger:deny-reason";
/// Code system of the grounds a read was permitted on ([`Basis`]).
pub const ACCESS_BASIS_SYSTEM: &str = "urn:medledger:access-basis";

/// HL7 v3 ActReason, home of the PurposeOfUse codes.
const ACT_REASON: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
const AUDIT_OUTCOME: &str = "http://terminology.hl7.org/CodeSystem/audit-event-outcome";
const DICOM: &str = "http://dicom.nema.org/resources/ontology/DCM";
const RESTFUL_INTERACTION: &str = "http://hl7.org/fhir/restful-interaction";
const OBJECT_ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";
const SOURCE_TYPE: &str = "http://terminology.hl7.org/CodeSystem/security-source-type";
const CONSENT_ACTION: &str = "http://terminology.hl7.org/CodeSystem/consentaction";
const PARTICIPATION_TYPE: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
const LOINC: &str = "http://loinc.org";

/// Hash label of the `urn:uuid:` full URLs [`bundle`] derives.
const FULL_URL_LABEL: &str = "medledger/v2/fhir-full-url";

/// Latest time a FHIR `instant` can express (its year has four digits):
/// 9999-12-31T23:59:59.999Z, in ms since the Unix epoch.
pub const MAX_INSTANT_MS: u64 = 253_402_300_799_999;

/// Hex digits of the ledger and record ids in an `AuditEvent.id`.
const ID_PREFIX_HEX: usize = 16;

/// The `AuditEvent` of one recorded read attempt, as a FHIR R5 JSON
/// resource. Its `id` is [`audit_event_id`] with occurrence 0: unique for
/// every entry except a record read twice in one access transaction, for
/// which [`audit_events`] numbers the repeats.
///
/// * permitted: `outcome.code` `0` (*Success*), the basis in
///   `outcome.detail`; a consent or break-glass declaration that permitted
///   the read is an extra `entity` (role `13` *Security Resource*)
///   identified in [`CONSENT_SYSTEM`] / [`BREAK_GLASS_SYSTEM`];
/// * break-glass: in addition `agent.authorization` `v3-ActReason#BTG`
///   and `severity` `warning`, so reviewers can select these events;
/// * denied: `outcome.code` `4` (*Minor failure*), the [`DenyReason`] in
///   `outcome.detail` (code from [`DENY_REASON_SYSTEM`] and its text),
///   `severity` `notice`.
///
/// `recorded` and `occurredDateTime` are the access transaction's time
/// (when the ledger decided and recorded the attempt); `authorization` is
/// the purpose of use the reader stated.
pub fn audit_event(ledger: &LedgerId, entry: &AccessEntry) -> Value {
    audit_event_numbered(ledger, entry, 0)
}

/// The `AuditEvent`s of a list of read attempts (e.g. a patient's whole
/// access log), in order, with unique ids: the n-th repeat (n ≥ 1) of the
/// same record in the same transaction gets [`audit_event_id`] with
/// occurrence n. Ids are stable across exports of any list that keeps
/// those repeats together (the patient's log, the break-glass review).
pub fn audit_events(ledger: &LedgerId, entries: &[AccessEntry]) -> Vec<Value> {
    let mut seen: std::collections::HashMap<(u64, crate::model::RecordId), u32> =
        std::collections::HashMap::new();
    entries
        .iter()
        .map(|e| {
            let n = seen.entry((e.position.leaf, e.record)).or_insert(0);
            let v = audit_event_numbered(ledger, e, *n);
            *n = n.saturating_add(1);
            v
        })
        .collect()
}

/// The logical id of the `AuditEvent` of `entry`:
/// `<ledger>-<leaf>-<record>` where `<ledger>` and `<record>` are the first
/// 16 hex digits of the ledger and record ids and `<leaf>` the access
/// transaction's log index (decimal), followed by `-<n>` (lowercase hex)
/// for `occurrence` n ≥ 1. At most 63 characters of `[a-z0-9-]`, so it
/// always matches the FHIR id rule `[A-Za-z0-9\-\.]{1,64}`.
pub fn audit_event_id(ledger: &LedgerId, entry: &AccessEntry, occurrence: u32) -> String {
    let mut id = format!(
        "{}-{}-{}",
        hex_prefix(&ledger.to_hex()),
        entry.position.leaf,
        hex_prefix(&entry.record.to_hex())
    );
    if occurrence > 0 {
        id.push_str(&format!("-{occurrence:x}"));
    }
    id
}

fn audit_event_numbered(ledger: &LedgerId, entry: &AccessEntry, occurrence: u32) -> Value {
    let time = instant(entry.time);
    let mut agent = json!({
        "who": participant_ref(&entry.reader),
        "requestor": true,
    });
    let mut entities = vec![json!({
        "what": {
            "identifier": identifier(RECORD_SYSTEM, &entry.record.to_hex()),
        },
        "role": concept(OBJECT_ROLE, "4", "Domain Resource"),
        "detail": [{
            "type": { "text": "record category" },
            "valueString": entry.category.as_str(),
        }],
    })];
    let (outcome, severity) = match entry.decision {
        Decision::Permit(basis) => {
            let (code, display) = basis_code(basis);
            match basis {
                Basis::Consent(id) => entities.push(json!({
                    "what": {
                        "type": "Consent",
                        "identifier": identifier(CONSENT_SYSTEM, &id.to_hex()),
                    },
                    "role": concept(OBJECT_ROLE, "13", "Security Resource"),
                })),
                Basis::BreakGlass(id) => {
                    entities.push(json!({
                        "what": {
                            "identifier": identifier(BREAK_GLASS_SYSTEM, &id.to_hex()),
                        },
                        "role": concept(OBJECT_ROLE, "13", "Security Resource"),
                    }));
                    if let Some(a) = agent.as_object_mut() {
                        a.insert(
                            "authorization".into(),
                            json!([purpose_concept(Purpose::BreakTheGlass)]),
                        );
                    }
                }
                Basis::Patient | Basis::Guardian | Basis::Author => {}
            }
            let severity = if matches!(basis, Basis::BreakGlass(_)) {
                "warning"
            } else {
                "informational"
            };
            let outcome = json!({
                "code": coding(AUDIT_OUTCOME, "0", "Success"),
                "detail": [{
                    "coding": [coding(ACCESS_BASIS_SYSTEM, code, display)],
                    "text": format!("permitted: {display}"),
                }],
            });
            (outcome, severity)
        }
        Decision::Deny(reason) => {
            let outcome = json!({
                "code": coding(AUDIT_OUTCOME, "4", "Minor failure"),
                "detail": [{
                    "coding": [coding(DENY_REASON_SYSTEM, deny_code(reason), reason.describe())],
                    "text": format!("denied: {}", reason.describe()),
                }],
            });
            (outcome, "notice")
        }
    };
    json!({
        "resourceType": "AuditEvent",
        "id": audit_event_id(ledger, entry, occurrence),
        "meta": { "source": ledger_uri(ledger) },
        "category": [concept(DICOM, "110110", "Patient Record")],
        "code": concept(RESTFUL_INTERACTION, "read", "read"),
        "action": "R",
        "severity": severity,
        "occurredDateTime": time,
        "recorded": time,
        "outcome": outcome,
        "authorization": [purpose_concept(entry.purpose)],
        "patient": patient_ref(&entry.patient),
        "agent": [agent],
        "source": {
            "observer": {
                "identifier": identifier(LEDGER_SYSTEM, &ledger.to_hex()),
            },
            "type": [concept(SOURCE_TYPE, "4", "Application Server")],
        },
        "entity": entities,
    })
}

/// The `Consent` of a ledger consent, as a FHIR R5 JSON resource, with its
/// status as of `now_ms` (ms since the Unix epoch).
///
/// * `id` and `identifier` ([`CONSENT_SYSTEM`]): the consent id (64 hex
///   digits); `meta.source` the ledger; `meta.lastUpdated` the revocation
///   time, else the grant time.
/// * `status`: `inactive` once revoked or expired (`now_ms ≥ not_after`),
///   otherwise `active` (also before `not_before`: the consent is in force,
///   its `period` says when it applies).
/// * `subject` the patient, `grantor` who granted it (the patient or a
///   guardian), `grantee` the grantee, all by [`PARTICIPANT_SYSTEM`]
///   identifier; `date` the grant date (UTC); `category` LOINC `59284-0`
///   (patient consent).
/// * `period`: `not_before` to `not_after − 1 ms`: the ledger's period is
///   half-open, a FHIR `Period` includes its end.
/// * `decision` `deny` with `permit` provisions (R5 provisions negate the
///   level above them; see the module documentation). Each provision names
///   the grantee as `actor` (`v3-ParticipationType#IRCP`, information
///   recipient), the `action`s (`consentaction`: read → `access`, append →
///   `collect` (the grantee adds information to the patient's record),
///   amend → `correct`) and the `purpose`s (`v3-ActReason`).
/// * scope: every category → one provision with no data criterion (all of
///   the patient's records); listed categories → one provision with the
///   categories as `documentType` codings in [`CATEGORY_SYSTEM`]; listed
///   record versions → one provision with `data` (`meaning: instance`,
///   each version by [`RECORD_SYSTEM`] identifier). Categories and records
///   in one consent give two provisions: criteria within a provision are
///   all required, while sibling provisions each permit, which is the
///   ledger's "category or listed version" rule.
pub fn consent(ledger: &LedgerId, state: &ConsentState, now_ms: u64) -> Value {
    let c = &state.consent;
    let active = state.revoked_at.is_none() && now_ms < c.not_after;
    let actions: Vec<Value> = [
        (Actions::READ, "access", "Access"),
        (Actions::APPEND, "collect", "Collect"),
        (Actions::AMEND, "correct", "Access and Correct"),
    ]
    .into_iter()
    .filter(|(a, _, _)| c.actions.contains(*a))
    .map(|(_, code, display)| concept(CONSENT_ACTION, code, display))
    .collect();
    let purposes: Vec<Value> = c
        .purposes
        .iter()
        .map(|p| coding(ACT_REASON, p.code(), p.display()))
        .collect();
    let base = {
        let mut m = Map::new();
        m.insert(
            "actor".into(),
            json!([{
                "role": concept(PARTICIPATION_TYPE, "IRCP", "information recipient"),
                "reference": participant_ref(&c.grantee),
            }]),
        );
        put_array(&mut m, "action", actions);
        put_array(&mut m, "purpose", purposes);
        m
    };
    let mut provisions = Vec::new();
    let s = &c.scope;
    if s.all_categories {
        provisions.push(Value::Object(base.clone()));
    } else if !s.categories.is_empty() {
        let mut p = base.clone();
        p.insert(
            "documentType".into(),
            s.categories
                .iter()
                .map(|cat| json!({ "system": CATEGORY_SYSTEM, "code": cat.as_str() }))
                .collect(),
        );
        provisions.push(Value::Object(p));
    }
    if !s.records.is_empty() {
        let mut p = base;
        p.insert(
            "data".into(),
            s.records
                .iter()
                .map(|r| {
                    json!({
                        "meaning": "instance",
                        "reference": {
                            "identifier": identifier(RECORD_SYSTEM, &r.to_hex()),
                        },
                    })
                })
                .collect(),
        );
        provisions.push(Value::Object(p));
    }
    let id = state.id.to_hex();
    let mut doc = json!({
        "resourceType": "Consent",
        "id": id,
        "meta": {
            "source": ledger_uri(ledger),
            "lastUpdated": instant(state.revoked_at.unwrap_or(state.granted_at)),
        },
        "identifier": [identifier(CONSENT_SYSTEM, &id)],
        "status": if active { "active" } else { "inactive" },
        "category": [{
            "coding": [{ "system": LOINC, "code": "59284-0" }],
            "text": "patient consent to access records",
        }],
        "subject": patient_ref(&c.patient),
        "date": date(state.granted_at),
        "period": {
            "start": instant(c.not_before),
            "end": instant(c.not_after.saturating_sub(1).max(c.not_before)),
        },
        "grantor": [participant_ref(&state.granted_by)],
        "grantee": [participant_ref(&c.grantee)],
        "decision": "deny",
    });
    if let Some(m) = doc.as_object_mut() {
        put_array(m, "provision", provisions);
    }
    doc
}

/// Kind of [`bundle`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BundleType {
    /// `collection`: a set of resources for one purpose (an export file).
    Collection,
    /// `searchset`: the answer to a query (`total` and `search.mode`
    /// `match` on every entry).
    Searchset,
}

/// A FHIR R5 `Bundle` of `resources`, in order. Each entry's `fullUrl` is a
/// `urn:uuid:` derived from the resource's type and id (a SHA3-256 based
/// RFC 9562 version 8 UUID), so it is stable across exports and unique
/// when the ids are; R5 requires `fullUrl` on the entries of these bundle
/// types. Resources are referenced by identifier, never by `fullUrl`.
/// With no resources the bundle has no `entry` (FHIR JSON has no empty
/// arrays).
pub fn bundle(kind: BundleType, resources: Vec<Value>) -> Value {
    let total = resources.len();
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|r| {
            let kind_of = r.get("resourceType").and_then(Value::as_str).unwrap_or("");
            let id = r.get("id").and_then(Value::as_str).unwrap_or("");
            let mut e = Map::new();
            e.insert("fullUrl".into(), Value::String(full_url(kind_of, id)));
            e.insert("resource".into(), r);
            if kind == BundleType::Searchset {
                e.insert("search".into(), json!({ "mode": "match" }));
            }
            Value::Object(e)
        })
        .collect();
    let mut b = Map::new();
    b.insert("resourceType".into(), json!("Bundle"));
    match kind {
        BundleType::Collection => {
            b.insert("type".into(), json!("collection"));
        }
        BundleType::Searchset => {
            b.insert("type".into(), json!("searchset"));
            b.insert("total".into(), json!(total));
        }
    }
    put_array(&mut b, "entry", entries);
    Value::Object(b)
}

/// Inserts `items` under `key` unless there are none: FHIR JSON has no
/// empty arrays.
fn put_array(m: &mut Map<String, Value>, key: &str, items: Vec<Value>) {
    if !items.is_empty() {
        m.insert(key.into(), Value::Array(items));
    }
}

/// A FHIR `instant` (RFC 3339, UTC, milliseconds) of `ms` since the Unix
/// epoch, e.g. `1970-01-01T00:00:00.000Z`. Times past
/// [`MAX_INSTANT_MS`] (year 9999) are written as that maximum: FHIR years
/// have four digits.
pub fn instant(ms: u64) -> String {
    let ms = ms.min(MAX_INSTANT_MS);
    let secs = ms / 1000;
    let (y, m, d) = civil_from_days(secs / 86_400);
    let sod = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60,
        ms % 1000
    )
}

/// The FHIR `date` (UTC) of `ms` since the Unix epoch, e.g. `2024-02-29`.
pub fn date(ms: u64) -> String {
    let (y, m, d) = civil_from_days(ms.min(MAX_INSTANT_MS) / 86_400_000);
    format!("{y:04}-{m:02}-{d:02}")
}

/// (year, month, day) of a day count since 1970-01-01 in the proleptic
/// Gregorian calendar (H. Hinnant's `civil_from_days`, for days ≥ 0).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z / 146_097;
    let doe = z % 146_097; // day of the 400-year era
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // from 1 March
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = era * 400 + yoe + u64::from(m <= 2);
    (y, m, d)
}

fn hex_prefix(hex: &str) -> &str {
    hex.get(..ID_PREFIX_HEX).unwrap_or(hex)
}

fn ledger_uri(ledger: &LedgerId) -> String {
    format!("{LEDGER_SYSTEM}:{}", ledger.to_hex())
}

fn full_url(resource_type: &str, id: &str) -> String {
    let d = tagged_hash(
        FULL_URL_LABEL,
        &[resource_type.as_bytes(), b"/", id.as_bytes()],
    );
    let mut u = [0u8; 16];
    for (dst, src) in u.iter_mut().zip(d.0.iter()) {
        *dst = *src;
    }
    if let Some(b) = u.get_mut(6) {
        *b = (*b & 0x0f) | 0x80; // version 8
    }
    if let Some(b) = u.get_mut(8) {
        *b = (*b & 0x3f) | 0x80; // RFC 9562 variant
    }
    let hex: String = u.iter().map(|b| format!("{b:02x}")).collect();
    let part = |r: std::ops::Range<usize>| hex.get(r).unwrap_or("");
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    )
}

fn identifier(system: &str, value: &str) -> Value {
    json!({ "system": system, "value": value })
}

fn participant_ref(id: &ParticipantId) -> Value {
    json!({ "identifier": identifier(PARTICIPANT_SYSTEM, &id.to_hex()) })
}

fn patient_ref(id: &ParticipantId) -> Value {
    json!({
        "type": "Patient",
        "identifier": identifier(PARTICIPANT_SYSTEM, &id.to_hex()),
    })
}

fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({ "system": system, "code": code, "display": display })
}

fn concept(system: &str, code: &str, display: &str) -> Value {
    json!({ "coding": [coding(system, code, display)] })
}

fn purpose_concept(p: Purpose) -> Value {
    concept(ACT_REASON, p.code(), p.display())
}

/// Code and display of a permit's basis in [`ACCESS_BASIS_SYSTEM`].
fn basis_code(b: Basis) -> (&'static str, &'static str) {
    match b {
        Basis::Patient => ("patient", "the reader is the patient"),
        Basis::Guardian => ("guardian", "the reader is a guardian of the patient"),
        Basis::Author => ("author", "the reader wrote this record version"),
        Basis::Consent(_) => ("consent", "an active consent of the patient"),
        Basis::BreakGlass(_) => (
            "break-glass",
            "an active break-glass declaration (flagged for review)",
        ),
    }
}

/// Code of a denial reason in [`DENY_REASON_SYSTEM`].
fn deny_code(r: DenyReason) -> &'static str {
    match r {
        DenyReason::NoConsent => "no-consent",
        DenyReason::Expired => "expired",
        DenyReason::NotYetValid => "not-yet-valid",
        DenyReason::WrongPurpose => "wrong-purpose",
        DenyReason::Revoked => "revoked",
        DenyReason::Suspended => "suspended",
        DenyReason::Erased => "erased",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_and_dates() {
        assert_eq!(instant(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(instant(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(instant(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(instant(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
        assert_eq!(instant(4_107_542_400_000), "2100-03-01T00:00:00.000Z");
        assert_eq!(instant(MAX_INSTANT_MS), "9999-12-31T23:59:59.999Z");
        assert_eq!(instant(u64::MAX), "9999-12-31T23:59:59.999Z");
        assert_eq!(date(1_709_164_800_000), "2024-02-29");
        assert_eq!(date(1_709_251_199_999), "2024-02-29");
        assert_eq!(date(1_709_251_200_000), "2024-03-01");
    }

    #[test]
    fn every_day_round_trips() {
        // Day numbers from the calendar fields, the other way round, for
        // 1970..2400 (every leap-year rule).
        let mut day = 0u64;
        for y in 1970u64..2400 {
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            for m in 1u64..=12 {
                let len = match m {
                    2 if leap => 29,
                    2 => 28,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                };
                for d in 1..=len {
                    assert_eq!(civil_from_days(day), (y, m, d));
                    day += 1;
                }
            }
        }
    }

    #[test]
    fn full_urls_are_uuids() {
        let u = full_url("AuditEvent", "abc-1-def");
        let hex = u.trim_start_matches("urn:uuid:");
        let groups: Vec<usize> = hex.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert_eq!(hex.chars().nth(14), Some('8'));
        assert!(matches!(hex.chars().nth(19), Some('8' | '9' | 'a' | 'b')));
        assert_ne!(u, full_url("Consent", "abc-1-def"));
    }
}
