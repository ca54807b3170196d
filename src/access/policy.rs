//! The read decision: who may read a record version, for which purpose, at
//! which time. Pure and deterministic (the verifier recomputes it for every
//! recorded access event); it fails closed.

use crate::log::state::{ChainState, RecordState};
use crate::model::{Actions, Basis, Decision, DenyReason, ParticipantId, Purpose};

impl ChainState {
    /// Decides whether `reader` may read record version `rec` for
    /// `purpose` at time `t` (ms):
    ///
    /// 1. a suspended reader is denied (`Suspended`), an erased record too
    ///    (`Erased`);
    /// 2. the patient, an active guardian and the record's author are
    ///    permitted (basis `Patient`, `Guardian`, `Author`);
    /// 3. the first consent, in grant order, from the patient to the reader
    ///    with the `read` action, covering the record (its category or the
    ///    version itself), not revoked, listing `purpose`, with
    ///    `not_before ≤ t < not_after` permits (basis `Consent`);
    /// 4. for an emergency purpose (`ETREAT`, `BTG`), the latest break-glass
    ///    declaration by the reader for the patient with that reason whose
    ///    window holds `t` permits (basis `BreakGlass`);
    /// 5. otherwise denied, saying why: among the covering consents, one
    ///    for this purpose but outside its period (`Expired`, else
    ///    `NotYetValid`), one for other purposes (`WrongPurpose`), a revoked
    ///    one (`Revoked`); with none, `NoConsent`. A revoked consent counts
    ///    as `Revoked` whatever its purposes and period; `Expired`,
    ///    `NotYetValid` and `WrongPurpose` come from unrevoked ones.
    pub fn decide(
        &self,
        reader: &ParticipantId,
        rec: &RecordState,
        purpose: Purpose,
        t: u64,
    ) -> Decision {
        if self.participants.get(reader).is_none_or(|p| p.suspended) {
            return Decision::Deny(DenyReason::Suspended);
        }
        if rec.erased.is_some() {
            return Decision::Deny(DenyReason::Erased);
        }
        let patient = &rec.header.patient;
        if reader == patient {
            return Decision::Permit(Basis::Patient);
        }
        if self.is_guardian(reader, patient) {
            return Decision::Permit(Basis::Guardian);
        }
        if *reader == rec.author {
            return Decision::Permit(Basis::Author);
        }
        let mut deny: Option<DenyReason> = None;
        let rank = |d: DenyReason| match d {
            DenyReason::Expired => 4,
            DenyReason::NotYetValid => 3,
            DenyReason::WrongPurpose => 2,
            _ => 1,
        };
        let consents = self
            .consents_by_patient
            .get(patient)
            .into_iter()
            .flatten()
            .filter_map(|id| self.consents.get(id));
        for c in consents {
            let k = &c.consent;
            if k.grantee != *reader
                || !k.actions.contains(Actions::READ)
                || !k.scope.covers_record(&rec.header.id, &rec.header.category)
            {
                continue;
            }
            let why = if c.revoked_at.is_some() {
                DenyReason::Revoked
            } else if !k.purposes.contains(purpose) {
                DenyReason::WrongPurpose
            } else if t < k.not_before {
                DenyReason::NotYetValid
            } else if t >= k.not_after {
                DenyReason::Expired
            } else {
                return Decision::Permit(Basis::Consent(c.id));
            };
            if deny.is_none_or(|d| rank(why) > rank(d)) {
                deny = Some(why);
            }
        }
        if purpose.is_emergency() {
            let declared = self
                .break_glass_by_pair
                .get(&(*reader, *patient))
                .into_iter()
                .flatten()
                .rev()
                .filter_map(|id| self.break_glass.get(id))
                .find(|b| b.declaration.reason == purpose && b.active_at(t));
            if let Some(b) = declared {
                return Decision::Permit(Basis::BreakGlass(b.id));
            }
        }
        Decision::Deny(deny.unwrap_or(DenyReason::NoConsent))
    }
}
