// llmviz trace page: draws one trace's figures as SVG from the JSON in #trace-data, with no library and no network.
// Everything that came from the user or the model (the prompt, the tokens) goes in through textContent or
// setAttribute, never as markup, so a prompt holding a closing script tag or an img tag is shown as text.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("trace-data").textContent);
  const style = JSON.parse(document.getElementById("trace-style").textContent);
  const SVG = "http://www.w3.org/2000/svg";
  const byId = (id) => document.getElementById(id);
  const tokens = data.tokens;
  const n = tokens.length;

  function svgNode(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const key of Object.keys(attrs || {})) node.setAttribute(key, attrs[key]);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function htmlNode(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }
  const short = (text, max) => (text.length > max ? text.slice(0, max - 1) + "…" : text);
  const percent = (p) => (100 * p).toFixed(p >= 0.1 ? 1 : 2) + "%";
  const quoted = (token) => "\u201c" + token + "\u201d";

  // ---- colour scales: stops from llmviz.viz.style (Viridis for values >= 0, red-blue for signed values) ----------
  function colourScale(stops) {
    const parsed = stops.map(([at, hex]) => [at, [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16))]);
    return function (t) {
      t = Math.min(1, Math.max(0, t));
      let i = 1;
      while (i < parsed.length - 1 && parsed[i][0] < t) i++;
      const [a, from] = parsed[i - 1];
      const [b, to] = parsed[i];
      const f = b > a ? (t - a) / (b - a) : 0;
      const c = from.map((v, k) => Math.round(v + f * (to[k] - v)));
      return "rgb(" + c.join(",") + ")";
    };
  }
  const sequential = colourScale(style.sequential);
  const diverging = colourScale(style.diverging);

  // A readout line under a figure: hovering (or tapping, on a phone) a cell writes its exact value there.
  function wireReadout(svg, readoutId, describeCell) {
    const show = (event) => {
      const cell = event.target.closest("[data-r]");
      if (cell) byId(readoutId).textContent = describeCell(+cell.dataset.r, +cell.dataset.c);
    };
    svg.addEventListener("pointermove", show);
    svg.addEventListener("click", show);
  }

  // ---- a heatmap: rows x cols cells, row labels on the left, column labels rotated on top ---------------------
  function heatmap(o) {
    const labelW = o.rowLabelWidth || 8 * Math.max(...o.rowLabels.map((s) => short(s, 12).length)) + 10;
    const colLabelH = o.colLabels ? 7 * Math.max(...o.colLabels.map((s) => short(s, 12).length)) + 12 : 0;
    const left = 22 + labelW, top = 22 + colLabelH;
    // A short prompt makes a small grid: leave room for the axis titles (about 7 px a character) all the same.
    const plotW = Math.max(o.cols * o.cellW, 7 * o.colTitle.length), plotH = Math.max(o.rows * o.cellH,
                                                                                        7 * o.rowTitle.length);
    const width = left + plotW + 10, height = top + plotH + 10;
    const svg = svgNode("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
                                 "aria-label": o.describe, "shape-rendering": "crispEdges" });
    svg.appendChild(svgNode("text", { x: left, y: 14, "font-size": 13 }, o.colTitle));
    svg.appendChild(svgNode("text", { transform: `translate(14,${top + plotH / 2}) rotate(-90)`,
                                      "text-anchor": "middle", "font-size": 13 }, o.rowTitle));
    o.rowLabels.forEach((label, r) => svg.appendChild(svgNode("text", {
      x: left - 6, y: top + (r + 0.5) * o.cellH + 4, "text-anchor": "end", "font-size": 12 }, short(label, 12))));
    (o.colLabels || []).forEach((label, c) => svg.appendChild(svgNode("text", {
      transform: `translate(${left + (c + 0.5) * o.cellW + 4},${top - 6}) rotate(-60)`, "font-size": 12 },
      short(label, 12))));
    const cells = svgNode("g");
    for (let r = 0; r < o.rows; r++) {
      for (let c = 0; c < o.cols; c++) {
        cells.appendChild(svgNode("rect", { x: left + c * o.cellW, y: top + r * o.cellH, width: o.cellW,
                                            height: o.cellH, fill: o.fill(r, c), "data-r": r, "data-c": c }));
        if (o.cellText) {
          const [text, ink] = o.cellText(r, c);
          cells.appendChild(svgNode("text", { x: left + (c + 0.5) * o.cellW, y: top + (r + 0.5) * o.cellH + 4,
                                              "text-anchor": "middle", "font-size": 11, fill: ink,
                                              "pointer-events": "none" }, text));
        }
      }
    }
    svg.appendChild(cells);
    return svg;
  }

  // ---- 1. tokens --------------------------------------------------------------------------------------------
  byId("prompt").textContent = data.prompt;
  document.title = "llmviz trace: " + short(data.prompt, 60);
  byId("summary").textContent = `${data.model} (${data.architecture}, ${data.n_layers} layers × ${data.n_heads} ` +
    `heads, d_model ${data.d_model}, vocabulary ${data.d_vocab}); ${n} tokens.`;
  tokens.forEach((token, i) => {
    const item = htmlNode("li", token);
    item.appendChild(htmlNode("small", String(data.token_ids[i])));
    byId("tokens").appendChild(item);
  });

  // ---- 2. embedding rows ------------------------------------------------------------------------------------
  (function drawEmbedding() {
    const rows = data.embedding;
    const biggest = Math.max(...rows.map((row) => Math.max(...row.map(Math.abs)))) || 1;
    const svg = heatmap({
      rows: n, cols: data.d_model, rowLabels: tokens, cellW: Math.max(1, 800 / data.d_model), cellH: 16,
      fill: (r, c) => diverging(0.5 + rows[r][c] / (2 * biggest)),
      rowTitle: "token", colTitle: `dimension 0 … ${data.d_model - 1} (colour: value, ±${biggest.toFixed(3)})`,
      describe: `Embedding rows of ${n} tokens, ${data.d_model} dimensions each, values between ` +
        `${(-biggest).toFixed(3)} and ${biggest.toFixed(3)}.`,
    });
    wireReadout(svg, "embedding-readout",
      (r, c) => `token ${r} ${quoted(tokens[r])}, dimension ${c}: ${rows[r][c].toFixed(4)}`);
    byId("embedding").appendChild(svg);
  })();

  // ---- 3. attention: one layer and head at a time, chosen by two sliders ------------------------------------
  const layerInput = byId("layer"), headInput = byId("head");
  layerInput.max = data.n_layers - 1;
  headInput.max = data.n_heads - 1;
  function drawAttention() {
    const layer = +layerInput.value, head = +headInput.value;
    const rows = data.attention[layer][head], scale = data.attention_scale;
    byId("layer-value").textContent = `${layer} of 0–${data.n_layers - 1}`;
    byId("head-value").textContent = `${head} of 0–${data.n_heads - 1}`;
    const last = rows[n - 1];
    const strongest = last.indexOf(Math.max(...last));
    const svg = heatmap({
      rows: n, cols: n, rowLabels: tokens, colLabels: tokens, cellW: 22, cellH: 22,
      fill: (r, c) => (c <= r ? sequential(rows[r][c] / scale) : style.masked),
      rowTitle: "query: the token looking", colTitle: "key: the token looked at (colour: weight, 0 to 1)",
      describe: `Layer ${layer}, head ${head}: the last token ${quoted(tokens[n - 1])} puts its largest weight, ` +
        `${(last[strongest] / scale).toFixed(3)}, on token ${strongest} ${quoted(tokens[strongest])}.`,
    });
    wireReadout(svg, "attention-readout", (r, c) => `layer ${layer}, head ${head}: ${quoted(tokens[r])} (${r}) → ` +
      `${quoted(tokens[c])} (${c}): ` + (c <= r ? (rows[r][c] / scale).toFixed(4) : "masked (a later token)"));
    byId("attention").replaceChildren(svg);
    byId("attention-readout").textContent = svg.getAttribute("aria-label");
  }
  layerInput.addEventListener("input", drawAttention);
  headInput.addEventListener("input", drawAttention);
  drawAttention();

  // ---- 4. residual norm through depth: a line per token on a log axis, the chosen token in colour -----------
  const positionInput = byId("position");
  positionInput.max = n - 1;
  positionInput.value = n - 1;
  function drawResidual() {
    const chosen = +positionInput.value, norms = data.residual_norm, depths = data.depth_labels;
    byId("position-value").textContent = `${chosen} ${quoted(tokens[chosen])}`;
    const all = norms.flat().filter((v) => v > 0);
    const lo = Math.floor(Math.log10(Math.min(...all))), hi = Math.ceil(Math.log10(Math.max(...all)));
    const left = 70, top = 12, plotW = Math.max(320, 26 * depths.length), plotH = 260;
    const width = left + plotW + 20, height = top + plotH + 78;
    const x = (d) => left + (depths.length > 1 ? (d * plotW) / (depths.length - 1) : plotW / 2);
    const y = (v) => top + plotH - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / Math.max(hi - lo, 1)) * plotH;
    const svg = svgNode("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": `Residual norm of token ${chosen} ${quoted(tokens[chosen])}: ${norms[0][chosen].toFixed(2)} ` +
        `after the embedding, ${norms[norms.length - 1][chosen].toFixed(2)} after the last block.` });
    for (let e = lo; e <= hi; e++) {
      svg.appendChild(svgNode("line", { x1: left, x2: left + plotW, y1: y(10 ** e), y2: y(10 ** e),
                                        stroke: "#e4e4e4" }));
      svg.appendChild(svgNode("text", { x: left - 6, y: y(10 ** e) + 4, "text-anchor": "end", "font-size": 12 },
                              String(10 ** e)));
    }
    depths.forEach((label, d) => {
      if (depths.length <= 16 || d % 2 === 0 || d === depths.length - 1) {
        svg.appendChild(svgNode("text", { transform: `translate(${x(d) + 4},${top + plotH + 8}) rotate(-60)`,
                                          "text-anchor": "end", "font-size": 11 }, label));
      }
    });
    svg.appendChild(svgNode("text", { x: left + plotW / 2, y: height - 4, "text-anchor": "middle",
                                      "font-size": 13 }, "depth: after the embedding, then after each block"));
    svg.appendChild(svgNode("text", { transform: `translate(14,${top + plotH / 2}) rotate(-90)`,
                                      "text-anchor": "middle", "font-size": 13 }, "norm (log scale)"));
    const line = (p) => depths.map((_, d) => `${x(d).toFixed(1)},${y(norms[d][p]).toFixed(1)}`).join(" ");
    for (let p = 0; p < n; p++) {
      if (p !== chosen) svg.appendChild(svgNode("polyline", { points: line(p), fill: "none", stroke: style.grey,
                                                              "stroke-width": 1 }));
    }
    svg.appendChild(svgNode("polyline", { points: line(chosen), fill: "none", stroke: style.highlight,
                                          "stroke-width": 3 }));
    depths.forEach((_, d) => svg.appendChild(svgNode("circle", { cx: x(d), cy: y(norms[d][chosen]), r: 5,
      fill: style.highlight, "data-r": d, "data-c": chosen })));
    wireReadout(svg, "residual-readout", (d, p) => `${depths[d]}, token ${p} ${quoted(tokens[p])}: ` +
      `norm ${norms[d][p].toFixed(3)}`);
    byId("residual").replaceChildren(svg);
  }
  positionInput.addEventListener("input", drawResidual);
  drawResidual();

  // ---- 5. logit lens: the top-1 token per depth and position, coloured by its probability --------------------
  (function drawLens() {
    const depths = data.depth_labels, probs = data.lens_probs, words = data.lens_tokens;
    const last = depths.length - 1;
    const svg = heatmap({
      rows: depths.length, cols: n, rowLabels: depths, colLabels: tokens, cellW: 58, cellH: 22,
      fill: (r, c) => sequential(probs[r][c]),
      cellText: (r, c) => [short(words[r][c], 7), probs[r][c] > 0.6 ? style.text : "#ffffff"],
      rowTitle: "depth", colTitle: "input token (cell: the most probable next token; colour: its probability)",
      describe: `Logit lens over ${depths.length} depths and ${n} tokens: after the last block, the top token ` +
        `after ${quoted(tokens[n - 1])} is ${quoted(words[last][n - 1])} with probability ` +
        `${probs[last][n - 1].toFixed(3)}.`,
    });
    wireReadout(svg, "lens-readout", (r, c) => `${depths[r]}, after ${quoted(tokens[c])} (${c}): top token ` +
      `${quoted(words[r][c])}, probability ${probs[r][c].toFixed(4)}`);
    byId("lens").appendChild(svg);
  })();

  // ---- 6. next token: softmax(logits / T) over the stored top-k, recomputed here as the slider moves ---------
  const next = data.next_token, temperatureInput = byId("temperature");
  const shown = Math.min(15, next.logits.length);
  function softmax(logits, temperature) {
    const top = logits[0] / temperature;  // logits are stored highest first: subtract the largest for stability
    const weights = logits.map((v) => Math.exp(v / temperature - top));
    const total = weights.reduce((a, b) => a + b, 0);
    return weights.map((w) => w / total);
  }
  function drawNext() {
    const temperature = +temperatureInput.value, probs = softmax(next.logits, temperature);
    byId("temperature-value").textContent = "T = " + temperature.toFixed(2);
    // Bars narrow to fit a phone rather than shrinking the labels with the whole figure.
    const left = 130, barW = Math.min(300, Math.max(150, byId("next-token").clientWidth - 215));
    const rowH = 24, top = 24, width = left + barW + 80, height = top + shown * rowH + 30;
    const svg = svgNode("svg", { width: "100%", viewBox: `0 0 ${width} ${height}`, role: "img",
      style: `max-width:${width}px`, "aria-label": `At temperature ${temperature.toFixed(2)} the most probable ` +
        `next token is ${quoted(next.tokens[0])} with probability ${probs[0].toFixed(3)}.` });
    svg.appendChild(svgNode("text", { x: left, y: 14, "font-size": 13 }, "probability (axis 0 to 1)"));
    for (let i = 0; i < shown; i++) {
      const yTop = top + i * rowH;
      svg.appendChild(svgNode("text", { x: left - 8, y: yTop + 16, "text-anchor": "end", "font-size": 13 },
                              short(next.tokens[i], 14)));
      svg.appendChild(svgNode("rect", { x: left, y: yTop + 3, width: barW, height: rowH - 6, fill: "#f0f0f0" }));
      svg.appendChild(svgNode("rect", { x: left, y: yTop + 3, width: Math.max(0.5, probs[i] * barW),
        height: rowH - 6, fill: i === 0 ? style.chosen : style.highlight, "data-r": i, "data-c": 0,
        "data-p": probs[i], class: "bar" }));
      svg.appendChild(svgNode("text", { x: left + Math.max(0.5, probs[i] * barW) + 6, y: yTop + 16,
                                        "font-size": 12 }, percent(probs[i])));
    }
    svg.appendChild(svgNode("text", { x: left, y: height - 8, "font-size": 12 },
                            `the ${shown} most probable of the ${next.logits.length} stored tokens`));
    wireReadout(svg, "next-readout", (i) => `${quoted(next.tokens[i])} (id ${next.ids[i]}): logit ` +
      `${next.logits[i].toFixed(4)}, probability at T = ${temperature.toFixed(2)}: ${probs[i].toFixed(6)}`);
    byId("next-token").replaceChildren(svg);
  }
  byId("next-note").textContent = `This page stores the ${next.logits.length} highest logits of the ` +
    `${data.d_vocab}-token vocabulary and takes the softmax over those only: at T = 1 they hold ` +
    `${(100 * next.top_k_mass).toFixed(next.top_k_mass > 0.999 ? 3 : 1)}% of the probability, and the bars are ` +
    "renormalised over them.";
  temperatureInput.addEventListener("input", drawNext);
  drawNext();

  // ---- 7. optional greedy generation ------------------------------------------------------------------------
  if (data.generation.length) {
    byId("generation-section").hidden = false;
    byId("generated-text").textContent = data.prompt + data.generated_text;
    const body = byId("generation").tBodies[0];
    data.generation.forEach((step, i) => {
      const row = body.insertRow();
      row.insertCell().textContent = String(i + 1);
      row.insertCell().appendChild(htmlNode("code", step.token));
      const cell = row.insertCell();
      step.candidates.forEach((token, k) => cell.appendChild(
        htmlNode("span", `${token} ${percent(step.candidate_probs[k])}`, "candidate")));
    });
  }
})();
