// cnncalc report: draws the page from the plan document in #cnncalc-data.
// Written by hand, no library: every text from the spec goes in through textContent or an
// attribute, never as markup; the page loads nothing.
"use strict";
(function () {
  var DATA = JSON.parse(document.getElementById("cnncalc-data").textContent);
  var PLAN = DATA.plan;
  var LAYERS = PLAN.layers;
  var BLOCKS = {};
  PLAN.blocks.forEach(function (b) { BLOCKS[b.name] = b; });
  var SVGNS = "http://www.w3.org/2000/svg";

  // ---- building elements ---------------------------------------------------------------
  function put(node, attrs, children) {
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      node.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
    });
    return node;
  }
  function el(tag, attrs, children) { return put(document.createElement(tag), attrs, children); }
  function sv(tag, attrs, children) { return put(document.createElementNS(SVGNS, tag), attrs, children); }
  function byId(id) { return document.getElementById(id); }

  // ---- numbers --------------------------------------------------------------------------
  function count(n) {
    var scales = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "K"]];
    for (var i = 0; i < scales.length; i++) {
      if (Math.abs(n) >= scales[i][0]) return (n / scales[i][0]).toFixed(2) + scales[i][1];
    }
    return String(n);
  }
  function bytes(n) {
    var units = [[Math.pow(1024, 4), "TiB"], [Math.pow(1024, 3), "GiB"], [1048576, "MiB"], [1024, "KiB"]];
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(n) >= units[i][0]) return (n / units[i][0]).toFixed(2) + " " + units[i][1];
    }
    return n + " B";
  }
  function full(n) { return Number(n).toLocaleString("en-US"); }
  function shape(s) { return s ? "[" + s.join(", ") + "]" : ""; }
  function elements(s) { return (s || []).reduce(function (a, b) { return a * b; }, 1); }
  function rfText(rf) { return rf ? rf.size.join("×") : ""; }

  // ---- summary --------------------------------------------------------------------------
  function summary() {
    var t = PLAN.totals, m = PLAN.memory;
    var inputs = Object.keys(PLAN.input_shapes).map(function (k) { return k + " " + shape(PLAN.input_shapes[k]); });
    var outputs = Object.keys(PLAN.output_shapes).map(function (k) { return k + " " + shape(PLAN.output_shapes[k]); });
    var cards = [
      ["Parameters", full(t.params), count(t.params) + " · trainable " + full(t.trainable_params) +
        (t.non_trainable_params ? " · non-trainable " + full(t.non_trainable_params) : "")],
      ["MACs per sample", full(t.macs), count(t.macs) + " · FLOPs " + count(t.flops)],
      ["Buffers", full(t.buffers), "running statistics and other state"],
      ["Inputs → outputs", inputs.join(", "), "→ " + outputs.join(", ")],
      ["Layers", full(LAYERS.length), PLAN.blocks.length + " block calls · " + PLAN.convention + " convention"],
    ];
    if (PLAN.first_linear) {
      cards.push(["First linear layer", full(PLAN.first_linear.in_features) + " in_features",
        PLAN.first_linear.name + (PLAN.first_linear.flattened_shape ? " ← " + shape(PLAN.first_linear.flattened_shape) : "")]);
    }
    var box = byId("cards");
    cards.forEach(function (c) {
      box.appendChild(el("div", { "class": "card" }, [el("div", { "class": "label" }, [c[0]]),
        el("div", { "class": "value" }, [c[1]]), el("div", { "class": "note" }, [c[2]])]));
    });
    byId("memory-title").textContent = "Memory at batch " + m.batch_size + ", " + m.dtype + ", " + m.optimizer;
    var rows = [["Weights", m.params_bytes], ["Buffers", m.buffers_bytes], ["Gradients", m.gradients_bytes],
      ["Optimizer state", m.optimizer_bytes], ["Saved for backward", m.saved_activations_bytes],
      ["Training total", m.training_total_bytes], ["Inference peak", m.inference_peak_bytes]];
    var body = byId("memory").appendChild(el("tbody"));
    rows.forEach(function (r) { body.appendChild(el("tr", {}, [el("th", {}, [r[0]]), el("td", {}, [bytes(r[1])])])); });
    budget();
    var warn = byId("warnings");
    PLAN.warnings.forEach(function (w) {
      var where = w.file ? w.file + ":" + w.line + ":" + w.column + ": " : "";
      warn.appendChild(el("li", {}, [where + (w.layer ? w.layer + ": " : "") + w.message]));
    });
    if (!PLAN.warnings.length) warn.parentNode.hidden = true;
  }

  function budget() {
    var section = byId("budget");
    if (!DATA.budget.length) { section.hidden = true; return; }
    var body = section.querySelector("tbody");
    DATA.budget.forEach(function (b) {
      var show = b.unit === "bytes" ? bytes : full;
      body.appendChild(el("tr", { "class": b.passed ? "pass" : "fail" }, [
        el("th", {}, [b.what.replace(/_/g, " ") + (b.detail ? " (" + b.detail + ")" : "")]),
        el("td", {}, [show(b.actual)]), el("td", {}, [show(b.limit)]),
        el("td", { "class": "verdict" }, [b.passed ? "within" : "over by " + show(b.actual - b.limit)])]));
    });
  }

  // ---- the diagram: folding ----------------------------------------------------------------
  var chains = {};  // block name -> its calls from the outermost down to itself
  function chain(name) {
    if (!name) return [];
    if (!chains[name]) chains[name] = chain(BLOCKS[name].parent).concat([name]);
    return chains[name];
  }
  var expanded = {};
  function foldTo(depth) {  // depth null: everything unfolded
    expanded = {};
    PLAN.blocks.forEach(function (b) { if (depth === null || chain(b.name).length < depth) expanded[b.name] = true; });
  }
  function visibleOf(layer) {
    var calls = chain(layer.block);
    for (var i = 0; i < calls.length; i++) if (!expanded[calls[i]]) return "b:" + calls[i];
    return "l:" + layer.name;
  }

  function graph() {
    var nodes = [], byKey = {}, owner = {}, shapes = {}, edges = [], seen = {};
    Object.keys(PLAN.input_shapes).forEach(function (name) {
      var node = { key: "i:" + name, name: name, kind: "input", shape: PLAN.input_shapes[name], params: 0, macs: 0, memory: 0, layers: 0 };
      nodes.push(node); byKey[node.key] = node; owner[name] = node.key; shapes[name] = PLAN.input_shapes[name];
    });
    LAYERS.forEach(function (layer) {
      var key = visibleOf(layer), node = byKey[key];
      if (!node) {
        var b = key.charAt(0) === "b" ? BLOCKS[key.slice(2)] : null;
        node = b ? { key: key, name: b.name, kind: b.block, shape: b.output_shape, params: b.params, macs: b.macs, memory: 0, layers: b.layers, block: b.name }
          : { key: key, name: layer.name, kind: layer.type, shape: layer.output_shape, params: layer.params, macs: layer.macs, memory: 0, layers: 1, inside: layer.block };
        nodes.push(node); byKey[key] = node;
      }
      node.memory += layer.output_bytes;
      owner[layer.name] = key; shapes[layer.name] = layer.output_shape;
      layer.inputs.forEach(function (source) {
        var a = owner[source];
        if (a === undefined || a === key || seen[a + ">" + key]) return;
        seen[a + ">" + key] = true;
        edges.push({ source: a, target: key, shape: shapes[source] });
      });
    });
    Object.keys(PLAN.output_shapes).forEach(function (name) { if (byKey[owner[name]]) byKey[owner[name]].output = true; });
    return { nodes: nodes, edges: edges };
  }

  // ---- the diagram: drawing (laid out as `cnncalc draw --format svg` lays it out) ------------
  var L = cnncalcLayout;
  function lines(n, by) {  // as svg.py's _lines
    if (n.kind === "input") return [n.name, "input", shape(n.shape)];
    var counts = [];
    if (n.params) counts.push(count(n.params) + " params");
    if (n.macs) counts.push(count(n.macs) + " MACs");
    if (by === "memory" && n.memory) counts.push(bytes(n.memory) + (n.layers > 1 ? " outputs" : " out"));
    return [n.name, n.layers > 1 ? n.kind + " · " + n.layers + " layers" : n.kind, shape(n.shape), counts.join(" · ")];
  }

  var view = null, drawn = null;
  function drawDiagram(focus) {
    var g = graph(), by = byId("shade").value, svg = byId("diagram");
    var labels = g.nodes.map(function (n) { return lines(n, by); });
    var placed = L.layout({ nodes: g.nodes.map(function (n) { return { id: n.key }; }),
      edges: g.edges.map(function (e) { return [e.source, e.target]; }) }, L.boxWidth(labels), L.MARGIN);
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    svg.appendChild(sv("defs", {}, [sv("marker", { id: "arrow", viewBox: "0 0 8 8", refX: 7.5, refY: 4, markerWidth: 7, markerHeight: 7, orient: "auto" },
      [sv("path", { d: "M0,0.5 L8,4 L0,7.5 z", fill: "#5b6474" })])]));
    var most = 0;
    g.nodes.forEach(function (n) { most = Math.max(most, n[by]); });
    var shared = new Set();  // stretches already drawn: arrows sharing a lane draw it once
    g.edges.forEach(function (e, k) { svg.appendChild(arrow(placed.routes[k], e.shape, shared)); });
    g.nodes.forEach(function (n, k) { svg.appendChild(box(n, labels[k], placed.boxes[n.key], placed.boxW, most ? n[by] / most : 0)); });
    drawn = { graph: g, placed: placed };
    if (!view || !focus) start(); else centreOn(focus);
  }

  function arrow(points, s, shared) {  // as svg.py's svg() and _arrow()
    var steps = [], fresh = [];
    for (var i = 0; i + 1 < points.length; i++) {
      var key = points[i].join(",") + " " + points[i + 1].join(",");
      steps.push(key);
      if (!shared.has(key)) fresh.push(i);
    }
    if (!fresh.length) fresh = [steps.length - 1];
    steps.forEach(function (key) { shared.add(key); });
    var head = fresh[fresh.length - 1] === steps.length - 1, inLane = fresh[0] % 2 === 1;
    var part = points.slice(fresh[0], fresh[fresh.length - 1] + 2), x = part[0][0], y = part[0][1];
    var d = ["M" + x.toFixed(1) + "," + y.toFixed(1)];
    part.slice(1).forEach(function (p, k) {
      if ((k % 2 === 1) !== inLane || Math.abs(p[0] - x) < 0.05) d.push("L" + p[0].toFixed(1) + "," + p[1].toFixed(1));
      else {
        var bend = (p[1] - y) / 2;
        d.push("C" + x.toFixed(1) + "," + (y + bend).toFixed(1) + " " + p[0].toFixed(1) + "," + (p[1] - bend).toFixed(1) + " " + p[0].toFixed(1) + "," + p[1].toFixed(1));
      }
      x = p[0]; y = p[1];
    });
    var attrs = { d: d.join(""), "class": "edge" };
    if (head) attrs["marker-end"] = "url(#arrow)";
    return sv("path", attrs, [sv("title", {}, [shape(s)])]);
  }

  function fill(share) {  // as svg.py's _fill: white to a clear blue
    var low = [247, 249, 252], high = [137, 176, 243];
    return "rgb(" + low.map(function (a, i) { return Math.round(a + (high[i] - a) * share); }).join(",") + ")";
  }

  function box(n, texts, at, boxW, share) {
    var folded = n.block !== undefined;
    var how = folded ? "click to unfold " + n.name : n.inside ? "click to fold " + n.inside : "";
    var g = sv("g", { "class": "box" + (folded ? " folded" : "") + (n.output ? " output" : "") + (n.kind === "input" ? " input" : "") + (how ? " clickable" : ""),
      "data-key": n.key, tabindex: how ? 0 : -1 },
      [sv("title", {}, [texts.filter(Boolean).join("\n") + (how ? "\n(" + how + ")" : "")]),
        sv("rect", { x: at[0], y: at[1], width: boxW, height: L.BOX_H, rx: 6, fill: n.kind === "input" ? "#e9f5ee" : fill(share) })]);
    texts.forEach(function (line, i) {
      if (line) g.appendChild(sv("text", { x: at[0] + L.PAD, y: at[1] + 16 + 13.5 * i, "class": "t" + i }, [L.fit(line, boxW - 2 * L.PAD, L.SIZE, i === 0)]));
    });
    if (how) {
      var act = function () { toggle(n); };
      g.addEventListener("click", act);
      g.addEventListener("keydown", function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); act(); } });
    }
    return g;
  }

  function handFolded() { var depth = byId("fold-depth"); if (!depth.disabled) depth.value = "hand"; }
  function toggle(n) {
    if (dragged) return;
    handFolded();
    if (n.block !== undefined) { expanded[n.block] = true; drawDiagram(firstInside(n.block)); }
    else { delete expanded[n.inside]; drawDiagram("b:" + n.inside); }
  }
  function firstInside(name) {
    for (var i = 0; i < LAYERS.length; i++) if (chain(LAYERS[i].block).indexOf(name) >= 0) return visibleOf(LAYERS[i]);
    return null;
  }

  function locate(layer) {  // unfold the calls around a layer, centre it and mark it
    chain(layer.block).forEach(function (name) { expanded[name] = true; });
    handFolded();
    drawDiagram("l:" + layer.name);
    var found = byId("diagram").querySelector('g.box[data-key="l:' + CSS.escape(layer.name) + '"]');
    if (found) found.classList.add("found");
    byId("diagram").scrollIntoView({ block: "center" });
  }

  // ---- zoom and pan ----------------------------------------------------------------------
  function setView(v) {
    view = v;
    byId("diagram").setAttribute("viewBox", [v.x, v.y, v.w, v.h].join(" "));
    var p = drawn.placed, hidden = v.y + v.h < p.height - 1 ? "more below" : v.y > 1 ? "more above" : "";
    byId("diagram-count").textContent = drawn.graph.nodes.length + " boxes" + (hidden ? " (" + hidden + ": drag, or fit)" : "");
  }
  function frame() { var r = byId("diagram").getBoundingClientRect(); return { w: r.width || 800, h: r.height || 600 }; }
  function fit() {  // the whole drawing
    var f = frame(), p = drawn.placed, scale = Math.max(p.width / f.w, p.height / f.h, 0.5);
    var w = f.w * scale, h = f.h * scale;
    setView({ x: (p.width - w) / 2, y: (p.height - h) / 2, w: w, h: h });
  }
  function start() {  // readable boxes: the whole width, from the top (the rest by dragging or "fit")
    var f = frame(), p = drawn.placed, scale = Math.max(p.width / f.w, 1);
    if (p.height / f.h <= 1.3 * scale) { fit(); return; }  // it nearly fits: show it all
    var w = f.w * scale;
    setView({ x: (p.width - w) / 2, y: 0, w: w, h: f.h * scale });
  }
  function centreOn(key) {
    var at = drawn.placed.boxes[key];
    if (!at) { fit(); return; }
    setView({ x: at[0] + drawn.placed.boxW / 2 - view.w / 2, y: at[1] + L.BOX_H / 2 - view.h / 3, w: view.w, h: view.h });
  }
  function zoom(factor, cx, cy) {
    var v = view, x = cx === undefined ? v.x + v.w / 2 : cx, y = cy === undefined ? v.y + v.h / 2 : cy;
    setView({ x: x - (x - v.x) * factor, y: y - (y - v.y) * factor, w: v.w * factor, h: v.h * factor });
  }
  var drag = null, dragged = false;
  function pointer() {
    var svg = byId("diagram");
    svg.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var r = svg.getBoundingClientRect();
      zoom(ev.deltaY > 0 ? 1.15 : 1 / 1.15, view.x + (ev.clientX - r.left) / r.width * view.w, view.y + (ev.clientY - r.top) / r.height * view.h);
    }, { passive: false });
    svg.addEventListener("pointerdown", function (ev) { drag = { x: ev.clientX, y: ev.clientY, view: view }; dragged = false; });
    window.addEventListener("pointermove", function (ev) {
      if (!drag) return;
      var r = svg.getBoundingClientRect(), dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 4) dragged = true;
      if (dragged) setView({ x: drag.view.x - dx / r.width * drag.view.w, y: drag.view.y - dy / r.height * drag.view.h, w: drag.view.w, h: drag.view.h });
    });
    window.addEventListener("pointerup", function () { drag = null; setTimeout(function () { dragged = false; }, 0); });
  }

  function diagramControls() {
    var depth = byId("fold-depth"), deepest = 0;
    PLAN.blocks.forEach(function (b) { deepest = Math.max(deepest, chain(b.name).length); });
    for (var d = 1; d <= deepest; d++) depth.appendChild(el("option", { value: d }, ["fold below depth " + d]));
    depth.appendChild(el("option", { value: "all" }, ["unfold all"]));
    depth.appendChild(el("option", { value: "hand", hidden: "hidden", disabled: "disabled" }, ["folded by hand"]));
    depth.value = DATA.fold_depth === null ? "all" : String(DATA.fold_depth);
    if (!deepest) depth.disabled = true;
    depth.addEventListener("change", function () { foldTo(depth.value === "all" ? null : Number(depth.value)); drawDiagram(); });
    byId("shade").addEventListener("change", function () { drawDiagram(drawn.graph.nodes[0].key); fit(); });
    byId("zoom-in").addEventListener("click", function () { zoom(1 / 1.3); });
    byId("zoom-out").addEventListener("click", function () { zoom(1.3); });
    byId("zoom-fit").addEventListener("click", fit);
    pointer();
  }

  // ---- charts ----------------------------------------------------------------------------
  function chart(holder, series, labels, opts) {
    var w = 900, h = 220, left = 70, top = 14, bottom = 26, plotW = w - left - 10, plotH = h - top - bottom;
    var most = 0;
    series.forEach(function (s) { s.values.forEach(function (v) { if (v !== null) most = Math.max(most, v); }); });
    most = most || 1;
    var svg = sv("svg", { viewBox: "0 0 " + w + " " + h, "class": "chart", role: "img" }, [sv("title", {}, [opts.title])]);
    [0, 0.5, 1].forEach(function (f) {
      var y = top + plotH * (1 - f);
      svg.appendChild(sv("line", { x1: left, x2: w - 10, y1: y, y2: y, "class": "grid" }));
      svg.appendChild(sv("text", { x: left - 6, y: y + 4, "class": "tick" }, [opts.format(most * f)]));
    });
    var n = labels.length, step = plotW / Math.max(n, 1);
    series.forEach(function (s, k) {
      if (opts.bars) {
        s.values.forEach(function (v, i) {
          var bh = plotH * v / most;
          svg.appendChild(sv("rect", { x: left + i * step + step * 0.1, y: top + plotH - bh, width: Math.max(step * 0.8, 0.5), height: bh, fill: s.color, "class": "bar" },
            [sv("title", {}, [labels[i] + ": " + opts.format(v)])]));
        });
      } else {
        var d = "", pen = "M";
        s.values.forEach(function (v, i) {
          if (v === null) { pen = "M"; return; }
          d += pen + (left + (i + 0.5) * step).toFixed(1) + "," + (top + plotH * (1 - v / most)).toFixed(1) + " ";
          pen = "L";
        });
        svg.appendChild(sv("path", { d: d, fill: "none", stroke: s.color, "stroke-width": 2, "class": "line", "stroke-dasharray": k ? "6 4" : "none" }, [sv("title", {}, [s.name])]));
      }
    });
    svg.appendChild(sv("text", { x: left, y: h - 8, "class": "tick start" }, [labels[0] || ""]));
    svg.appendChild(sv("text", { x: w - 10, y: h - 8, "class": "tick" }, [labels[n - 1] || ""]));
    var legend = el("div", { "class": "legend" }, series.map(function (s) {
      return el("span", {}, [el("i", { style: "background:" + s.color }), s.name]);
    }));
    holder.appendChild(el("figure", {}, [el("figcaption", {}, [opts.title]), svg, legend]));
  }

  function perBlock() {  // each top-level entry: a block call's totals, or a layer's own
    var items = [], at = {};
    LAYERS.forEach(function (l) {
      var top = chain(l.block)[0], key = top || l.name;
      if (!(key in at)) { at[key] = items.length; items.push({ label: key, params: 0, macs: 0 }); }
      items[at[key]].params += l.params; items[at[key]].macs += l.macs;
    });
    return items;
  }

  function charts() {
    var holder = byId("charts"), grain = byId("grain");
    function costs() {
      holder.querySelectorAll(".costs").forEach(function (f) { f.remove(); });
      var items = grain.value === "block" ? perBlock() : LAYERS.map(function (l) { return { label: l.name, params: l.params, macs: l.macs }; });
      var labels = items.map(function (i) { return i.label; });
      var box = el("div", { "class": "costs" });
      holder.insertBefore(box, holder.firstChild);
      chart(box, [{ name: "parameters", color: "#1f6feb", values: items.map(function (i) { return i.params; }) }], labels, { title: "Parameters per " + grain.value, format: count, bars: true });
      chart(box, [{ name: "MACs", color: "#8250df", values: items.map(function (i) { return i.macs; }) }], labels, { title: "MACs per " + grain.value, format: count, bars: true });
    }
    grain.addEventListener("change", costs);
    costs();
    var names = LAYERS.map(function (l) { return l.name; }), kept = 0;
    chart(holder, [{ name: "output of each layer", color: "#2da44e", values: LAYERS.map(function (l) { return l.output_bytes; }) }], names,
      { title: "Activation memory along the depth (batch " + PLAN.memory.batch_size + ", " + PLAN.memory.dtype + ")", format: bytes, bars: true });
    chart(holder, [{ name: "saved for backward, running total", color: "#bf8700", values: LAYERS.map(function (l) { kept += l.saved_bytes; return kept; }) }], names,
      { title: "Saved-for-backward memory along the depth", format: bytes });
    var axes = 0;
    LAYERS.forEach(function (l) { if (l.receptive_field) axes = Math.max(axes, l.receptive_field.size.length); });
    if (axes) {
      var axisNames = { 1: ["length"], 2: ["height", "width"], 3: ["depth", "height", "width"] }[axes] || [];
      var colors = ["#cf222e", "#0969da", "#1a7f37"], series = [];
      for (var a = 0; a < axes; a++) {
        series.push({ name: "receptive field, " + (axisNames[a] || "axis " + a), color: colors[a % 3],
          values: LAYERS.map(function (l) { return l.receptive_field ? l.receptive_field.size[a] : null; }) });
      }
      chart(holder, series, names, { title: "Receptive field growth (pixels of the input)", format: function (v) { return String(Math.round(v)); } });
    }
  }

  // ---- the table -------------------------------------------------------------------------
  var COLUMNS = [
    ["index", "#", function (l) { return l.index; }, function (v) { return String(v + 1); }],  // from 1, as plan's table
    ["name", "name", function (l) { return l.name; }, String],
    ["type", "type", function (l) { return l.type; }, String],
    ["block", "block", function (l) { return l.block || ""; }, String],
    ["output", "output", function (l) { return elements(l.output_shape); }, function (v, l) { return shape(l.output_shape); }],
    ["params", "params", function (l) { return l.params; }, full],
    ["macs", "MACs", function (l) { return l.macs; }, full],
    ["activations", "activations", function (l) { return l.output_bytes; }, bytes],
    ["saved", "saved", function (l) { return l.saved_bytes; }, bytes],
    ["rf", "receptive field", function (l) { return l.receptive_field ? l.receptive_field.size[0] : -1; }, function (v, l) { return rfText(l.receptive_field); }],
  ];
  var order = { column: "index", down: false };
  function table() {
    var head = byId("layers").querySelector("thead tr");
    COLUMNS.forEach(function (c) {
      var th = el("th", { "data-column": c[0], tabindex: 0, scope: "col" }, [c[1]]);
      var act = function () { order = { column: c[0], down: order.column === c[0] ? !order.down : c[0] !== "name" && c[0] !== "type" && c[0] !== "block" && c[0] !== "index" }; rows(); };
      th.addEventListener("click", act);
      th.addEventListener("keydown", function (ev) { if (ev.key === "Enter") act(); });
      head.appendChild(th);
    });
    byId("filter").addEventListener("input", rows);
    rows();
  }
  function rows() {
    var column = COLUMNS.filter(function (c) { return c[0] === order.column; })[0];
    var words = byId("filter").value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = LAYERS.filter(function (l) {
      var text = (l.name + " " + l.type + " " + (l.block || "")).toLowerCase();
      return words.every(function (w) { return text.indexOf(w) >= 0; });
    });
    shown.sort(function (a, b) {
      var x = column[2](a), y = column[2](b), c = x < y ? -1 : x > y ? 1 : a.index - b.index;
      return order.down ? -c : c;
    });
    var body = byId("layers").querySelector("tbody"), fresh = el("tbody");
    shown.forEach(function (l) {
      var tr = el("tr", { "data-index": l.index, title: "show " + l.name + " in the diagram" }, COLUMNS.map(function (c) {
        return el("td", { "class": "c-" + c[0] }, [c[3](c[2](l), l)]);
      }));
      tr.addEventListener("click", function () { locate(l); });
      fresh.appendChild(tr);
    });
    body.parentNode.replaceChild(fresh, body);
    byId("layers").querySelectorAll("thead th").forEach(function (th) {
      th.setAttribute("aria-sort", th.getAttribute("data-column") === order.column ? (order.down ? "descending" : "ascending") : "none");
    });
    byId("table-count").textContent = shown.length + " of " + LAYERS.length + " layers";
  }

  summary();
  foldTo(DATA.fold_depth);
  diagramControls();
  drawDiagram();
  charts();
  table();
  document.body.setAttribute("data-ready", "true");
})();
