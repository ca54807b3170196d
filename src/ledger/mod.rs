//! The [`Ledger`]: the API a hospital system embeds.
//!
//! One `Ledger` is one node's view of a chain. It sequences transactions
//! (checking each against the rules before accepting it), proposes blocks,
//! commits them once enough validators have sealed them, and serves records
//! to the participants allowed to read them. It is `Send + Sync`: many
//! readers run concurrently; writers serialise on a short critical section
//! (encryption and signing happen outside it).

mod checkpoint;
mod consent;
mod disclose;
mod proofs;
mod replicate;

pub use disclose::ErasureReceipt;
pub use replicate::{Endorsed, Imported, Served, Upstream};

use core::fmt;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zeroize::Zeroizing;

use crate::access::envelope::{RecordDraft, open_epoch_key, seal_record, share_epoch};
use crate::crypto::aead::AeadKey;
use crate::crypto::hash::Digest;
use crate::crypto::keypair::Keypair;
use crate::log::access::Adjust;
use crate::log::block::{Block, BlockHeader, Seal};
use crate::log::merkle::{MerkleHasher, MerkleLog};
use crate::log::state::{ChainState, SealError, TX_TIME_SKEW_MS, TxPosition};
use crate::model::tx::{RecordsBody, ledger_id_of};
use crate::model::{
    Category, EpochShare, Genesis, LedgerId, Participant, ParticipantId, RecordHeader, RecordId,
    SignedTx, Tx, TxBody, TxKind, ValidatorSet,
};
use crate::store::{Access, DirStore, MemoryStore, OpenReport, Store};
use crate::verify::{Report, VerifyOptions, replay, verify_store};
use crate::{Error, Result};
use std::path::Path;

/// Records at or above this count are sealed on all cores.
const PARALLEL_SEAL_THRESHOLD: usize = 64;

/// A record to append.
#[derive(Clone, Copy)]
pub struct NewRecord<'a> {
    /// Whose record.
    pub patient: ParticipantId,
    /// Category code, e.g. `lab`.
    pub category: &'a str,
    /// MIME type of the payload, e.g. `application/fhir+json`.
    pub content_type: &'a str,
    /// The plaintext (encrypted before it leaves this call).
    pub payload: &'a [u8],
}

impl fmt::Debug for NewRecord<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewRecord")
            .field("patient", &self.patient)
            .field("category", &self.category)
            .field("content_type", &self.content_type)
            .field(
                "payload",
                &format_args!("<{} bytes redacted>", self.payload.len()),
            )
            .finish()
    }
}

/// Public facts about a committed record (no plaintext).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordInfo {
    /// The header as on chain.
    pub header: RecordHeader,
    /// Author.
    pub author: ParticipantId,
    /// Height of the block holding it.
    pub height: u64,
    /// Leaf index of its transaction.
    pub leaf: u64,
    /// The amendment that replaced this version, if any.
    pub superseded_by: Option<RecordId>,
    /// Its payload was erased.
    pub erased: bool,
}

/// A decrypted record. `Debug` never prints the plaintext.
pub struct Record {
    /// Public facts.
    pub info: RecordInfo,
    /// The plaintext, zeroized on drop.
    pub plaintext: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("info", &self.info)
            .field(
                "plaintext",
                &format_args!("<{} bytes redacted>", self.plaintext.len()),
            )
            .finish()
    }
}

/// A transaction ready to be accepted: its encoding, decoded form, leaf
/// hash, payloads with their digests, and the key its signature is under.
struct PreparedTx {
    bytes: Vec<u8>,
    stx: SignedTx,
    leaf: Digest,
    payloads: Vec<(Digest, Vec<u8>)>,
    signer: [u8; 32],
}

impl PreparedTx {
    /// Fails unless `signer` is still the author's registered key.
    fn check_signer(&self, state: &ChainState) -> Result<()> {
        let registered = state
            .signer_key(&self.stx.tx.author)
            .map(|k| k.verifying_key().to_bytes());
        if registered != Some(self.signer) {
            return Err(Error::Rejected(format!(
                "tx.author: {} is not registered with the signing key",
                self.stx.tx.author
            )));
        }
        Ok(())
    }
}

/// An accepted transaction waiting for its block, with the ciphertexts of
/// its records (written with the block).
struct PendingTx {
    bytes: Vec<u8>,
    timestamp: u64,
    payloads: Vec<(Digest, Vec<u8>)>,
    /// Ciphertexts an erase transaction removes once its block is durable.
    erases: Vec<Digest>,
}

/// A source of time in ms since the Unix epoch (the wall clock by default;
/// tests substitute a manual one).
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Keys this node holds on behalf of its institution.
#[derive(Default)]
struct NodeKeys {
    /// Validators sealing blocks here: reads and erasures that must be
    /// durable commit the pending block themselves (group commit).
    validators: Vec<Arc<Keypair>>,
    /// The institution's custodian: releases escrowed keys to providers
    /// under an active break-glass declaration.
    custodian: Option<Arc<Keypair>>,
}

/// How long a disclosure waits for a block sealed elsewhere.
const COMMIT_WAIT: Duration = Duration::from_secs(30);

struct Inner {
    state: ChainState,
    log: MerkleLog,
    head: BlockHeader,
    /// Accepted, not yet committed transactions, in log order.
    pending: Vec<PendingTx>,
    /// A block this node endorsed (checked and applied to `state` and
    /// `log`, not yet sealed nor stored); never together with `pending`.
    staged: Option<replicate::Verified>,
    /// The proposal this node sent to the validators for the next height
    /// (re-sent unchanged until it is committed).
    proposed: Option<crate::log::shipped::ShippedBlock>,
}

