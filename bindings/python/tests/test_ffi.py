"""The ctypes declarations cover exactly the functions of the header, and
the library is found as documented."""

import pathlib
import re

import pytest

from medledger import _ffi

HEADER = _ffi.REPO_ROOT / "include" / "medledger.h"


def header_functions():
    text = HEADER.read_text()
    return set(re.findall(r"^[A-Za-z_][\w \*]*?\b(medledger_\w+)\(", text, re.M))


def test_every_header_function_is_declared():
    declared = set(_ffi.SIGNATURES)
    in_header = header_functions()
    assert len(in_header) > 30
    assert in_header - declared == set(), "declare these in bindings/python/medledger/_ffi.py"
    assert set(_ffi.SIGNATURES) - in_header == set(), "declared but not in medledger.h"


def test_every_declared_function_has_argtypes():
    for name in _ffi.SIGNATURES:
        fn = getattr(_ffi.lib, name)
        assert fn.argtypes is not None, name


def test_library_lookup_order(tmp_path):
    root = tmp_path
    with pytest.raises(ImportError, match="cargo build --release"):
        _ffi.find_library({}, root)
    debug = root / "target" / "debug" / _ffi._LIB_FILE
    debug.parent.mkdir(parents=True)
    debug.write_bytes(b"")
    assert _ffi.find_library({}, root) == debug
    release = root / "target" / "release" / _ffi._LIB_FILE
    release.parent.mkdir(parents=True)
    release.write_bytes(b"")
    assert _ffi.find_library({}, root) == release
    other = tmp_path / "elsewhere.so"
    other.write_bytes(b"")
    assert _ffi.find_library({"MEDLEDGER_LIB": str(other)}, root) == other
    with pytest.raises(ImportError, match="MEDLEDGER_LIB"):
        _ffi.find_library({"MEDLEDGER_LIB": str(tmp_path / "missing.so")}, root)


def test_last_error_is_empty_after_success():
    from medledger import Keypair

    with Keypair.generate():
        assert _ffi.last_error() == ""
