"""One-off extraction of the QONNX test models' graphs and tensors into plain text.

Run from the repository root (development time only; the tests never run it):
    pip install onnx
    python3 tests/qonnx/extract_qonnx.py
It writes tests/qonnx/<model>.txt for each model in tests/golden/qonnx/.
"""
import pathlib

import numpy as np
import onnx
from onnx import helper, numpy_helper

SRC = pathlib.Path("tests/golden/qonnx")
DST = pathlib.Path("tests/qonnx")

for path in sorted(SRC.glob("*.onnx")):
    model = onnx.load(str(path))
    lines = [f"# extracted from {path.name} by tests/qonnx/extract_qonnx.py (onnx {onnx.__version__})"]
    for node in model.graph.node:
        attrs = []
        for a in node.attribute:
            v = helper.get_attribute_value(a)
            if isinstance(v, bytes):
                v = v.decode()
            attrs.append(f"{a.name}={v}")
        lines.append(
            f"node {node.op_type} in={','.join(node.input)} out={','.join(node.output)} {' '.join(sorted(attrs))}".rstrip()
        )
    for init in model.graph.initializer:
        arr = numpy_helper.to_array(init).astype(np.float32)
        shape = ",".join(str(d) for d in arr.shape)
        # shortest decimals that read back to the same float32
        values = " ".join(np.format_float_positional(v, unique=True, trim="-") for v in arr.flatten())
        lines.append(f"tensor {init.name} shape={shape}")
        lines.append(values)
    (DST / (path.stem + ".txt")).write_text("\n".join(lines) + "\n")
    print("wrote", DST / (path.stem + ".txt"))
