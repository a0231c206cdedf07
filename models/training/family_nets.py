"""Small, self-written networks for the seed model families (docs/model-families.md).

Each class follows the shape of a published architecture closely enough that its ONNX graph holds the same operator
mix (norms, attention, up-sampling, skip concatenations); the sizes are small so a CPU run takes seconds. Weights are a
fixed-seed random initialisation: these nets check that the architectures export and run, not that they segment.

  UNet2d        Ronneberger et al. 2015: double conv (conv-BN-ReLU x2) per level, max-pool down, transposed-conv up.
  UNet3dNnunet  Isensee et al. 2021 (nnU-Net): per stage conv-InstanceNorm-LeakyReLU x2, strided-conv down.
  Unetr         Hatamizadeh et al. 2022: ViT on 3D patches, hidden states of four depths fed to a conv decoder.
  SegFormer3d   Perera et al. 2024: 4-stage hierarchical encoder with spatial-reduction attention and Mix-FFN
                (depth-wise 3D conv), all-MLP decoder.
  TransUnet     Chen et al. 2021: CNN encoder to 1/16, transformer on its tokens, cascaded U-Net decoder with skips.
  DeitStyleVit  Touvron et al. 2021 (DeiT-Ti sizes at full scale): patch embedding, class token, pre-norm blocks.
"""
import torch
import torch.nn.functional as F
from torch import nn


# ---------------------------------------------------------------- shared transformer pieces


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class SelfAttention(nn.Module):
    """Multi-head self-attention written out (q/k/v projections, scaled dot product, softmax)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * self.scale
        out = attn.softmax(dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    """Pre-norm transformer block (ViT)."""

    def __init__(self, dim: int, heads: int, mlp: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, mlp)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


# ---------------------------------------------------------------- 2D U-Net


def double_conv2d(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )


class UNet2d(nn.Module):
    def __init__(self, in_ch: int = 1, classes: int = 2, base: int = 32, depth: int = 4):
        super().__init__()
        widths = [base * 2 ** i for i in range(depth + 1)]
        self.enc = nn.ModuleList([double_conv2d(in_ch, widths[0])] + [double_conv2d(widths[i - 1], widths[i]) for i in range(1, depth + 1)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(widths[i], widths[i - 1], 2, stride=2) for i in range(depth, 0, -1)])
        self.dec = nn.ModuleList([double_conv2d(2 * widths[i - 1], widths[i - 1]) for i in range(depth, 0, -1)])
        self.head = nn.Conv2d(widths[0], classes, 1)

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.enc):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        x = skips.pop()
        for up, dec in zip(self.up, self.dec):
            x = dec(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(x)


# ---------------------------------------------------------------- 3D U-Net, nnU-Net style


class ConvNormAct3d(nn.Sequential):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__(
            nn.Conv3d(cin, cout, 3, stride=stride, padding=1),
            nn.InstanceNorm3d(cout, eps=1e-5, affine=True),
            nn.LeakyReLU(0.01, inplace=True),
        )


class UNet3dNnunet(nn.Module):
    def __init__(self, in_ch: int = 1, classes: int = 2, widths=(16, 32, 64, 128)):
        super().__init__()
        self.enc = nn.ModuleList()
        cin = in_ch
        for i, w in enumerate(widths):
            self.enc.append(nn.Sequential(ConvNormAct3d(cin, w, stride=1 if i == 0 else 2), ConvNormAct3d(w, w)))
            cin = w
        self.up = nn.ModuleList([nn.ConvTranspose3d(widths[i], widths[i - 1], 2, stride=2) for i in range(len(widths) - 1, 0, -1)])
        self.dec = nn.ModuleList(
            [nn.Sequential(ConvNormAct3d(2 * widths[i - 1], widths[i - 1]), ConvNormAct3d(widths[i - 1], widths[i - 1])) for i in range(len(widths) - 1, 0, -1)]
        )
        self.head = nn.Conv3d(widths[0], classes, 1)

    def forward(self, x):
        skips = []
        for stage in self.enc:
            x = stage(x)
            skips.append(x)
        x = skips.pop()
        for up, dec in zip(self.up, self.dec):
            x = dec(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(x)


# ---------------------------------------------------------------- UNETR style


class Deconv3d(nn.Sequential):
    """UNETR's up-sampling unit: transposed conv x2, then conv-norm-act."""

    def __init__(self, cin: int, cout: int):
        super().__init__(nn.ConvTranspose3d(cin, cout, 2, stride=2), ConvNormAct3d(cout, cout))


