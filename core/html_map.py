"""A self-contained interactive HTML map: one file that opens in any browser, offline.

The page embeds plotly.js (from the ``plotly`` package, so nothing is fetched when it opens)
and the map's data as base64 typed arrays (plotly.js's ``{dtype, bdata}`` form: 4 bytes a
coordinate instead of ~18 characters of JSON). It offers pan/zoom, hover text (title and
snippet), a legend whose entries toggle their points, text search with a result list, a
table of the lasso/box selection, and cluster labels whose level follows the zoom.
Points are drawn with WebGL (``scattergl``); without WebGL the page falls back to SVG.
"""
from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

#: colour-blind-safe categorical palette (Okabe & Ito 2008), then Tableau's muted tones
CATEGORY_COLORS = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
    "#8c564b", "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
)
MISSING_COLOR = "#bdbdbd"
MISSING_LABEL = "(missing)"
TITLE_CHARS = 80
SNIPPET_CHARS = 120
MAX_CATEGORIES = len(CATEGORY_COLORS)


@dataclass(frozen=True)
class MapLabel:
    """A text placed on the map at ``(x, y)``; ``level`` 0 is the coarsest."""

    x: float
    y: float
    text: str
    level: int = 0


@dataclass(frozen=True)
class HtmlMap:
    """Everything the page shows. ``color_values`` are strings (categories) or numbers."""

    xy: np.ndarray
    titles: Sequence[str]
    snippets: Sequence[str]
    color_name: str = ""
    color_values: np.ndarray | None = None
    category_colors: dict[str, str] = field(default_factory=dict)
    labels: Sequence[MapLabel] = ()
    title: str = "Embedding map"
    manifest: dict[str, Any] = field(default_factory=dict)


def _typed(values: np.ndarray) -> dict[str, str]:
    """plotly.js's typed-array form: little-endian bytes in base64."""
    array = np.ascontiguousarray(values)
    dtype = {np.dtype(np.float32): "f4", np.dtype(np.float64): "f8", np.dtype(np.int32): "i4"}[array.dtype]
    return {"dtype": dtype, "bdata": base64.b64encode(array.astype(array.dtype.newbyteorder("<")).tobytes()).decode()}


def _clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def hover_texts(titles: Sequence[str], snippets: Sequence[str]) -> list[str]:
    """Escaped hover text per point: a bold title over a snippet of the document.

    Where the title is only the document's own beginning (no title column), the snippet
    alone is shown: the same words twice would only make the file larger.
    """
    out = []
    for title, snippet in zip(titles, snippets):
        head, body = _clip(title, TITLE_CHARS), _clip(snippet, SNIPPET_CHARS)
        if not head or body.startswith(head.rstrip("…")):
            out.append(html.escape(body))
        else:
            out.append(f"<b>{html.escape(head)}</b><br>{html.escape(body)}")
    return out


def _is_numeric(values: np.ndarray) -> bool:
    return values.dtype.kind in "iuf"


def _trace(rows: np.ndarray, xy: np.ndarray, hover: list[str], name: str, marker: dict) -> dict:
    return {
        "type": "scattergl", "mode": "markers", "name": name,
        "x": _typed(xy[rows, 0].astype(np.float32)), "y": _typed(xy[rows, 1].astype(np.float32)),
        "customdata": _typed(rows.astype(np.int32)),
        "hovertext": [hover[r] for r in rows], "hoverinfo": "text",
        "marker": {"size": 4, "opacity": 0.8, **marker},
    }


def _category_traces(spec: HtmlMap, hover: list[str]) -> list[dict]:
    values = np.asarray(spec.color_values, dtype=object)
    missing = np.array([v is None or (isinstance(v, float) and np.isnan(v)) or str(v) == "" for v in values])
    names = np.where(missing, MISSING_LABEL, values.astype(str))
    uniq, codes, counts = np.unique(names, return_inverse=True, return_counts=True)
    order = [i for i in np.argsort(-counts, kind="stable") if uniq[i] != MISSING_LABEL]
    palette = iter(c for c in CATEGORY_COLORS if c not in spec.category_colors.values())
    traces, other = [], []
    for rank, code in enumerate(order):
        rows = np.flatnonzero(codes == code)
        name = str(uniq[code])
        if rank >= MAX_CATEGORIES:
            other.append(rows)
            continue
        color = spec.category_colors.get(name) or next(palette, MISSING_COLOR)
        traces.append(_trace(rows, spec.xy, hover, name, {"color": color}))
    if other:
        rows = np.sort(np.concatenate(other))
        traces.append(_trace(rows, spec.xy, hover, f"other ({len(other)} values)", {"color": MISSING_COLOR}))
    if missing.any():
        traces.append(_trace(np.flatnonzero(missing), spec.xy, hover, MISSING_LABEL, {"color": MISSING_COLOR}))
    for trace in traces:
        trace["legendgroup"] = trace["name"]
    return traces


