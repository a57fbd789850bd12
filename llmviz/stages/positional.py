"""Positional encodings computed for display: sinusoidal, learned, RoPE and ALiBi, as tensors ready for a figure.

Attention by itself sees a bag of tokens, so models add position information one of four ways. Sinusoidal
("Attention Is All You Need") adds fixed sines and cosines of geometrically spaced frequencies. Learned positions
(GPT-2) add a trained vector per position: the model's own `wpe`. RoPE (Llama, SmolLM2) rotates each 2-D pair of
query and key coordinates by an angle proportional to the position, so q_m·k_n depends only on m - n; we use
Hugging Face Llama's `rotate_half` layout (pair i is coordinates i and i + d/2). ALiBi (BLOOM) adds nothing to
vectors and instead subtracts slope_h * distance from head h's attention scores. Each function returns tensors, and
the vector encodings come with their position-by-position cosine similarity. The "dog bites man" demonstration is
in word_order.py. This module draws nothing and does not run a model, except to read `wpe`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def _check_positive(name: str, value, even: bool = False) -> None:
    if not isinstance(value, int) or value < 1 or (even and value % 2):
        kind = "a positive even integer" if even else "a positive integer"
        raise ValueError(f"{name} must be {kind}, not {value!r}.")


def cosine_similarity_matrix(vectors: torch.Tensor) -> torch.Tensor:
    """[pos, d] -> [pos, pos]: cosine similarity between every pair of positions' vectors."""
    if vectors.dim() != 2:
        raise ValueError(f"vectors must be [pos, d], not shape {tuple(vectors.shape)}.")
    unit = torch.nn.functional.normalize(vectors.double(), dim=-1)
    return (unit @ unit.T).to(vectors.dtype)


@dataclass
class Encoding:
    """One vector per position, and how alike the positions are."""

    name: str
    values: torch.Tensor  # [pos, d_model]
    similarity: torch.Tensor  # [pos, pos] cosine similarity


def sinusoidal(n_positions: int, d_model: int, base: float = 10000.0) -> Encoding:
    """PE[pos, 2i] = sin(pos / base^(2i/d)), PE[pos, 2i+1] = cos(pos / base^(2i/d)). values: [pos, d_model]."""
    _check_positive("n_positions", n_positions)
    _check_positive("d_model", d_model, even=True)
    position = torch.arange(n_positions, dtype=torch.float64)[:, None]  # [pos, 1]
    frequency = base ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)  # [d/2], 1 down to ~1/base
    angle = position * frequency  # [pos, d/2]
    values = torch.empty(n_positions, d_model, dtype=torch.float64)
    values[:, 0::2], values[:, 1::2] = torch.sin(angle), torch.cos(angle)
    values = values.float()
    return Encoding("sinusoidal", values, cosine_similarity_matrix(values))


def learned(lm) -> Encoding:
    """The model's own learned position table (GPT-2's `wpe`): values [n_ctx, d_model], a detached copy."""
    wpe = getattr(getattr(lm.model, "transformer", None), "wpe", None)
    if wpe is None:
        raise ValueError(f"{lm.name} is a {lm.architecture} model without learned positions (no `wpe`); "
                         "Llama-family models rotate q and k instead: see rope().")
    values = wpe.weight.detach().float().cpu().clone()
    return Encoding("learned", values, cosine_similarity_matrix(values))


@dataclass
class RoPE:
    """Rotary position embedding tables, in Hugging Face Llama's layout."""

    inverse_frequency: torch.Tensor  # [d_head/2]: base^(-2i/d_head)
    angles: torch.Tensor  # [pos, d_head/2]: position * inverse_frequency, in radians
    cos: torch.Tensor  # [pos, d_head]: cos(angles) repeated twice, as LlamaRotaryEmbedding returns it
    sin: torch.Tensor  # [pos, d_head]
    similarity: torch.Tensor  # [pos, pos]: cosine similarity of one vector rotated to each position


