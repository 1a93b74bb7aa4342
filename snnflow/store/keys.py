"""Callback keys as zarr group names: readable where possible, always safe and reversible.

A str key that is a *safe name* (a letter or digit, then letters, digits, '_' or
'-', at most 100 characters, and not one of snnflow's own group names) is its own
group name: the key ``"hidden_spikes"`` is the group ``hidden_spikes``. Any other key
is written as a type tag and a JSON body, percent-encoded so that only letters,
digits and '-' stand for themselves and every other byte is ``_XX`` (hex), after
the prefix ``_k``: ``"../x"`` becomes ``_k_22_2E_2E_2Fx_22`` and ``7`` becomes ``_k7``.
Neither form has a '/' or '.', so a key is always one group directly under the
root; a safe name never starts with '_', so the two forms never meet.

Stores written before layout 2 named every key in the encoded form without the
leading '_' (``k_22in_22``); ``decode_key(name, layout=1)`` reads those."""
from __future__ import annotations

import json
import re

SCALARS = (str, int, float, bool, type(None))
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
#: Group names snnflow uses for itself: keys of these names are encoded
RESERVED = {"shards"}
ENCODED_PREFIX = "_k"


def _to_json(key):
    if isinstance(key, tuple):
        return {"tuple": [_to_json(k) for k in key]}
    if isinstance(key, SCALARS):
        return key
    raise TypeError(f"callback key {key!r} cannot be stored in a zarr store: use a str, "
                    f"an int, a float, a bool or a tuple of them")


def _from_json(value):
    if isinstance(value, dict):
        return tuple(_from_json(v) for v in value["tuple"])
    return value


def _percent(key) -> str:
    text = json.dumps(_to_json(key), sort_keys=True, separators=(",", ":"))
    return "".join(chr(b) if chr(b).isascii() and (chr(b).isalnum() or b == 45)
                   else f"_{b:02X}" for b in text.encode())


def _unpercent(body: str):
    text = re.sub(rb"_([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]),
                  body.encode()).decode()
    return _from_json(json.loads(text))


def is_safe_name(key) -> bool:
    return isinstance(key, str) and key not in RESERVED and SAFE_NAME.fullmatch(key) is not None


def encode_key(key) -> str:
    if is_safe_name(key):
        return key
    return ENCODED_PREFIX + _percent(key)


def decode_key(name: str, layout: int = 2):
    if layout < 2:
        return _unpercent(name[1:])
    if name.startswith(ENCODED_PREFIX):
        return _unpercent(name[len(ENCODED_PREFIX):])
    return name


def is_key_group(name: str, layout: int = 2) -> bool:
    """Callback keys' groups; other groups (the shards' markers) are snnflow's own."""
    if layout < 2:
        return name.startswith("k")
    return name not in RESERVED


def check_keys(keys):
    """KeyError if two keys map to group names that a case-insensitive file system
    (macOS, Windows) would treat as one."""
    seen = {}
    for key in keys:
        folded = encode_key(key).lower()
        if folded in seen:
            raise KeyError(f"callback keys {seen[folded]!r} and {key!r} would share one "
                           f"group in the store; choose keys that differ by more than case")
        seen[folded] = key
