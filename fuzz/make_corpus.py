#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus from the shared test vectors.

    fuzz/make_corpus.py VECTORS_DIR OUT_DIR

VECTORS_DIR holds protocol_vectors.json, malformed_vectors.json (if there) and targets.json
(tests/vectors). Writes one file per seed under OUT_DIR/frame, OUT_DIR/batch (the vectors' frame
bytes, well-formed and malformed), OUT_DIR/target (the target texts) and OUT_DIR/json (the
vectors' values as JSON text); OUT_DIR is emptied first.
"""

import hashlib
import json
import os
import shutil
import sys


def write(out, kind, data):
    path = os.path.join(out, kind)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def main(vectors, out):
    shutil.rmtree(out, ignore_errors=True)
    with open(os.path.join(vectors, "protocol_vectors.json")) as f:
        protocol = json.load(f)
    with open(os.path.join(vectors, "targets.json")) as f:
        targets = json.load(f)
    for v in protocol:
        data = bytes.fromhex(v["hex"])
        write(out, "frame", data)
        if v.get("value", {}).get("frame") == "batch" or data[:1] == b"\xdd":
            write(out, "batch", data)
        write(out, "json", json.dumps(v["value"]).encode())
        if "body" in v["value"]:
            write(out, "json", json.dumps(v["value"]["body"]).encode())
    malformed = os.path.join(vectors, "malformed_vectors.json")
    if os.path.exists(malformed):
        with open(malformed) as f:
            for v in json.load(f):
                data = bytes.fromhex(v["hex"])
                write(out, "frame", data)
                write(out, "batch", data)
    for t in targets:
        write(out, "target", t["text"].encode())
    for text in ('{"by": 1}', '[1, -2, 2.5e10, "x\\u00e9", null, true, false, {}]', '"\\ud83d\\ude00"',
                 '{"a": {"b": [[[]]]}}', '18446744073709551615', '-9223372036854775808'):
        write(out, "json", text.encode())
    counts = {k: len(os.listdir(os.path.join(out, k))) for k in ("frame", "batch", "target", "json")}
    print("make_corpus: " + ", ".join(f"{k} {n}" for k, n in counts.items()))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
