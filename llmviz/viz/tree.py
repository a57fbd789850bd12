"""The beam-search tree: every candidate the search scored, kept, finished or pruned, drawn left to right.

Nodes are simple records (id, parent_id, token, logprob, status); the layout is computed here, so no graph
library is needed: depth is x, and leaves take consecutive rows with each parent centred on its children.
Pruned branches stay on the picture in grey, because seeing what the search threw away is the point. This
module does not search; beam.py does, and its nodes (or any objects or dicts with these fields) can be passed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

from llmviz.viz.style import BLUE, EXACT, GREY, STATUS_COLORS, TICK_SIZE, base_layout, plot_text, readable_token
from llmviz.viz.text_alternative import number, quoted, with_alt

BEAM_STATUSES = ("kept", "pruned", "finished")


@dataclass(frozen=True)
class BeamNode:
    """One candidate: `token` appended to its parent's sequence, with the cumulative log-probability so far."""
    id: int
    parent_id: int | None
    token: str
    logprob: float
    status: str = "kept"


def _as_node(node, i: int) -> BeamNode:
    get = node.get if isinstance(node, Mapping) else (lambda key: getattr(node, key, None))
    fields = {key: get(key) for key in ("id", "parent_id", "token", "logprob", "status")}
    if fields["id"] is None or fields["token"] is None or fields["logprob"] is None:
        raise ValueError(f"nodes[{i}] needs id, parent_id, token, logprob and status; got {node!r}.")
    status = fields["status"] or "kept"
    if status not in BEAM_STATUSES:
        raise ValueError(f"nodes[{i}] has status {status!r}; use one of {BEAM_STATUSES}.")
    return BeamNode(fields["id"], fields["parent_id"], str(fields["token"]), float(fields["logprob"]), status)


def tree_layout(nodes: Sequence[BeamNode]) -> tuple[dict, dict]:
    """(x, y) positions by node id: x is the depth, leaves take rows 0, 1, 2, ... in input order, and each parent
    sits at the mean row of its children."""
    children: dict = {node.id: [] for node in nodes}
    roots = []
    for node in nodes:
        if node.parent_id is None:
            roots.append(node.id)
        elif node.parent_id not in children:
            raise ValueError(f"node {node.id!r} has parent_id {node.parent_id!r}, which is not a node id; "
                             "give the root parent_id=None.")
        else:
            children[node.parent_id].append(node.id)
    if not roots:
        raise ValueError("`nodes` has no root; the prompt's node must have parent_id=None.")
    x, y, next_row = {}, {}, [0]

    def place(node_id, depth: int) -> float:  # recursion depth = generation length, which is small
        x[node_id] = depth
        kids = children[node_id]
        if kids:
            y[node_id] = sum(place(kid, depth + 1) for kid in kids) / len(kids)
        else:
            y[node_id] = next_row[0]
            next_row[0] += 1
        return y[node_id]

    for root in roots:
        place(root, 0)
    if len(x) != len(nodes):
        raise ValueError("`nodes` contains a cycle or unreachable nodes; every node must lead back to a root.")
    return x, y


def _shorten(text: str, limit: int = 16) -> str:
    return text if len(text) <= limit else "…" + text[-(limit - 1):]


