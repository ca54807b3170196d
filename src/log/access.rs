//! The access-control rules: key epochs and who must hold them, consents,
//! break-glass, access events, erasure and participant changes
//! (docs/FORMAT.md §5.7–§5.13). Like the rest of [`ChainState`], they run
//! identically in the sequencer and in the verifier.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::crypto::sign::check_public_key;
use crate::log::state::{
    AccessEntry, ChainState, ConsentState, HeldWrap, ParticipantState, RuleViolation, TxPosition,
    Violation, violation,
};
use crate::model::participant::check_x25519_key;
use crate::model::record::SEALED_KEY_LEN;
use crate::model::tx::{GrantBody, RevokeBody};
use crate::model::{
    AccessEvent, Actions, BreakGlass, Category, Consent, ConsentId, EpochShare, ParticipantChange,
    ParticipantId, ParticipantUpdate, RecordId, Roles,
};

/// A change to the consents in force that the transaction under check
/// makes before its epoch shares are checked.
#[derive(Clone, Copy)]
pub enum Adjust<'a> {
    /// None.
    None,
    /// A consent granted by this transaction.
    Grant(&'a Consent),
    /// A consent revoked by this transaction.
    Revoke(&'a ConsentId),
}

/// Epoch number and key holders of each (patient, category) a
/// transaction's shares touch, as they stand after the transaction.
pub(crate) type EpochsAfter<'a> =
    HashMap<(ParticipantId, &'a Category), (u32, BTreeSet<ParticipantId>)>;

impl ChainState {
    fn active(&self, id: &ParticipantId) -> bool {
        self.participants.get(id).is_some_and(|p| !p.suspended)
    }

    /// The sealed category key of (patient, category, epoch) for `reader`,
    /// when it was sealed to the reader's current keys.
    pub fn held_wrap(
        &self,
        patient: &ParticipantId,
        category: &Category,
        epoch: u32,
        reader: &ParticipantId,
    ) -> Option<&[u8; SEALED_KEY_LEN]> {
        let version = self.participants.get(reader)?.key_version;
        self.wraps
            .get(&(*patient, category.clone(), epoch, *reader))
            .filter(|w| w.key_version == version)
            .map(|w| &w.sealed)
    }

    /// A holder of `epoch` of (patient, category) that makes it stale: no
    /// longer in `entitled`, or holding it under keys it has since rotated
    /// (the old secret may be what was compromised).
    pub fn stale_holder(
        &self,
        patient: &ParticipantId,
        category: &Category,
        epoch: u32,
        holders: &BTreeSet<ParticipantId>,
        entitled: &BTreeSet<ParticipantId>,
    ) -> Option<ParticipantId> {
        holders
            .iter()
            .find(|h| {
                let outdated = self
                    .wraps
                    .get(&(*patient, category.clone(), epoch, **h))
                    .zip(self.participants.get(h))
                    .is_some_and(|(w, p)| w.key_version < p.key_version);
                !entitled.contains(h) || outdated
            })
            .copied()
    }

    /// True when the current epoch of (patient, category) is stale given
    /// who is `entitled` now (from [`ChainState::entitled`]).
    pub fn is_stale(
        &self,
        patient: &ParticipantId,
        category: &Category,
        entitled: &BTreeSet<ParticipantId>,
    ) -> bool {
        let pair = (*patient, category.clone());
        let epoch = self.epochs.get(&pair).copied().unwrap_or(0);
        self.epoch_recipients.get(&pair).is_some_and(|holders| {
            self.stale_holder(patient, category, epoch, holders, entitled)
                .is_some()
        })
    }

    /// The X25519 keys of `ids`, for sealing a category key to them.
    pub fn enc_keys<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a ParticipantId>,
    ) -> crate::Result<Vec<(ParticipantId, [u8; 32])>> {
        ids.into_iter()
            .map(|id| {
                self.participants
                    .get(id)
                    .map(|p| (*id, p.info.enc_key))
                    .ok_or_else(|| crate::Error::NotFound(format!("participant {id}")))
            })
            .collect()
    }

    /// True when `who` is an active guardian of `patient`.
    pub fn is_guardian(&self, who: &ParticipantId, patient: &ParticipantId) -> bool {
        self.guardians.get(patient).is_some_and(|g| g.contains(who))
    }

    /// Who must hold the key of (patient, category) at time `t`: the
    /// patient, their active guardians, every active custodian (unless the
    /// patient opted out of escrow), and every active grantee of an
    /// unrevoked, unexpired consent covering the category (any action:
    /// reading, appending and amending all need the key).
    pub fn entitled(
        &self,
        patient: &ParticipantId,
        category: &Category,
        t: u64,
        adjust: Adjust<'_>,
    ) -> BTreeSet<ParticipantId> {
        let mut set = BTreeSet::new();
        set.insert(*patient);
        if let Some(g) = self.guardians.get(patient) {
            set.extend(g.iter().filter(|g| self.active(g)));
        }
        let opted_out = self
            .participants
            .get(patient)
            .is_some_and(|p| p.info.escrow_opt_out);
        if !opted_out {
            set.extend(self.custodians.iter().filter(|c| self.active(c)));
        }
        let covers = |c: &Consent| {
            c.not_after > t && c.scope.covers_category(category) && self.active(&c.grantee)
        };
        for id in self.consents_by_patient.get(patient).into_iter().flatten() {
            let Some(c) = self.consents.get(id) else {
                continue;
            };
            let revoked = c.revoked_at.is_some() || matches!(adjust, Adjust::Revoke(r) if r == id);
            if !revoked && covers(&c.consent) {
                set.insert(c.consent.grantee);
            }
        }
        if let Adjust::Grant(c) = adjust
            && covers(c)
        {
            set.insert(c.grantee);
        }
        set
    }

    /// True when `author` may write records of (patient, category) with
    /// `action` (append or amend) at time `t`: the patient, a guardian, or
    /// a provider holding an active consent for that action.
    pub fn may_write(
        &self,
        author: &ParticipantId,
        patient: &ParticipantId,
        category: &Category,
        action: Actions,
        t: u64,
    ) -> bool {
        let Some(a) = self.participants.get(author) else {
            return false;
        };
        if a.suspended {
            return false;
        }
        if author == patient || self.is_guardian(author, patient) {
            return true;
        }
        a.info.roles.contains(Roles::PROVIDER)
            && self
                .consents_by_patient
                .get(patient)
                .into_iter()
                .flatten()
                .filter_map(|id| self.consents.get(id))
                .any(|c| {
                    let k = &c.consent;
                    c.revoked_at.is_none()
                        && k.grantee == *author
                        && k.actions.contains(action)
                        && k.scope.covers_category(category)
                        && t >= k.not_before
                        && t < k.not_after
                })
    }

    /// Checks epoch shares: each either opens the next epoch of (patient,
    /// category), sealed to exactly the entitled readers, by someone who
    /// may write there; or adds entitled readers to an existing epoch (the
    /// current one only when it is not stale), by the patient or a
    /// guardian (who hold its key), so that a new grantee can read the
    /// category's history.
    pub(crate) fn check_shares<'a>(
        &self,
        author: &ParticipantId,
        shares: &'a [EpochShare],
        t: u64,
        adjust: Adjust<'_>,
    ) -> Result<EpochsAfter<'a>, RuleViolation> {
        let mut out: EpochsAfter<'a> = HashMap::new();
        let mut seen = HashSet::new();
        for s in shares {
            let key = (s.patient, &s.category);
            if !seen.insert((s.patient, &s.category, s.epoch)) {
                return Err(violation(
                    Violation::Invalid,
                    "epoch_share",
                    "two shares for one patient, category and epoch",
                ));
            }
            self.check_patient(&s.patient, "epoch_share.patient")?;
            let mut recipients = BTreeSet::new();
            for w in &s.wraps {
                if !recipients.insert(w.recipient) {
                    return Err(violation(
                        Violation::Invalid,
                        "epoch_share.wraps",
                        format!("recipient {} listed twice", w.recipient),
                    ));
                }
            }
            let pair = (s.patient, s.category.clone());
            let cur = self.epochs.get(&pair).copied().unwrap_or(0);
            let entitled = self.entitled(&s.patient, &s.category, t, adjust);
            if s.epoch == cur.saturating_add(1) {
                let writer = self.may_write(author, &s.patient, &s.category, Actions::APPEND, t)
                    || self.may_write(author, &s.patient, &s.category, Actions::AMEND, t);
                if !writer {
                    return Err(violation(
                        Violation::Unauthorised,
                        "epoch_share.epoch",
                        format!(
                            "{author} may not open an epoch of ({}, {}): only the patient, a \
                             guardian or a provider allowed to write there may",
                            s.patient, s.category
                        ),
                    ));
                }
                if recipients != entitled {
                    return Err(violation(
                        Violation::Invalid,
                        "epoch_share.wraps",
                        format!(
                            "a new epoch must be sealed to exactly the entitled readers \
                             (missing {:?}, not entitled {:?})",
                            entitled.difference(&recipients).collect::<Vec<_>>(),
                            recipients.difference(&entitled).collect::<Vec<_>>()
                        ),
                    ));
                }
                out.insert(key, (s.epoch, recipients));
            } else if s.epoch >= 1 && s.epoch <= cur {
                // Adds readers to an existing epoch. The current one (unless
                // this transaction replaces it) must not be stale, and its
                // holders grow; an earlier one only gains history readers,
                // since nothing more is written under it.
                if *author != s.patient && !self.is_guardian(author, &s.patient) {
                    return Err(violation(
                        Violation::Unauthorised,
                        "epoch_share",
                        "only the patient or a guardian may add readers to an epoch",
                    ));
                }
                let current = s.epoch == cur && !out.contains_key(&key);
                let holders = self
                    .epoch_recipients
                    .get(&pair)
                    .filter(|_| current)
                    .cloned()
                    .unwrap_or_default();
                if current
                    && self
                        .stale_holder(&s.patient, &s.category, cur, &holders, &entitled)
                        .is_some()
                {
                    return Err(violation(
                        Violation::Invalid,
                        "epoch_share.epoch",
                        format!(
                            "epoch {cur} of ({}, {}) is stale (a holder is no longer \
                             entitled, or rotated its keys): open a new epoch instead",
                            s.patient, s.category
                        ),
                    ));
                }
                for r in &recipients {
                    let held = self
                        .held_wrap(&s.patient, &s.category, s.epoch, r)
                        .is_some();
                    if !entitled.contains(r) || held {
                        return Err(violation(
                            Violation::Invalid,
                            "epoch_share.wraps",
                            format!("{r} is not entitled to this key or already holds it"),
                        ));
                    }
                }
                if current {
                    out.insert(key, (cur, holders.union(&recipients).copied().collect()));
                }
            } else {
                return Err(violation(
                    Violation::Invalid,
                    "epoch_share.epoch",
                    format!(
                        "epoch {} of ({}, {}): the current epoch is {cur}; a share adds readers \
                         to an existing epoch or opens the next",
                        s.epoch, s.patient, s.category
                    ),
                ));
            }
        }
        Ok(out)
    }

    pub(crate) fn apply_shares(&mut self, shares: &[EpochShare]) {
        for s in shares {
            let pair = (s.patient, s.category.clone());
            let cur = self.epochs.entry(pair.clone()).or_insert(0);
            let holders = self.epoch_recipients.entry(pair).or_default();
            if s.epoch > *cur {
                *cur = s.epoch;
                holders.clear();
            }
            if s.epoch == *cur {
                holders.extend(s.wraps.iter().map(|w| w.recipient));
            }
            self.categories
                .entry(s.patient)
                .or_default()
                .insert(s.category.clone());
            for w in &s.wraps {
                let key_version = self
                    .participants
                    .get(&w.recipient)
                    .map_or(0, |p| p.key_version);
                self.wraps.insert(
                    (s.patient, s.category.clone(), s.epoch, w.recipient),
                    HeldWrap {
                        sealed: w.sealed,
                        key_version,
                    },
                );
            }
        }
    }

    fn check_speaks_for(
        &self,
        author: &ParticipantId,
        patient: &ParticipantId,
        what: &str,
    ) -> Result<(), RuleViolation> {
        if author == patient || self.is_guardian(author, patient) {
            return Ok(());
        }
        Err(violation(
            Violation::Unauthorised,
            "tx.author",
            format!("only the patient {patient} or a guardian may {what}; {author} is neither"),
        ))
    }

    pub(crate) fn check_grant(
        &self,
        author: &ParticipantId,
        g: &GrantBody,
        t: u64,
    ) -> Result<(), RuleViolation> {
        let c = &g.consent;
        c.validate()
            .map_err(|e| violation(Violation::Invalid, "consent", e.to_string()))?;
        self.check_patient(&c.patient, "consent.patient")?;
        self.check_speaks_for(author, &c.patient, "grant consent")?;
        match self.participants.get(&c.grantee) {
            Some(g) if !g.suspended => {}
            _ => {
                return Err(violation(
                    Violation::Invalid,
                    "consent.grantee",
                    format!("{} is not a registered, active participant", c.grantee),
                ));
            }
        }
        if c.not_after <= t {
            return Err(violation(
                Violation::Invalid,
                "consent.not_after",
                "the consent has already expired",
            ));
        }
        for id in &c.scope.records {
            match self.records.get(id) {
                Some(r) if r.header.patient == c.patient && r.erased.is_none() => {}
                _ => {
                    return Err(violation(
                        Violation::Invalid,
                        "consent.records",
                        format!("{id} is not a live record of this patient"),
                    ));
                }
            }
        }
        let listed: Vec<RecordId> = g.record_keys.iter().map(|k| k.record).collect();
        if listed != c.scope.records {
            return Err(violation(
                Violation::Invalid,
                "grant.record_keys",
                "one sealed data key per listed record, in the consent's order",
            ));
        }
        let after = self.check_shares(author, &g.shares, t, Adjust::Grant(c))?;
        let categories: Vec<&Category> = if c.scope.all_categories {
            self.categories
                .get(&c.patient)
                .into_iter()
                .flatten()
                .collect()
        } else {
            c.scope.categories.iter().collect()
        };
        for cat in categories {
            let holds = match after.get(&(c.patient, cat)) {
                Some((_, holders)) => holders.contains(&c.grantee),
                None => {
                    let pair = (c.patient, cat.clone());
                    self.epochs.get(&pair).copied().unwrap_or(0) == 0
                        || self
                            .epoch_recipients
                            .get(&pair)
                            .is_some_and(|h| h.contains(&c.grantee))
                }
            };
            if !holds {
                return Err(violation(
                    Violation::Invalid,
                    "grant.shares",
                    format!("the grant must share the key of category {cat} with the grantee"),
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn apply_grant(
        &mut self,
        g: GrantBody,
        author: ParticipantId,
        seq: u64,
        t: u64,
        position: TxPosition,
    ) {
        let id = ConsentId::derive(&self.ledger_id, &author, seq);
        self.apply_shares(&g.shares);
        for k in g.record_keys {
            self.record_keys
                .insert((k.record, g.consent.grantee), k.sealed);
        }
        self.consents_by_patient
            .entry(g.consent.patient)
            .or_default()
            .push(id);
        self.consents.insert(
            id,
            ConsentState {
                id,
                consent: g.consent,
                granted_by: author,
                granted_at: t,
                position,
                revoked_at: None,
            },
        );
    }

    pub(crate) fn check_revoke(
        &self,
        author: &ParticipantId,
        r: &RevokeBody,
        t: u64,
    ) -> Result<(), RuleViolation> {
        let c = self.consents.get(&r.consent).ok_or_else(|| {
            violation(
                Violation::Invalid,
                "revoke.consent",
                format!("no consent {}", r.consent),
            )
        })?;
        self.check_speaks_for(author, &c.consent.patient, "revoke consent")?;
        if c.revoked_at.is_some() {
            return Err(violation(
                Violation::Invalid,
                "revoke.consent",
                "already revoked",
            ));
        }
        self.check_shares(author, &r.shares, t, Adjust::Revoke(&r.consent))?;
        Ok(())
    }

    pub(crate) fn check_break_glass(
        &self,
        author: &ParticipantState,
        b: &BreakGlass,
    ) -> Result<(), RuleViolation> {
        if !author.info.roles.contains(Roles::PROVIDER) {
            return Err(violation(
                Violation::Unauthorised,
                "tx.author",
                "only a provider may declare an emergency",
            ));
        }
        b.validate()
            .map_err(|e| violation(Violation::Invalid, "break_glass", e.to_string()))?;
        self.check_patient(&b.patient, "break_glass.patient")?;
        if self
            .participants
            .get(&b.patient)
            .is_some_and(|p| p.info.escrow_opt_out)
        {
            return Err(violation(
                Violation::Unauthorised,
                "break_glass.patient",
                "the patient opted out of emergency key escrow",
            ));
        }
        if b.duration_ms > self.max_break_glass_ms {
            return Err(violation(
                Violation::Invalid,
                "break_glass.duration",
                format!(
                    "{} ms exceeds the consortium maximum of {} ms",
                    b.duration_ms, self.max_break_glass_ms
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn check_access(
        &self,
        reader: &ParticipantId,
        events: &[AccessEvent],
        t: u64,
    ) -> Result<(), RuleViolation> {
        if events.is_empty() {
            return Err(violation(Violation::Invalid, "access.events", "no events"));
        }
        for (i, e) in events.iter().enumerate() {
            let at = |v| crate::log::state::at_record(v, i);
            let rec = self.records.get(&e.record).ok_or_else(|| {
                at(violation(
                    Violation::Invalid,
                    "access.record",
                    format!("no record {}", e.record),
                ))
            })?;
            let actual = self.decide(reader, rec, e.purpose, t);
            if actual != e.decision {
                let kind = if e.decision.is_permit() {
                    Violation::Unauthorised
                } else {
                    Violation::Invalid
                };
                return Err(at(violation(
                    kind,
                    "access.decision",
                    format!(
                        "the event records {:?} but the rules decide {actual:?}",
                        e.decision
                    ),
                )));
            }
        }
        Ok(())
    }

    pub(crate) fn apply_access(
        &mut self,
        events: Vec<AccessEvent>,
        reader: ParticipantId,
        t: u64,
        position: TxPosition,
    ) {
        for e in events {
            let Some(rec) = self.records.get(&e.record) else {
                continue;
            };
            let patient = rec.header.patient;
            let entry = AccessEntry {
                reader,
                patient,
                record: e.record,
                category: rec.header.category.clone(),
                purpose: e.purpose,
                decision: e.decision,
                time: t,
                position,
            };
            self.access_by_patient
                .entry(patient)
                .or_default()
                .push(self.access_log.len());
            self.access_log.push(entry);
        }
    }

    pub(crate) fn check_erase(
        &self,
        author: &ParticipantId,
        records: &[RecordId],
    ) -> Result<(), RuleViolation> {
        if records.is_empty() {
            return Err(violation(Violation::Invalid, "erase.records", "no records"));
        }
        let mut seen = HashSet::new();
        for (i, id) in records.iter().enumerate() {
            let at = |v| crate::log::state::at_record(v, i);
            let r = self.records.get(id).ok_or_else(|| {
                at(violation(
                    Violation::Invalid,
                    "erase.records",
                    format!("no record {id}"),
                ))
            })?;
            if r.erased.is_some() || !seen.insert(*id) {
                return Err(at(violation(
                    Violation::Invalid,
                    "erase.records",
                    format!("{id} is already erased or listed twice"),
                )));
            }
            if r.author != *author {
                self.check_speaks_for(author, &r.header.patient, "erase a record (or its author)")
                    .map_err(at)?;
            }
        }
        Ok(())
    }

    pub(crate) fn check_update(
        &self,
        author: &ParticipantState,
        u: &ParticipantUpdate,
    ) -> Result<(), RuleViolation> {
        let target = self.participants.get(&u.participant).ok_or_else(|| {
            violation(
                Violation::Invalid,
                "update.participant",
                format!("{} is not registered", u.participant),
            )
        })?;
        let admin = author.info.roles.contains(Roles::ADMIN);
        let invalid = |msg: String| Err(violation(Violation::Invalid, "update.change", msg));
        match u.change {
            ParticipantChange::Suspend | ParticipantChange::Reinstate => {
                if !admin {
                    return Err(violation(
                        Violation::Unauthorised,
                        "tx.author",
                        "only an admin may suspend or reinstate a participant",
                    ));
                }
                let suspend = u.change == ParticipantChange::Suspend;
                if target.suspended == suspend {
                    return invalid(format!(
                        "{} is already {}",
                        u.participant,
                        if suspend { "suspended" } else { "active" }
                    ));
                }
                Ok(())
            }
            ParticipantChange::RotateKeys {
                sign_key,
                enc_key,
                proof,
            } => {
                if !admin && author.info.id != u.participant {
                    return Err(violation(
                        Violation::Unauthorised,
                        "tx.author",
                        "only the participant itself or an admin may rotate its keys",
                    ));
                }
                let bad = |e: crate::Error| {
                    violation(Violation::Invalid, "update.sign_key", e.to_string())
                };
                let key = check_public_key(&sign_key).map_err(bad)?;
                check_x25519_key(&enc_key)
                    .map_err(|e| violation(Violation::Invalid, "update.enc_key", e.to_string()))?;
                if sign_key == target.info.sign_key {
                    return invalid("the new signing key is the current one".into());
                }
                let msg = ParticipantUpdate::rotation_message(
                    &self.ledger_id,
                    &u.participant,
                    &sign_key,
                    &enc_key,
                );
                key.verify_strict(&msg, &proof).map_err(|_| {
                    violation(
                        Violation::Invalid,
                        "update.proof",
                        "not a signature of the new key over the rotation message",
                    )
                })
            }
            ParticipantChange::AddGuardian(g) | ParticipantChange::RemoveGuardian(g) => {
                if !admin && author.info.id != u.participant {
                    return Err(violation(
                        Violation::Unauthorised,
                        "tx.author",
                        "only an admin or the patient may change guardians",
                    ));
                }
                self.check_patient(&u.participant, "update.participant")?;
                let current = self.is_guardian(&g, &u.participant);
                if matches!(u.change, ParticipantChange::RemoveGuardian(_)) {
                    if !current {
                        return invalid(format!("{g} is not a guardian of {}", u.participant));
                    }
                    return Ok(());
                }
                let ok = self
                    .participants
                    .get(&g)
                    .is_some_and(|p| p.info.roles.contains(Roles::GUARDIAN));
                if !ok || g == u.participant || current {
                    return invalid(format!(
                        "{g} must be a registered guardian, not the patient, and not already \
                         appointed"
                    ));
                }
                Ok(())
            }
        }
    }

    pub(crate) fn apply_update(&mut self, u: &ParticipantUpdate) {
        match u.change {
            ParticipantChange::Suspend | ParticipantChange::Reinstate => {
                if let Some(p) = self.participants.get_mut(&u.participant) {
                    p.suspended = u.change == ParticipantChange::Suspend;
                }
            }
            ParticipantChange::RotateKeys {
                sign_key, enc_key, ..
            } => {
                if let (Some(p), Ok(key)) = (
                    self.participants.get_mut(&u.participant),
                    check_public_key(&sign_key),
                ) {
                    p.info.sign_key = sign_key;
                    p.info.enc_key = enc_key;
                    p.key = key;
                    p.key_version = p.key_version.saturating_add(1);
                }
            }
            ParticipantChange::AddGuardian(g) => {
                self.guardians.entry(u.participant).or_default().insert(g);
            }
            ParticipantChange::RemoveGuardian(g) => {
                if let Some(set) = self.guardians.get_mut(&u.participant) {
                    set.remove(&g);
                }
            }
        }
    }
}