class Unetr(nn.Module):
    def __init__(self, in_ch: int = 1, classes: int = 2, img: int = 64, patch: int = 16, hidden: int = 192,
                 layers: int = 8, heads: int = 4, mlp: int = 384, feat: int = 16):
        super().__init__()
        assert patch == 16, "the decoder below up-samples four times (x16)"
        self.grid = img // patch
        self.patch_embed = nn.Conv3d(in_ch, hidden, patch, stride=patch)
        self.pos = nn.Parameter(torch.zeros(1, self.grid ** 3, hidden))
        self.blocks = nn.ModuleList([Block(hidden, heads, mlp) for _ in range(layers)])
        self.norm = nn.LayerNorm(hidden)
        q = layers // 4
        self.taps = [q - 1, 2 * q - 1, 3 * q - 1]  # z3, z6, z9 of UNETR's twelve layers, scaled to `layers`
        self.enc1 = nn.Sequential(ConvNormAct3d(in_ch, feat), ConvNormAct3d(feat, feat))
        self.enc2 = nn.Sequential(Deconv3d(hidden, feat * 2), Deconv3d(feat * 2, feat * 2), Deconv3d(feat * 2, feat * 2))
        self.enc3 = nn.Sequential(Deconv3d(hidden, feat * 4), Deconv3d(feat * 4, feat * 4))
        self.enc4 = Deconv3d(hidden, feat * 8)
        self.up4 = nn.ConvTranspose3d(hidden, feat * 8, 2, stride=2)
        self.dec4 = nn.Sequential(ConvNormAct3d(feat * 16, feat * 8), ConvNormAct3d(feat * 8, feat * 8))
        self.up3 = nn.ConvTranspose3d(feat * 8, feat * 4, 2, stride=2)
        self.dec3 = nn.Sequential(ConvNormAct3d(feat * 8, feat * 4), ConvNormAct3d(feat * 4, feat * 4))
        self.up2 = nn.ConvTranspose3d(feat * 4, feat * 2, 2, stride=2)
        self.dec2 = nn.Sequential(ConvNormAct3d(feat * 4, feat * 2), ConvNormAct3d(feat * 2, feat * 2))
        self.up1 = nn.ConvTranspose3d(feat * 2, feat, 2, stride=2)
        self.dec1 = nn.Sequential(ConvNormAct3d(feat * 2, feat), ConvNormAct3d(feat, feat))
        self.head = nn.Conv3d(feat, classes, 1)

    def to_grid(self, tokens):
        b, _, c = tokens.shape
        g = self.grid
        return tokens.transpose(1, 2).reshape(b, c, g, g, g)

    def forward(self, x):
        t = self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos
        hidden = []
        for i, blk in enumerate(self.blocks):
            t = blk(t)
            if i in self.taps:
                hidden.append(t)
        z12 = self.to_grid(self.norm(t))
        s2 = self.enc2(self.to_grid(hidden[0]))
        s3 = self.enc3(self.to_grid(hidden[1]))
        s4 = self.enc4(self.to_grid(hidden[2]))
        d = self.dec4(torch.cat([self.up4(z12), s4], dim=1))
        d = self.dec3(torch.cat([self.up3(d), s3], dim=1))
        d = self.dec2(torch.cat([self.up2(d), s2], dim=1))
        d = self.dec1(torch.cat([self.up1(d), self.enc1(x)], dim=1))
        return self.head(d)


