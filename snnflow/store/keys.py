"""Callback keys as zarr group names: safe (never leave the store) and reversible.

A key is written as a type tag and a JSON body, then percent-encoded so that only
letters, digits and '-' stand for themselves and every other byte is written
``_XX`` (hex): ``"../x"`` becomes ``k_22_2E_2E_2Fx_22``, with no '/' or '.' left,
so it is always one group directly under the root."""
from __future__ import annotations

import json
import re

SCALARS = (str, int, float, bool, type(None))


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


def encode_key(key) -> str:
    text = json.dumps(_to_json(key), sort_keys=True, separators=(",", ":"))
    return "k" + "".join(chr(b) if chr(b).isascii() and (chr(b).isalnum() or b == 45)
                         else f"_{b:02X}" for b in text.encode())


def decode_key(name: str):
    text = re.sub(rb"_([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]),
                  name[1:].encode()).decode()
    return _from_json(json.loads(text))


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
