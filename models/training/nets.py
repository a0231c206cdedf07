"""Network definitions shared by training, export and the PyTorch reference used in tests."""
import torch
from torch import nn


def conv_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class BrainMaskUNet(nn.Module):
    """Small 2D U-Net: [N,1,128,128] -> logits [N,2,128,128] (channel 1 = brain)."""

    def __init__(self, widths=(8, 16, 32, 48)):
        super().__init__()
        w1, w2, w3, w4 = widths
        self.enc1 = conv_block(1, w1)
        self.enc2 = conv_block(w1, w2)
        self.enc3 = conv_block(w2, w3)
        self.bottom = conv_block(w3, w4)
        self.pool = nn.MaxPool2d(2)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.dec3 = conv_block(w4 + w3, w3)
        self.dec2 = conv_block(w3 + w2, w2)
        self.dec1 = conv_block(w2 + w1, w1)
        self.head = nn.Conv2d(w1, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        e3 = self.enc3(self.pool(e2))
        b = self.bottom(self.pool(e3))
        d3 = self.dec3(torch.cat([self.up(b), e3], dim=1))
        d2 = self.dec2(torch.cat([self.up(d3), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up(d2), e1], dim=1))
        return self.head(d1)


class PlaneClassifier(nn.Module):
    """Small CNN over one 64x64 slice -> logits [N,3] for (axial, sagittal, coronal)."""

    def __init__(self):
        super().__init__()

        def stage(cin, cout):
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True), nn.MaxPool2d(2)
            )

        self.features = nn.Sequential(stage(1, 8), stage(8, 16), stage(16, 32), stage(32, 32))  # 64 -> 4
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(32 * 4 * 4, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def build(model_id: str) -> nn.Module:
    if model_id == "brain-mask-2d":
        return BrainMaskUNet()
    if model_id == "mr-plane-classifier":
        return PlaneClassifier()
    raise ValueError(f"unknown model id {model_id}")
