//! Typed 32-byte identifiers. All are SHA3-256 tagged hashes, so they carry
//! no personal data.

use core::fmt;

use crate::codec::Writer;
use crate::crypto::hash::{Digest, label, tagged_hash};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Digest);

        impl $name {
            /// The raw 32 bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0 .0
            }

            /// Lowercase hex.
            pub fn to_hex(&self) -> String {
                self.0.to_hex()
            }

            /// Parses 64 hex digits (either case).
            pub fn from_hex(s: &str) -> crate::Result<Self> {
                Digest::from_hex(s).map($name)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

pub(crate) use id_type;

id_type!(
    /// A ledger: the tagged hash of its encoded genesis transaction.
    LedgerId
);
id_type!(
    /// A participant: the tagged hash of its first Ed25519 public key. It
    /// does not change when the participant's keys rotate.
    ParticipantId
);
id_type!(
    /// A record: the tagged hash of (ledger, author, author sequence number,
    /// index in the transaction), so it is unique and checkable on replay.
    RecordId
);

impl ParticipantId {
    /// The id of a participant whose first signing key is `public_key`.
    pub fn from_public_key(public_key: &[u8; 32]) -> Self {
        ParticipantId(tagged_hash(label::PARTICIPANT_ID, &[public_key]))
    }
}

impl RecordId {
    /// The id of record `index` in the transaction with sequence number
    /// `seq` by `author` on ledger `ledger`.
    pub fn derive(ledger: &LedgerId, author: &ParticipantId, seq: u64, index: u32) -> Self {
        let mut w = Writer::with_capacity(76);
        w.digest(&ledger.0).digest(&author.0).u64(seq).u32(index);
        RecordId(tagged_hash(label::RECORD_ID, &[&w.into_bytes()]))
    }
}