# ---------------------------------------------------------------- SegFormer3D style


class PatchEmbed3d(nn.Module):
    """Overlapping patch embedding: strided conv, tokens, LayerNorm. Returns tokens and the grid size."""

    def __init__(self, cin: int, dim: int, kernel: int, stride: int):
        super().__init__()
        self.proj = nn.Conv3d(cin, dim, kernel, stride=stride, padding=kernel // 2)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        x = self.proj(x)
        d, h, w = x.shape[2], x.shape[3], x.shape[4]
        return self.norm(x.flatten(2).transpose(1, 2)), (d, h, w)


class EfficientAttention3d(nn.Module):
    """Self-attention whose keys/values come from a grid shrunk by `sr` (strided conv): cost N*N/sr^3."""

    def __init__(self, dim: int, heads: int, sr: int):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, dim * 2)
        self.proj = nn.Linear(dim, dim)
        self.sr = nn.Conv3d(dim, dim, sr, stride=sr) if sr > 1 else None
        self.sr_norm = nn.LayerNorm(dim) if sr > 1 else None

    def forward(self, x, size):
        b, n, c = x.shape
        hd = c // self.heads
        q = self.q(x).reshape(b, n, self.heads, hd).transpose(1, 2)
        if self.sr is not None:
            grid = x.transpose(1, 2).reshape(b, c, *size)
            x = self.sr_norm(self.sr(grid).flatten(2).transpose(1, 2))
        kv = self.kv(x).reshape(b, -1, 2, self.heads, hd).permute(2, 0, 3, 1, 4)
        attn = (q @ kv[0].transpose(-2, -1)) * self.scale
        out = (attn.softmax(dim=-1) @ kv[1]).transpose(1, 2).reshape(b, n, c)
        return self.proj(out)


