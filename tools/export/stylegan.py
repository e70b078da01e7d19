#!/usr/bin/env python3
"""Export an NVIDIA StyleGAN2-ADA or StyleGAN3 network pickle to a tpdne model folder.

    python3 tools/export/stylegan.py NETWORK.pkl OUT_DIR [--batch N | --dynamic-batch]
            [--class-index I] [--opset 16] [--check]

writes OUT_DIR/mapping.onnx (z [, c] -> ws [N, num_ws, w_dim]), OUT_DIR/synthesis.onnx
(ws -> img [N, 3, H, W] in [-1, 1]), OUT_DIR/w_avg.npy, OUT_DIR/c.npy (conditional
networks only: the one-hot class --class-index) and OUT_DIR/tpdne.json, so that
`tpdne serve --model OUT_DIR` dreams with it. Truncation is not in the graphs: tpdne
applies it between them (--truncation). Runs on CPU in float32.

NVIDIA's pickles reference their code (dnnlib, torch_utils, training.networks): put a
checkout of NVlabs/stylegan2-ada-pytorch or NVlabs/stylegan3 on PYTHONPATH. On CPU their
custom CUDA ops (bias_act, upfirdn2d, filtered_lrelu) fall back to the reference code,
which traces to plain ONNX ops. --check also writes OUT_DIR/check/{z,c,img}.npy: a latent
and PyTorch's own image for it, to compare the export against.

Export traps, and what this script does about them:
- The fused modulated convolution is one grouped conv with groups = batch size, an int
  attribute: a traced graph only takes the batch it was traced with. Default: batch 1.
  --dynamic-batch passes fused_modconv=False (StyleGAN2-ADA only; StyleGAN3 always
  fuses), which is batch-agnostic, and marks the batch axis dynamic.
- noise_mode='random' draws torch.randn at every call: it exports as a RandomNormal op
  and every run would differ, breaking "same (seed, slot), same image". We export
  noise_mode='const': the noise_const buffers become constants of the graph.
- torch.lerp had no ONNX export in older torch releases: while exporting, Tensor.lerp
  and torch.lerp are replaced by a + t * (b - a).
- Truncation (w_avg.lerp(w, psi)) is not baked in: the mapping is exported with
  truncation_psi=1 and w_avg is written to w_avg.npy for tpdne to apply.
"""
import argparse
import json
import os
import pickle
import sys
import warnings

import numpy as np
import torch

# Tracing warns about every Python int taken from a shape (the batch the fused modulated
# convolution bakes in) and about constants: expected here, and explained above.
warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
warnings.filterwarnings('ignore', category=UserWarning, module=r'torch\.onnx')


def load_generator(path):
    """G_ema from a network pickle: NVIDIA's layout ({'G_ema': G, ...}) or a bare module."""
    with open(path, 'rb') as f:
        try:
            import legacy  # NVIDIA's loader: also converts their old TensorFlow pickles

            data = legacy.load_network_pkl(f)
        except ImportError:
            data = pickle.load(f)
    G = data['G_ema'] if isinstance(data, dict) else data
    for name in ('mapping', 'synthesis', 'z_dim', 'c_dim', 'img_resolution'):
        if not hasattr(G, name):
            raise SystemExit(f'stylegan.py: {path}: G_ema has no {name}: not a StyleGAN2/3 generator')
    return G.eval().requires_grad_(False).float().cpu()


class Mapping(torch.nn.Module):
    def __init__(self, G):
        super().__init__()
        self.G = G

    def forward(self, z, c=None):
        if c is None:
            c = torch.zeros([z.shape[0], 0])
        return self.G.mapping(z, c, truncation_psi=1)


class Synthesis(torch.nn.Module):
    def __init__(self, G, fused):
        super().__init__()
        self.G = G
        self.kwargs = {'noise_mode': 'const', 'force_fp32': True}
        if not fused:
            self.kwargs['fused_modconv'] = False

    def forward(self, ws):
        return self.G.synthesis(ws, **self.kwargs)


def lerp(a, b, t):
    return a + t * (b - a)


def export(module, args, path, input_names, output_names, dynamic, opset):
    axes = {name: {0: 'batch'} for name in input_names + output_names} if dynamic else None
    saved = (torch.lerp, torch.Tensor.lerp)
    torch.lerp, torch.Tensor.lerp = lerp, lerp
    try:
        with torch.no_grad():
            torch.onnx.export(
                module, args, path, input_names=input_names, output_names=output_names,
                dynamic_axes=axes, opset_version=opset, do_constant_folding=True,
            )
    finally:
        torch.lerp, torch.Tensor.lerp = saved