/// A ledger node. See the crate docs for an example.
pub struct Ledger {
    id: LedgerId,
    /// Opened read-only: verifies and proves, never writes nor decrypts.
    read_only: bool,
    /// Blocks and payloads; synchronises itself (readers never wait for a
    /// commit's fsync).
    store: Box<dyn Store>,
    /// One committer at a time, from proposal to moving the head.
    commit_lock: Mutex<()>,
    inner: RwLock<Inner>,
    clock: Clock,
    node: RwLock<NodeKeys>,
    /// Signalled after each commit (waiters hold the mutex while checking).
    committed: (Mutex<()>, Condvar),
    /// Where this node forwards transactions when another node sequences
    /// (a follower); `None` when it sequences itself.
    upstream: RwLock<Option<Arc<dyn Upstream>>>,
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ledger({:?})", self.id)
    }
}

/// Ciphertexts by digest (hashed once, before any lock is taken).
fn by_digest(payloads: &[Vec<u8>]) -> HashMap<Digest, &Vec<u8>> {
    payloads
        .iter()
        .map(|p| (crate::model::tx::ciphertext_digest(p), p))
        .collect()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn rejected(v: crate::log::state::RuleViolation) -> Error {
    let mut msg = format!("{} ({:?})", v.message, v.kind);
    if let Some(i) = v.record_index {
        msg.push_str(&format!(" in record {i}"));
    }
    Error::Rejected(format!("{}: {msg}", v.field))
}

impl Ledger {
    /// Creates a ledger in memory from `genesis`, sealing block 0 with
    /// `validators` (at least the genesis threshold of them).
    pub fn create_in_memory(genesis: Genesis, validators: &[&Keypair]) -> Result<Ledger> {
        Self::create(Box::new(MemoryStore::new()), genesis, validators)
    }

    /// Creates a ledger in `store` (which must be empty) from `genesis`.
    pub fn create(
        store: Box<dyn Store>,
        genesis: Genesis,
        validators: &[&Keypair],
    ) -> Result<Ledger> {
        Self::create_with(genesis, validators, |_, block| {
            if store.block_count()? != 0 {
                return Err(Error::invalid("store", "is not empty"));
            }
            store.append_block(block, &[])?;
            Ok(store)
        })
    }

    /// Creates a ledger in directory `dir` (created if missing; must not
    /// already hold a ledger). The directory is locked for this writer.
    pub fn create_dir(dir: &Path, genesis: Genesis, validators: &[&Keypair]) -> Result<Ledger> {
        Self::create_with(genesis, validators, |id, block| {
            Ok(Box::new(DirStore::create(dir, id, block)?))
        })
    }

    /// Creates a ledger from `genesis`: `make_store` receives the new ledger
    /// id and the encoded, sealed genesis block, and returns a store holding
    /// exactly that block.
    pub fn create_with(
        genesis: Genesis,
        validators: &[&Keypair],
        make_store: impl FnOnce(LedgerId, &[u8]) -> Result<Box<dyn Store>>,
    ) -> Result<Ledger> {
        let timestamp = now_ms();
        let gtx = Tx {
            kind: TxKind::Genesis,
            author: ParticipantId(Digest::ZERO),
            seq: 0,
            timestamp,
            body: TxBody::Genesis(genesis.clone()),
        };
        let mut bytes = gtx.encode_unsigned()?;
        bytes.extend_from_slice(&[0u8; 64]);
        let id = ledger_id_of(&bytes);
        let state = ChainState::from_genesis(id, &genesis).map_err(rejected)?;
        let mut log = MerkleLog::new();
        log.push_leaf_data(&bytes);
        let header = BlockHeader {
            ledger_id: id,
            height: 0,
            prev_hash: Digest::ZERO,
            timestamp,
            first_leaf: 0,
            tx_count: 1,
            log_size: 1,
            log_root: log.root(),
            validator_set_hash: state.validators_hash,
        };
        let seals = seal_with(&state.validators, &header, validators)?;
        check_seals(&state, &header, &seals)?;
        let block = Block {
            header: header.clone(),
            seals,
            txs: vec![bytes],
        };
        let store = make_store(id, &block.encode())?;
        if store.block_count()? != 1 {
            return Err(Error::System(
                "new store does not hold exactly the genesis block".into(),
            ));
        }
        Ok(Ledger {
            id,
            read_only: false,
            store,
            commit_lock: Mutex::new(()),
            inner: RwLock::new(Inner {
                state,
                log,
                head: header,
                pending: Vec::new(),
                staged: None,
                proposed: None,
            }),
            clock: Arc::new(now_ms),
            node: RwLock::new(NodeKeys::default()),
            committed: (Mutex::new(()), Condvar::new()),
            upstream: RwLock::new(None),
        })
    }

    /// Opens an existing ledger in `store`, verifying the whole chain first
    /// (payloads included). A chain that does not verify is refused with
    /// [`Error::Corrupt`] naming the first fault.
    pub fn open(store: Box<dyn Store>) -> Result<Ledger> {
        Self::open_verified(store, &VerifyOptions::default(), false)
    }

    /// Opens the ledger in directory `dir` for writing (taking its lock),
    /// recovering from a crash: a torn, never-acknowledged tail is cut and
    /// reported. Signatures, links, seals and rules are replayed from
    /// genesis; payloads are checked by their frame checksums here and by
    /// their digests on every read (full payload verification: `verify`).
    pub fn open_dir(dir: &Path) -> Result<(Ledger, OpenReport)> {
        Self::open_dir_with(DirStore::open(dir, Access::Write)?)
    }

    /// Opens a ledger directory read-only, without the writer lock (any
    /// number may be open beside the writer). It can verify and serve
    /// public facts, never plaintext: a disclosure must be recorded, and a
    /// read-only open cannot record.
    pub fn open_dir_read_only(dir: &Path) -> Result<(Ledger, OpenReport)> {
        Self::open_dir_with(DirStore::open(dir, Access::ReadOnly)?)
    }

    /// Opens a ledger over an already opened directory store (e.g. one with
    /// fault injection).
    pub fn open_dir_with(store: DirStore) -> Result<(Ledger, OpenReport)> {
        let report = store.open_report().clone();
        let file_id = store.ledger_id();
        let read_only = store.is_read_only();
        let opts = VerifyOptions {
            check_payloads: false,
            ..VerifyOptions::default()
        };
        let ledger = Self::open_verified(Box::new(store), &opts, read_only)?;
        if ledger.id != file_id {
            return Err(Error::Corrupt(Box::new(crate::verify::Fault {
                kind: crate::verify::FaultKind::WrongLedger,
                location: crate::verify::Location {
                    height: 0,
                    tx_index: None,
                    record_index: None,
                    field: "file.ledger_id",
                    offset: Some(16),
                },
                message: format!(
                    "file header names ledger {file_id} but its genesis is ledger {}: \
                     blocks of another ledger",
                    ledger.id
                ),
            })));
        }
        Ok((ledger, report))
    }

    fn open_verified(
        store: Box<dyn Store>,
        opts: &VerifyOptions,
        read_only: bool,
    ) -> Result<Ledger> {
        let (report, replayed) = replay(store.as_ref(), opts);
        let r = match (report.fault, replayed) {
            (Some(f), _) => return Err(Error::Corrupt(Box::new(f))),
            (None, Some(r)) => r,
            (None, None) => return Err(Error::System("replay produced no state".into())),
        };
        if !read_only {
            // An erase transaction is committed before its payloads leave
            // the vault: finish any erasure a crash interrupted.
            for rec in r.state.records.values().filter(|r| r.erased.is_some()) {
                store.erase_payload(&rec.header.ciphertext_digest)?;
            }
        }
        Ok(Ledger {
            id: r.state.ledger_id,
            read_only,
            store,
            commit_lock: Mutex::new(()),
            inner: RwLock::new(Inner {
                state: r.state,
                log: r.log,
                head: r.head,
                pending: Vec::new(),
                staged: None,
                proposed: None,
            }),
            clock: Arc::new(now_ms),
            node: RwLock::new(NodeKeys::default()),
            committed: (Mutex::new(()), Condvar::new()),
            upstream: RwLock::new(None),
        })
    }

    fn read(&self) -> Result<RwLockReadGuard<'_, Inner>> {
        self.inner
            .read()
            .map_err(|_| Error::System("ledger lock poisoned".into()))
    }

    fn write(&self) -> Result<RwLockWriteGuard<'_, Inner>> {
        self.inner
            .write()
            .map_err(|_| Error::System("ledger lock poisoned".into()))
    }

    /// The ledger id (hash of genesis).
    pub fn id(&self) -> LedgerId {
        self.id
    }

    /// Replaces the clock (ms since the Unix epoch) used for transaction
    /// and block timestamps, and so for consent periods and break-glass
    /// windows. For tests and simulations; the default is the wall clock.
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Ledger {
        self.clock = Arc::new(clock);
        self
    }

    /// The current time of this ledger's clock, ms.
    pub fn now(&self) -> u64 {
        (self.clock)()
    }

    /// Gives this node validator keys to seal blocks with: a read that must
    /// record its disclosure, or an erasure, commits the pending block
    /// itself with them (concurrent callers share one commit). Without
    /// them such calls wait for a block sealed elsewhere. Each key must be
    /// in the validator set when it is used.
    pub fn attach_validators(&self, validators: Vec<Arc<Keypair>>) -> Result<()> {
        self.node_write()?.validators = validators;
        Ok(())
    }

    /// Gives this node its institution's custodian key (a participant with
    /// the custodian role): it releases category keys escrowed to it to
    /// providers reading under an active break-glass declaration.
    pub fn attach_custodian(&self, custodian: Arc<Keypair>) -> Result<()> {
        let registered = self
            .read()?
            .state
            .participant(&custodian.id())
            .is_some_and(|p| p.info.roles.contains(crate::model::Roles::CUSTODIAN));
        if !registered {
            return Err(Error::invalid(
                "custodian",
                "is not a registered participant with the custodian role",
            ));
        }
        self.node_write()?.custodian = Some(custodian);
        Ok(())
    }

    fn node_write(&self) -> Result<RwLockWriteGuard<'_, NodeKeys>> {
        self.node
            .write()
            .map_err(|_| Error::System("node key lock poisoned".into()))
    }

    /// The attached (validators, custodian).
    #[allow(clippy::type_complexity)]
    fn node_keys(&self) -> Result<(Vec<Arc<Keypair>>, Option<Arc<Keypair>>)> {
        let n = self
            .node
            .read()
            .map_err(|_| Error::System("node key lock poisoned".into()))?;
        Ok((n.validators.clone(), n.custodian.clone()))
    }

    /// Returns once the transaction at `leaf` is in a committed block:
    /// commits the pending block with this node's validator keys if it has
    /// any, otherwise waits (up to 30 s) for a commit made elsewhere.
    fn await_commit(&self, leaf: u64) -> Result<()> {
        let deadline = std::time::Instant::now() + COMMIT_WAIT;
        loop {
            let (validators, _) = self.node_keys()?;
            // Commit here only when this node alone can seal; otherwise
            // (a consortium) the block is sealed by the validators' round.
            let alone = validators.len() >= usize::from(self.read()?.state.validators.threshold);
            if !validators.is_empty() && alone && self.upstream()?.is_none() {
                let _commit = self.commit_guard()?;
                if self.read()?.head.log_size > leaf {
                    return Ok(());
                }
                let header = self.propose_locked()?;
                let set = self.validators()?;
                let refs: Vec<&Keypair> = validators.iter().map(|k| k.as_ref()).collect();
                let seals = seal_with(&set, &header, &refs)?;
                self.commit_locked(&header, seals, SealOrigin::MadeHere)?;
                continue;
            }
            let (lock, cv) = &self.committed;
            let guard = lock
                .lock()
                .map_err(|_| Error::System("commit signal poisoned".into()))?;
            if self.read()?.head.log_size > leaf {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(Error::System(format!(
                    "transaction {leaf} was not committed within {} s and this node holds no \
                     validator keys (attach_validators) or follows another node",
                    COMMIT_WAIT.as_secs()
                )));
            }
            drop(
                cv.wait_timeout(guard, left)
                    .map_err(|_| Error::System("commit signal poisoned".into()))?,
            );
        }
    }

    /// The last committed block header.
    pub fn head(&self) -> Result<BlockHeader> {
        Ok(self.read()?.head.clone())
    }

    /// Accepted transactions waiting for the next block.
    /// (Counted in the log, so a block being written still counts until
    /// the head moves past it.)
    pub fn pending_count(&self) -> Result<usize> {
        let inner = self.read()?;
        Ok(
            usize::try_from(inner.log.size().saturating_sub(inner.head.log_size))
                .unwrap_or(usize::MAX),
        )
    }

    /// The validator set that must seal the next block.
    pub fn validators(&self) -> Result<ValidatorSet> {
        Ok(self.read()?.state.validators.clone())
    }

    /// A registered participant.
    pub fn participant(&self, id: &ParticipantId) -> Result<Participant> {
        self.read()?
            .state
            .participant(id)
            .map(|p| p.info.clone())
            .ok_or_else(|| Error::NotFound(format!("participant {id}")))
    }

    // ---- submitting transactions ------------------------------------------

    /// Submits an encoded signed transaction built elsewhere, with the
    /// ciphertexts of its records. Checks decoding, signature (strict) and
    /// rules; returns the leaf index it will occupy.
    pub fn submit(&self, tx_bytes: &[u8], payloads: &[Vec<u8>]) -> Result<u64> {
        if self.read_only {
            return Err(Error::Denied("ledger opened read-only".into()));
        }
        // Hashing happens before the lock is taken.
        let p = self.prepare(tx_bytes, &by_digest(payloads))?;
        self.accept(p)
    }

    /// Decodes a signed transaction, matches its records' ciphertexts from
    /// `by_digest` and verifies its signature (strict) under the author's
    /// registered key.
    fn prepare(
        &self,
        tx_bytes: &[u8],
        by_digest: &HashMap<Digest, &Vec<u8>>,
    ) -> Result<PreparedTx> {
        let stx = SignedTx::decode(tx_bytes)?;
        let mut matched = Vec::new();
        if let TxBody::Records(b) = &stx.tx.body {
            for (i, r) in b.records.iter().enumerate() {
                let ct = by_digest.get(&r.ciphertext_digest).ok_or_else(|| {
                    Error::Rejected(format!("record {i}: its ciphertext was not supplied"))
                })?;
                if ct.len() as u64 != r.ciphertext_len {
                    return Err(Error::Rejected(format!(
                        "record {i}: ciphertext length differs"
                    )));
                }
                matched.push((r.ciphertext_digest, (*ct).clone()));
            }
        }
        let key = self
            .read()?
            .state
            .signer_key(&stx.tx.author)
            .copied()
            .ok_or_else(|| {
                Error::Rejected(format!("tx.author: {} is not registered", stx.tx.author))
            })?;
        key.verify_strict(
            &Tx::signing_message(&self.id, SignedTx::unsigned_part(tx_bytes)),
            &stx.signature,
        )?;
        Ok(PreparedTx {
            leaf: crate::log::merkle::Sha3Hasher::hash_leaf(tx_bytes),
            bytes: tx_bytes.to_vec(),
            stx,
            payloads: matched,
            signer: key.verifying_key().to_bytes(),
        })
    }

    /// Accepts a transaction whose signature was checked (or made) by the
    /// caller under `signer`: under the write lock, checks that `signer` is
    /// still the author's registered key and the rules, then stages the
    /// payloads and appends the leaf. Only this part is serialised.
    fn accept(&self, p: PreparedTx) -> Result<u64> {
        if let Some(up) = self.upstream()? {
            return self.forward(up.as_ref(), p);
        }
        self.accept_local(p, true)
    }

    /// [`Ledger::accept`] on this node; `check_time` bounds the transaction
    /// time by the sequencer's clock (off only when a proposal whose block
    /// time is already fixed is restored).
    fn accept_local(&self, p: PreparedTx, check_time: bool) -> Result<u64> {
        let mut inner = self.write()?;
        p.check_signer(&inner.state)?;
        // The sequencer's clock bounds transaction time, so the block this
        // transaction lands in can always be given a timestamp the
        // verifier accepts (docs/FORMAT.md §5.2).
        let now = self.now();
        let ts = p.stx.tx.timestamp;
        if check_time
            && (ts > now.saturating_add(TX_TIME_SKEW_MS)
                || ts.saturating_add(TX_TIME_SKEW_MS) < now.max(inner.head.timestamp))
        {
            return Err(Error::Rejected(format!(
                "tx.timestamp: {ts} is more than {TX_TIME_SKEW_MS} ms away from the \
                 sequencer's time {now}"
            )));
        }
        inner.state.check(&p.stx).map_err(rejected)?;
        let erases = match &p.stx.tx.body {
            TxBody::Erase(ids) => ids
                .iter()
                .filter_map(|id| inner.state.records.get(id))
                .map(|r| r.header.ciphertext_digest)
                .collect(),
            _ => Vec::new(),
        };
        let leaf = inner.log.size();
        let position = TxPosition {
            height: inner.head.height.saturating_add(1),
            tx_index: u32::try_from(inner.pending.len()).unwrap_or(u32::MAX),
            leaf,
        };
        inner.state.apply(p.stx, position);
        inner.log.push(p.leaf);
        // The ciphertexts travel with the transaction and are written with
        // its block, so a committed block never lacks its payloads.
        inner.pending.push(PendingTx {
            bytes: p.bytes,
            timestamp: ts,
            payloads: p.payloads,
            erases,
        });
        Ok(leaf)
    }

    fn next_seq_in(&self, state: &ChainState, author: &ParticipantId) -> Result<u64> {
        state
            .participant(author)
            .map(|p| p.last_seq.saturating_add(1))
            .ok_or_else(|| Error::Rejected(format!("tx.author: {author} is not registered")))
    }

    /// Builds, signs and accepts a transaction of `author`. The signature is
    /// made here with the author's key, so instead of verifying it the
    /// ledger checks that this key is the author's registered one.
    #[allow(clippy::too_many_arguments)]
    fn sign_and_submit(
        &self,
        author: &Keypair,
        seq: u64,
        timestamp: u64,
        kind: TxKind,
        body: TxBody,
        payloads: Vec<(Digest, Vec<u8>)>,
    ) -> Result<u64> {
        if self.read_only {
            return Err(Error::Denied("ledger opened read-only".into()));
        }
        let tx = Tx {
            kind,
            author: author.id(),
            seq,
            timestamp,
            body,
        };
        let bytes = tx.sign(&self.id, author.signing_key())?;
        let signature = crate::crypto::sign::Signature(
            bytes
                .get(bytes.len().saturating_sub(64)..)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(|| Error::System("signed transaction too short".into()))?,
        );
        self.accept(PreparedTx {
            leaf: crate::log::merkle::Sha3Hasher::hash_leaf(&bytes),
            bytes,
            stx: SignedTx { tx, signature },
            payloads,
            signer: author.public().sign,
        })
    }

    /// Builds and submits one payload-free transaction of `author` at the
    /// ledger's current time: `build` sees the ledger state (chain state
    /// and committed head) and that time
    /// and returns the body, or `None` when there is nothing to submit.
    /// Submissions by one keypair are serialised, so the sequence number
    /// read here is the one accepted. Returns (sequence number, leaf,
    /// time), or `None` when nothing was submitted.
    fn submit_with(
        &self,
        author: &Keypair,
        kind: TxKind,
        build: impl FnOnce(&Inner, u64) -> Result<Option<TxBody>>,
    ) -> Result<Option<(u64, u64, u64)>> {
        let _author = author.submit_guard()?;
        let t = self.now();
        let (seq, body) = {
            let inner = self.read()?;
            let seq = self.next_seq_in(&inner.state, &author.id())?;
            (seq, build(&inner, t)?)
        };
        let Some(body) = body else {
            return Ok(None);
        };
        let leaf = self.sign_and_submit(author, seq, t, kind, body, Vec::new())?;
        Ok(Some((seq, leaf, t)))
    }

    /// [`Ledger::submit_with`] for a body known in advance.
    fn submit_body(&self, author: &Keypair, kind: TxKind, body: TxBody) -> Result<(u64, u64, u64)> {
        self.submit_with(author, kind, |_, _| Ok(Some(body)))?
            .ok_or_else(|| Error::System("nothing was submitted".into()))
    }

    /// An admin registers a participant (public keys, roles, label).
    pub fn register(&self, admin: &Keypair, participant: Participant) -> Result<()> {
        self.submit_body(
            admin,
            TxKind::RegisterParticipant,
            TxBody::Register(participant),
        )
        .map(|_| ())
    }

    /// An admin replaces the validator set from the block after the next.
    pub fn set_validators(&self, admin: &Keypair, set: ValidatorSet) -> Result<()> {
        self.submit_body(admin, TxKind::SetValidators, TxBody::SetValidators(set))
            .map(|_| ())
    }

    /// Appends one encrypted record; returns its id.
    pub fn append_record(&self, author: &Keypair, record: NewRecord<'_>) -> Result<RecordId> {
        let ids = self.append_records(author, TxKind::AppendRecord, &[record], None)?;
        ids.into_iter()
            .next()
            .ok_or_else(|| Error::System("append produced no record".into()))
    }

    /// Appends many records under one signature (bulk import); returns ids
    /// in order.
    pub fn append_batch(
        &self,
        author: &Keypair,
        records: &[NewRecord<'_>],
    ) -> Result<Vec<RecordId>> {
        self.append_records(author, TxKind::BatchAppend, records, None)
    }

    /// Appends a new version of `previous` (which must be the latest version
    /// and written by `author`); the old version is kept.
    pub fn amend_record(
        &self,
        author: &Keypair,
        previous: &RecordId,
        content_type: &str,
        payload: &[u8],
    ) -> Result<RecordId> {
        let prev = self.record_info(previous)?;
        let rec = NewRecord {
            patient: prev.header.patient,
            category: prev.header.category.as_str(),
            content_type,
            payload,
        };
        let ids = self.append_records(author, TxKind::AmendRecord, &[rec], Some(&prev))?;
        ids.into_iter()
            .next()
            .ok_or_else(|| Error::System("amend produced no record".into()))
    }

    fn append_records(
        &self,
        author: &Keypair,
        kind: TxKind,
        records: &[NewRecord<'_>],
        amends: Option<&RecordInfo>,
    ) -> Result<Vec<RecordId>> {
        if records.is_empty() {
            return Err(Error::invalid("records", "nothing to append"));
        }
        // One submission at a time per author: the sequence number chosen
        // here is the one accepted below.
        let _author = author.submit_guard()?;
        let t = self.now();
        let (seq, keys, shares) = self.write_keys(author, records, t)?;
        let me = author.id();
        let seal_one = |i: usize, r: &NewRecord<'_>| -> Result<(RecordHeader, Vec<u8>)> {
            let category = Category::new(r.category)?;
            let (epoch, key) = keys
                .get(&(r.patient, category.clone()))
                .ok_or_else(|| Error::System("category key missing".into()))?;
            let draft = RecordDraft {
                id: RecordId::derive(&self.id, &me, seq, u32::try_from(i).unwrap_or(u32::MAX)),
                patient: r.patient,
                category,
                content_type: r.content_type,
                version: amends.map_or(1, |p| p.header.version.saturating_add(1)),
                amends: amends.map(|p| p.header.id),
                key_epoch: *epoch,
            };
            seal_record(&self.id, &me, draft, key, r.payload)
        };
        let sealed = seal_all(records, &seal_one)?;
        let (headers, ciphertexts): (Vec<RecordHeader>, Vec<Vec<u8>>) = sealed.into_iter().unzip();
        let ids = headers.iter().map(|h| h.id).collect();
        // The digests were computed from these ciphertexts by seal_record.
        let payloads = headers
            .iter()
            .map(|h| h.ciphertext_digest)
            .zip(ciphertexts)
            .collect();
        let body = TxBody::Records(RecordsBody {
            shares,
            records: headers,
        });
        self.sign_and_submit(author, seq, t, kind, body, payloads)?;
        Ok(ids)
    }

    /// The sequence number and category keys `author` writes with at time
    /// `t`. Where the author holds the current key of (patient, category)
    /// and the epoch is not stale, it is used; otherwise (no epoch yet, a
    /// holder no longer entitled, or the author not holding it) a new
    /// epoch is opened, sealed to exactly the entitled readers.
    #[allow(clippy::type_complexity)]
    fn write_keys(
        &self,
        author: &Keypair,
        records: &[NewRecord<'_>],
        t: u64,
    ) -> Result<(
        u64,
        HashMap<(ParticipantId, Category), (u32, AeadKey)>,
        Vec<EpochShare>,
    )> {
        let inner = self.read()?;
        let me = author.id();
        let seq = inner
            .state
            .participant(&me)
            .map(|p| p.last_seq.saturating_add(1))
            .ok_or_else(|| Error::Rejected(format!("tx.author: {me} is not registered")))?;
        let mut keys = HashMap::new();
        let mut shares = Vec::new();
        for r in records {
            let pair = (r.patient, Category::new(r.category)?);
            if keys.contains_key(&pair) {
                continue;
            }
            let (epoch, key, share) = self.current_or_new_epoch(
                &inner.state,
                author,
                &pair.0,
                &pair.1,
                t,
                Adjust::None,
                false,
            )?;
            shares.extend(share);
            keys.insert(pair, (epoch, key));
        }
        Ok((seq, keys, shares))
    }

    /// The category key `holder` uses for (patient, category) at time `t`:
    /// the current one when it holds it, the epoch is not stale under
    /// `adjust` and `rotate` is false; otherwise a new key for the next
    /// epoch, with the share that seals it to exactly the entitled readers.
    #[allow(clippy::too_many_arguments)]
    fn current_or_new_epoch(
        &self,
        state: &ChainState,
        holder: &Keypair,
        patient: &ParticipantId,
        category: &Category,
        t: u64,
        adjust: Adjust<'_>,
        rotate: bool,
    ) -> Result<(u32, AeadKey, Option<EpochShare>)> {
        let pair = (*patient, category.clone());
        let epoch = state.epochs.get(&pair).copied().unwrap_or(0);
        let entitled = state.entitled(patient, category, t, adjust);
        let stale = state.is_stale(patient, category, &entitled);
        let mine = state.held_wrap(patient, category, epoch, &holder.id());
        if let (false, false, Some(sealed)) = (rotate, stale, mine) {
            let key = open_epoch_key(&self.id, holder, patient, category, epoch, sealed)?;
            return Ok((epoch, key, None));
        }
        let readers = state.enc_keys(&entitled)?;
        let next = epoch.saturating_add(1);
        let key = AeadKey::generate();
        let share = share_epoch(&self.id, *patient, category, next, &key, &readers)?;
        Ok((next, key, Some(share)))
    }

    // ---- blocks -----------------------------------------------------------

    /// The header of the next block over all pending transactions, for the
    /// validators to seal.
    pub fn propose(&self) -> Result<BlockHeader> {
        let _commit = self.commit_guard()?;
        self.propose_locked()
    }

    fn commit_guard(&self) -> Result<std::sync::MutexGuard<'_, ()>> {
        self.commit_lock
            .lock()
            .map_err(|_| Error::System("commit lock poisoned".into()))
    }

    /// The proposal; the caller holds the commit lock, so no commit is
    /// between taking its transactions and moving the head.
    fn propose_locked(&self) -> Result<BlockHeader> {
        let inner = self.read()?;
        Ok(BlockHeader {
            ledger_id: self.id,
            height: inner.head.height.saturating_add(1),
            prev_hash: inner.head.hash(),
            // Late enough for every pending transaction's time (§5.2).
            timestamp: inner
                .pending
                .iter()
                .map(|p| p.timestamp.saturating_sub(TX_TIME_SKEW_MS))
                .fold(self.now().max(inner.head.timestamp), u64::max),
            first_leaf: inner.head.log_size,
            tx_count: u32::try_from(inner.pending.len())
                .map_err(|_| Error::invalid("block", "too many pending transactions"))?,
            log_size: inner.log.size(),
            log_root: inner.log.root(),
            validator_set_hash: inner.state.validators_hash,
        })
    }

    /// Commits a proposed block once `seals` reach the threshold of the
    /// validator set in force. Transactions submitted after the proposal
    /// stay pending for the next block. Returns once the block is durable.
    pub fn commit(&self, header: &BlockHeader, seals: Vec<Seal>) -> Result<()> {
        let _commit = self.commit_guard()?;
        self.commit_locked(header, seals, SealOrigin::Received)
    }

    fn commit_locked(
        &self,
        header: &BlockHeader,
        seals: Vec<Seal>,
        origin: SealOrigin,
    ) -> Result<()> {
        if self.read_only {
            return Err(Error::Denied("ledger opened read-only".into()));
        }
        // Take the block's transactions under the lock, briefly.
        let taken: Vec<PendingTx> = {
            let mut inner = self.write()?;
            let n = usize::try_from(header.tx_count).unwrap_or(usize::MAX);
            let expected_root = inner.log.root_at(header.log_size)?;
            if header.height != inner.head.height.saturating_add(1)
                || header.prev_hash != inner.head.hash()
                || header.first_leaf != inner.head.log_size
                || n > inner.pending.len()
                || header.first_leaf.checked_add(u64::from(header.tx_count))
                    != Some(header.log_size)
                || header.log_root != expected_root
                || header.validator_set_hash != inner.state.validators_hash
                || header.ledger_id != self.id
                || header.timestamp < inner.head.timestamp
            {
                return Err(Error::invalid(
                    "block header",
                    "does not extend this ledger's head",
                ));
            }
            match origin {
                SealOrigin::Received => check_seals(&inner.state, header, &seals)?,
                SealOrigin::MadeHere => {
                    let need = usize::from(inner.state.validators.threshold);
                    if seals.len() < need {
                        return Err(Error::MissingQuorum {
                            height: header.height,
                            have: seals.len(),
                            need,
                        });
                    }
                }
            }
            inner.pending.drain(..n).collect()
        };
        // Encode, write and fsync without holding the ledger lock: readers
        // and submitters carry on while the disk works.
        let mut txs = Vec::with_capacity(taken.len());
        let mut payloads = Vec::new();
        let mut counts = Vec::with_capacity(taken.len());
        let mut stamps = Vec::with_capacity(taken.len());
        let mut erases = Vec::with_capacity(taken.len());
        for p in taken {
            txs.push(p.bytes);
            counts.push(p.payloads.len());
            stamps.push(p.timestamp);
            payloads.extend(p.payloads);
            erases.push(p.erases);
        }
        let block = Block {
            header: header.clone(),
            seals,
            txs,
        };
        let written = self.store.append_block(&block.encode(), &payloads);
        let mut inner = self.write()?;
        if let Err(e) = written {
            // Nothing was committed: the transactions stay pending, first,
            // each with its own ciphertexts.
            let mut rest = payloads.into_iter();
            let mut back: Vec<PendingTx> = block
                .txs
                .into_iter()
                .zip(counts)
                .zip(stamps)
                .zip(erases)
                .map(|(((bytes, n), timestamp), erases)| PendingTx {
                    bytes,
                    timestamp,
                    payloads: rest.by_ref().take(n).collect(),
                    erases,
                })
                .collect();
            back.append(&mut inner.pending);
            inner.pending = back;
            return Err(e);
        }
        inner.state.end_block(header.log_size, header.timestamp);
        inner.head = block.header;
        inner.proposed = None;
        drop(inner);
        self.notify_committed();
        // The erase transactions are durable: their ciphertexts go (an
        // erasure interrupted here is finished when the ledger is opened).
        for d in erases.iter().flatten() {
            self.store.erase_payload(d)?;
        }
        Ok(())
    }

    /// Wakes the callers waiting in [`Ledger::await_commit`].
    fn notify_committed(&self) {
        // Waiters check the head while holding this mutex, so taking it
        // here orders the notification after their check.
        let (lock, cv) = &self.committed;
        drop(lock.lock());
        cv.notify_all();
    }

    /// Proposes, seals with `validators` and commits in one step (for a node
    /// that holds validator keys locally). Returns the committed header.
    /// Concurrent calls are serialised; each commits what is pending.
    pub fn commit_block(&self, validators: &[&Keypair]) -> Result<BlockHeader> {
        let _commit = self.commit_guard()?;
        let header = self.propose_locked()?;
        let set = self.validators()?;
        let seals = seal_with(&set, &header, validators)?;
        self.commit_locked(&header, seals, SealOrigin::MadeHere)?;
        Ok(header)
    }

    // ---- reading ------------------------------------------------------------

    /// Public facts about a committed record.
    pub fn record_info(&self, id: &RecordId) -> Result<RecordInfo> {
        let inner = self.read()?;
        let r = inner
            .state
            .records
            .get(id)
            .filter(|r| r.position.leaf < inner.head.log_size)
            .ok_or_else(|| Error::NotFound(format!("committed record {id}")))?;
        Ok(info_of(r))
    }

    /// All versions of a record, oldest first.
    pub fn versions(&self, id: &RecordId) -> Result<Vec<RecordId>> {
        let mut first = self.record_info(id)?;
        while let Some(prev) = first.header.amends {
            first = self.record_info(&prev)?;
        }
        let mut out = vec![first.header.id];
        let mut cur = first;
        while let Some(next) = cur.superseded_by {
            match self.record_info(&next) {
                Ok(n) => {
                    out.push(next);
                    cur = n;
                }
                Err(_) => break, // the newer version is still pending
            }
        }
        Ok(out)
    }

    // ---- verification -------------------------------------------------------

    /// Verifies the stored chain from genesis (default options).
    pub fn verify(&self) -> Result<Report> {
        self.verify_with(&VerifyOptions::default())
    }

    /// Verifies the stored chain with explicit options.
    pub fn verify_with(&self, opts: &VerifyOptions) -> Result<Report> {
        Ok(verify_store(self.store.as_ref(), opts))
    }

    /// Merkle root of the log at a committed size.
    pub fn log_root_at(&self, size: u64) -> Result<Digest> {
        let inner = self.read()?;
        if size > inner.head.log_size {
            return Err(Error::invalid("size", "beyond the committed log"));
        }
        inner.log.root_at(size)
    }
}

