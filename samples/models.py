"""Small, real architectures to try ``upscope scan`` on (random initialisation, nothing downloaded).

Each class builds with no arguments and sets ``example_input_array`` (the PyTorch Lightning
convention), so ``upscope scan samples/models.py:DCGANGenerator`` needs no ``--input-shape``;
the input shape to use is also written in each docstring.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DCGANGenerator(nn.Module):
    """The DCGAN generator of Radford et al. (2016), as in the PyTorch DCGAN example.

    Input ``1x100x1x1`` (a latent vector nz=100) -> output ``1x3x64x64``. Five
    ConvTranspose2d, the first k=4, s=1, p=0 (1 -> 4), then k=4, s=2, p=1 (doubling).
    """

    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 3) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )
        self.example_input_array = torch.zeros(1, nz, 1, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


class DoubleConv(nn.Sequential):
    """(conv 3x3 -> BatchNorm -> ReLU) twice, the U-Net building block."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        )


class UNet(nn.Module):
    """A small U-Net (Ronneberger et al. 2015), three levels, 1 -> 1 channel.

    Input ``1x1x64x64`` -> output ``1x1x64x64`` (any H, W divisible by 4). The decoder upsamples
    with ConvTranspose2d k=3, s=2, p=1, op=1, which doubles the size exactly but has uneven
    overlap (K=3 is not a multiple of S=2).
    """

    def __init__(self, c_in: int = 1, c_out: int = 1, width: int = 16) -> None:
        super().__init__()
        w = width
        self.enc1 = DoubleConv(c_in, w)
        self.enc2 = DoubleConv(w, 2 * w)
        self.bottleneck = DoubleConv(2 * w, 4 * w)
        self.pool = nn.MaxPool2d(2)
        self.up2 = nn.ConvTranspose2d(4 * w, 2 * w, 3, stride=2, padding=1, output_padding=1)
        self.dec2 = DoubleConv(4 * w, 2 * w)
        self.up1 = nn.ConvTranspose2d(2 * w, w, 3, stride=2, padding=1, output_padding=1)
        self.dec1 = DoubleConv(2 * w, w)
        self.head = nn.Conv2d(w, c_out, 1)
        self.example_input_array = torch.zeros(1, c_in, 64, 64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        b = self.bottleneck(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(b), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        return self.head(d1)


class ESPCN(nn.Module):
    """ESPCN super-resolution (Shi et al. 2016): convs on the low-res image, then PixelShuffle.

    Input ``1x1x32x32`` (a luminance patch) -> output ``1x1x96x96`` (upscale factor 3). The last
    conv makes r*r = 9 channels that PixelShuffle(3) rearranges into a 3x larger image.
    """

    def __init__(self, upscale: int = 3, channels: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 64, 5, padding=2)
        self.conv2 = nn.Conv2d(64, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, channels * upscale**2, 3, padding=1)
        self.shuffle = nn.PixelShuffle(upscale)
        self.example_input_array = torch.zeros(1, channels, 32, 32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.tanh(self.conv1(x))
        x = torch.tanh(self.conv2(x))
        return torch.sigmoid(self.shuffle(self.conv3(x)))


class ResizeConvBlock(nn.Module):
    """Upsample with F.interpolate inside forward, then a 3x3 conv (Odena et al.'s resize-conv)."""

    def __init__(self, c_in: int, c_out: int, mode: str = "nearest") -> None:
        super().__init__()
        self.mode = mode
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "nearest":
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        else:
            x = F.interpolate(x, scale_factor=2, mode=self.mode, align_corners=False)
        return F.relu(self.conv(x))


class ResizeConvDecoder(nn.Module):
    """A decoder that upsamples with F.interpolate calls (no upsampling module at all).

    Input ``1x64x8x8`` (a feature map) -> output ``1x3x64x64``: three resize-conv blocks
    (nearest, nearest, bilinear), each x2, then a 3x3 conv to RGB.
    """

    def __init__(self, c_in: int = 64) -> None:
        super().__init__()
        self.up1 = ResizeConvBlock(c_in, 32)
        self.up2 = ResizeConvBlock(32, 16)
        self.up3 = ResizeConvBlock(16, 16, mode="bilinear")
        self.to_rgb = nn.Conv2d(16, 3, 3, padding=1)
        self.example_input_array = torch.zeros(1, c_in, 8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.to_rgb(self.up3(self.up2(self.up1(x)))))


class HiFiGANGenerator(nn.Module):
    """A HiFi-GAN-like vocoder generator (Kong et al. 2020, V1's upsampling, narrower).

    Input ``1x80x32`` (a mel spectrogram, 32 frames) -> output ``1x1x8192`` (32 x 256 samples):
    Conv1d 7 to 32 channels, then four ConvTranspose1d with rates 8, 8, 2, 2 and kernels 16, 16,
    4, 4 (K = 2S: even overlap, tones from the weights), LeakyReLU(0.1) before each, Conv1d 7
    to one channel, tanh. Hop 256: at 22,050 Hz the first layer's tones sit at 86.13 Hz and its
    multiples (``upscope scan samples/models.py:HiFiGANGenerator --rate 22050``).
    """

    def __init__(self, mels: int = 80, width: int = 32) -> None:
        super().__init__()
        self.conv_pre = nn.Conv1d(mels, width, 7, padding=3)
        ups = []
        channels = width
        for rate, kernel in ((8, 16), (8, 16), (2, 4), (2, 4)):
            ups.append(
                nn.ConvTranspose1d(
                    channels, channels // 2, kernel, stride=rate, padding=(kernel - rate) // 2
                )
            )
            channels //= 2
        self.ups = nn.ModuleList(ups)
        self.conv_post = nn.Conv1d(channels, 1, 7, padding=3)
        self.example_input_array = torch.zeros(1, mels, 32)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.conv_pre(mel)
        for up in self.ups:
            x = up(F.leaky_relu(x, 0.1))
        return torch.tanh(self.conv_post(F.leaky_relu(x, 0.1)))


class WaveGANGenerator(nn.Module):
    """A WaveGAN-like generator (Donahue et al. 2019, narrower and shorter).

    Input ``1x100`` (a latent vector) -> output ``1x1x4096``: a linear layer to 32 channels x 16
    samples, then four ConvTranspose1d with K = 25, S = 4 (uneven overlap), padding 11, output
    padding 1 (exactly x4), ReLU between, tanh at the end.
    """

    def __init__(self, nz: int = 100, width: int = 32) -> None:
        super().__init__()
        self.width = width
        self.project = nn.Linear(nz, width * 16)
        chans = [width, width // 2, width // 4, width // 8, 1]
        self.ups = nn.ModuleList(
            nn.ConvTranspose1d(a, b, 25, stride=4, padding=11, output_padding=1)
            for a, b in zip(chans[:-1], chans[1:], strict=True)
        )
        self.example_input_array = torch.zeros(1, nz)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.project(z).view(z.shape[0], self.width, 16))
        for i, up in enumerate(self.ups):
            x = up(x)
            x = torch.tanh(x) if i == len(self.ups) - 1 else F.relu(x)
        return x
