"""The managed base class of every handle, the one place C calls are
checked, and the conversions of Python arguments into C ones.

Conversions fail in Python, before C is called: ``TypeError`` for the wrong
type (a ``str`` where bytes are expected, a ``bytes`` where a Keypair is),
``ValueError`` for a value C could never accept (a 31-byte id, an embedded
NUL in a string, a negative count). Limits that C checks (lengths, role
bits) are left to C, which raises ``InputError``.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading

from . import _ffi
from .errors import ClosedError, error_for_status

_U32_MAX = 2**32 - 1


def check(status: int) -> None:
    """Raises the exception for a non-zero status, with the message the
    library recorded for this call on this thread."""
    if status != 0:
        raise error_for_status(status, _ffi.last_error())


def as_bytes(value, name: str) -> bytes:
    """A bytes-like argument (bytes, bytearray, memoryview) as ``bytes``."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        raise TypeError(f"{name} must be bytes-like, not str (encode it first)")
    try:
        return bytes(memoryview(value))
    except TypeError:
        raise TypeError(f"{name} must be bytes-like, not {type(value).__name__}") from None


def as_secret(value, name: str) -> bytes:
    """A passphrase: ``str`` (encoded as UTF-8) or bytes-like."""
    if isinstance(value, str):
        return value.encode("utf-8")
    return as_bytes(value, name)


def as_text(value, name: str) -> bytes:
    """A ``str`` argument as NUL-terminable UTF-8."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be str, not {type(value).__name__}")
    if "\0" in value:
        raise ValueError(f"{name} must not contain NUL characters")
    return value.encode("utf-8")


def as_id(value, name: str):
    """A 32-byte id or key as a C array."""
    b = as_bytes(value, name)
    if len(b) != _ffi.ID_LEN:
        raise ValueError(f"{name} must be {_ffi.ID_LEN} bytes, not {len(b)}")
    return (ctypes.c_uint8 * _ffi.ID_LEN).from_buffer_copy(b)


def as_u32(value, name: str) -> int:
    """An integer in 0..2**32-1 (ctypes would silently wrap others)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be int, not {type(value).__name__}")
    if not 0 <= value <= _U32_MAX:
        raise ValueError(f"{name} must be in 0..{_U32_MAX}, not {value}")
    return int(value)


class Handle:
    """Owns one C handle.

    ``close()`` frees it (idempotent); so do ``with`` and garbage
    collection (``__del__``). Any use after ``close()`` raises
    :class:`ClosedError` instead of reaching C. Calls in flight on other
    threads hold the handle; ``close()`` waits for them before freeing, so
    closing a shared ledger never frees it under a running call.
    """

    _free_name: str = ""

    def __init__(self, ptr):
        if not ptr:
            raise ValueError("NULL handle")
        self._ptr = ptr
        self._users = 0
        self._cond = threading.Condition(threading.Lock())

    @property
    def closed(self) -> bool:
        """True after ``close()``."""
        return self._ptr is None

    @contextlib.contextmanager
    def _borrow(self):
        """The live C pointer for the duration of one call."""
        with self._cond:
            if self._ptr is None:
                raise ClosedError(f"{type(self).__name__} is closed")
            self._users += 1
            ptr = self._ptr
        try:
            yield ptr
        finally:
            with self._cond:
                self._users -= 1
                if self._users == 0:
                    self._cond.notify_all()

    def close(self) -> None:
        """Frees the C handle. Safe to call twice."""
        cond = getattr(self, "_cond", None)
        if cond is None:  # __init__ did not finish
            return
        with cond:
            ptr, self._ptr = self._ptr, None
            while self._users:
                cond.wait()
        if ptr:
            getattr(_ffi.lib, self._free_name)(ptr)

    def __enter__(self):
        if self.closed:
            raise ClosedError(f"{type(self).__name__} is closed")
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone
            pass


def borrow_all(handles, cls, name: str):
    """Borrows every handle of a sequence of ``cls`` (type-checked), as a
    context manager yielding the list of pointers."""
    if isinstance(handles, (str, bytes)) or not hasattr(handles, "__iter__"):
        raise TypeError(f"{name} must be a sequence of {cls.__name__}")
    handles = list(handles)
    for i, h in enumerate(handles):
        if not isinstance(h, cls):
            raise TypeError(f"{name}[{i}] must be {cls.__name__}, not {type(h).__name__}")
    stack = contextlib.ExitStack()
    with stack:
        ptrs = [stack.enter_context(h._borrow()) for h in handles]
        stack = stack.pop_all()
    return _Borrowed(stack, ptrs)


class _Borrowed:
    def __init__(self, stack, ptrs):
        self._stack, self.ptrs = stack, ptrs

    def __enter__(self):
        return self.ptrs

    def __exit__(self, *exc):
        self._stack.close()


def borrow(handle, cls, name: str):
    """Borrows one handle of type ``cls`` (type-checked)."""
    if not isinstance(handle, cls):
        raise TypeError(f"{name} must be {cls.__name__}, not {type(handle).__name__}")
    return handle._borrow()
