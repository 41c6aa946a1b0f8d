"""numpy's half of numpy-interop.test.

`write DIR` saves float32 .npy files of many shapes with each format version
(in-*.npy), files netc must reject (reject-*.npy), and a safetensors file
made by hand with F32, F16, BF16 and F64 tensors (st.safetensors).
`check DIR` compares what NetcUnitTests wrote back (out-*.npy, st-*.npy)
with numpy's own reading and conversions, bit for bit.
"""

import json
import struct
import sys
from pathlib import Path

import numpy as np
from numpy.lib import format as npformat

SHAPES = [(), (0,), (0, 3), (1,), (7,), (2, 3), (2, 0, 4), (1, 1, 1, 1, 1),
          (3, 4, 5)]
SPECIALS = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3.4028235e38],
                    dtype="<f4")


def save(path, array, version):
    with open(path, "wb") as f:
        npformat.write_array(f, array, version=version)


def inputs():
    rng = np.random.default_rng(7)
    for i, shape in enumerate(SHAPES):
        a = rng.standard_normal(shape).astype("<f4")
        if a.size:
            flat = a.reshape(-1)
            n = min(flat.size, SPECIALS.size)
            flat[:n] = SPECIALS[:n]
        yield f"{i}", a, [(1, 0), (2, 0), (3, 0)][i % 3]


def f64_values():
    return np.array([1.0, 0.1, 1 + 2.0**-24, 1 + 3 * 2.0**-24, 1e300, -1e300,
                     1e-50, 2.0**-149, 3.4028235677973366e38, np.pi],
                    dtype="<f8")


def safetensors_tensors():
    rng = np.random.default_rng(11)
    f16 = np.concatenate([rng.standard_normal(20).astype("<f2"),
                          np.array([65504, 6e-8, -0.0, np.inf], "<f2")])
    bf16 = rng.integers(0, 2**16, size=(4, 8), dtype="<u2")
    f32 = rng.standard_normal((2, 3)).astype("<f4")
    return {"half": ("F16", f16), "brain": ("BF16", bf16),
            "single": ("F32", f32), "double": ("F64", f64_values())}


def expected_float(dtype, array):
    if dtype == "BF16":
        return (array.astype("<u4") << 16).view("<f4")
    with np.errstate(over="ignore"):
        return array.astype("<f4")


def write(d):
    for name, a, version in inputs():
        save(d / f"in-{name}.npy", a, version)
    a = np.arange(6, dtype="<f4").reshape(2, 3)
    save(d / "reject-f8.npy", a.astype("<f8"), (1, 0))
    save(d / "reject-f2.npy", a.astype("<f2"), (1, 0))
    save(d / "reject-be.npy", a.astype(">f4"), (1, 0))
    save(d / "reject-i4.npy", a.astype("<i4"), (1, 0))
    save(d / "reject-fortran.npy", np.asfortranarray(a), (2, 0))
    save(d / "reject-struct.npy", np.zeros(2, dtype=[("x", "<f4")]), (1, 0))

    header, data = {"__metadata__": {"format": "pt"}}, b""
    for name, (dtype, array) in safetensors_tensors().items():
        raw = array.tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    (d / "st.safetensors").write_bytes(struct.pack("<Q", len(text)) + text +
                                       data)


def same_bits(a, b):
    return (a.dtype == b.dtype and a.shape == b.shape and
            a.tobytes() == b.tobytes())


def check(d):
    failures = 0
    for name, a, _ in inputs():
        path = d / f"out-{name}.npy"
        with open(path, "rb") as f:
            version = npformat.read_magic(f)
        b = np.load(path)
        if version != (1, 0) or b.dtype != np.dtype("<f4") or not same_bits(
                a, b):
            print(f"mismatch: {path} version {version} {b.dtype} {b.shape}")
            failures += 1
    for name, (dtype, array) in safetensors_tensors().items():
        got = np.load(d / f"st-{name}.npy")
        want = expected_float(dtype, array)
        if not same_bits(want, got):
            print(f"mismatch: {dtype} tensor {name}: {want} != {got}")
            failures += 1
    print(f"{failures} mismatches")
    return 1 if failures else 0


if __name__ == "__main__":
    mode, directory = sys.argv[1], Path(sys.argv[2])
    if mode == "write":
        write(directory)
    else:
        sys.exit(check(directory))
