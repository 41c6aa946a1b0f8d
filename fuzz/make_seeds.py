#!/usr/bin/env python3
"""Writes the seed corpora of netc's fuzz targets into OUT/<target>/.

netc-fuzz-yaml: every model in test/ and examples/, split at the
`# // -----` markers that `--split-input-file` uses (one model per seed).
netc-fuzz-npy, netc-fuzz-safetensors: small files written here byte by
byte (no numpy needed), valid ones and the near-misses the readers reject.

Usage: make_seeds.py ROOT OUT
"""

import hashlib
import json
import os
import pathlib
import struct
import sys


def put(directory, name, data):
    directory.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (directory / name).write_bytes(data)


def yaml_seeds(root, out):
    files = sorted(root.glob("test/**/*.yaml")) + sorted(
        root.glob("examples/**/*.yaml"))
    for path in files:
        text = path.read_text(errors="replace")
        for i, chunk in enumerate(text.split("# // -----")):
            if chunk.strip():
                digest = hashlib.sha1(chunk.encode()).hexdigest()[:12]
                put(out, f"{path.stem}-{i}-{digest}.yaml", chunk)


def npy(shape, descr="<f4", fortran=False, major=1, data=None, extra=b""):
    dims = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
    header = (f"{{'descr': '{descr}', 'fortran_order': {fortran}, "
              f"'shape': ({dims}), }}")
    prefix = 10 if major == 1 else 12
    total = -(-(prefix + len(header) + 1) // 64) * 64
    header = header + " " * (total - prefix - len(header) - 1) + "\n"
    length = struct.pack("<H" if major == 1 else "<I", len(header))
    count = 1
    for d in shape:
        count *= d
    size = {"<f4": 4, "<f8": 8, "<i8": 8, "|u1": 1}.get(descr, 4)
    if data is None:
        data = bytes((i * 7) & 0xFF for i in range(count * size))
    return (b"\x93NUMPY" + bytes([major, 0]) + length + header.encode() +
            data + extra)


def npy_seeds(out):
    put(out, "scalar.npy", npy(()))
    put(out, "vector.npy", npy((5,)))
    put(out, "matrix.npy", npy((2, 3)))
    put(out, "nchw.npy", npy((1, 3, 4, 4)))
    put(out, "empty.npy", npy((0, 3)))
    put(out, "v2.npy", npy((2, 2), major=2))
    put(out, "v3.npy", npy((3,), major=3))
    put(out, "f8.npy", npy((2,), descr="<f8"))
    put(out, "fortran.npy", npy((2, 2), fortran=True))
    put(out, "trailing.npy", npy((2,), extra=b"\0\0\0\0"))
    put(out, "truncated.npy", npy((4, 4))[:-5])
    put(out, "structured.npy",
        b"\x93NUMPY\x01\x00" + struct.pack("<H", 54) +
        b"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (), }\n")


def safetensors(tensors, metadata=None, pad=True):
    """tensors: list of (name, dtype, shape, bytes)."""
    header, data = {}, b""
    for name, dtype, shape, payload in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds(out):
    f32 = struct.pack("<6f", 1, -2, 0.5, 3e38, -0.0, 1e-40)
    put(out, "f32.safetensors",
        safetensors([("conv1.weight", "F32", (2, 3), f32)]))
    put(out, "two.safetensors",
        safetensors([("a", "F32", (2,), f32[:8]),
                     ("b.bias", "F32", (1,), f32[8:12])],
                    metadata={"format": "pt"}))
    put(out, "f16.safetensors",
        safetensors([("h", "F16", (4,), struct.pack("<4H", 0x3C00, 0x7C00,
                                                    0x0001, 0xFC01))]))
    put(out, "bf16.safetensors",
        safetensors([("b", "BF16", (2,), struct.pack("<2H", 0x3F80, 0xFF80))]))
    put(out, "f64.safetensors",
        safetensors([("d", "F64", (3,), struct.pack("<3d", 1e300, -1.5,
                                                    5e-324))]))
    put(out, "i64.safetensors",
        safetensors([("n", "I64", (2,), struct.pack("<2q", 7, -7)),
                     ("flag", "BOOL", (1,), b"\x01")]))
    put(out, "scalar-empty.safetensors",
        safetensors([("s", "F32", (), f32[:4]), ("z", "F32", (0, 4), b"")]))
    put(out, "nopad.safetensors",
        safetensors([("x", "U8", (3,), b"abc")], pad=False))
    put(out, "empty.safetensors", safetensors([]))


def main():
    root, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    yaml_seeds(root, out / "netc-fuzz-yaml")
    npy_seeds(out / "netc-fuzz-npy")
    safetensors_seeds(out / "netc-fuzz-safetensors")
    for target in sorted(os.listdir(out)):
        print(f"make_seeds: {len(os.listdir(out / target))} seeds for {target}")


if __name__ == "__main__":
    main()
