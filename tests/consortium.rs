//! Four hospitals, four `medledger-node` processes on 127.0.0.1, 3-of-4
//! validators: co-signed blocks, a grantee at hospital B reading hospital
//! A's record through B's node, a node down and back, an equivocating
//! validator named by the others, forged and unauthorised blocks refused,
//! and a rewritten history caught by a consistency proof. Every wait is
//! bounded; the processes are killed when the test ends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::net::{Keys, forge_block, genesis, index_of, keys, tempdir};
use common::treating;
use medledger::consortium::{Follower, Node, Request, Response, Status, TcpPeer, ask};
use medledger::log::block::Block;
use medledger::log::shipped::ShippedBlock;
use medledger::model::{Tx, TxBody, TxKind};
use medledger::{Error, Keypair, Ledger, LedgerId, NewRecord, Purpose, Roles};

const PASS: &str = "test passphrase";
const WAIT: Duration = Duration::from_secs(60);

/// A node process; killed on drop.
struct Proc {
    child: Child,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn spawn(name: &str, addr: SocketAddr, args: &[String], log: &Path) -> Proc {
    let mut child = Command::new(env!("CARGO_BIN_EXE_medledger-node"))
        .arg("--listen")
        .arg(addr.to_string())
        .args(args)
        .env("MEDLEDGER_KEY_PASSPHRASE", PASS)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log.join(format!("{name}.err"))).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(WAIT).unwrap_or_default();
    assert!(
        line.starts_with("ready "),
        "node {name} did not start: {line:?}; stderr: {}",
        std::fs::read_to_string(log.join(format!("{name}.err"))).unwrap_or_default()
    );
    Proc { child }
}

fn peer(addr: SocketAddr) -> TcpPeer {
    TcpPeer::new(addr, Duration::from_secs(10))
}

