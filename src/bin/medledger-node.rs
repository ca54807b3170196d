//! `medledger-node`: one institution's node of a consortium, serving the
//! wire protocol (docs/FORMAT.md §11) over TCP.
//!
//! ```text
//! medledger-node --dir DIR --listen 127.0.0.1:PORT
//!                [--key FILE]            validator key (exported keypair;
//!                                        passphrase in MEDLEDGER_KEY_PASSPHRASE)
//!                [--peers ADDR,ADDR...]  this node proposes: validators to ask
//!                [--upstream ADDR]       this node follows ADDR (forwards
//!                                        transactions to it, catches up from it)
//!                [--join LEDGER_ID]      DIR is empty: fetch the genesis of
//!                                        LEDGER_ID from the upstream
//!                [--round-ms N]          proposal / catch-up interval (default 20)
//!                [--proposer ID]         endorse only proposals sealed by this
//!                                        validator (participant id; repeatable)
//!                [--approve-validator-set HASH]  this operator approves a change to
//!                                        the validator set with this hash
//!                                        (repeatable; none approved by default)
//! ```
//! Prints `ready ADDR height H` once serving; progress and faults go to
//! stderr. Stop it with a signal: committed blocks are durable.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use medledger::consortium::{Follower, Node, Peer, PeerUpstream, TcpPeer, fetch_genesis, tcp};
use medledger::crypto::hash::Digest;
use medledger::{Error, Keypair, Ledger, LedgerId, ParticipantId, Result};

const PEER_TIMEOUT: Duration = Duration::from_secs(10);
/// The node's last endorsement, beside the ledger files.
const VOTE_LOG: &str = "node-votes";

#[derive(Default)]
struct Args {
    dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    key: Option<PathBuf>,
    peers: Vec<SocketAddr>,
    upstream: Option<SocketAddr>,
    join: Option<LedgerId>,
    round_ms: u64,
    approved_sets: Vec<Digest>,
    proposers: Vec<ParticipantId>,
}

fn bad(what: &'static str, reason: impl Into<String>) -> Error {
    Error::Invalid {
        what,
        reason: reason.into(),
    }
}

fn addr(s: &str) -> Result<SocketAddr> {
    s.parse()
        .map_err(|_| bad("address", format!("{s:?} is not host:port")))
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        round_ms: 20,
        ..Args::default()
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| bad("arguments", format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--dir" => a.dir = Some(PathBuf::from(value()?)),
            "--listen" => a.listen = Some(addr(&value()?)?),
            "--key" => a.key = Some(PathBuf::from(value()?)),
            "--peers" => {
                a.peers = value()?
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(addr)
                    .collect::<Result<_>>()?
            }
            "--upstream" => a.upstream = Some(addr(&value()?)?),
            "--join" => a.join = Some(LedgerId::from_hex(&value()?)?),
            "--approve-validator-set" => a.approved_sets.push(Digest::from_hex(&value()?)?),
            "--proposer" => a.proposers.push(ParticipantId::from_hex(&value()?)?),
            "--round-ms" => {
                a.round_ms = value()?
                    .parse()
                    .map_err(|_| bad("--round-ms", "not a number"))?
            }
            other => return Err(bad("arguments", format!("unknown flag {other}"))),
        }
    }
    Ok(a)
}

fn open_ledger(a: &Args, upstream: Option<&TcpPeer>) -> Result<Ledger> {
    let dir = a
        .dir
        .as_ref()
        .ok_or_else(|| bad("arguments", "--dir is required"))?;
    let holds_ledger = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
    match (a.join, upstream) {
        (Some(id), Some(up)) if !holds_ledger => Ledger::join_dir(dir, &fetch_genesis(up)?, id),
        (Some(_), None) => Err(bad("--join", "needs --upstream")),
        _ => {
            let (ledger, report) = Ledger::open_dir(dir)?;
            if report.bytes_cut > 0 {
                eprintln!("recovered: {report:?}");
            }
            Ok(ledger)
        }
    }
}

fn run() -> Result<()> {
    let a = parse_args()?;
    let listen = a
        .listen
        .ok_or_else(|| bad("arguments", "--listen is required"))?;
    let upstream = a.upstream.map(|u| TcpPeer::new(u, PEER_TIMEOUT));
    let keys = match &a.key {
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| Error::System(format!("read {}: {e}", path.display())))?;
            let pass = std::env::var("MEDLEDGER_KEY_PASSPHRASE").unwrap_or_default();
            vec![Arc::new(Keypair::import_encrypted(
                &bytes,
                pass.as_bytes(),
            )?)]
        }
        None => Vec::new(),
    };
    let ledger = Arc::new(open_ledger(&a, upstream.as_ref())?);
    if let Some(up) = &upstream {
        ledger.set_upstream(Arc::new(PeerUpstream(Arc::new(up.clone()))))?;
    }
    let mut node = Node::new(Arc::clone(&ledger), keys);
    if let Some(dir) = &a.dir {
        node = node.with_vote_log(&dir.join(VOTE_LOG))?;
    }
    for h in &a.approved_sets {
        node.approve_validator_set(*h)?;
    }
    node.accept_proposals_from(a.proposers.clone())?;
    let node = Arc::new(node);
    let listener =
        TcpListener::bind(listen).map_err(|e| Error::System(format!("bind {listen}: {e}")))?;
    let round = Duration::from_millis(a.round_ms.max(1));
    if !a.peers.is_empty() {
        let peers: Vec<Arc<dyn Peer>> = a
            .peers
            .iter()
            .map(|p| Arc::new(TcpPeer::new(*p, PEER_TIMEOUT)) as Arc<dyn Peer>)
            .collect();
        let node = Arc::clone(&node);
        std::thread::spawn(move || {
            // A failing round is retried every interval; its error is
            // printed when it changes, not every time.
            let mut last = String::new();
            loop {
                match node.propose_round(&peers) {
                    Ok(Some(_)) => {
                        last.clear();
                        continue;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        let msg = e.to_string();
                        if msg != last {
                            eprintln!("round: {msg}");
                            last = msg;
                        }
                    }
                }
                std::thread::sleep(round);
            }
        });
    }
    // Kept for the life of the process: catching up from the upstream.
    let _follower = upstream.map(|up| {
        let addr = up.addr();
        Follower::spawn(Arc::clone(&node), Arc::new(up), round, move |e| {
            eprintln!("catch-up from {addr}: {e}")
        })
    });
    let bound = listener
        .local_addr()
        .map_err(|e| Error::System(format!("local address: {e}")))?;
    println!("ready {bound} height {}", ledger.head()?.height);
    tcp::serve(listener, node);
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("medledger-node: {e}");
        std::process::exit(1);
    }
}
