//! Patient control: consents, key sharing, break-glass, guardians and
//! suspension.

use crate::access::envelope::{open_epoch_key, seal_dek, unwrap_dek};
use crate::crypto::keypair::Keypair;
use crate::ledger::Ledger;
use crate::log::access::Adjust;
use crate::log::state::ChainState;
use crate::model::tx::{GrantBody, RevokeBody};
use crate::model::{
    BreakGlass, BreakGlassId, Category, Consent, ConsentId, EpochShare, ParticipantChange,
    ParticipantId, ParticipantUpdate, Purpose, TxBody, TxKind,
};
use crate::{Error, Result};

impl Ledger {
    /// The patient (or a guardian, signing with `author`) grants `consent`.
    /// Categories and record ids in its scope are sorted here. The grantee
    /// receives the key of each covered category once (not one per record)
    /// and, for a record-level consent, the data key of each listed
    /// version. Returns the consent id.
    pub fn grant(&self, author: &Keypair, consent: &Consent) -> Result<ConsentId> {
        let mut c = consent.clone();
        c.scope.categories.sort();
        c.scope.categories.dedup();
        c.scope.records.sort();
        c.scope.records.dedup();
        c.validate()?;
        let submitted = self.submit_with(author, TxKind::GrantConsent, |inner, t| {
            let state = &inner.state;
            let grantee = state
                .participant(&c.grantee)
                .ok_or_else(|| Error::NotFound(format!("grantee {}", c.grantee)))?
                .info
                .enc_key;
            let mut shares = Vec::new();
            for cat in covered_categories(state, &c) {
                let pair = (c.patient, cat.clone());
                let cur = state.epochs.get(&pair).copied().unwrap_or(0);
                if cur == 0 {
                    continue;
                }
                let mut history_to = cur;
                if !state
                    .epoch_recipients
                    .get(&pair)
                    .is_some_and(|h| h.contains(&c.grantee))
                {
                    let share = self.share_to(state, author, &c, &cat, grantee, t)?;
                    if share.epoch == cur {
                        history_to = cur - 1;
                    }
                    shares.push(share);
                }
                // The category's history: earlier epochs, one wrap each.
                shares.extend(self.history_shares(
                    state,
                    author,
                    &c.patient,
                    &cat,
                    history_to,
                    &[(c.grantee, grantee)],
                )?);
            }
            let mut record_keys = Vec::with_capacity(c.scope.records.len());
            for id in &c.scope.records {
                let rec = state
                    .records
                    .get(id)
                    .ok_or_else(|| Error::NotFound(format!("record {id}")))?;
                let h = &rec.header;
                let sealed = state
                    .held_wrap(&h.patient, &h.category, h.key_epoch, &author.id())
                    .ok_or_else(|| {
                        Error::Denied(format!(
                            "{} holds no key for ({}, {}) epoch {}",
                            author.id(),
                            h.patient,
                            h.category,
                            h.key_epoch
                        ))
                    })?;
                let key = open_epoch_key(
                    &self.id,
                    author,
                    &h.patient,
                    &h.category,
                    h.key_epoch,
                    sealed,
                )?;
                let dek = unwrap_dek(&self.id, h, &key)?;
                record_keys.push(seal_dek(&self.id, id, &c.grantee, &grantee, &dek)?);
            }
            Ok(Some(TxBody::Grant(GrantBody {
                consent: c,
                shares,
                record_keys,
            })))
        })?;
        let (seq, _, _) =
            submitted.ok_or_else(|| Error::System("the grant was not submitted".into()))?;
        Ok(ConsentId::derive(&self.id, &author.id(), seq))
    }

    /// The share that gives the grantee of `c` the key of `category`: a
    /// wrap of the current key when the author holds it and the epoch is
    /// not stale, otherwise a new epoch for everyone entitled.
    fn share_to(
        &self,
        state: &ChainState,
        author: &Keypair,
        c: &Consent,
        category: &Category,
        grantee_enc: [u8; 32],
        t: u64,
    ) -> Result<EpochShare> {
        let (epoch, key, share) = self.current_or_new_epoch(
            state,
            author,
            &c.patient,
            category,
            t,
            Adjust::Grant(c),
            false,
        )?;
        match share {
            Some(s) => Ok(s),
            None => crate::access::envelope::share_epoch(
                &self.id,
                c.patient,
                category,
                epoch,
                &key,
                &[(c.grantee, grantee_enc)],
            ),
        }
    }

