#!/usr/bin/env python3
"""Writes a "fine-tune" of a safetensors file for the store optimize tests, fast and without
numpy: every BF16/F16 element's low byte is moved a little (a deterministic table per value, so
every element changes and a few wrap), the header gains metadata (a different header size) and
keeps its tensors and their order. usage: family.py BASE OUT STEP"""
import json
import struct
import sys

src, out, step = sys.argv[1], sys.argv[2], int(sys.argv[3])
raw = open(src, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
head = json.loads(raw[8:8 + n])
data = bytearray(raw[8 + n:])
meta = head.get("__metadata__", {})
meta["fine_tuned"] = "step %d of a test fine-tune" % step
head["__metadata__"] = meta
table = bytes(((b + 1 + (b * 7 + step) % 3) & 0xFF) for b in range(256))
for name, t in head.items():
    if name == "__metadata__" or t["dtype"] not in ("BF16", "F16"):
        continue
    a, b = t["data_offsets"]
    data[a:b:2] = bytes(data[a:b:2]).translate(table)
text = json.dumps(head, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + bytes(data))
