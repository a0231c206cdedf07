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
    """Small 2D U-Net: [N,1,128,128] -> logits [N,classes,128,128] (channel 1 = brain with the default 2 classes)."""

    def __init__(self, widths=(8, 16, 32, 48), classes: int = 2):
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
        self.head = nn.Conv2d(w1, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        e3 = self.enc3(self.pool(e2))
        b = self.bottom(self.pool(e3))
        d3 = self.dec3(torch.cat([self.up(b), e3], dim=1))
        d2 = self.dec2(torch.cat([self.up(d3), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up(d2), e1], dim=1))
        return self.head(d1)


class BrainLobesUNet(BrainMaskUNet):
    """BrainMaskUNet with a context branch at the bottom (two more poolings, to 1/32 resolution, conv blocks, then
    upsampled and added residually): which lobe a pixel belongs to depends on where it sits in the whole head, which
    the plain U-Net's 68-pixel receptive field does not see. The branch's last conv starts at zero, so a fresh model
    computes exactly what the brain-mask weights it is initialised from compute."""

    def __init__(self, classes: int = 6):
        super().__init__(classes=classes)
        w = self.bottom[3].out_channels
        last = nn.Conv2d(w, w, 1)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.context = nn.Sequential(
            nn.MaxPool2d(2), conv_block(w, w), nn.MaxPool2d(2), conv_block(w, w), nn.Upsample(scale_factor=4, mode="nearest"), last
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        e3 = self.enc3(self.pool(e2))
        b = self.bottom(self.pool(e3))
        b = b + self.context(b)
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
    if model_id == "brain-lobes-2d":
        return BrainLobesUNet()
    if model_id == "mr-plane-classifier":
        return PlaneClassifier()
    raise ValueError(f"unknown model id {model_id}")