def rope(n_positions: int, d_head: int, base: float = 10000.0) -> RoPE:
    """cos and sin tables for positions 0..n_positions-1. base is the config's rope_theta (SmolLM2: 100000)."""
    _check_positive("n_positions", n_positions)
    _check_positive("d_head", d_head, even=True)
    inverse_frequency = 1.0 / base ** (torch.arange(0, d_head, 2, dtype=torch.int64).float() / d_head)  # as HF
    angles = torch.arange(n_positions, dtype=torch.float32)[:, None] * inverse_frequency[None, :]  # [pos, d/2]
    doubled = torch.cat([angles, angles], dim=-1)  # [pos, d]: pair i is coordinates (i, i + d/2)
    cos, sin = doubled.cos(), doubled.sin()
    rotated = apply_rope(torch.ones(n_positions, d_head), cos, sin)  # the same vector at every position
    return RoPE(inverse_frequency, angles, cos, sin, cosine_similarity_matrix(rotated))


def rope_of(lm, n_positions: int | None = None) -> RoPE:
    """RoPE tables with a Llama-family model's own head size and base (rope_theta; SmolLM2: 100000).

    Only the default rope type is supported; scaled variants (linear, dynamic, yarn, llama3) change the frequencies.
    n_positions defaults to min(n_ctx, 128), enough for a figure.
    """
    config = lm.model.config
    parameters = getattr(config, "rope_parameters", None) or {}
    base = parameters.get("rope_theta", getattr(config, "rope_theta", None))
    if lm.architecture != "llama" or base is None:
        raise ValueError(f"{lm.name} is a {lm.architecture} model without rotary embeddings; use learned(lm).")
    if parameters.get("rope_type", "default") != "default":
        raise ValueError(f"rope_type {parameters['rope_type']!r} rescales the frequencies; only 'default' is shown.")
    return rope(n_positions or min(lm.n_ctx, 128), lm.d_head, float(base))


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """[..., d] -> [..., d]: (x1, x2) -> (-x2, x1) on the two halves: a 90-degree turn of every pair."""
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate x [..., pos, d_head] by its positions: x * cos + rotate_half(x) * sin (cos, sin: [pos, d_head])."""
    if x.shape[-2:] != cos.shape or cos.shape != sin.shape:
        raise ValueError(f"x must end in [pos, d_head] = {tuple(cos.shape)}, got {tuple(x.shape)}.")
    return x * cos + rotate_half(x) * sin


@dataclass
class ALiBi:
    """Attention with Linear Biases: no vectors, a penalty on scores growing with distance."""

    slopes: torch.Tensor  # [head]
    bias: torch.Tensor  # [head, query_pos, key_pos]: -slope * (query - key) where key <= query, 0 above
    causal_mask: torch.Tensor  # [query_pos, key_pos] bool, True where the key may be attended to


def alibi_slopes(n_heads: int) -> torch.Tensor:
    """Per-head slopes from the ALiBi paper: for n a power of two, 2^(-8i/n) for i = 1..n. Otherwise take the n'
    slopes of the largest power of two n' < n, then every other slope of 2n' for the remaining n - n' heads."""
    _check_positive("n_heads", n_heads)

    def power_of_two(n: int) -> list[float]:
        return [2.0 ** (-8.0 * i / n) for i in range(1, n + 1)]

    closest = 2 ** math.floor(math.log2(n_heads))
    slopes = power_of_two(closest) + power_of_two(2 * closest)[0::2][: n_heads - closest]
    return torch.tensor(slopes, dtype=torch.float32)


def alibi(n_heads: int, n_positions: int) -> ALiBi:
    """Slopes and the bias each head adds to its scores; future keys are left to the causal mask."""
    _check_positive("n_positions", n_positions)
    slopes = alibi_slopes(n_heads)
    position = torch.arange(n_positions)
    distance = (position[:, None] - position[None, :]).float()  # [q, k]: how far back the key is
    causal = distance >= 0
    bias = -slopes[:, None, None] * distance.clamp(min=0)[None]  # [head, q, k]
    return ALiBi(slopes, bias, causal)
