"""Writing the netc model (YAML, one flow-style line per layer) and the
weights (safetensors)."""

import json
import math
import re
import struct

import numpy as np

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off"}


def scalar(value):
    """A YAML 1.2 core-schema flow scalar that reads back as `value`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(value, (list, tuple)):
        return "[%s]" % ", ".join(scalar(v) for v in value)
    if isinstance(value, dict):
        return "{%s}" % ", ".join("%s: %s" % (scalar(k), scalar(v))
                                  for k, v in value.items())
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED:
        return text
    return json.dumps(text)


def model_yaml(name, header, inputs, layers, outputs):
    """The model file: header comment lines, then name, inputs, layers and
    outputs, each layer a flow mapping on one line."""
    lines = ["# " + line if line else "#" for line in header]
    lines.append("name: " + scalar(name))
    lines.append("inputs:")
    for input_name, shape in inputs.items():
        lines.append("  %s: %s" % (scalar(input_name), scalar(shape)))
    lines.append("layers:" if layers else "layers: []")
    for layer in layers:
        lines.append("  - " + scalar(layer))
    lines.append("outputs: " + scalar(outputs))
    return "\n".join(lines) + "\n"


_DTYPES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64",
           np.dtype("int64"): "I64"}


def write_safetensors(path, tensors):
    """{name: torch.Tensor} as safetensors: an 8-byte little-endian header
    length, the JSON header (padded to 8 bytes), the tensors' bytes."""
    header, blobs, offset = {}, [], 0
    for name, tensor in tensors.items():
        array = tensor.detach().cpu().numpy()
        data = np.ascontiguousarray(
            array, dtype=array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": _DTYPES[array.dtype],
                        "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
