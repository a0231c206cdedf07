"""PyTorch reference output for a committed model, used by the TypeScript tests to check the ONNX export.

Usage: torch_reference.py <model-id> <input.f32> <N,C,H,W> <output.f32>
Reads raw little-endian float32 input, runs the model code from nets.py with models/<id>/weights.pt (or
models/optional/<id>/weights.pt) in eval mode, and writes the raw little-endian float32 output.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import REPO_MODELS  # noqa: E402
from nets import build  # noqa: E402


def main(model_id: str, input_path: str, shape: str, output_path: str) -> None:
    torch.set_num_threads(1)
    dims = [int(d) for d in shape.split(",")]
    x = np.fromfile(input_path, dtype="<f4").reshape(dims)
    model = build(model_id)
    weights = os.path.join(REPO_MODELS, model_id, "weights.pt")
    if not os.path.exists(weights):  # models not loaded by default live in models/optional/
        weights = os.path.join(REPO_MODELS, "optional", model_id, "weights.pt")
    model.load_state_dict(torch.load(weights, map_location="cpu"))
    model.eval()
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy().astype("<f4")
    y.tofile(output_path)
    print(",".join(str(d) for d in y.shape))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
