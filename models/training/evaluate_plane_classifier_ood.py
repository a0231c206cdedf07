"""Out-of-distribution check of mr-plane-classifier on another head: the INIA19 rhesus macaque T1 template
(inia19-t1-brain.nii.gz in Debian's mricron-data; skull-stripped, 0.5 mm). Not used in training.

Run: /usr/bin/python3 models/training/evaluate_plane_classifier_ood.py
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import PLANES, REPO_MODELS, TEMPLATES, make_reproducible, plane_count, plane_slice, resample_to_lps, resize  # noqa: E402
from nets import PlaneClassifier  # noqa: E402
from nifti import read_nifti  # noqa: E402


def main():
    make_reproducible(0)
    img = read_nifti(os.path.join(TEMPLATES, "inia19-t1-brain.nii.gz"))
    model = PlaneClassifier()
    model.load_state_dict(torch.load(os.path.join(REPO_MODELS, "mr-plane-classifier", "weights.pt")))
    model.eval()
    correct, total = np.zeros(3, int), np.zeros(3, int)
    for spacing in (0.5, 1.0, 1.5):
        vol = resample_to_lps(img.data, img.affine, spacing)
        for label, plane in enumerate(PLANES):
            n = plane_count(vol, plane)
            for frac in (-0.1, -0.05, 0.0, 0.05, 0.1):  # slice positions around the middle
                x = resize(plane_slice(vol, plane, n // 2 + int(round(frac * n))), 64)
                x = (x - x.mean()) / x.std().clamp(min=1e-6)
                with torch.no_grad():
                    pred = int(model(x[None, None]).argmax(dim=1))
                correct[label] += pred == label
                total[label] += 1
    for label, plane in enumerate(PLANES):
        print(f"{plane}: {correct[label]}/{total[label]}")
    print(f"accuracy {correct.sum() / total.sum():.3f} (n={total.sum()})")


if __name__ == "__main__":
    main()
