//! Four hospitals, four `medledger-node` processes on 127.0.0.1, one
//! ledger: blocks co-signed 3-of-4, a record written at one hospital read
//! at another through its own node, a hospital down and back, a
//! compromised validator key caught signing two histories, an erasure
//! propagated to every node.
//!
//! Run with `cargo run --release --example consortium_demo` (it builds the
//! `medledger-node` binary next to it if missing). Everything lives under
//! the system temporary directory and is removed at the end; the node
//! processes are stopped on exit.

// Node indexes (0..4) index fixed arrays of four addresses and names.
#![allow(clippy::indexing_slicing)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use medledger::consortium::{Follower, Node, Request, Response, Status, TcpPeer, ask};
use medledger::log::block::Block;
use medledger::log::shipped::ShippedBlock;
use medledger::{
    Consent, Genesis, Keypair, Ledger, LedgerId, NewRecord, ParticipantId, Purpose, Roles,
};

type DemoResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

const HOSPITALS: [&str; 4] = ["St. Mary's", "City General", "Lakeside", "Northview"];
const PASSPHRASE: &str = "demo only";
const LAB: &str = r#"{"resourceType":"Observation","code":{"text":"Serum creatinine"},"valueQuantity":{"value":88,"unit":"umol/L"}}"#;

/// A node process, stopped when dropped.
struct NodeProc(Child);

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `medledger-node` binary beside this example (target/<profile>/),
/// built with cargo if it is not there yet.
fn node_binary() -> DemoResult<PathBuf> {
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot locate the target directory")?;
    let bin = profile_dir.join("medledger-node");
    if !bin.exists() {
        println!("building medledger-node ...");
        let release = profile_dir.ends_with("release");
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo.args(["build", "--bin", "medledger-node"]);
        if release {
            cargo.arg("--release");
        }
        if !cargo.status()?.success() {
            return Err("cargo build --bin medledger-node failed".into());
        }
    }
    Ok(bin)
}

fn spawn(
    bin: &Path,
    root: &Path,
    i: usize,
    addrs: &[SocketAddr],
    id: LedgerId,
    proposer: ParticipantId,
) -> DemoResult<NodeProc> {
    let mut cmd = Command::new(bin);
    cmd.arg("--listen")
        .arg(addrs[i].to_string())
        .arg("--dir")
        .arg(root.join(format!("node{i}")))
        .arg("--key")
        .arg(root.join(format!("key{i}")))
        .env("MEDLEDGER_KEY_PASSPHRASE", PASSPHRASE)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(root.join(format!("node{i}.log")))?);
    if i == 0 {
        let peers: Vec<String> = addrs[1..].iter().map(|a| a.to_string()).collect();
        cmd.arg("--peers").arg(peers.join(","));
    } else {
        cmd.arg("--upstream")
            .arg(addrs[0].to_string())
            .arg("--join")
            .arg(id.to_hex())
            .arg("--proposer")
            .arg(proposer.to_hex());
    }
    let mut child = cmd.spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    if !line.starts_with("ready") {
        return Err(format!("{} did not start: {line}", HOSPITALS[i]).into());
    }
    println!("{:<13} node up: {}", HOSPITALS[i], line.trim());
    Ok(NodeProc(child))
}

fn peer(addr: SocketAddr) -> TcpPeer {
    TcpPeer::new(addr, Duration::from_secs(10))
}

fn status(addr: SocketAddr) -> DemoResult<Status> {
    match ask(&peer(addr), &Request::Status)? {
        Response::Status(s) => Ok(s),
        r => Err(format!("unexpected answer {r:?}").into()),
    }
}

