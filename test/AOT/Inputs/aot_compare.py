"""Files for the assembled-library tests.

  aot_compare.py inputs DIR NAME=SHAPE...   random float32 inputs DIR/NAME.npy
  aot_compare.py weights W.safetensors DIR  every tensor as DIR/<arg>.npy,
                                            named as the function's argument
  aot_compare.py compare DIR OUTPUT...      DIR/OUTPUT.aot.npy (the library)
                                            equals DIR/OUTPUT.npy (netc run)
"""

import json
import re
import struct
import sys

import numpy as np


def arg_name(key):
    """halide::funcName: the argument a state_dict key becomes."""
    name = re.sub(r"[^A-Za-z0-9]", "_", key)
    return "l_" + name if not name or name[0].isdigit() else name


def main(argv):
    command, rest = argv[1], argv[2:]
    if command == "inputs":
        rng = np.random.RandomState(7)
        for spec in rest[1:]:
            name, shape = spec.split("=")
            shape = [int(s) for s in shape.split(",")]
            np.save("%s/%s.npy" % (rest[0], name),
                    rng.randn(*shape).astype(np.float32))
    elif command == "weights":
        with open(rest[0], "rb") as f:
            size = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(size))
            data = f.read()
        for key, info in header.items():
            if key == "__metadata__":
                continue
            begin, end = info["data_offsets"]
            tensor = np.frombuffer(data[begin:end], np.float32)
            np.save("%s/%s.npy" % (rest[1], arg_name(key)),
                    tensor.reshape(info["shape"]))
    elif command == "compare":
        for name in rest[1:]:
            aot = np.load("%s/%s.aot.npy" % (rest[0], name))
            jit = np.load("%s/%s.npy" % (rest[0], name))
            assert aot.shape == jit.shape, (name, aot.shape, jit.shape)
            diff = np.abs(aot - jit).max() / max(1.0, np.abs(jit).max())
            print("%s %s max relative difference %.2g" % (name, aot.shape, diff))
            assert diff <= 1e-5, (name, diff)
    else:
        sys.exit("unknown command " + command)


if __name__ == "__main__":
    main(sys.argv)