    /// Shares of epochs `1..=upto` of (patient, category) that `author`
    /// holds, to each of `readers` not holding them yet: one share per
    /// epoch. Epochs the author cannot open (a guardian appointed later)
    /// are skipped.
    fn history_shares(
        &self,
        state: &ChainState,
        author: &Keypair,
        patient: &ParticipantId,
        category: &Category,
        upto: u32,
        readers: &[(ParticipantId, [u8; 32])],
    ) -> Result<Vec<EpochShare>> {
        let mut out = Vec::new();
        for epoch in 1..=upto {
            let missing: Vec<(ParticipantId, [u8; 32])> = readers
                .iter()
                .filter(|(id, _)| state.held_wrap(patient, category, epoch, id).is_none())
                .copied()
                .collect();
            let mine = state.held_wrap(patient, category, epoch, &author.id());
            let (false, Some(sealed)) = (missing.is_empty(), mine) else {
                continue;
            };
            let key = open_epoch_key(&self.id, author, patient, category, epoch, sealed)?;
            out.push(crate::access::envelope::share_epoch(
                &self.id, *patient, category, epoch, &key, &missing,
            )?);
        }
        Ok(out)
    }

    /// The patient (or a guardian) revokes a consent. The ledger refuses the
    /// grantee from this transaction on, and every category the consent
    /// covered moves to a new epoch sealed to the remaining entitled
    /// readers, so records appended afterwards are unreadable to the
    /// grantee even with the raw chain and vault. Costs one new key per
    /// category, whatever the number of records. Records the grantee could
    /// read before stay readable to it from its own copies: revocation
    /// cannot take back what was disclosed.
    pub fn revoke(&self, author: &Keypair, consent: &ConsentId) -> Result<()> {
        self.submit_with(author, TxKind::RevokeConsent, |inner, t| {
            let state = &inner.state;
            let c = state
                .consents
                .get(consent)
                .ok_or_else(|| Error::NotFound(format!("consent {consent}")))?;
            let mut shares = Vec::new();
            for cat in covered_categories(state, &c.consent) {
                if state
                    .epochs
                    .get(&(c.consent.patient, cat.clone()))
                    .is_some_and(|e| *e > 0)
                {
                    let (_, _, share) = self.current_or_new_epoch(
                        state,
                        author,
                        &c.consent.patient,
                        &cat,
                        t,
                        Adjust::Revoke(consent),
                        true,
                    )?;
                    shares.extend(share);
                }
            }
            Ok(Some(TxBody::Revoke(RevokeBody {
                consent: *consent,
                shares,
            })))
        })
        .map(|_| ())
    }

    /// The patient (or a guardian) brings the key holders of every category
    /// of `patient` up to date: entitled readers missing from any epoch
    /// receive its key (e.g. a guardian appointed later, or a grantee of a
    /// category whose key rotated), and stale current epochs (a holder no
    /// longer entitled: revoked, expired, suspended) move to a new epoch. Returns the number of shares made (0: nothing
    /// to do, no transaction).
    pub fn share_keys(&self, author: &Keypair, patient: &ParticipantId) -> Result<usize> {
        let mut made = 0;
        self.submit_with(author, TxKind::ShareKeys, |inner, t| {
            let state = &inner.state;
            let mut shares = Vec::new();
            let categories: Vec<Category> = state
                .categories
                .get(patient)
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            for cat in categories {
                let pair = (*patient, cat.clone());
                let cur = state.epochs.get(&pair).copied().unwrap_or(0);
                let entitled = state.entitled(patient, &cat, t, Adjust::None);
                let readers = state.enc_keys(&entitled)?;
                let holders = state
                    .epoch_recipients
                    .get(&pair)
                    .cloned()
                    .unwrap_or_default();
                let mut history_to = cur.saturating_sub(1);
                if holders != entitled || state.is_stale(patient, &cat, &entitled) {
                    let (epoch, key, share) = self.current_or_new_epoch(
                        state,
                        author,
                        patient,
                        &cat,
                        t,
                        Adjust::None,
                        false,
                    )?;
                    match share {
                        Some(s) => {
                            history_to = cur;
                            shares.push(s);
                        }
                        None => {
                            let missing: Vec<_> = readers
                                .iter()
                                .filter(|(id, _)| !holders.contains(id))
                                .copied()
                                .collect();
                            shares.push(crate::access::envelope::share_epoch(
                                &self.id, *patient, &cat, epoch, &key, &missing,
                            )?);
                        }
                    }
                }
                shares.extend(
                    self.history_shares(state, author, patient, &cat, history_to, &readers)?,
                );
            }
            made = shares.len();
            Ok((made > 0).then_some(TxBody::ShareKeys(shares)))
        })?;
        Ok(made)
    }

