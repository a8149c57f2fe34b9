#!/usr/bin/env python3
"""PyTorch/diffusers on the GPU: the work `bench_step --backend cuda` times, for the ratio.

Builds the same random-weight models as ../shared/bench/torch_baseline.py (its configs and
initialisers are imported from it: SDXL base 1.0 UNet, InstantID's IdentityNet as
ControlNetModel.from_unet, the SDXL VAE), moves them to the GPU in fp16 (diffusers' usual GPU
precision) or bf16, and times with CUDA synchronisation:
  step      one classifier-free-guided step (IdentityNet then UNet, batch 2, 77 text + 16 face
            tokens, guidance 5), median of --runs after one warm-up;
  generate  --steps such steps with Euler updates, then one VAE decode (batch 1), after one
            warm-up of each part;
and the peak GPU memory PyTorch allocated (torch.cuda.max_memory_allocated) and reserved.
Prints one line: RESULT {json}.

usage: python3 torch_cuda.py --harness DIR/torch_baseline.py --ref REF_DIR [--size 1024]
                             [--steps 30] [--runs 3] [--dtype fp16|bf16]
"""
import argparse
import importlib.util
import json
import statistics
import time


def load_harness(path):
    spec = importlib.util.spec_from_file_location("torch_baseline", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--harness", required=True)
    ap.add_argument("--ref", required=True)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dtype", choices=["fp16", "bf16"], default="fp16")
    a = ap.parse_args()
    tb = load_harness(a.harness)
    tb.setup_reference(a.ref)
    import torch
    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel

    dev = torch.device("cuda")
    dt = torch.float16 if a.dtype == "fp16" else torch.bfloat16
    torch.manual_seed(0)
    t = time.time()
    with tb.no_default_init():
        unet = UNet2DConditionModel(**tb.SDXL_UNET_CONFIG)
    tb.cheap_init(unet.named_parameters())
    with tb.no_default_init():
        cn = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=tb.IDENTITYNET_COND_CHANNELS)
    copied = ("conv_in.", "time_embedding.", "down_blocks.", "mid_block.")  # what from_unet copies
    tb.cheap_init((n, p) for n, p in cn.named_parameters() if not n.startswith(copied))
    with tb.no_default_init():
        vae = AutoencoderKL(**tb.SDXL_VAE_CONFIG)
    tb.cheap_init(vae.named_parameters())
    with torch.no_grad():
        vae.decoder.conv_out.weight.mul_(0.1)
    for m in (unet, cn, vae):
        m.to(dev, dt).eval().requires_grad_(False)
    build_s = time.time() - t

    h = w = a.size
    g = torch.Generator().manual_seed(1)
    latents = torch.randn(1, 4, h // 8, w // 8, generator=g).to(dev, dt)
    text = torch.randn(2, tb.TEXT_TOKENS, 2048, generator=g)
    face = torch.randn(1, tb.FACE_TOKENS, 2048, generator=g)
    face = torch.cat([torch.zeros_like(face), face])
    ehs = torch.cat([text, face], dim=1).to(dev, dt)
    face = face.to(dev, dt)
    image = torch.cat([torch.rand(1, 3, h, w, generator=g)] * 2).to(dev, dt)
    added = {"text_embeds": torch.randn(2, 1280, generator=g).to(dev, dt),
             "time_ids": torch.tensor([[h, w, 0, 0, h, w]] * 2, dtype=torch.float32).to(dev, dt)}
    timestep = torch.tensor(tb.TIMESTEP, device=dev)

    def step(lat):
        lmi = torch.cat([lat] * 2)
        down, mid = cn(lmi, timestep, encoder_hidden_states=face, controlnet_cond=image,
                       conditioning_scale=tb.CONTROLNET_SCALE, guess_mode=False, added_cond_kwargs=added,
                       return_dict=False)
        noise = unet(lmi, timestep, encoder_hidden_states=ehs, down_block_additional_residuals=down,
                     mid_block_additional_residual=mid, added_cond_kwargs=added, return_dict=False)[0]
        u, c = noise.chunk(2)
        return u + 5.0 * (c - u)

    def timed(fn):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = fn()
        torch.cuda.synchronize()
        return time.perf_counter() - t0, out

    res = dict(device=torch.cuda.get_device_name(), torch=torch.__version__, dtype=a.dtype, size=a.size,
               steps=a.steps, build_s=round(build_s, 1),
               attn_processor=type(next(iter(unet.attn_processors.values()))).__name__)
    with torch.no_grad():
        timed(lambda: step(latents))  # warm-up (cuDNN/cuBLAS choices, allocator)
        step_runs = [timed(lambda: step(latents))[0] for _ in range(a.runs)]
        timed(lambda: vae.decode(latents / vae.config.scaling_factor, return_dict=False)[0])  # warm-up

        def generate():
            lat = latents.clone()
            for _ in range(a.steps):
                lat = lat - step(lat) / a.steps
            return vae.decode(lat / vae.config.scaling_factor, return_dict=False)[0]

        torch.cuda.reset_peak_memory_stats()
        gen_s, img = timed(generate)
    res["step_s"] = round(statistics.median(step_runs), 4)
    res["step_runs_s"] = [round(x, 4) for x in step_runs]
    res["generate_s"] = round(gen_s, 3)
    res["peak_allocated_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    res["peak_reserved_gib"] = round(torch.cuda.max_memory_reserved() / 2**30, 2)
    res["image_finite"] = bool(torch.isfinite(img).all())
    print("RESULT " + json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