def save_npy(path, array):
    np.save(path, np.ascontiguousarray(array, dtype=np.float32))


def main():
    parser = argparse.ArgumentParser(description='Export a StyleGAN2/3 network pickle to a tpdne model folder.')
    parser.add_argument('network', help='network pickle (NVIDIA layout: a dict with G_ema)')
    parser.add_argument('out', help='folder to write mapping.onnx, synthesis.onnx, w_avg.npy, tpdne.json into')
    batch = parser.add_mutually_exclusive_group()
    batch.add_argument('--batch', type=int, default=1, help='fixed batch size of the graphs (default 1)')
    batch.add_argument('--dynamic-batch', action='store_true', help='dynamic batch (StyleGAN2-ADA: unfused modulated conv)')
    parser.add_argument('--class-index', type=int, default=0, help='class of a conditional network (default 0)')
    parser.add_argument('--opset', type=int, default=16)
    parser.add_argument('--check', action='store_true', help='also write check/{z,c,img}.npy from PyTorch')
    args = parser.parse_args()

    G = load_generator(args.network)
    is_sg3 = hasattr(G.synthesis, 'input')  # StyleGAN3's Fourier-feature input layer
    if args.dynamic_batch and is_sg3:
        raise SystemExit('stylegan.py: StyleGAN3 always fuses its modulated convolutions: use --batch N, not --dynamic-batch')
    n = 1 if args.dynamic_batch else args.batch
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    z = torch.randn([n, G.z_dim])
    c = None
    if G.c_dim > 0:
        if not 0 <= args.class_index < G.c_dim:
            raise SystemExit(f'stylegan.py: --class-index must be in 0..{G.c_dim - 1}')
        c = torch.zeros([n, G.c_dim])
        c[:, args.class_index] = 1
        save_npy(os.path.join(args.out, 'c.npy'), c[:1].numpy())
    mapping_inputs = ['z'] + (['c'] if c is not None else [])
    export(Mapping(G), (z,) if c is None else (z, c), os.path.join(args.out, 'mapping.onnx'),
           mapping_inputs, ['ws'], args.dynamic_batch, args.opset)
    with torch.no_grad():
        ws = Mapping(G)(z, c)
    export(Synthesis(G, fused=not args.dynamic_batch), (ws,), os.path.join(args.out, 'synthesis.onnx'),
           ['ws'], ['img'], args.dynamic_batch, args.opset)
    save_npy(os.path.join(args.out, 'w_avg.npy'), G.mapping.w_avg.numpy())

    manifest = {
        'version': 1,
        'name': f"{'stylegan3' if is_sg3 else 'stylegan2'}-{os.path.splitext(os.path.basename(args.network))[0]}",
        'latent': {'shape': [n, G.z_dim], 'distribution': 'normal',
                   'truncation': {'tensor': 'mapping.ws', 'average': 'w_avg.npy'}},
        'graphs': [
            {'name': 'mapping', 'file': 'mapping.onnx',
             'inputs': {'z': 'latent', **({'c': 'constants.c'} if c is not None else {})}},
            {'name': 'synthesis', 'file': 'synthesis.onnx', 'inputs': {'ws': 'mapping.ws'}},
        ],
        'output': {'tensor': 'synthesis.img', 'range': '-1,1', 'layout': 'nchw'},
    }
    if c is not None:
        manifest['constants'] = {'c': 'c.npy'}
    if n != 1:
        # tpdne's latent is one slot, batch first; a fixed batch above 1 is not runnable by it.
        print(f'stylegan.py: note: --batch {n} graphs take {n} latents per run; tpdne runs batch 1 or dynamic', file=sys.stderr)
    with open(os.path.join(args.out, 'tpdne.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')

    if args.check:
        check = os.path.join(args.out, 'check')
        os.makedirs(check, exist_ok=True)
        torch.manual_seed(1)
        zc = torch.randn([n, G.z_dim])
        with torch.no_grad():
            img = Synthesis(G, fused=not args.dynamic_batch)(Mapping(G)(zc, c))
        save_npy(os.path.join(check, 'z.npy'), zc.numpy())
        save_npy(os.path.join(check, 'img.npy'), img.numpy())
    print(f'stylegan.py: wrote {args.out} ({G.img_resolution}px, z_dim {G.z_dim}, num_ws {ws.shape[1]}, '
          f"{'dynamic batch' if args.dynamic_batch else f'batch {n}'})")


if __name__ == '__main__':
    main()
