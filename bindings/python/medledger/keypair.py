"""Keypair: a participant's secret keys."""

from __future__ import annotations

import ctypes
from typing import NamedTuple

from . import _ffi
from ._handle import Handle, as_bytes, as_secret, check
from ._ffi import lib


class PublicKeys(NamedTuple):
    """The public half of a keypair: what an admin registers."""

    sign: bytes
    """Ed25519 public signing key (32 bytes)."""
    enc: bytes
    """X25519 public encryption key (32 bytes)."""


class Keypair(Handle):
    """A participant's secret keys (Ed25519 signing, X25519 encryption).

    Secrets stay inside the library; back them up with
    :meth:`export_encrypted`. Safe to share between threads. Close it
    whenever you are done with it: a ledger keeps no reference to it, except
    to keys attached with :meth:`Ledger.attach_validators` or
    :meth:`Ledger.attach_custodian`, whose secrets it keeps (and zeroizes
    when it is closed) even after this object is closed.
    """

    _free_name = "medledger_keypair_free"

    @classmethod
    def generate(cls) -> "Keypair":
        """Fresh keys from the operating system's RNG."""
        out = _ffi.KeypairPtr()
        check(lib.medledger_keypair_generate(ctypes.byref(out)))
        return cls(out)

    def rotated(self) -> "Keypair":
        """Fresh keys for the same participant (same :attr:`id`), to install
        with :meth:`Ledger.rotate_keys`. Keep this keypair until the
        rotation is committed and the patients have re-shared keys."""
        out = _ffi.KeypairPtr()
        with self._borrow() as kp:
            check(lib.medledger_keypair_rotated(kp, ctypes.byref(out)))
        return type(self)(out)

    @classmethod
    def import_encrypted(cls, key_file, passphrase) -> "Keypair":
        """Opens a key file from :meth:`export_encrypted`.

        ``key_file`` is bytes-like; ``passphrase`` is ``str`` (UTF-8) or
        bytes-like. Raises :class:`~medledger.WrongPassphrase` for a wrong
        passphrase or a modified file, :class:`~medledger.MalformedInput`
        for bytes that are not a key file.
        """
        data = as_bytes(key_file, "key_file")
        secret = as_secret(passphrase, "passphrase")
        out = _ffi.KeypairPtr()
        check(
            lib.medledger_keypair_import_encrypted(
                data, len(data), secret, len(secret), ctypes.byref(out)
            )
        )
        return cls(out)

    def export_encrypted(self, passphrase) -> bytes:
        """The secret keys encrypted under ``passphrase`` (Argon2id +
        AES-256-GCM): a key file for :meth:`import_encrypted`."""
        secret = as_secret(passphrase, "passphrase")
        out = _ffi.BufferPtr()
        with self._borrow() as kp:
            check(lib.medledger_keypair_export_encrypted(kp, secret, len(secret), ctypes.byref(out)))
        return _ffi.take_buffer(out)

    @property
    def id(self) -> bytes:
        """The 32-byte participant id (what records name as the patient)."""
        out = (ctypes.c_uint8 * _ffi.ID_LEN)()
        with self._borrow() as kp:
            check(lib.medledger_keypair_id(kp, out))
        return bytes(out)

    @property
    def public_keys(self) -> PublicKeys:
        """The public signing and encryption keys."""
        sign = (ctypes.c_uint8 * _ffi.PUBLIC_KEY_LEN)()
        enc = (ctypes.c_uint8 * _ffi.PUBLIC_KEY_LEN)()
        with self._borrow() as kp:
            check(lib.medledger_keypair_public_keys(kp, sign, enc))
        return PublicKeys(bytes(sign), bytes(enc))

    def __repr__(self) -> str:
        if self.closed:
            return "Keypair(<closed>)"
        return f"Keypair(id={self.id.hex()[:16]}..., <secrets redacted>)"