fn info_of(r: &crate::log::state::RecordState) -> RecordInfo {
    RecordInfo {
        header: r.header.clone(),
        author: r.author,
        height: r.position.height,
        leaf: r.position.leaf,
        superseded_by: r.superseded_by,
        erased: r.erased.is_some(),
    }
}

/// Where a block's seals come from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SealOrigin {
    /// From elsewhere: every seal is verified strictly.
    Received,
    /// Made by [`seal_with`] from keys checked against the validator set.
    MadeHere,
}

/// Seals `header` with each of `signers` that is in `set`.
fn seal_with(set: &ValidatorSet, header: &BlockHeader, signers: &[&Keypair]) -> Result<Vec<Seal>> {
    let mut seals: Vec<Seal> = Vec::with_capacity(signers.len());
    for kp in signers {
        let idx = set
            .index_of(&kp.id())
            .ok_or_else(|| Error::Denied(format!("{} is not in the validator set", kp.id())))?;
        // The seal is made here with this key; it counts only if the key
        // is the one the validator set lists (so it need not be verified).
        let listed = set.members.get(usize::from(idx)).map(|m| m.key);
        if listed != Some(kp.public().sign) {
            return Err(Error::Denied(format!(
                "{} does not hold the key the validator set lists for it",
                kp.id()
            )));
        }
        seals.push(header.seal(idx, kp.signing_key()));
    }
    seals.sort_by_key(|s| s.validator);
    seals.dedup_by_key(|s| s.validator);
    Ok(seals)
}