def _numeric_traces(spec: HtmlMap, hover: list[str]) -> list[dict]:
    values = np.asarray(spec.color_values, dtype=np.float64)
    finite = np.isfinite(values)
    rows = np.flatnonzero(finite)
    traces = [_trace(rows, spec.xy, hover, spec.color_name, {
        "color": _typed(values[rows].astype(np.float32)), "colorscale": "Viridis", "showscale": True,
        "colorbar": {"title": {"text": html.escape(spec.color_name)}, "thickness": 14}})]
    traces[0]["showlegend"] = False
    if (~finite).any():
        traces.append(_trace(np.flatnonzero(~finite), spec.xy, hover, MISSING_LABEL, {"color": MISSING_COLOR}))
    return traces


def figure(spec: HtmlMap) -> dict:
    """The plotly figure (data + layout) of the map, JSON-ready."""
    hover = hover_texts(spec.titles, spec.snippets)
    all_rows = np.arange(len(spec.xy))
    if spec.color_values is None:
        traces = [_trace(all_rows, spec.xy, hover, "documents", {"color": CATEGORY_COLORS[0]})]
    elif _is_numeric(np.asarray(spec.color_values)):
        traces = _numeric_traces(spec, hover)
    else:
        traces = _category_traces(spec, hover)
    layout = {
        "title": {"text": html.escape(spec.title), "x": 0.01},
        "paper_bgcolor": "white", "plot_bgcolor": "white", "dragmode": "pan", "hovermode": "closest",
        "xaxis": {"visible": False}, "yaxis": {"visible": False, "scaleanchor": "x"},
        "legend": {"title": {"text": html.escape(spec.color_name)}, "itemsizing": "constant"},
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
    }
    return {"data": traces, "layout": layout}


def _labels_json(labels: Sequence[MapLabel]) -> list[dict]:
    return [{"x": float(l.x), "y": float(l.y), "text": html.escape(_clip(l.text, 60)), "level": int(l.level)}
            for l in labels]


def write_html_map(spec: HtmlMap, out: str | Path) -> Path:
    """Write the map to ``out`` (.html) as one self-contained file; returns the path."""
    from plotly.offline import get_plotlyjs

    out = Path(out)
    payload = {"figure": figure(spec), "labels": _labels_json(spec.labels), "manifest": spec.manifest}
    data_json = json.dumps(payload, separators=(",", ":"), default=str).replace("</", "<\\/")
    page = _TEMPLATE.replace("__TITLE__", html.escape(spec.title)).replace("__PLOTLY__", get_plotlyjs())
    page = page.replace("__DATA__", data_json).replace("__APP__", _APP_JS)
    tmp = out.with_name(out.name + ".part")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<meta name="generator" content="Embedding Explorer">