/// Waits (at most 30 s) until the nodes at `addrs` report one head.
fn converge(addrs: &[SocketAddr]) -> DemoResult<Status> {
    let start = Instant::now();
    loop {
        let first = status(addrs[0])?;
        let mut same = true;
        for a in &addrs[1..] {
            same &= status(*a)?.head_hash == first.head_hash;
        }
        if same {
            return Ok(first);
        }
        if start.elapsed() > Duration::from_secs(30) {
            return Err("nodes did not converge".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A hospital's EHR embedding medledger: a follower of its hospital's node.
struct Ehr {
    node: Arc<Node>,
    _follower: Follower,
}

impl Ehr {
    fn new(dir: &Path, of: SocketAddr, id: LedgerId) -> DemoResult<Ehr> {
        let (node, follower) =
            Follower::join(dir, Arc::new(peer(of)), id, Duration::from_millis(10))?;
        Ok(Ehr {
            node,
            _follower: follower,
        })
    }

    fn ledger(&self) -> &Ledger {
        self.node.ledger()
    }
}

fn main() -> DemoResult {
    let bin = node_binary()?;
    let root = std::env::temp_dir().join(format!("medledger-consortium-{}", std::process::id()));
    std::fs::create_dir_all(&root)?;
    let result = run(&bin, &root);
    let _ = std::fs::remove_dir_all(&root);
    result
}

fn run(bin: &Path, root: &Path) -> DemoResult {
    println!("== four hospitals found a consortium: validators 3-of-4");
    let admin = Keypair::generate();
    let validators: Vec<Arc<Keypair>> = (0..4).map(|_| Arc::new(Keypair::generate())).collect();
    let mut founders = vec![admin.participant(Roles::ADMIN, "consortium registration desk")];
    for (v, name) in validators.iter().zip(HOSPITALS) {
        founders.push(v.participant(Roles::VALIDATOR, name));
    }
    let refs: Vec<&Keypair> = validators.iter().map(|v| v.as_ref()).collect();
    let id = Ledger::create_dir(
        &root.join("node0"),
        Genesis::new("four hospitals", 3, founders)?,
        &refs,
    )?
    .id();
    for (i, v) in validators.iter().enumerate() {
        std::fs::write(
            root.join(format!("key{i}")),
            v.export_encrypted(PASSPHRASE.as_bytes())?,
        )?;
    }
    let addrs: Vec<SocketAddr> = (0..4)
        .map(|_| TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()))
        .collect::<Result<_, _>>()?;
    let mut nodes = Vec::new();
    for i in 0..4 {
        nodes.push(Some(spawn(bin, root, i, &addrs, id, validators[0].id())?));
    }
    println!("ledger {id}: St. Mary's proposes; the others follow it and co-sign");

    println!("\n== registration and consent, entered at City General's EHR");
    let st_marys = Ehr::new(&root.join("ehr-st-marys"), addrs[0], id)?;
    let city = Ehr::new(&root.join("ehr-city"), addrs[1], id)?;
    // City General's validator key signs its erasure receipts (alone it
    // never seals a block: the threshold is 3).
    city.ledger()
        .attach_validators(vec![Arc::clone(&validators[1])])?;
    let (dr_a, dr_b, patient) = (
        Keypair::generate(),
        Keypair::generate(),
        Keypair::generate(),
    );
    city.ledger()
        .register(&admin, dr_a.participant(Roles::PROVIDER, "St. Mary's EHR"))?;
    city.ledger().register(
        &admin,
        dr_b.participant(Roles::PROVIDER, "City General EHR"),
    )?;
    city.ledger()
        .register(&admin, patient.participant(Roles::PATIENT, "patient app"))?;
    let now = city.ledger().now();
    for dr in [&dr_a, &dr_b] {
        city.ledger().grant(
            &patient,
            &Consent::treatment(patient.id(), dr.id(), now - 1000, now + 30 * 86_400_000),
        )?;
    }
    println!("each call returned once its block was sealed and back at City General");

    println!("\n== St. Mary's writes a lab result; City General reads it through its own node");
    converge(&addrs)?;
    while st_marys.ledger().head()?.hash() != status(addrs[0])?.head_hash {
        std::thread::sleep(Duration::from_millis(10));
    }
    let lab = st_marys.ledger().append_record(
        &dr_a,
        NewRecord {
            patient: patient.id(),
            category: "lab",
            content_type: "application/fhir+json",
            payload: LAB.as_bytes(),
        },
    )?;
    while city.ledger().record_info(&lab).is_err() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let rec = city.ledger().read_record(&dr_b, &lab, Purpose::Treat)?;
    println!(
        "City General read {} bytes of {lab}: {}",
        rec.plaintext.len(),
        String::from_utf8_lossy(&rec.plaintext)
    );
    let head = converge(&addrs)?;
    let Response::Blocks(blocks) = ask(
        &peer(addrs[3]),
        &Request::GetBlocks {
            from: head.height,
            max: 1,
        },
    )?
    else {
        return Err("no block".into());
    };
    let last = Block::decode(&blocks.first().ok_or("no block")?.block)?.block;
    println!(
        "all four nodes at block {} (log size {}); it carries {} validator seals",
        head.height,
        head.log_size,
        last.seals.len()
    );

    println!("\n== Lakeside goes down; three validators still seal");
    nodes[2] = None;
    for i in 0..3 {
        st_marys.ledger().append_record(
            &dr_a,
            NewRecord {
                patient: patient.id(),
                category: "note",
                content_type: "text/plain",
                payload: format!("ward round {i}").as_bytes(),
            },
        )?;
    }
    let moved = converge(&[addrs[0], addrs[1], addrs[3]])?;
    println!(
        "St. Mary's, City General and Northview at block {}; Lakeside is behind",
        moved.height
    );
    nodes[2] = Some(spawn(bin, root, 2, &addrs, id, validators[0].id())?);
    let all = converge(&addrs)?;
    println!(
        "Lakeside restarted and caught up to block {} (every block verified before it was stored)",
        all.height
    );

    println!("\n== Northview's validator key is used to sign a second history");
    let Response::Blocks(b) = ask(
        &peer(addrs[1]),
        &Request::GetBlocks {
            from: all.height,
            max: 1,
        },
    )?
    else {
        return Err("no block".into());
    };
    let mut other = Block::decode(&b.first().ok_or("no block")?.block)?.block;
    let set = city.ledger().validators()?;
    let nv = set
        .index_of(&validators[3].id())
        .ok_or("Northview is not a validator")?;
    other.header.timestamp += 1;
    other.seals = vec![other.header.seal(nv, validators[3].signing_key())];
    for (a, name) in addrs.iter().zip(HOSPITALS).take(3) {
        let r = ask(
            &peer(*a),
            &Request::Announce(ShippedBlock::new(&other, Vec::new())),
        )?;
        let guilty = match r {
            Response::Conflict(e) => e.verify()?,
            r => return Err(format!("{name} accepted a conflicting block: {r:?}").into()),
        };
        let named: Vec<&str> = guilty
            .iter()
            .filter_map(|g| validators.iter().position(|v| v.id() == *g))
            .filter_map(|i| HOSPITALS.get(i).copied())
            .collect();
        println!(
            "{name:<13} refused it; its evidence names {} ({} equivocator(s) in its status)",
            named.join(", "),
            status(*a)?.equivocators.len()
        );
    }

    println!("\n== the patient erases the lab result at City General; the erasure propagates");
    let receipts = city.ledger().erase(&patient, &[lab])?;
    println!(
        "receipt signed by {} for ciphertext {}",
        receipts.first().ok_or("no receipt")?.signer,
        receipts.first().ok_or("no receipt")?.ciphertext_digest
    );
    converge(&addrs)?;
    for (a, name) in addrs.iter().zip(HOSPITALS) {
        let r = ask(&peer(*a), &Request::GetPayload(lab))?;
        println!(
            "{name:<13} asked for the ciphertext: {}",
            if r == Response::PayloadErased {
                "erased"
            } else {
                "STILL SERVED"
            }
        );
    }
    drop(nodes);
    println!("\nnodes stopped; done.");
    Ok(())
}