/// Checks seals strictly against the set in force; fails below threshold.
fn check_seals(state: &ChainState, header: &BlockHeader, seals: &[Seal]) -> Result<()> {
    match state.check_seals(header, seals, false) {
        Ok(_) => Ok(()),
        Err(SealError::BelowThreshold { have, need }) => Err(Error::MissingQuorum {
            height: header.height,
            have,
            need,
        }),
        Err(e) => Err(Error::invalid("seals", format!("{e:?}"))),
    }
}

/// Seals records on all cores when there are many.
fn seal_all<F>(records: &[NewRecord<'_>], seal_one: &F) -> Result<Vec<(RecordHeader, Vec<u8>)>>
where
    F: Fn(usize, &NewRecord<'_>) -> Result<(RecordHeader, Vec<u8>)> + Sync,
{
    if records.len() < PARALLEL_SEAL_THRESHOLD {
        return records
            .iter()
            .enumerate()
            .map(|(i, r)| seal_one(i, r))
            .collect();
    }
    // Asking the OS reads cgroup files (~20 µs): once per process.
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let threads =
        *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads < 2 {
        return records
            .iter()
            .enumerate()
            .map(|(i, r)| seal_one(i, r))
            .collect();
    }
    let chunk = records.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = records
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                s.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(k, r)| seal_one(c * chunk + k, r))
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(records.len());
        for h in handles {
            out.extend(
                h.join()
                    .map_err(|_| Error::System("sealing thread panicked".into()))??,
            );
        }
        Ok(out)
    })
}
