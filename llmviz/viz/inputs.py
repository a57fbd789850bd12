"""Input checks shared by the figure builders: tensors and lists in, fresh float numpy arrays out.

Builders must never change what they are given, so every array here is a copy; a torch tensor is detached and
moved to the CPU first. Bad shapes raise a ValueError naming the parameter, the expected shape and the one given.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def as_array(values, name: str, ndim: int | tuple[int, ...], shape_hint: str) -> np.ndarray:
    """A float64 copy of `values` (tensor, array or nested list) with `ndim` dimensions, else a ValueError."""
    if hasattr(values, "detach"):  # a torch tensor: no grad, on the CPU, float for numpy
        values = values.detach().to("cpu").double().numpy()
    try:
        array = np.array(values, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as error:
        raise TypeError(f"`{name}` must be numbers shaped {shape_hint}; could not read it ({error}).") from None
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if array.ndim not in allowed:
        raise ValueError(f"`{name}` must have shape {shape_hint}, but has shape {array.shape}. "
                         f"Index the batch (and head/layer) first, e.g. cache['pattern', 0][0, head].")
    if array.size == 0:
        raise ValueError(f"`{name}` is empty; expected shape {shape_hint} with at least one element.")
    return array


def as_bool_array(values, name: str, shape_hint: str) -> np.ndarray:
    """A bool copy of `values` (tensor, array or list), e.g. a kept mask or an attention mask."""
    if hasattr(values, "detach"):
        values = values.detach().to("cpu").numpy()
    try:
        return np.array(values, dtype=bool, copy=True)
    except (TypeError, ValueError) as error:
        raise TypeError(f"`{name}` must be booleans shaped {shape_hint}; could not read it ({error}).") from None


def check_length(items: Sequence, n: int, name: str, what: str) -> list:
    """`items` as a list, checked to hold exactly `n` entries (one per `what`)."""
    items = list(items)
    if len(items) != n:
        raise ValueError(f"`{name}` has {len(items)} entries but there are {n} {what}; give one per {what[:-1]}.")
    return items


def nan_to_none(array: np.ndarray) -> list:
    """Nested lists with NaN and ±inf replaced by None: plotly leaves such cells empty (JSON null)."""
    out = array.astype(object)
    out[~np.isfinite(array)] = None
    return out.tolist()


def describe(name: str, positions: Sequence[int], labels: Sequence[str]) -> list[str]:
    """Hover phrases 'query 3: ␣cat', or just 'dimension 3' when the label is the position itself.

    Positions go into the text here because a hover's %{x} on an axis with token tick text shows the token, not
    the number.
    """
    return [f"{name} {p}" if str(label) == str(p) else f"{name} {p}: {label}"
            for p, label in zip(positions, labels, strict=True)]


def grid_labels(rows: Sequence[str], cols: Sequence[str]) -> np.ndarray:
    """customdata [rows, cols, 2]: each cell's row phrase and column phrase, for hovertemplates."""
    grid = np.empty((len(rows), len(cols), 2), dtype=object)
    grid[:, :, 0] = np.array(rows, dtype=object)[:, None]
    grid[:, :, 1] = np.array(cols, dtype=object)[None, :]
    return grid