fn status(addr: SocketAddr) -> Status {
    match ask(&peer(addr), &Request::Status).unwrap() {
        Response::Status(s) => s,
        r => panic!("{r:?}"),
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until every node in `addrs` reports the same head as the first.
fn converge(addrs: &[SocketAddr]) -> Status {
    let mut last = status(addrs[0]);
    wait_for("the nodes to agree", || {
        last = status(addrs[0]);
        addrs[1..]
            .iter()
            .all(|a| status(*a).head_hash == last.head_hash)
    });
    last
}

/// A hospital's EHR embedding medledger: an in-process follower of its
/// institution's node, catching up from it in a thread.
struct App {
    node: Arc<Node>,
    _follower: Follower,
}

impl App {
    fn new(dir: &Path, of: SocketAddr, id: LedgerId) -> App {
        let (node, follower) =
            Follower::join(dir, Arc::new(peer(of)), id, Duration::from_millis(10)).unwrap();
        App {
            node,
            _follower: follower,
        }
    }

    fn ledger(&self) -> &Ledger {
        self.node.ledger()
    }

    fn caught_up(&self, with: SocketAddr) {
        wait_for("the app to catch up", || {
            self.ledger().head().unwrap().hash() == status(with).head_hash
        });
    }
}

fn record<'a>(k: &Keys, category: &'a str, payload: &'a [u8]) -> NewRecord<'a> {
    NewRecord {
        patient: k.patient.id(),
        category,
        content_type: "text/plain",
        payload,
    }
}

struct Net {
    id: LedgerId,
    root: PathBuf,
    addrs: Vec<SocketAddr>,
    procs: Vec<Option<Proc>>,
}

impl Net {
    fn args(&self, i: usize) -> Vec<String> {
        let dir = self.root.join(format!("node{i}"));
        let mut a = vec![
            "--dir".into(),
            dir.display().to_string(),
            "--key".into(),
            self.root.join(format!("key{i}")).display().to_string(),
            "--round-ms".into(),
            "10".into(),
        ];
        if i == 0 {
            let peers: Vec<String> = self.addrs[1..].iter().map(|a| a.to_string()).collect();
            a.extend(["--peers".into(), peers.join(",")]);
        } else {
            a.extend([
                "--upstream".into(),
                self.addrs[0].to_string(),
                "--join".into(),
                self.id.to_hex(),
                "--proposer".into(),
                keys().validators[0].id().to_hex(),
            ]);
        }
        a
    }

    fn start(&mut self, i: usize) {
        let p = spawn(
            &format!("node{i}"),
            self.addrs[i],
            &self.args(i),
            &self.root,
        );
        self.procs[i] = Some(p);
    }

    fn stop(&mut self, i: usize) {
        self.procs[i] = None;
    }
}

fn start_net() -> Net {
    let k = keys();
    let root = tempdir("consortium");
    std::fs::create_dir_all(&root).unwrap();
    let v: Vec<&Keypair> = k.validators.iter().map(|a| a.as_ref()).collect();
    let id = Ledger::create_dir(&root.join("node0"), genesis(&k), &v)
        .unwrap()
        .id();
    for (i, kp) in k.validators.iter().enumerate() {
        let bytes = kp.export_encrypted(PASS.as_bytes()).unwrap();
        std::fs::write(root.join(format!("key{i}")), bytes).unwrap();
    }
    let mut net = Net {
        id,
        root,
        addrs: (0..4).map(|_| free_addr()).collect(),
        procs: (0..4).map(|_| None).collect(),
    };
    for i in 0..4 {
        net.start(i);
    }
    net
}

#[test]
fn four_hospital_processes_co_sign_replicate_and_catch_misbehaviour() {
    let mut net = start_net();
    let k = keys();
    let app_a = App::new(&net.root.join("app-a"), net.addrs[0], net.id);
    let app_b = App::new(&net.root.join("app-b"), net.addrs[1], net.id);

    // Registration and consents, submitted at hospital B's EHR: forwarded
    // app → node B → node A (the proposer), sealed by three validators.
    for (p, roles, label) in [
        (&k.doc_a, Roles::PROVIDER, "hospital A EHR"),
        (&k.doc_b, Roles::PROVIDER, "hospital B EHR"),
        (&k.patient, Roles::PATIENT, "patient app"),
    ] {
        app_b
            .ledger()
            .register(&k.admin, p.participant(roles, label))
            .unwrap();
    }
    let now = app_b.ledger().now();
    for doc in [&k.doc_a, &k.doc_b] {
        app_b
            .ledger()
            .grant(&k.patient, &treating(k.patient.id(), doc.id(), now))
            .unwrap();
    }
    // Keep a copy of this early history for the rewrite at the end.
    let early = converge(&net.addrs);
    app_b.caught_up(net.addrs[1]);
    let fork_dir = net.root.join("fork");
    copy_dir(&net.root.join("app-b"), &fork_dir);

    // Hospital A writes; hospital B's doctor reads it through B's node.
    app_a.caught_up(net.addrs[0]);
    let lab = app_a
        .ledger()
        .append_record(&k.doc_a, record(&k, "lab", b"creatinine 88 umol/L"))
        .unwrap();
    app_b.caught_up(net.addrs[0]);
    let rec = app_b
        .ledger()
        .read_record(&k.doc_b, &lab, Purpose::Treat)
        .unwrap();
    assert_eq!(&rec.plaintext[..], b"creatinine 88 umol/L");
    let head = converge(&net.addrs);
    assert!(head.height > early.height);
    // Every block on D carries at least three valid seals (D verified
    // them on import) and its replica verifies from genesis.
    let Response::Blocks(blocks) = ask(
        &peer(net.addrs[3]),
        &Request::GetBlocks { from: 1, max: 1000 },
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(blocks.len() as u64, head.height);
    for s in &blocks {
        assert!(Block::decode(&s.block).unwrap().block.seals.len() >= 3);
    }

    // Hospital C goes down; A, B and D still reach the threshold.
    net.stop(2);
    for i in 0..3 {
        app_a
            .ledger()
            .append_record(&k.doc_a, record(&k, "note", format!("note {i}").as_bytes()))
            .unwrap();
    }
    let live = [net.addrs[0], net.addrs[1], net.addrs[3]];
    let moved = converge(&live);
    assert!(moved.height > head.height);
    // C comes back and catches up from A.
    net.start(2);
    let all = converge(&net.addrs);
    assert_eq!(all.head_hash, status(net.addrs[0]).head_hash);
    let (c_replica, _) = Ledger::open_dir_read_only(&net.root.join("node2")).unwrap();
    let r = c_replica.verify().unwrap();
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.records, 4);
    assert_eq!(r.payloads, 4, "the ciphertexts travelled to C");

    // Validator D signs a second header for the last height.
    app_b.caught_up(net.addrs[0]);
    let last = Block::decode(&app_b.ledger().shipped_block(all.height).unwrap().block)
        .unwrap()
        .block;
    let d = &k.validators[3];
    let di = index_of(app_b.ledger(), d);
    assert!(last.seals.iter().any(|s| s.validator == di), "D sealed it");
    let mut other = last.clone();
    other.header.timestamp += 1;
    other.seals = vec![other.header.seal(di, d.signing_key())];
    for a in &net.addrs[..3] {
        let resp = ask(
            &peer(*a),
            &Request::Announce(ShippedBlock::new(&other, Vec::new())),
        );
        assert!(matches!(resp, Ok(Response::Conflict(_))), "{resp:?}");
        let st = status(*a);
        assert_eq!(st.equivocators, vec![d.id()], "reported by {a}");
        assert_eq!(st.head_hash, all.head_hash, "{a} does not follow the fork");
    }

    // A block with an unauthorised transaction, sealed by three validators,
    // is refused by B at the transaction that breaks the rules.
    let signers: Vec<(u16, &Keypair)> = {
        let mut s: Vec<(u16, &Keypair)> = (0..3)
            .map(|i| {
                (
                    index_of(app_b.ledger(), &k.validators[i]),
                    k.validators[i].as_ref(),
                )
            })
            .collect();
        s.sort_by_key(|x| x.0);
        s
    };
    let rogue = Keypair::generate();
    let tx = Tx {
        kind: TxKind::RegisterParticipant,
        author: k.doc_b.id(),
        seq: 2, // doc B's next sequence number (one read so far)
        timestamp: all_timestamp(app_b.ledger()),
        body: TxBody::Register(rogue.participant(Roles::ADMIN, "rogue admin")),
    }
    .sign(&net.id, k.doc_b.signing_key())
    .unwrap();
    let bad = forge_block(app_b.ledger(), vec![tx], &signers);
    let err = ask(
        &peer(net.addrs[1]),
        &Request::Announce(ShippedBlock::new(&bad, Vec::new())),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Tampered(_)), "{msg}");
    assert!(
        msg.contains("Unauthorised") && msg.contains("tx 0"),
        "{msg}"
    );
    // A forged seal is refused before any rule runs.
    let mut forged = bad.clone();
    forged.seals = vec![forged.header.seal(di, k.doc_b.signing_key())];
    let err = ask(
        &peer(net.addrs[1]),
        &Request::Announce(ShippedBlock::new(&forged, Vec::new())),
    )
    .unwrap_err();
    assert!(err.to_string().contains("BadSeal"), "{err}");
    assert_eq!(status(net.addrs[1]).head_hash, all.head_hash);

    // A client kept an earlier head; the network's later head is
    // consistent with it.
    let Response::Consistency(hashes) = ask(
        &peer(net.addrs[3]),
        &Request::GetConsistency {
            size1: head.log_size,
            size2: all.log_size,
        },
    )
    .unwrap() else {
        panic!()
    };
    medledger::proof::ConsistencyProof {
        size1: head.log_size,
        size2: all.log_size,
        hashes,
    }
    .verify(&head.log_root, &all.log_root)
    .unwrap();

    // A node serving a rewritten history (the early copy, continued with
    // other records and sealed by A, B and C's keys) cannot prove
    // consistency with the head the client holds.
    // One record per block, so the fork has a sealed head at every size
    // the client could hold.
    let (fork, _) = Ledger::open_dir(&fork_dir).unwrap();
    let vs: Vec<&Keypair> = (0..3).map(|i| k.validators[i].as_ref()).collect();
    while fork.head().unwrap().log_size < head.log_size + 2 {
        fork.append_record(&k.doc_a, record(&k, "lab", b"rewritten"))
            .unwrap();
        fork.commit_block(&vs).unwrap();
    }
    drop(fork);
    let rogue_addr = free_addr();
    let _rogue = spawn(
        "rogue",
        rogue_addr,
        &["--dir".into(), fork_dir.display().to_string()],
        &net.root,
    );
    let r = status(rogue_addr);
    assert!(r.log_size >= head.log_size);
    let Response::Consistency(hashes) = ask(
        &peer(rogue_addr),
        &Request::GetConsistency {
            size1: head.log_size,
            size2: r.log_size,
        },
    )
    .unwrap() else {
        panic!()
    };
    let proof = medledger::proof::ConsistencyProof {
        size1: head.log_size,
        size2: r.log_size,
        hashes,
    };
    assert!(proof.verify(&head.log_root, &r.log_root).is_err());
    // Its block after the common prefix, shown to A, is a conflict: the
    // evidence names validators that sealed both histories.
    let Response::Blocks(rb) = ask(
        &peer(rogue_addr),
        &Request::GetBlocks {
            from: early.height + 1,
            max: 1,
        },
    )
    .unwrap() else {
        panic!()
    };
    let resp = ask(&peer(net.addrs[0]), &Request::Announce(rb[0].clone())).unwrap();
    let Response::Conflict(e) = resp else {
        panic!("{resp:?}")
    };
    let guilty = e.verify().unwrap();
    assert!(guilty.len() >= 2, "{guilty:?}");
    assert!(
        guilty
            .iter()
            .all(|g| (0..3).any(|i| k.validators[i].id() == *g))
    );
    assert_eq!(status(net.addrs[0]).head_hash, all.head_hash);
}

fn all_timestamp(l: &Ledger) -> u64 {
    l.head().unwrap().timestamp
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}