def beam_tree(nodes, title: str = "Beam search: every candidate, kept and pruned") -> go.Figure:
    """Draw a beam-search tree from nodes with fields id, parent_id (None for the root), token, logprob
    (cumulative log-probability) and status ("kept", "pruned" or "finished").

    Traces: [0] edges into kept or finished nodes (blue), [1] edges into pruned nodes (grey); each edge is one
    segment [parent, child, None] in node order. [2], [3], [4]: the kept, pruned and finished nodes, whose hover
    gives the token, the whole sequence so far and the cumulative log-probability.
    """
    records = [_as_node(node, i) for i, node in enumerate(nodes)]
    if not records:
        raise ValueError("`nodes` is empty; give at least the root (the prompt) with parent_id=None.")
    ids = [node.id for node in records]
    if len(set(ids)) != len(ids):
        raise ValueError("`nodes` has repeated ids; every node needs its own id.")
    x, y = tree_layout(records)
    by_id = {node.id: node for node in records}
    shown = {node.id: readable_token(node.token) for node in records}
    text = {node_id: plot_text(token) for node_id, token in shown.items()}
    # A root is usually the whole prompt: label it with its last words, the hover has it all.
    label = {node.id: plot_text(_shorten(shown[node.id])) if node.parent_id is None else text[node.id]
             for node in records}

    def sequence(node: BeamNode) -> str:
        parts = []
        while node is not None:
            parts.append(text[node.id])
            node = by_id.get(node.parent_id)
        return "".join(reversed(parts))

    edges = {"kept": ([], []), "pruned": ([], [])}
    for node in records:
        if node.parent_id is not None:
            xs, ys = edges["pruned" if node.status == "pruned" else "kept"]
            xs += [x[node.parent_id], x[node.id], None]
            ys += [y[node.parent_id], y[node.id], None]
    fig = go.Figure([
        go.Scatter(x=edges["kept"][0], y=edges["kept"][1], mode="lines", name="kept branch",
                   line=dict(color=BLUE, width=2.5), hoverinfo="skip"),
        go.Scatter(x=edges["pruned"][0], y=edges["pruned"][1], mode="lines", name="pruned branch",
                   line=dict(color=GREY, width=1.5, dash="dot"), hoverinfo="skip"),
    ])
    for status in BEAM_STATUSES:
        group = [node for node in records if node.status == status]
        fig.add_trace(go.Scatter(
            x=[x[n.id] for n in group], y=[y[n.id] for n in group], mode="markers+text", name=f"{status} node",
            text=[label[n.id] for n in group], cliponaxis=False,
            textposition=["middle left" if n.parent_id is None else "top center" for n in group],
            textfont=dict(size=TICK_SIZE, color="#888888" if status == "pruned" else "#222222"),
            customdata=[[sequence(n), n.logprob, n.status, text[n.id]] for n in group],
            marker=dict(size=12 if status != "pruned" else 8, color=STATUS_COLORS[status],
                        symbol="star" if status == "finished" else "circle", line=dict(width=1, color="white")),
            hovertemplate="%{customdata[3]}<br>sequence: %{customdata[0]}<br>cumulative log-prob: "
                          f"%{{customdata[1]:{EXACT}}}<br>status: %{{customdata[2]}}<extra></extra>"))
    n_rows = max(y.values()) + 1
    depth = max(x.values())
    fig.update_layout(**base_layout(title, "generation step (depth)", "candidate",
                                    height=max(400, int(32 * n_rows) + 180), width=max(600, 130 * depth + 260)))
    # Room on the left for the root's label (about 0.07 depth units per character at this width).
    widest_root = max(len(_shorten(shown[node.id])) for node in records if node.parent_id is None)
    fig.update_xaxes(tickmode="array", tickvals=list(range(depth + 1)), ticktext=["start"] + [str(d) for d in
                     range(1, depth + 1)], zeroline=False, range=[-0.3 - 0.07 * widest_root, depth + 0.5])
    fig.update_yaxes(showticklabels=False, autorange="reversed", showgrid=False, zeroline=False)
    counts = {status: sum(node.status == status for node in records) for status in BEAM_STATUSES}
    ends = [n for n in records if n.status == "finished"] or \
        [n for n in records if n.status != "pruned" and not _children_of(records, n.id)]
    best = max(ends, key=lambda n: n.logprob)
    return with_alt(fig, f"{len(records)} nodes: {counts['kept']} kept, {counts['pruned']} pruned, "
                         f"{counts['finished']} finished; the most likely "
                         f"{'finished sequence' if best.status == 'finished' else 'sequence'} is "
                         f"{quoted(sequence(best))}, cumulative log-probability {number(best.logprob)}")


def _children_of(nodes: Sequence[BeamNode], node_id) -> list[BeamNode]:
    return [node for node in nodes if node.parent_id == node_id]