<style>
 body{margin:0;font:13px system-ui,sans-serif;color:#222;background:#fff;display:flex;height:100vh}
 #map{flex:1;min-width:0}
 #side{width:340px;display:flex;flex-direction:column;border-left:1px solid #ddd;padding:8px;gap:6px}
 #side input{width:100%;box-sizing:border-box;padding:5px;font:inherit}
 #results,#selection{overflow:auto;flex:1;border:1px solid #eee}
 .row{padding:4px;border-bottom:1px solid #f0f0f0;cursor:pointer;overflow-wrap:anywhere}
 .row:hover{background:#eef4fb} .count{color:#555} h3{margin:4px 0;font-size:13px}
</style></head><body>
<div id="map"></div>
<div id="side">
 <input id="search" type="search" placeholder="Search text (Enter)" aria-label="Search">
 <div class="count" id="search-count"></div><div id="results"></div>
 <h3>Selection <span class="count" id="selection-count">(lasso or box: toolbar above the map)</span></h3>
 <div id="selection"></div>
</div>
<script>__PLOTLY__</script>
<script id="map-data" type="application/json">__DATA__</script>
<script>__APP__</script>
</body></html>
"""

_APP_JS = r"""
(function(){
const payload = JSON.parse(document.getElementById('map-data').textContent);
const fig = payload.figure, gd = document.getElementById('map');
function webgl(){ try{ const c=document.createElement('canvas'); return !!(c.getContext('webgl')||c.getContext('experimental-webgl')); }catch(e){ return false; } }
if(!webgl()) fig.data.forEach(t => t.type = 'scatter');
const nBase = fig.data.length, LISTED = 200;
function decode(a){ if(!a || !a.bdata) return a; const b=atob(a.bdata), u=new Uint8Array(b.length);
  for(let i=0;i<b.length;i++) u[i]=b.charCodeAt(i);
  return a.dtype==='i4' ? new Int32Array(u.buffer) : a.dtype==='f8' ? new Float64Array(u.buffer) : new Float32Array(u.buffer); }
const points = {};  // row -> [trace, index in trace]
const xs = [], ys = [], texts = [];
fig.data.forEach((t, ti) => { const rows = decode(t.customdata), x = decode(t.x), y = decode(t.y);
  rows.forEach((r, i) => { points[r] = [ti, i]; xs[r] = x[i]; ys[r] = y[i]; texts[r] = t.hovertext[i]; }); });
const plain = texts.map(t => t.replace(/<[^>]*>/g, ' ').replace(/&lt;/g,'<').replace(/&gt;/g,'>').replace(/&quot;/g,'"').replace(/&#x27;/g,"'").replace(/&amp;/g,'&'));
const lower = plain.map(t => t.toLowerCase());
function row(r){ const d=document.createElement('div'); d.className='row'; d.innerHTML=texts[r]; d.dataset.row=r;
  d.onclick=()=>focus(r); return d; }
function overlay(name, rows, marker){ const i = gd.data.findIndex(t => t.name === name);
  const trace = {type: fig.data[0].type, mode:'markers', name:name, x: rows.map(r=>xs[r]), y: rows.map(r=>ys[r]),
    customdata: rows, hovertext: rows.map(r=>texts[r]), hoverinfo:'text', showlegend: rows.length>0, marker: marker};
  if(i >= 0) Plotly.deleteTraces(gd, i);
  return Plotly.addTraces(gd, trace); }
function focus(r){ overlay('focused', [r], {size:16, color:'rgba(0,0,0,0)', line:{color:'#d62728', width:3}});
  const span = (gd.layout.xaxis.range[1]-gd.layout.xaxis.range[0]) / 2;
  Plotly.relayout(gd, {'xaxis.range':[xs[r]-span/2, xs[r]+span/2], 'yaxis.range':[ys[r]-span/2, ys[r]+span/2]}); }
function search(q){ q = q.trim().toLowerCase(); const hits = [];
  if(q) lower.forEach((t, r) => { if(t.includes(q)) hits.push(r); });
  document.getElementById('search-count').textContent = q ? hits.length.toLocaleString() + ' matching document' + (hits.length===1?'':'s')
    + (hits.length > LISTED ? ' (first ' + LISTED + ' listed)' : '') : '';
  const list = document.getElementById('results'); list.replaceChildren(...hits.slice(0, LISTED).map(row));
  overlay('search matches', hits, {size:10, color:'rgba(0,0,0,0)', line:{color:'#000', width:1.5}});
  return hits; }
function showSelection(rows){ document.getElementById('selection-count').textContent = '(' + rows.length.toLocaleString() + ' documents)';
  document.getElementById('selection').replaceChildren(...rows.slice(0, 500).map(row)); }
function labelLevel(){ const r = gd.layout.xaxis.range, full = window.__fullSpan || (r[1]-r[0]);
  const zoom = full / Math.max(1e-12, r[1]-r[0]); const levels = payload.labels.map(l => l.level);
  const maxLevel = levels.length ? Math.max(...levels) : 0; return Math.min(maxLevel, Math.floor(Math.log2(Math.max(1, zoom)))); }
function drawLabels(){ if(!payload.labels.length) return; const level = labelLevel();
  const annotations = payload.labels.filter(l => l.level === level).map(l => ({x:l.x, y:l.y, text:l.text, showarrow:false,
    font:{size: 13, color:'#111'}, bgcolor:'rgba(255,255,255,0.75)'}));
  Plotly.relayout(gd, {annotations: annotations}); }
const config = {responsive:true, scrollZoom:true, displaylogo:false, modeBarButtonsToRemove:['toImage']};
Plotly.newPlot(gd, fig.data, fig.layout, config).then(() => {
  window.__fullSpan = gd.layout.xaxis.range[1] - gd.layout.xaxis.range[0]; drawLabels();
  let last = -1; gd.on('plotly_relayout', ev => { if(ev && ev.annotations) return; const l = labelLevel(); if(l !== last){ last = l; drawLabels(); } });
  gd.on('plotly_selected', ev => { const rows = ev ? [...new Set(ev.points.map(p => p.customdata))] : []; showSelection(rows); });
  const box = document.getElementById('search'); let timer = null;
  box.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => search(box.value), 250); });
  box.addEventListener('keydown', e => { if(e.key === 'Enter'){ clearTimeout(timer); search(box.value); } });
  window.embeddingMap = {search, focus, showSelection, points, texts, nBase, manifest: payload.manifest};
  document.body.dataset.ready = '1';
});
})();
"""