    /// A provider declares an emergency for `patient` (HIPAA emergency
    /// access): for `duration_ms` (at most the consortium maximum) it may
    /// read the patient's records for purpose `reason` (`ETREAT` or `BTG`),
    /// the keys released by its institution's custodian. Every such read is
    /// recorded and flagged for review. Refused when the patient opted out
    /// of escrow.
    pub fn break_glass(
        &self,
        provider: &Keypair,
        patient: &ParticipantId,
        reason: Purpose,
        justification: &str,
        duration_ms: u64,
    ) -> Result<BreakGlassId> {
        let decl = BreakGlass {
            patient: *patient,
            reason,
            justification: justification.to_owned(),
            duration_ms,
        };
        decl.validate()?;
        let (seq, _, _) =
            self.submit_body(provider, TxKind::BreakGlass, TxBody::BreakGlass(decl))?;
        Ok(BreakGlassId::derive(&self.id, &provider.id(), seq))
    }

    /// An admin, or the patient, appoints `guardian` (a registered
    /// participant with the guardian role) to act for `patient`. The
    /// guardian receives the keys of existing categories with the next
    /// share ([`Ledger::share_keys`]) or the next new epoch.
    pub fn add_guardian(
        &self,
        author: &Keypair,
        patient: &ParticipantId,
        guardian: &ParticipantId,
    ) -> Result<()> {
        self.update_participant(author, *patient, ParticipantChange::AddGuardian(*guardian))
    }

    /// An admin, or the patient, removes a guardian. The categories it held
    /// keys of become stale: the next write moves each to a new epoch.
    pub fn remove_guardian(
        &self,
        author: &Keypair,
        patient: &ParticipantId,
        guardian: &ParticipantId,
    ) -> Result<()> {
        self.update_participant(
            author,
            *patient,
            ParticipantChange::RemoveGuardian(*guardian),
        )
    }

    /// An admin suspends a participant: it may no longer submit
    /// transactions (except recording its own denied reads), its reads are
    /// denied (`Suspended`), and the epochs it holds keys of become stale.
    pub fn suspend(&self, admin: &Keypair, participant: &ParticipantId) -> Result<()> {
        self.update_participant(admin, *participant, ParticipantChange::Suspend)
    }

    /// An admin lifts a suspension.
    pub fn reinstate(&self, admin: &Keypair, participant: &ParticipantId) -> Result<()> {
        self.update_participant(admin, *participant, ParticipantChange::Reinstate)
    }

    /// Rotates a participant's keys to those of `new` (which must carry
    /// the same participant id, e.g. from [`Keypair::rotated`]). `author`
    /// is the participant with its current keys, or an admin. From the
    /// next transaction on the participant signs with the new key; its
    /// earlier transactions stay verifiable under the key valid then. The
    /// category keys it held become stale (its old secret may be what
    /// leaked): the next write opens new epochs, and the patients' next
    /// [`Ledger::share_keys`] seals the history to the new key. A
    /// validator also needs a new validator set listing its new key.
    pub fn rotate_keys(&self, author: &Keypair, new: &Keypair) -> Result<()> {
        let participant = new.id();
        let public = new.public();
        let proof = new.signing_key().sign(&ParticipantUpdate::rotation_message(
            &self.id,
            &participant,
            &public.sign,
            &public.enc,
        ));
        self.update_participant(
            author,
            participant,
            ParticipantChange::RotateKeys {
                sign_key: public.sign,
                enc_key: public.enc,
                proof,
            },
        )
    }

    fn update_participant(
        &self,
        author: &Keypair,
        participant: ParticipantId,
        change: ParticipantChange,
    ) -> Result<()> {
        self.submit_body(
            author,
            TxKind::UpdateParticipant,
            TxBody::Update(ParticipantUpdate {
                participant,
                change,
            }),
        )
        .map(|_| ())
    }
}

/// The categories a consent covers that the patient has keys for.
fn covered_categories(state: &ChainState, c: &Consent) -> Vec<Category> {
    state
        .categories
        .get(&c.patient)
        .into_iter()
        .flatten()
        .filter(|cat| c.scope.covers_category(cat))
        .cloned()
        .collect()
}
