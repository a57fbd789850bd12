"""`llmviz export` / `lm.export_trace`: the numbers in the page against plain Hugging Face forwards and the capture,
the size budget, the CLI, the escaping of whatever the user typed, and clear errors for bad input."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
import tomllib
import torch
from conftest import make_random_lm

from llmviz.cli import main
from llmviz.export.trace import export_trace
from llmviz.export.trace_data import ATTENTION_SCALE, MAX_TOKENS, trace_data
from llmviz.export.trace_page import ASSETS, escape_json, trace_html

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "Once upon a time, a little cat saw a big dog"
ROUNDING = 5e-5 + 1e-6  # 4 decimals: half a unit in the last place, plus float32 noise
HOSTILE = 'Hi </script><script>alert(1)</script> <img src=x onerror="alert(2)"> & <!-- \u2028 end'


def page_data(html: str, element: str = "trace-data") -> dict:
    """The JSON a page holds in <script type="application/json" id=element>, read back as the browser would."""
    match = re.search(rf'<script type="application/json" id="{element}">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


def final_norm(lm) -> torch.nn.Module:
    return lm.model.transformer.ln_f if lm.architecture == "gpt2" else lm.model.model.norm


@pytest.fixture(params=["tiny", "random-llama"])
def any_lm(request, tiny_lm, gpt2_tokenizer):
    """The shipped GPT-2 and a tiny random Llama with grouped-query attention (4 heads, 2 kv)."""
    if request.param == "tiny":
        return tiny_lm
    return make_random_lm("llama", gpt2_tokenizer)


def test_stored_numbers_match_plain_forwards_and_the_capture(any_lm):
    lm = any_lm
    data = trace_data(lm, PROMPT, generate_tokens=3, top_k=50)
    ids = lm.tokenizer(PROMPT, add_special_tokens=False)["input_ids"]
    assert data["token_ids"] == ids and len(data["tokens"]) == len(ids)
    with torch.no_grad():
        out = lm.model(torch.tensor([ids]), output_hidden_states=True)
    # Embedding rows: the rows of the embedding matrix itself.
    rows = lm.model.get_input_embeddings().weight[ids].float()
    assert torch.allclose(torch.tensor(data["embedding"]), rows, atol=ROUNDING, rtol=0)
    # Attention: every layer and head equals the capture within the 1e-4 grid; the dropped upper triangle is 0.
    _, cache = lm.run_with_cache(PROMPT)
    n = len(ids)
    assert len(data["attention"]) == lm.n_layers and all(len(layer) == lm.n_heads for layer in data["attention"])
    for L in range(lm.n_layers):
        pattern = cache["pattern", L][0]  # [head, q, k]
        assert torch.all(pattern.triu(1) == 0)
        stored = torch.zeros(lm.n_heads, n, n)
        for h, head in enumerate(data["attention"][L]):
            for q, row in enumerate(head):
                assert len(row) == q + 1
                stored[h, q, : q + 1] = torch.tensor(row, dtype=torch.float32) / ATTENTION_SCALE
        assert (stored - pattern).abs().max() <= 0.5 / ATTENTION_SCALE + 1e-6
    # Residual norms: the embedding output, then each block's output (HF's hidden_states, before the final norm).
    hidden = torch.stack([cache["blocks.0.hook_resid_pre"][0]] + [cache[f"blocks.{L}.hook_resid_post"][0]
                                                                   for L in range(lm.n_layers)])
    assert torch.allclose(hidden[:-1], torch.stack(out.hidden_states[:-1])[:, 0], atol=1e-4)
    norms = torch.linalg.norm(hidden.float(), dim=-1)  # [n_layers + 1, pos]
    assert torch.allclose(torch.tensor(data["residual_norm"]), norms, atol=5e-4 + 1e-5 * norms.max().item())
    # Logit lens: final norm and unembedding of every depth, by hand; the top token and its probability.
    with torch.no_grad():
        lens = torch.softmax(lm.model.lm_head(final_norm(lm)(hidden)).float(), dim=-1)  # [depth, pos, vocab]
    best = lens.max(dim=-1)
    assert data["lens_ids"] == best.indices.tolist()
    assert torch.allclose(torch.tensor(data["lens_probs"]), best.values, atol=ROUNDING + 1e-5)
    assert data["lens_tokens"][-1] == [lm.to_str_tokens([i])[0] for i in best.indices[-1].tolist()]
    # Next token: the 50 highest logits of the plain forward, highest first, and the probability they hold.
    logits = out.logits[0, -1].float()
    top = logits.topk(50)
    assert data["next_token"]["ids"] == top.indices.tolist()
    assert torch.allclose(torch.tensor(data["next_token"]["logits"]), top.values, atol=ROUNDING + 1e-4)
    mass = float(torch.softmax(logits, -1)[top.indices].sum())
    assert data["next_token"]["top_k_mass"] == pytest.approx(mass, abs=1e-5)


def test_greedy_steps_match_a_hand_written_loop(tiny_lm):
    data = trace_data(tiny_lm, PROMPT, generate_tokens=4)
    seq = tiny_lm.tokenizer(PROMPT)["input_ids"]
    for step in data["generation"]:
        with torch.no_grad():
            probs = torch.softmax(tiny_lm.model(torch.tensor([seq])).logits[0, -1].float(), dim=-1)
        top = probs.topk(5)
        assert step["token_id"] == int(probs.argmax()) == step["candidate_ids"][0]
        assert step["candidate_ids"] == top.indices.tolist()
        assert torch.allclose(torch.tensor(step["candidate_probs"]), top.values, atol=ROUNDING + 1e-5)
        seq.append(step["token_id"])
    assert len(data["generation"]) == 4
    assert data["generated_text"] == tiny_lm.tokenizer.decode(seq[-4:])
    assert trace_data(tiny_lm, PROMPT)["generation"] == []


def exactly_32_tokens(lm) -> str:
    text = " ".join(["Once upon a time, a little cat saw a big dog in the park and they played all day long."] * 3)
    ids = lm.tokenizer(text)["input_ids"][:32]
    prompt = lm.tokenizer.decode(ids)
    assert len(lm.tokenizer(prompt)["input_ids"]) == 32
    return prompt


def test_a_32_token_trace_on_tiny_stays_under_5_mb_and_the_page_holds_the_data(tiny_lm, tmp_path):
    prompt = exactly_32_tokens(tiny_lm)
    path = tiny_lm.export_trace(prompt, tmp_path / "trace.html", generate_tokens=8)
    assert path == tmp_path / "trace.html"
    html = path.read_text(encoding="utf-8")
    assert path.stat().st_size <= 5_000_000
    data = page_data(html)
    assert data == json.loads(json.dumps(trace_data(tiny_lm, prompt, generate_tokens=8)))
    assert len(data["tokens"]) == 32


@pytest.mark.slow
def test_a_32_token_trace_on_smollm2_stays_under_5_mb(smollm2_lm, tmp_path):
    prompt = exactly_32_tokens(smollm2_lm)
    path = export_trace(smollm2_lm, prompt, tmp_path / "trace.html", generate_tokens=8)
    data = page_data(path.read_text(encoding="utf-8"))
    assert path.stat().st_size <= 5_000_000
    assert len(data["attention"]) == 30 and len(data["attention"][29]) == 9
    _, cache = smollm2_lm.run_with_cache(prompt, names=["blocks.29.attn.hook_pattern"])
    last = torch.tensor(data["attention"][29][8][31], dtype=torch.float32) / ATTENTION_SCALE
    assert torch.allclose(last, cache["pattern", 29][0, 8, 31], atol=0.5 / ATTENTION_SCALE + 1e-6)


def test_the_cli_writes_the_page(tmp_path, capsys):
    out = tmp_path / "trace.html"
    assert main(["export", PROMPT, "-o", str(out), "--generate", "2", "--top-k", "30"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    data = page_data(out.read_text(encoding="utf-8"))
    assert data["model"] == "tiny" and data["prompt"] == PROMPT
    assert len(data["generation"]) == 2 and len(data["next_token"]["ids"]) == 30


def test_a_hostile_prompt_stays_data(tiny_lm):
    html = trace_html(trace_data(tiny_lm, HOSTILE))
    # Our three script elements close; the prompt's "</script>" and its tags never appear as markup.
    assert len(re.findall(r"</script", html, re.I)) == 3
    for markup in ("<script>alert", "<img", "onerror=\"", "<!--", "\u2028"):
        assert markup not in html
    assert page_data(html)["prompt"] == HOSTILE
    assert page_data(html)["tokens"] == tiny_lm.to_str_tokens(HOSTILE)


def test_escape_json_round_trips_and_refuses_nan():
    value = {"text": "</script><b>&amp;\u2028\u2029", "n": [1, 2.5]}
    escaped = escape_json(value)
    assert not set("<>&\u2028\u2029") & set(escaped)
    assert json.loads(escaped) == value
    with pytest.raises(ValueError):
        escape_json({"x": float("nan")})


def test_the_page_may_run_its_own_script_and_nothing_else(tiny_lm):
    """The CSP names the script by hash: recompute it from the page's one inline script. A script asset holding
    '</script' or '<!--' would end the element early and the hash would no longer match what the browser runs."""
    html = trace_html(trace_data(tiny_lm, PROMPT))
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode("utf-8")).digest()).decode()
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html).group(1)
    assert f"script-src 'sha256-{digest}';" in policy and "default-src 'none'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert not re.search(r"https?://|//cdn|@import|url\(", html.replace("http://www.w3.org/2000/svg", ""))
    assert "innerHTML" not in scripts[0] and "insertAdjacentHTML" not in scripts[0]


def test_the_page_assets_ship_with_the_package():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["llmviz"]
    assets = sorted(f"export/{p.name}" for p in Path(str(ASSETS)).iterdir() if p.suffix in (".html", ".css", ".js"))
    assert sorted(declared) == assets and len(assets) == 3


def test_bad_input_gets_a_clear_error(tiny_lm, tmp_path):
    with pytest.raises(ValueError, match="empty"):
        tiny_lm.export_trace("", tmp_path / "t.html")
    with pytest.raises(TypeError, match="string"):
        trace_data(tiny_lm, ["Once"])
    with pytest.raises(ValueError, match=f"at most {MAX_TOKENS}"):
        trace_data(tiny_lm, "a " * (MAX_TOKENS + 5))
    with pytest.raises(ValueError, match="generate_tokens"):
        trace_data(tiny_lm, PROMPT, generate_tokens=-1)
    with pytest.raises(ValueError, match="top_k"):
        trace_data(tiny_lm, PROMPT, top_k=1)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        tiny_lm.export_trace(PROMPT, tmp_path / "missing" / "t.html")
    with pytest.raises(ValueError, match=r"\.html"):
        tiny_lm.export_trace(PROMPT, tmp_path / "t.png")
    (tmp_path / "folder.html").mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        tiny_lm.export_trace(PROMPT, tmp_path / "folder.html")


def test_the_cli_reports_bad_input_in_one_line(tmp_path, capsys):
    assert main(["export", PROMPT, "-o", str(tmp_path / "nowhere" / "t.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("llmviz: error: The folder") and "Traceback" not in err
    assert main(["export", "", "-o", str(tmp_path / "t.html")]) == 2
    assert "empty" in capsys.readouterr().err
    assert not (tmp_path / "t.html").exists()