class MixFfn3d(nn.Module):
    """Linear, depth-wise 3x3x3 conv on the token grid (positional information), GELU, linear."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.dw = nn.Conv3d(hidden, hidden, 3, padding=1, groups=hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x, size):
        x = self.fc1(x)
        b, n, c = x.shape
        x = self.dw(x.transpose(1, 2).reshape(b, c, *size)).flatten(2).transpose(1, 2)
        return self.fc2(F.gelu(x))


class SegFormerBlock(nn.Module):
    def __init__(self, dim: int, heads: int, sr: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = EfficientAttention3d(dim, heads, sr)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = MixFfn3d(dim, dim * 4)

    def forward(self, x, size):
        x = x + self.attn(self.norm1(x), size)
        return x + self.ffn(self.norm2(x), size)


class SegFormer3d(nn.Module):
    def __init__(self, in_ch: int = 1, classes: int = 4, dims=(16, 32, 64, 128), heads=(1, 2, 4, 8), srs=(4, 2, 1, 1),
                 depths=(2, 2, 2, 2), decoder_dim: int = 64):
        super().__init__()
        self.embeds = nn.ModuleList()
        self.stages = nn.ModuleList()
        self.norms = nn.ModuleList()
        cin = in_ch
        for i, dim in enumerate(dims):
            self.embeds.append(PatchEmbed3d(cin, dim, 7 if i == 0 else 3, 4 if i == 0 else 2))
            self.stages.append(nn.ModuleList([SegFormerBlock(dim, heads[i], srs[i]) for _ in range(depths[i])]))
            self.norms.append(nn.LayerNorm(dim))
            cin = dim
        self.linears = nn.ModuleList([nn.Linear(dim, decoder_dim) for dim in dims])
        self.fuse = nn.Sequential(nn.Conv3d(decoder_dim * len(dims), decoder_dim, 1, bias=False), nn.BatchNorm3d(decoder_dim), nn.ReLU(inplace=True))
        self.pred = nn.Conv3d(decoder_dim, classes, 1)

    def forward(self, x):
        in_size = x.shape[2:]
        feats = []
        for embed, blocks, norm in zip(self.embeds, self.stages, self.norms):
            t, size = embed(x)
            for blk in blocks:
                t = blk(t, size)
            t = norm(t)
            x = t.transpose(1, 2).reshape(t.shape[0], t.shape[2], *size)
            feats.append((t, size))
        first = feats[0][1]
        ups = []
        for (t, size), lin in zip(feats, self.linears):
            g = lin(t)
            g = g.transpose(1, 2).reshape(g.shape[0], g.shape[2], *size)
            ups.append(g if size == first else F.interpolate(g, size=first, mode="trilinear", align_corners=False))
        out = self.pred(self.fuse(torch.cat(ups[::-1], dim=1)))
        return F.interpolate(out, size=in_size, mode="trilinear", align_corners=False)


# ---------------------------------------------------------------- TransUNet style


class ResBlock2d(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
        )
        self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return F.relu(self.body(x) + self.short(x))


class TransUnet(nn.Module):
    def __init__(self, in_ch: int = 1, classes: int = 2, img: int = 224, widths=(32, 64, 128, 256), hidden: int = 256,
                 layers: int = 4, heads: int = 8, mlp: int = 1024):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_ch, widths[0], 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        self.down = nn.ModuleList([ResBlock2d(widths[i], widths[i + 1], 2) for i in range(3)])
        self.grid = img // 16
        self.tokens = nn.Conv2d(widths[3], hidden, 1)
        self.pos = nn.Parameter(torch.zeros(1, self.grid ** 2, hidden))
        self.blocks = nn.ModuleList([Block(hidden, heads, mlp) for _ in range(layers)])
        self.norm = nn.LayerNorm(hidden)
        self.conv_more = nn.Sequential(nn.Conv2d(hidden, widths[3], 3, padding=1, bias=False), nn.BatchNorm2d(widths[3]), nn.ReLU(inplace=True))
        dec_in = [widths[3] + widths[2], widths[2] + widths[1], widths[1] + widths[0], widths[0]]
        dec_out = [widths[2], widths[1], widths[0], 16]
        self.dec = nn.ModuleList([double_conv2d(i, o) for i, o in zip(dec_in, dec_out)])
        self.head = nn.Conv2d(16, classes, 3, padding=1)

    def forward(self, x):
        skips = [self.stem(x)]  # 1/2
        for blk in self.down:
            skips.append(blk(skips[-1]))  # 1/4, 1/8, 1/16
        feat = self.tokens(skips.pop())
        b, c = feat.shape[0], feat.shape[1]
        t = feat.flatten(2).transpose(1, 2) + self.pos
        for blk in self.blocks:
            t = blk(t)
        x = self.conv_more(self.norm(t).transpose(1, 2).reshape(b, c, self.grid, self.grid))
        for dec in self.dec:
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=True)
            x = dec(torch.cat([x, skips.pop()], dim=1) if skips else x)
        return self.head(x)


# ---------------------------------------------------------------- DeiT-style ViT classifier


class DeitStyleVit(nn.Module):
    def __init__(self, in_ch: int = 3, classes: int = 3, img: int = 224, patch: int = 16, hidden: int = 192,
                 layers: int = 12, heads: int = 3, mlp: int = 768):
        super().__init__()
        self.patch_embed = nn.Conv2d(in_ch, hidden, patch, stride=patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, hidden))
        self.pos = nn.Parameter(torch.zeros(1, (img // patch) ** 2 + 1, hidden))
        self.blocks = nn.ModuleList([Block(hidden, heads, mlp) for _ in range(layers)])
        self.norm = nn.LayerNorm(hidden)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        t = self.patch_embed(x).flatten(2).transpose(1, 2)
        t = torch.cat([self.cls.expand(t.shape[0], -1, -1), t], dim=1) + self.pos
        for blk in self.blocks:
            t = blk(t)
        return self.head(self.norm(t)[:, 0])
