#!/usr/bin/env python3
"""Check an Armistice export against a signed checkpoint, with nothing but
Python's standard library (the signature check needs `cryptography`, and is
skipped with a warning when it is missing).

    python3 check_export.py EXPORT.jsonl CHECKPOINT OPERATOR_PUBLIC_KEY_HEX [SEQ]

It recomputes every entry's hash from its leaf bytes, the hash chain, each
payload's SHA-256 against the digest in the leaf, the RFC 6962 root over the
first `size` leaves, and compares it with the checkpoint's root: if they
match, the ledger has only grown since the checkpoint. With SEQ it also
prints that entry's inclusion proof and checks it.
"""
import base64, hashlib, json, struct, sys


def sha256(data):
    return hashlib.sha256(data).digest()


def leaf_hash(leaf):
    return sha256(b"\x00" + leaf)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def mth(hashes):
    """RFC 6962 Merkle tree hash over leaf hashes."""
    if not hashes:
        return sha256(b"")
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def path(index, hashes):
    """RFC 6962 PATH(m, D[n]): the audit path of leaf `index`."""
    if len(hashes) <= 1:
        return []
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    if index < k:
        return path(index, hashes[:k]) + [mth(hashes[k:])]
    return path(index - k, hashes[k:]) + [mth(hashes[:k])]


def root_from_path(index, size, leaf, proof):
    """RFC 9162 section 2.1.3.2: the root an inclusion proof leads to."""
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ValueError("proof too long")
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("proof too short")
    return r


def parse_leaf(leaf):
    """The fixed part of the leaf (docs/FORMAT.md, section 2)."""
    schema, flags, type_code = leaf[0], leaf[1], leaf[2]
    seq, recorded_at, occurred_at = struct.unpack(">Qqq", leaf[3:27])
    prev_hash, payload_sha256 = leaf[51:83], leaf[83:115]
    return {"schema": schema, "seq": seq, "prev_hash": prev_hash, "payload_sha256": payload_sha256}


def main(export_path, checkpoint_path, public_key_hex, seq=None):
    note = open(checkpoint_path, encoding="utf-8").read()
    body, _, signatures = note.partition("\n\n")
    origin, size, root_b64 = body.split("\n")[:3]
    size, root = int(size), base64.b64decode(root_b64)
    check_signature(body + "\n", signatures, origin, bytes.fromhex(public_key_hex))

    hashes, prev = [], bytes(32)
    for number, line in enumerate(open(export_path, encoding="utf-8"), start=1):
        entry = json.loads(line)
        leaf = base64.b64decode(entry["leaf"])
        fields = parse_leaf(leaf)
        assert fields["seq"] == entry["seq"] == number, f"line {number}: seq out of order"
        assert sha256(leaf).hex() == entry["hash"], f"seq {number}: hash is not SHA-256(leaf)"
        assert fields["prev_hash"] == prev, f"seq {number}: the chain is broken"
        if "payload" in entry:
            payload = base64.b64decode(entry["payload"])
            assert sha256(payload) == fields["payload_sha256"], f"seq {number}: payload digest differs"
        prev = sha256(leaf)
        hashes.append(leaf_hash(leaf))
    print(f"export: {len(hashes)} entries; hashes, chain and payload digests recomputed")
    assert size <= len(hashes), "the checkpoint covers more entries than the export"
    assert mth(hashes[:size]) == root, "the export does not reproduce the checkpoint's root"
    print(f"ok: the first {size} entries give the checkpoint's root: the ledger only grew since")
    if seq is not None:
        proof = path(seq - 1, hashes[:size])
        assert root_from_path(seq - 1, size, hashes[seq - 1], proof) == root
        print(f"ok: entry {seq} is included; audit path: {[p.hex() for p in proof]}")


def check_signature(body, signatures, origin, public_key):
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        print("warning: `cryptography` is not installed; the checkpoint's signature was NOT checked")
        return
    key_id = sha256(origin.encode() + b"\n\x01" + public_key)[:4]
    for line in signatures.splitlines():
        name, blob = line.removeprefix("\u2014 ").split(" ")
        raw = base64.b64decode(blob)
        if name == origin and raw[:4] == key_id:
            Ed25519PublicKey.from_public_bytes(public_key).verify(raw[4:], body.encode())
            print("ok: the checkpoint is signed by the operator's key")
            return
    raise SystemExit("no signature by this key on the checkpoint")


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) == 5 else None)
