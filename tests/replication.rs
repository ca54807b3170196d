//! Replication and co-signing in one process: four nodes (3-of-4
//! validators) exchanging the wire messages through `Node::handle`;
//! tests/consortium.rs runs the same over TCP between processes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use common::net::{Keys, forge_block, genesis, index_of, keys, tempdir};
use common::treating;
use medledger::consortium::{Node, Peer, PeerUpstream, Request, Response, ask};
use medledger::log::block::Block;
use medledger::log::shipped::ShippedBlock;
use medledger::model::{Tx, TxBody, TxKind};
use medledger::proof::Equivocation;
use medledger::{Error, FaultKind, Imported, Ledger, NewRecord, Purpose, Roles};

struct Cluster {
    k: Keys,
    nodes: Vec<Arc<Node>>,
    /// Nodes the driver keeps in step (a node left out is "down").
    up: Vec<Arc<AtomicBool>>,
    stop: Arc<AtomicBool>,
    driver: Option<JoinHandle<()>>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(d) = self.driver.take() {
            d.join().unwrap();
        }
    }
}

fn peer(n: &Arc<Node>) -> Arc<dyn Peer> {
    Arc::clone(n) as Arc<dyn Peer>
}

/// Node 0 (hospital A) proposes; nodes 1..3 follow it and validate. A
/// driver thread runs the proposer's rounds and the followers' catch-up.
fn cluster(name: &str) -> Cluster {
    let k = keys();
    let v: Vec<&medledger::Keypair> = k.validators.iter().map(|a| a.as_ref()).collect();
    let leader = Ledger::create_dir(&tempdir(&format!("{name}-0")), genesis(&k), &v).unwrap();
    let g = leader.shipped_block(0).unwrap();
    let id = leader.id();
    let mut nodes = vec![Arc::new(Node::new(
        Arc::new(leader),
        vec![Arc::clone(&k.validators[0])],
    ))];
    for i in 1..4 {
        let l = Ledger::join_dir(&tempdir(&format!("{name}-{i}")), &g, id).unwrap();
        l.set_upstream(Arc::new(PeerUpstream(peer(&nodes[0]))))
            .unwrap();
        let n = Node::new(Arc::new(l), vec![Arc::clone(&k.validators[i])]);
        n.accept_proposals_from(vec![k.validators[0].id()]).unwrap();
        nodes.push(Arc::new(n));
    }
    for (i, n) in nodes.iter().enumerate() {
        // Erasure receipts are signed by a node's validator key; with one
        // key of a 3-of-4 set a node never seals blocks alone.
        n.ledger()
            .attach_validators(vec![Arc::clone(&k.validators[i])])
            .unwrap();
    }
    let up: Vec<Arc<AtomicBool>> = (0..4).map(|_| Arc::new(AtomicBool::new(true))).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let driver = {
        let (nodes, up, stop) = (nodes.clone(), up.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let peers: Vec<Arc<dyn Peer>> = (1..4)
                    .filter(|i| up[*i].load(Ordering::SeqCst))
                    .map(|i| peer(&nodes[i]))
                    .collect();
                let _ = nodes[0].propose_round(&peers);
                for i in 1..4 {
                    if up[i].load(Ordering::SeqCst) {
                        nodes[i].sync_from(nodes[0].as_ref()).unwrap();
                    }
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let c = Cluster {
        k,
        nodes,
        up,
        stop,
        driver: Some(driver),
    };
    let l0 = c.nodes[0].ledger();
    for (p, roles, label) in [
        (&c.k.doc_a, Roles::PROVIDER, "hospital A EHR"),
        (&c.k.doc_b, Roles::PROVIDER, "hospital B EHR"),
        (&c.k.patient, Roles::PATIENT, "patient app"),
    ] {
        l0.register(&c.k.admin, p.participant(roles, label))
            .unwrap();
    }
    c.settle();
    // The patient is treated at hospital A.
    l0.grant(
        &c.k.patient,
        &treating(c.k.patient.id(), c.k.doc_a.id(), l0.now()),
    )
    .unwrap();
    c.settle();
    c
}

impl Cluster {
    fn ledger(&self, i: usize) -> &Arc<Ledger> {
        self.nodes[i].ledger()
    }

    /// Waits until every running node holds the proposer's head and
    /// nothing is pending.
    fn settle(&self) {
        for _ in 0..2000 {
            let head = self.ledger(0).head().unwrap();
            let done = self.ledger(0).pending_count().unwrap() == 0
                && (1..4)
                    .filter(|i| self.up[*i].load(Ordering::SeqCst))
                    .all(|i| self.ledger(i).head().unwrap() == head);
            if done {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("cluster did not settle");
    }

    /// Takes node `i` out of the driver's rounds and catch-ups, once the
    /// round in flight is over.
    fn down(&self, i: usize) {
        self.up[i].store(false, Ordering::SeqCst);
        self.settle();
        std::thread::sleep(Duration::from_millis(50));
    }

    fn record<'a>(&self, category: &'a str, payload: &'a [u8]) -> NewRecord<'a> {
        NewRecord {
            patient: self.k.patient.id(),
            category,
            content_type: "text/plain",
            payload,
        }
    }
}

#[test]
fn three_of_four_co_sign_and_a_grantee_reads_through_its_own_node() {
    let c = cluster("cosign");
    // The patient grants hospital B through B's node (forwarded to A).
    let now = c.ledger(1).now();
    c.ledger(1)
        .grant(
            &c.k.patient,
            &treating(c.k.patient.id(), c.k.doc_b.id(), now),
        )
        .unwrap();
    // Hospital A writes at its own node.
    let id = c
        .ledger(0)
        .append_record(&c.k.doc_a, c.record("lab", b"potassium 4.1 mmol/L"))
        .unwrap();
    c.settle();
    // B's provider reads A's record through B's node: the access event is
    // forwarded, sealed by three validators, imported, then decrypted with
    // the ciphertext that travelled with the block.
    let rec = c
        .ledger(1)
        .read_record(&c.k.doc_b, &id, Purpose::Treat)
        .unwrap();
    assert_eq!(&rec.plaintext[..], b"potassium 4.1 mmol/L");
    c.settle();
    let head = c.ledger(0).head().unwrap();
    for i in 0..4 {
        let l = c.ledger(i);
        assert_eq!(l.head().unwrap(), head, "node {i}");
        let r = l.verify().unwrap();
        assert!(r.is_ok(), "node {i}: {r}");
        assert!(r.payloads >= 1, "node {i} holds the ciphertexts");
        // Every block after genesis carries at least 3 seals.
        for s in l.export_blocks(1, usize::MAX, usize::MAX).unwrap() {
            assert!(Block::decode(&s.block).unwrap().block.seals.len() >= 3);
        }
        // The disclosure is in every node's access log.
        let log = l.access_log(&c.k.patient.id(), &c.k.patient.id()).unwrap();
        assert!(
            log.iter()
                .any(|e| e.reader == c.k.doc_b.id() && e.record == id),
            "node {i} lacks the disclosure"
        );
    }
    // Without a grant, hospital A's doctor reading at D's node is refused
    // there, and the refusal is recorded on every node too.
    let other = c
        .ledger(3)
        .read_record(&c.k.doc_b, &id, Purpose::Research)
        .unwrap_err();
    assert!(matches!(other, Error::AccessDenied { .. }), "{other}");
}

#[test]
fn a_node_that_was_down_catches_up_and_a_new_node_joins_from_genesis() {
    let c = cluster("catchup");
    c.down(3);
    let before = c.ledger(3).head().unwrap().height;
    for i in 0..5 {
        c.ledger(0)
            .append_record(&c.k.doc_a, c.record("note", format!("note {i}").as_bytes()))
            .unwrap();
        c.settle(); // three validators (A, B, C) keep sealing
    }
    let head = c.ledger(0).head().unwrap();
    assert!(head.height >= before + 5);
    assert_eq!(c.ledger(3).head().unwrap().height, before, "D was down");
    let r = c.nodes[3].sync_from(c.nodes[1].as_ref()).unwrap();
    assert_eq!(r.blocks, head.height - before);
    assert!(!r.conflict);
    assert_eq!(c.ledger(3).head().unwrap(), head);
    c.up[3].store(true, Ordering::SeqCst);

    // A new node joins with nothing but the ledger id.
    let g = ask(c.nodes[2].as_ref(), &Request::GetBlocks { from: 0, max: 1 }).unwrap();
    let Response::Blocks(g) = g else {
        panic!("{g:?}")
    };
    let fresh = Ledger::join_dir(&tempdir("catchup-new"), &g[0], c.ledger(0).id()).unwrap();
    let wrong = Ledger::join_dir(
        &tempdir("catchup-wrong"),
        &g[0],
        medledger::LedgerId(medledger::crypto::hash::Digest([7; 32])),
    );
    assert!(matches!(wrong, Err(Error::Rejected(_))), "{wrong:?}");
    let fresh = Node::new(Arc::new(fresh), Vec::new());
    let r = fresh.sync_from(c.nodes[2].as_ref()).unwrap();
    assert_eq!(r.blocks, head.height);
    assert!(r.transactions >= 8);
    assert_eq!(fresh.ledger().head().unwrap(), head);
    let v = fresh.ledger().verify().unwrap();
    assert!(v.is_ok(), "{v}");
    assert_eq!(v.records, 5);
    assert_eq!(v.payloads, 5);
}

#[test]
fn forged_and_unauthorised_blocks_are_refused_where_they_fail() {
    let c = cluster("forged");
    c.down(3);
    let d = c.ledger(3);
    let v = &c.k.validators;
    let signers: Vec<(u16, &medledger::Keypair)> = (0..3)
        .map(|i| (index_of(d, &v[i]), v[i].as_ref()))
        .collect::<Vec<_>>();
    let mut signers = signers;
    signers.sort_by_key(|s| s.0);

    // A provider registering a participant: signed correctly, sealed by
    // three validators, but against the rules.
    let rogue = medledger::Keypair::generate();
    let tx = Tx {
        kind: TxKind::RegisterParticipant,
        author: c.k.doc_a.id(),
        seq: 1,
        timestamp: d.head().unwrap().timestamp,
        body: TxBody::Register(rogue.participant(Roles::ADMIN, "rogue admin")),
    }
    .sign(&d.id(), c.k.doc_a.signing_key())
    .unwrap();
    let b = forge_block(d, vec![tx], &signers);
    let head = d.head().unwrap();
    let err = d
        .import_block(&ShippedBlock::new(&b, Vec::new()))
        .unwrap_err();
    let Error::Corrupt(f) = err else {
        panic!("{err}")
    };
    assert_eq!(f.kind, FaultKind::Unauthorised, "{f}");
    assert_eq!(f.location.height, head.height + 1);
    assert_eq!(f.location.tx_index, Some(0));
    assert_eq!(d.head().unwrap(), head, "nothing was stored");

    // The same block with one seal only: refused before any rule runs.
    let mut weak = b.clone();
    weak.seals.truncate(1);
    let err = d
        .import_block(&ShippedBlock::new(&weak, Vec::new()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::MissingQuorum {
                have: 1,
                need: 3,
                ..
            }
        ),
        "{err}"
    );

    // A real block with one transaction byte changed in transit.
    c.ledger(0)
        .append_record(&c.k.doc_a, c.record("lab", b"sodium 140"))
        .unwrap();
    c.settle();
    let real = c.ledger(0).shipped_block(head.height + 1).unwrap();
    let mut bad = real.clone();
    let at = bad.block.len() - 70; // inside the last transaction
    bad.block[at] ^= 1;
    let err = d.import_block(&bad).unwrap_err();
    assert!(matches!(err, Error::Tampered(_)), "{err}");
    // A shipped ciphertext that is not the record's.
    let mut swapped = real.clone();
    swapped.payloads[0][0] ^= 1;
    assert!(matches!(d.import_block(&swapped), Err(Error::Tampered(_))));
    assert_eq!(d.head().unwrap(), head);

    // The node is intact: the real block imports and verifies.
    assert!(matches!(
        d.import_block(&real).unwrap(),
        Imported::Appended {
            missing_payloads: 0,
            ..
        }
    ));
    assert!(d.verify().unwrap().is_ok());
}

#[test]
fn an_equivocating_validator_is_named_by_verifiable_evidence() {
    let c = cluster("equivocate");
    c.ledger(0)
        .append_record(&c.k.doc_a, c.record("lab", b"troponin < 5 ng/L"))
        .unwrap();
    c.settle();
    let l1 = c.ledger(1);
    let head = l1.head().unwrap();
    let committed = Block::decode(&l1.shipped_block(head.height).unwrap().block)
        .unwrap()
        .block;
    let d_key = &c.k.validators[3];
    let d_index = index_of(l1, d_key);
    assert!(
        committed.seals.iter().any(|s| s.validator == d_index),
        "D sealed the committed block"
    );
    // D also signs another header at the same height.
    let mut other = committed.clone();
    other.header.timestamp += 1;
    other.seals = vec![other.header.seal(d_index, d_key.signing_key())];
    let resp = ask(
        c.nodes[1].as_ref(),
        &Request::Announce(ShippedBlock::new(&other, Vec::new())),
    )
    .unwrap();
    let Response::Conflict(e) = resp else {
        panic!("{resp:?}")
    };
    assert_eq!(e.verify().unwrap(), vec![d_key.id()]);
    assert_eq!(e.height(), head.height);
    // The same header proposed to another node is refused the same way.
    let resp = ask(
        c.nodes[2].as_ref(),
        &Request::Propose(ShippedBlock::new(&other, Vec::new())),
    )
    .unwrap();
    assert!(matches!(resp, Response::Conflict(_)), "{resp:?}");
    for i in [1, 2] {
        let st = c.nodes[i].status().unwrap();
        assert_eq!(st.evidence, 1);
        assert_eq!(st.equivocators, vec![d_key.id()]);
        assert_eq!(
            c.ledger(i).head().unwrap(),
            head,
            "the fork is not followed"
        );
    }
    // The evidence survives encoding and fails when any byte changes.
    let bytes = e.encode();
    assert_eq!(Equivocation::decode(&bytes).unwrap(), *e);
    for i in (0..bytes.len()).step_by(7) {
        let mut b = bytes.clone();
        b[i] ^= 0x20;
        let ok = Equivocation::decode(&b).and_then(|x| x.verify());
        assert!(ok.is_err(), "byte {i} flipped: {ok:?}");
    }
    // A header nobody in the set signed is a forgery, not evidence.
    let mut forged = committed.clone();
    forged.header.timestamp += 2;
    forged.seals = vec![forged.header.seal(d_index, c.k.doc_a.signing_key())];
    let err = l1
        .import_block(&ShippedBlock::new(&forged, Vec::new()))
        .unwrap_err();
    assert!(matches!(err, Error::Rejected(_)), "{err}");
}

#[test]
fn erasure_propagates_and_a_node_still_serving_is_caught() {
    let c = cluster("erase");
    let id = c
        .ledger(0)
        .append_record(&c.k.doc_a, c.record("psych", b"session notes"))
        .unwrap();
    c.settle();
    // D stops following before the erasure and keeps the ciphertext.
    c.down(3);
    let receipts = c.ledger(2).erase(&c.k.patient, &[id]).unwrap();
    assert_eq!(receipts.len(), 1);
    c.settle();
    for i in 0..3 {
        let resp = ask(c.nodes[i].as_ref(), &Request::GetPayload(id)).unwrap();
        assert_eq!(resp, Response::PayloadErased, "node {i}");
        let r = c.ledger(i).verify().unwrap();
        assert!(r.is_ok(), "node {i}: {r}");
        assert_eq!((r.erased, r.erased_still_stored), (1, 0), "node {i}");
    }
    let stale = ask(c.nodes[3].as_ref(), &Request::GetPayload(id)).unwrap();
    let Response::Payload(ct) = stale else {
        panic!("{stale:?}")
    };
    let err = c.ledger(1).check_served(&id, &ct).unwrap_err();
    assert!(err.to_string().contains("erased"), "{err}");
    // Once D catches up, it has erased the ciphertext too.
    c.nodes[3].sync_from(c.nodes[0].as_ref()).unwrap();
    let resp = ask(c.nodes[3].as_ref(), &Request::GetPayload(id)).unwrap();
    assert_eq!(resp, Response::PayloadErased);
    assert_eq!(c.ledger(3).verify().unwrap().erased_still_stored, 0);
}

#[test]
fn a_client_detects_a_rewritten_history_with_a_consistency_proof() {
    let c = cluster("rewrite");
    for i in 0..3 {
        c.ledger(0)
            .append_record(&c.k.doc_a, c.record("lab", format!("v{i}").as_bytes()))
            .unwrap();
        c.settle();
    }
    let Response::Status(old) = ask(c.nodes[2].as_ref(), &Request::Status).unwrap() else {
        panic!()
    };
    c.ledger(0)
        .append_record(&c.k.doc_a, c.record("lab", b"v3"))
        .unwrap();
    c.settle();
    let Response::Status(new) = ask(c.nodes[2].as_ref(), &Request::Status).unwrap() else {
        panic!()
    };
    let Response::Consistency(hashes) = ask(
        c.nodes[2].as_ref(),
        &Request::GetConsistency {
            size1: old.log_size,
            size2: new.log_size,
        },
    )
    .unwrap() else {
        panic!()
    };
    let proof = medledger::proof::ConsistencyProof {
        size1: old.log_size,
        size2: new.log_size,
        hashes,
    };
    proof.verify(&old.log_root, &new.log_root).unwrap();
    // A head from another history of the same size does not verify.
    let mut rewritten = old.log_root;
    rewritten.0[0] ^= 1;
    assert!(proof.verify(&rewritten, &new.log_root).is_err());
}

#[test]
fn a_validator_set_change_sealed_by_the_old_quorum_governs_later_blocks() {
    let c = cluster("valset");
    let l0 = c.ledger(0);
    // The admin retires hospital D's validator: A, B, C with threshold 2.
    let keep: Vec<medledger::Validator> = c.k.validators[..3]
        .iter()
        .map(|v| medledger::Validator {
            id: v.id(),
            key: v.public().sign,
        })
        .collect();
    let new_set = medledger::ValidatorSet::new(2, keep).unwrap();
    l0.set_validators(&c.k.admin, new_set.clone()).unwrap();
    // Only A's operator approves: B, C and D refuse to seal the change.
    c.nodes[0].approve_validator_set(new_set.hash()).unwrap();
    let before = l0.head().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        l0.head().unwrap(),
        before,
        "sealed without a quorum's approval"
    );
    assert_eq!(l0.pending_count().unwrap(), 1);
    // B and C approve: with A, a threshold of the current set.
    c.nodes[1].approve_validator_set(new_set.hash()).unwrap();
    c.nodes[2].approve_validator_set(new_set.hash()).unwrap();
    c.settle();
    for i in 0..2 {
        l0.append_record(&c.k.doc_a, c.record("lab", format!("after {i}").as_bytes()))
            .unwrap();
        c.settle();
    }
    let head = l0.head().unwrap();
    assert_eq!(head.validator_set_hash, new_set.hash());
    // Blocks under the new set carry no seal of D, and D's node, which now
    // fails to endorse, still follows and verifies.
    let last = Block::decode(&l0.shipped_block(head.height).unwrap().block)
        .unwrap()
        .block;
    assert!(last.seals.len() >= 2 && last.seals.iter().all(|s| s.validator < 3));
    assert_eq!(c.ledger(3).head().unwrap(), head);
    // A node joining from genesis verifies the change and the blocks after.
    let fresh = Ledger::join_dir(
        &tempdir("valset-new"),
        &l0.shipped_block(0).unwrap(),
        l0.id(),
    )
    .unwrap();
    let fresh = Node::new(Arc::new(fresh), Vec::new());
    fresh.sync_from(c.nodes[1].as_ref()).unwrap();
    assert_eq!(fresh.ledger().head().unwrap(), head);
    assert_eq!(fresh.ledger().validators().unwrap(), new_set);
    // The retired validator's key no longer seals anything.
    let d = &c.k.validators[3];
    let forged = common::net::forge_block(fresh.ledger(), Vec::new(), &[(0, d.as_ref())]);
    let err = fresh
        .ledger()
        .import_block(&ShippedBlock::new(&forged, Vec::new()))
        .unwrap_err();
    assert!(err.to_string().contains("BadSeal(0)"), "{err}");
    assert_eq!(fresh.ledger().head().unwrap(), head);
}

#[test]
fn a_restarted_proposer_proposes_the_same_block_its_validators_endorsed() {
    let k = keys();
    let v: Vec<&medledger::Keypair> = k.validators.iter().map(|a| a.as_ref()).collect();
    let dir0 = tempdir("restart-0");
    let leader = Ledger::create_dir(&dir0, genesis(&k), &v).unwrap();
    let g = leader.shipped_block(0).unwrap();
    let id = leader.id();
    let votes = dir0.join("node-votes");
    let mut node0 = Node::new(Arc::new(leader), vec![Arc::clone(&k.validators[0])])
        .with_vote_log(&votes)
        .unwrap();
    let followers: Vec<Arc<Node>> = (1..4)
        .map(|i| {
            let l = Ledger::join_dir(&tempdir(&format!("restart-{i}")), &g, id).unwrap();
            Arc::new(Node::new(Arc::new(l), vec![Arc::clone(&k.validators[i])]))
        })
        .collect();
    let peers: Vec<Arc<dyn Peer>> = followers.iter().map(peer).collect();
    node0
        .ledger()
        .register(&k.admin, k.doc_a.participant(Roles::PROVIDER, "A"))
        .unwrap();
    // Only B gets the proposal before the proposer stops: B stages it and
    // will seal no other header at this height.
    let proposal = node0
        .ledger()
        .proposal(&[&k.validators[0]])
        .unwrap()
        .unwrap();
    let header = Block::decode(&proposal.block).unwrap().block.header;
    node0.propose_round(&peers[..0]).unwrap_err(); // persists the proposal; 1 seal < 3
    let resp = ask(followers[0].as_ref(), &Request::Propose(proposal.clone())).unwrap();
    assert!(matches!(resp, Response::Endorsed(_)), "{resp:?}");
    drop(node0);
    // Restart: the pending transaction is gone from memory, the proposal
    // file brings it back.
    let (l, _) = Ledger::open_dir(&dir0).unwrap();
    assert_eq!(l.pending_count().unwrap(), 0);
    node0 = Node::new(Arc::new(l), vec![Arc::clone(&k.validators[0])])
        .with_vote_log(&votes)
        .unwrap();
    assert_eq!(node0.ledger().pending_count().unwrap(), 1);
    // With D down, the block needs B: B seals the same header again.
    let sealed = node0.propose_round(&peers[..2]).unwrap().unwrap();
    assert_eq!(sealed, header);
    assert_eq!(followers[0].ledger().head().unwrap(), header);
    assert_eq!(followers[1].ledger().head().unwrap(), header);
    assert!(node0.ledger().participant(&k.doc_a.id()).is_ok());
}

/// A peer that serves, instead of the next blocks, another block for a
/// height the follower holds, signed by validator D.
struct Forking(Block);

impl Peer for Forking {
    fn call(&self, _request: &[u8]) -> medledger::Result<Vec<u8>> {
        Ok(Response::Blocks(vec![ShippedBlock::new(&self.0, Vec::new())]).encode())
    }
}

#[test]
fn a_follower_stops_at_a_peer_serving_a_fork_and_keeps_the_evidence() {
    let c = cluster("follower-fork");
    c.down(2);
    let l2 = c.ledger(2);
    let head = l2.head().unwrap();
    let mut other = Block::decode(&l2.shipped_block(head.height).unwrap().block)
        .unwrap()
        .block;
    let d = &c.k.validators[3];
    let di = index_of(l2, d);
    assert!(other.seals.iter().any(|s| s.validator == di));
    other.header.timestamp += 1;
    other.seals = vec![other.header.seal(di, d.signing_key())];
    let heard = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let h = Arc::clone(&heard);
    let f = medledger::consortium::Follower::spawn(
        Arc::clone(&c.nodes[2]),
        Arc::new(Forking(other)),
        Duration::from_millis(1),
        move |e| h.lock().unwrap().push(e.to_string()),
    );
    for _ in 0..2000 {
        if f.forked() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(f.forked());
    assert_eq!(l2.head().unwrap(), head, "the fork was not followed");
    assert_eq!(c.nodes[2].status().unwrap().equivocators, vec![d.id()]);
    assert!(
        heard
            .lock()
            .unwrap()
            .iter()
            .any(|m| m.contains("conflicting"))
    );
}

#[test]
fn a_validator_endorses_only_the_proposer_s_proposals() {
    let c = cluster("stray");
    c.down(1);
    // D proposes a block of its own to B: a valid one (D's seal, the
    // admin's correctly signed transaction), but D is not the proposer.
    let stray = {
        let d = c.ledger(1);
        let tx = Tx {
            kind: TxKind::RegisterParticipant,
            author: c.k.admin.id(),
            seq: 4, // the admin registered three participants before
            timestamp: d.head().unwrap().timestamp,
            body: TxBody::Register(
                medledger::Keypair::generate().participant(Roles::PROVIDER, "stray"),
            ),
        }
        .sign(&d.id(), c.k.admin.signing_key())
        .unwrap();
        let dv = &c.k.validators[3];
        forge_block(d, vec![tx], &[(index_of(d, dv), dv.as_ref())])
    };
    let err = ask(
        c.nodes[1].as_ref(),
        &Request::Propose(ShippedBlock::new(&stray, Vec::new())),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("not sealed by this node's proposer"),
        "{err}"
    );
    // B still seals the proposer's block for that height.
    c.up[1].store(true, Ordering::SeqCst);
    c.ledger(0)
        .append_record(&c.k.doc_a, c.record("lab", b"after the stray proposal"))
        .unwrap();
    c.settle();
    assert_eq!(c.ledger(1).head().unwrap(), c.ledger(0).head().unwrap());
}

/// A fresh node joined from `of`'s genesis, holding blocks 1..=upto.
fn replica(name: &str, of: &Ledger, upto: u64) -> Ledger {
    let l = Ledger::join_dir(&tempdir(name), &of.shipped_block(0).unwrap(), of.id()).unwrap();
    let blocks = of
        .export_blocks(1, usize::try_from(upto).unwrap(), usize::MAX)
        .unwrap();
    l.import_blocks(&blocks).unwrap();
    assert_eq!(l.head().unwrap().height, upto);
    l
}

#[test]
fn a_batch_import_stores_what_verified_and_stops_at_a_bad_signature() {
    let c = cluster("batch");
    for i in 0..3 {
        c.ledger(0)
            .append_record(&c.k.doc_a, c.record("lab", format!("r{i}").as_bytes()))
            .unwrap();
        c.settle();
    }
    let l0 = c.ledger(0);
    let top = l0.head().unwrap().height;
    let h = top - 3; // blocks h+1..=h+3 hold the three records
    // Block h+2 with one transaction signature changed, re-sealed by three
    // validators over a correct log root: only its signature is wrong.
    let real: Vec<ShippedBlock> = (h + 1..=top)
        .map(|x| l0.shipped_block(x).unwrap())
        .collect();
    let forged = {
        let before = replica("batch-forger", l0, h + 1);
        let mut txs = Block::decode(&real[1].block).unwrap().block.txs;
        let last = txs[0].len() - 1;
        txs[0][last] ^= 0x01;
        let v = &c.k.validators;
        let mut signers: Vec<(u16, &medledger::Keypair)> = (0..3)
            .map(|i| (index_of(&before, &v[i]), v[i].as_ref()))
            .collect();
        signers.sort_by_key(|s| s.0);
        let b = forge_block(&before, txs, &signers);
        ShippedBlock::new(&b, real[1].payloads.clone())
    };
    let f = replica("batch-target", l0, h);
    let err = f
        .import_blocks(&[real[0].clone(), forged, real[2].clone()])
        .unwrap_err();
    let Error::Corrupt(fault) = err else {
        panic!("{err}")
    };
    assert_eq!(fault.kind, FaultKind::BadSignature, "{fault}");
    assert_eq!(fault.location.height, h + 2);
    assert_eq!(fault.location.tx_index, Some(0));
    // The block before it was stored, nothing after it.
    assert_eq!(f.head().unwrap().height, h + 1);
    assert!(f.verify().unwrap().is_ok());
    // The real blocks import after that.
    let r = f.import_blocks(&real[1..]).unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(f.head().unwrap(), l0.head().unwrap());
    assert!(f.verify().unwrap().is_ok());
    // Blocks it already holds come back as such; a gap is refused.
    let again = f.import_blocks(&real).unwrap();
    assert!(
        again
            .iter()
            .all(|r| matches!(r, Imported::AlreadyHave { .. }))
    );
    let g = replica("batch-gap", l0, h);
    assert!(g.import_blocks(&real[1..]).is_err());
    assert_eq!(g.head().unwrap().height, h);
}
