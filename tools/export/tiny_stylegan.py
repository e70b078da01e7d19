#!/usr/bin/env python3
"""A tiny, randomly initialised StyleGAN2-style generator with NVIDIA's interface.

It exists to test tools/export/stylegan.py (and tpdne's manifest pipeline) without
NVIDIA's weights or repository, neither of which is reachable from CI. It mirrors what
the exporter relies on in stylegan2-ada-pytorch's training/networks.py:

- ``G.mapping(z, c, truncation_psi=1)`` -> ws ``[N, num_ws, w_dim]``, ``G.mapping.w_avg``
  (here the mean w of 2000 samples, as training would track it);
- ``G.synthesis(ws, noise_mode='const', force_fp32=True, fused_modconv=None)`` -> img
  ``[N, 3, H, W]`` in about [-1, 1];
- ``G.z_dim``, ``G.c_dim``, ``G.w_dim``, ``G.num_ws``, ``G.img_resolution``;
- real modulated convolutions: a per-layer style affine, weight demodulation, the fused
  form as one grouped convolution (whose ``groups=N`` fixes the batch when traced) and
  the unfused form that does not, a learned constant input, ``noise_const`` buffers with
  a noise strength, and 2x upsampling by zero insertion and a [1, 3, 3, 1] FIR filter
  (what upfirdn2d's reference implementation does on CPU).

Usage: python3 tiny_stylegan.py OUT.pkl [--resolution 32] [--seed 1] [--c-dim 0]
writes ``{'G_ema': G}`` with pickle, the layout of NVIDIA's network pickles. Loading it
needs this module importable (like NVIDIA's need their repository): stylegan.py lives in
the same folder, so running it from there finds it.
"""
import argparse
import pickle

import numpy as np
import torch
import torch.nn.functional as F


def normalize_2nd_moment(x, dim=1, eps=1e-8):
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


def lrelu(x):
    return F.leaky_relu(x, 0.2) * np.sqrt(2)


def fir_kernel(channels):
    """The [1, 3, 3, 1] FIR filter, gain 4, one per channel. Made with NumPy so a trace sees a
    constant of known shape (the exporter needs a convolution's kernel shape)."""
    f = np.outer([1.0, 3.0, 3.0, 1.0], [1.0, 3.0, 3.0, 1.0])
    f = f / f.sum() * 4
    return torch.from_numpy(np.ascontiguousarray(np.tile(f[None, None], (channels, 1, 1, 1)), dtype=np.float32))


def upsample2d(x):
    """2x upsampling: zero insertion, then the FIR filter (upfirdn2d's reference path)."""
    n, c, h, w = x.shape
    x = x.reshape(-1, c, h, 1, w, 1)
    x = F.pad(x, [0, 1, 0, 0, 0, 1])
    x = x.reshape(-1, c, h * 2, w * 2)
    x = F.pad(x, [2, 1, 2, 1])
    return F.conv2d(x, fir_kernel(int(c)), groups=int(c))


def modulated_conv2d(x, weight, styles, noise=None, padding=0, demodulate=True, fused_modconv=True):
    batch_size = x.shape[0]
    out_channels, in_channels, kh, kw = weight.shape
    w = weight.unsqueeze(0) * styles.reshape(batch_size, 1, -1, 1, 1)  # [N, O, I, k, k]
    dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt() if demodulate else None  # [N, O]
    if not fused_modconv:
        # Batch-agnostic: scale activations instead of weights.
        x = x * styles.reshape(batch_size, -1, 1, 1)
        x = F.conv2d(x, weight, padding=padding)
        if demodulate:
            x = x * dcoefs.reshape(batch_size, -1, 1, 1)
        return x + noise if noise is not None else x
    # Fused: one grouped convolution with a weight per sample. groups=batch_size is an int
    # attribute (and the exporter needs the kernel's shape), so a traced export has its
    # batch fixed here, as NVIDIA's does.
    batch_size = int(batch_size)
    if demodulate:
        w = w * dcoefs.reshape(batch_size, -1, 1, 1, 1)
    x = x.reshape(1, batch_size * in_channels, *x.shape[2:])
    w = w.reshape(batch_size * out_channels, in_channels, kh, kw)
    x = F.conv2d(x, w, padding=padding, groups=batch_size)
    x = x.reshape(batch_size, -1, *x.shape[2:])
    return x + noise if noise is not None else x


class FullyConnectedLayer(torch.nn.Module):
    def __init__(self, in_features, out_features, activation='linear', lr_multiplier=1.0, bias_init=0.0):
        super().__init__()
        self.activation = activation
        self.weight = torch.nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = torch.nn.Parameter(torch.full([out_features], float(bias_init)))
        self.weight_gain = lr_multiplier / np.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x):
        x = F.linear(x, self.weight * self.weight_gain, self.bias * self.bias_gain)
        return lrelu(x) if self.activation == 'lrelu' else x


class MappingNetwork(torch.nn.Module):
    def __init__(self, z_dim, c_dim, w_dim, num_ws, num_layers=2):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.embed = FullyConnectedLayer(c_dim, w_dim) if c_dim > 0 else None
        features = [z_dim + (w_dim if c_dim > 0 else 0)] + [w_dim] * num_layers
        self.layers = torch.nn.ModuleList(
            FullyConnectedLayer(a, b, activation='lrelu', lr_multiplier=0.01) for a, b in zip(features[:-1], features[1:])
        )
        self.register_buffer('w_avg', torch.zeros([w_dim]))

    def forward(self, z, c, truncation_psi=1, truncation_cutoff=None, skip_w_avg_update=False):
        x = normalize_2nd_moment(z.to(torch.float32))
        if self.c_dim > 0:
            x = torch.cat([x, normalize_2nd_moment(self.embed(c.to(torch.float32)))], dim=1)
        for layer in self.layers:
            x = layer(x)
        x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            cutoff = self.num_ws if truncation_cutoff is None else truncation_cutoff
            x[:, :cutoff] = self.w_avg.lerp(x[:, :cutoff], truncation_psi)
        return x


class SynthesisLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, w_dim, resolution, up=1):
        super().__init__()
        self.up, self.resolution = up, resolution
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, 3, 3]))
        self.register_buffer('noise_const', torch.randn([resolution, resolution]))
        # NVIDIA initialises the strength at 0 and training grows it; a random network
        # gets a visible one, so a lost noise buffer would show in the images.
        self.noise_strength = torch.nn.Parameter(torch.tensor(0.2))
        self.bias = torch.nn.Parameter(torch.randn([out_channels]) * 0.1)

    def forward(self, x, w, noise_mode='random', fused_modconv=True):
        styles = self.affine(w)
        noise = None
        if noise_mode == 'random':
            noise = torch.randn([x.shape[0], 1, self.resolution, self.resolution]) * self.noise_strength
        elif noise_mode == 'const':
            noise = self.noise_const * self.noise_strength
        if self.up > 1:
            x = upsample2d(x)
        x = modulated_conv2d(x, self.weight, styles, noise=noise, padding=1, fused_modconv=fused_modconv)
        return lrelu(x + self.bias.reshape(1, -1, 1, 1))


class ToRGBLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, w_dim):
        super().__init__()
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / np.sqrt(in_channels)

    def forward(self, x, w, fused_modconv=True):
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False, fused_modconv=fused_modconv)
        return x + self.bias.reshape(1, -1, 1, 1)


class SynthesisBlock(torch.nn.Module):
    def __init__(self, in_channels, out_channels, w_dim, resolution, img_channels, is_last):
        super().__init__()
        self.in_channels, self.resolution = in_channels, resolution
        if in_channels == 0:
            self.const = torch.nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=2)
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution)
        self.torgb = ToRGBLayer(out_channels, img_channels, w_dim)
        self.num_conv = 1 if in_channels == 0 else 2
        self.num_torgb = 1

    def forward(self, x, img, ws, force_fp32=False, fused_modconv=None, noise_mode='random'):
        if fused_modconv is None:
            fused_modconv = not self.training
        w_iter = iter(ws.unbind(dim=1))
        if self.in_channels == 0:
            x = self.const.unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])
        else:
            x = self.conv0(x, next(w_iter), noise_mode=noise_mode, fused_modconv=fused_modconv)
        x = self.conv1(x, next(w_iter), noise_mode=noise_mode, fused_modconv=fused_modconv)
        if img is not None:
            img = upsample2d(img)
        y = self.torgb(x, next(w_iter), fused_modconv=fused_modconv)
        return x, (img + y if img is not None else y)


class SynthesisNetwork(torch.nn.Module):
    def __init__(self, w_dim, img_resolution, img_channels=3, channel_base=512, channel_max=32):
        super().__init__()
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.block_resolutions = [2**i for i in range(2, int(np.log2(img_resolution)) + 1)]
        channels = {res: min(channel_base // res, channel_max) for res in self.block_resolutions}
        self.num_ws = 0
        for res in self.block_resolutions:
            in_channels = channels[res // 2] if res > 4 else 0
            block = SynthesisBlock(in_channels, channels[res], w_dim, res, img_channels, res == img_resolution)
            self.num_ws += block.num_conv + (block.num_torgb if res == img_resolution else 0)
            setattr(self, f'b{res}', block)

    def forward(self, ws, **block_kwargs):
        x = img = None
        w_idx = 0
        for res in self.block_resolutions:
            block = getattr(self, f'b{res}')
            x, img = block(x, img, ws.narrow(1, w_idx, block.num_conv + block.num_torgb), **block_kwargs)
            w_idx += block.num_conv
        # Keep the images in about [-1, 1], as a trained generator's are.
        return torch.tanh(img)


class Generator(torch.nn.Module):
    def __init__(self, z_dim=32, c_dim=0, w_dim=32, img_resolution=32, img_channels=3):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.synthesis = SynthesisNetwork(w_dim, img_resolution, img_channels)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim, c_dim, w_dim, self.num_ws)

    def forward(self, z, c, truncation_psi=1, truncation_cutoff=None, **synthesis_kwargs):
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, **synthesis_kwargs)


def make_generator(seed=1, resolution=32, c_dim=0):
    """A random generator whose w_avg is the mean w of 2000 samples."""
    torch.manual_seed(seed)
    G = Generator(img_resolution=resolution, c_dim=c_dim).eval()
    with torch.no_grad():
        z = torch.randn([2000, G.z_dim])
        c = torch.nn.functional.one_hot(torch.arange(2000) % max(c_dim, 1), max(c_dim, 1)).float()[:, :c_dim]
        G.mapping.w_avg.copy_(G.mapping(z, c)[:, 0].mean(0))
    return G


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out', help='where to write the network pickle ({"G_ema": G})')
    parser.add_argument('--resolution', type=int, default=32)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--c-dim', type=int, default=0)
    args = parser.parse_args()
    # Pickle the classes under this module's name, not __main__, so that a loader that can
    # import tiny_stylegan (as NVIDIA's loaders import training.networks) finds them.
    import tiny_stylegan

    G = tiny_stylegan.make_generator(args.seed, args.resolution, args.c_dim)
    with open(args.out, 'wb') as f:
        pickle.dump({'G_ema': G}, f)


if __name__ == '__main__':
    main()
