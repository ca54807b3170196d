//! The node messages (docs/FORMAT.md §11) on arbitrary bytes: requests,
//! responses, shipped blocks and equivocation evidence never panic, and
//! whatever decodes re-encodes to exactly the input. Each input is also
//! handed to a real validator node (a fresh one per input, over the
//! fuzzing chain up to block 2): it answers every request with a response
//! that decodes, and never moves its head to a block that does not verify.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use medledger::consortium::{Node, Request, Response};
use medledger::log::shipped::ShippedBlock;
use medledger::proof::Equivocation;
use medledger::{Keypair, Ledger};
use medledger_fuzz::Base;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Request::decode(data) {
        assert_eq!(r.encode(), data, "request re-encodes to other bytes");
    }
    if let Ok(r) = Response::decode(data) {
        assert_eq!(r.encode(), data, "response re-encodes to other bytes");
    }
    if let Ok(s) = ShippedBlock::decode(data) {
        assert_eq!(s.encode(), data, "shipped block re-encodes to other bytes");
    }
    if let Ok(e) = Equivocation::decode(data) {
        assert_eq!(e.encode(), data, "evidence re-encodes to other bytes");
        let _ = e.verify();
    }
    let base = Base::get();
    let ledger = Ledger::open(Box::new(base.store(2))).unwrap();
    let v: &Keypair = &base.keys[1];
    let key = Keypair::from_seeds(&[2; 32], &[102; 32]);
    assert_eq!(key.id(), v.id());
    let node = Node::new(Arc::new(ledger), vec![Arc::new(key)]);
    let resp = node.handle(data);
    Response::decode(&resp).expect("a node's answer always decodes");
    let head = node.ledger().head().unwrap();
    assert!(head.height >= 2);
    assert!(node.ledger().verify().unwrap().is_ok(), "the node stored a block that does not verify");
});
