//! A small consortium shared by the integration tests: two hospitals, three
//! validators (2-of-3), an admin and two patients, on a memory store the
//! test keeps a handle to (for tampering with real stored bytes).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

pub mod net;

use medledger::{Consent, Genesis, Keypair, Ledger, MemoryStore, NewRecord, ParticipantId, Roles};

/// The chain state rebuilt from the raw stored blocks (every transaction
/// checked against the rules and applied), independent of the ledger.
pub fn chain_state(store: &MemoryStore) -> medledger::log::state::ChainState {
    use medledger::Store;
    use medledger::log::block::Block;
    use medledger::log::state::{ChainState, TxPosition};
    use medledger::model::tx::ledger_id_of;
    use medledger::model::{SignedTx, TxBody};
    let g = Block::decode(&store.read_block(0).unwrap()).unwrap().block;
    let gtx = SignedTx::decode(&g.txs[0]).unwrap();
    let TxBody::Genesis(genesis) = &gtx.tx.body else {
        panic!("block 0 holds no genesis")
    };
    let mut state = ChainState::from_genesis(ledger_id_of(&g.txs[0]), genesis).unwrap();
    state.end_block(g.header.log_size, g.header.timestamp);
    for h in 1..store.block_count().unwrap() {
        let b = Block::decode(&store.read_block(h).unwrap()).unwrap().block;
        for (i, t) in b.txs.iter().enumerate() {
            let stx = SignedTx::decode(t).unwrap();
            state.check(&stx).unwrap();
            let position = TxPosition {
                height: h,
                tx_index: u32::try_from(i).unwrap(),
                leaf: b.header.first_leaf + i as u64,
            };
            state.apply(stx, position);
        }
        state.end_block(b.header.log_size, b.header.timestamp);
    }
    state
}

/// A year in ms.
pub const YEAR_MS: u64 = 365 * 24 * 3600 * 1000;

/// A treating relationship: `grantee` may read, append and amend every
/// category of `patient`'s record for treatment, for a year from `now`.
pub fn treating(patient: ParticipantId, grantee: ParticipantId, now: u64) -> Consent {
    Consent::treatment(patient, grantee, now.saturating_sub(1000), now + YEAR_MS)
}

pub struct Consortium {
    pub admin: Keypair,
    pub validators: Vec<Keypair>,
    pub hospital_a: Keypair,
    pub hospital_b: Keypair,
    pub patient: Keypair,
    pub other_patient: Keypair,
    pub store: MemoryStore,
    pub ledger: Ledger,
}

/// Gives the ledger two of the validator keys, so audited reads and
/// erasures commit their own blocks.
pub fn attach(ledger: &Ledger) {
    ledger
        .attach_validators(vec![std::sync::Arc::new(kp(2)), std::sync::Arc::new(kp(3))])
        .unwrap();
}

fn kp(n: u8) -> Keypair {
    Keypair::from_seeds(&[n; 32], &[n.wrapping_add(100); 32])
}

impl Consortium {
    pub fn new() -> Self {
        let store = MemoryStore::new();
        let handle = store.clone();
        let mut c = Self::build(move |g, v| Ledger::create(Box::new(store), g, v).unwrap());
        c.store = handle;
        c
    }

    /// A consortium whose ledger lives in directory `dir`.
    pub fn in_dir(dir: &std::path::Path) -> Self {
        Self::build(|g, v| Ledger::create_dir(dir, g, v).unwrap())
    }

    /// The keys of `new()`/`in_dir()`, without creating a ledger.
    pub fn keys() -> (Keypair, Vec<Keypair>, Keypair, Keypair, Keypair, Keypair) {
        (kp(1), vec![kp(2), kp(3), kp(4)], kp(5), kp(6), kp(7), kp(8))
    }

    /// Reattaches to an existing ledger (e.g. after reopening a directory).
    pub fn with_ledger(ledger: Ledger) -> Self {
        attach(&ledger);
        let (admin, validators, hospital_a, hospital_b, patient, other_patient) = Self::keys();
        Consortium {
            admin,
            validators,
            hospital_a,
            hospital_b,
            patient,
            other_patient,
            store: MemoryStore::new(),
            ledger,
        }
    }

    fn build(create: impl FnOnce(Genesis, &[&Keypair]) -> Ledger) -> Self {
        let (admin, validators, hospital_a, hospital_b, patient, other_patient) = Self::keys();
        let mut founders = vec![admin.participant(Roles::ADMIN, "registration desk")];
        for (i, v) in validators.iter().enumerate() {
            founders.push(v.participant(Roles::VALIDATOR, &format!("validator {i}")));
        }
        let genesis = Genesis::new("test consortium", 2, founders).unwrap();
        let store = MemoryStore::new();
        let ledger = create(genesis, &[&validators[0], &validators[1]]);
        for (k, roles, label) in [
            (&hospital_a, Roles::PROVIDER, "hospital A EHR"),
            (&hospital_b, Roles::PROVIDER, "hospital B EHR"),
            (&patient, Roles::PATIENT, "patient app 1"),
            (&other_patient, Roles::PATIENT, "patient app 2"),
        ] {
            ledger
                .register(&admin, k.participant(roles, label))
                .unwrap();
        }
        // Both patients are treated at both hospitals.
        for p in [&patient, &other_patient] {
            for h in [&hospital_a, &hospital_b] {
                ledger
                    .grant(p, &treating(p.id(), h.id(), ledger.now()))
                    .unwrap();
            }
        }
        attach(&ledger);
        let c = Consortium {
            admin,
            validators,
            hospital_a,
            hospital_b,
            patient,
            other_patient,
            store,
            ledger,
        };
        c.commit();
        c
    }

    /// Seals and commits pending transactions with two of three validators.
    pub fn commit(&self) -> medledger::log::block::BlockHeader {
        self.ledger
            .commit_block(&[&self.validators[0], &self.validators[2]])
            .unwrap()
    }

    /// Two blocks of sample data: three single records (A lab, B imaging,
    /// A lab), then a batch of `batch` notes by A. Returns the first record.
    pub fn sample_blocks(&self, batch: usize) -> medledger::RecordId {
        let first = self
            .ledger
            .append_record(&self.hospital_a, self.record("lab", b"glucose 5.1 mmol/L"))
            .unwrap();
        self.ledger
            .append_record(
                &self.hospital_b,
                self.record("imaging", b"chest x-ray: clear"),
            )
            .unwrap();
        self.ledger
            .append_record(&self.hospital_a, self.record("lab", b"HbA1c 6.2%"))
            .unwrap();
        self.commit();
        let payloads: Vec<Vec<u8>> = (0..batch)
            .map(|i| format!("import {i}").into_bytes())
            .collect();
        let recs: Vec<NewRecord> = payloads.iter().map(|p| self.record("note", p)).collect();
        self.ledger.append_batch(&self.hospital_a, &recs).unwrap();
        self.commit();
        first
    }

    pub fn record<'a>(&self, category: &'a str, payload: &'a [u8]) -> NewRecord<'a> {
        NewRecord {
            patient: self.patient.id(),
            category,
            content_type: "application/fhir+json",
            payload,
        }
    }
}
