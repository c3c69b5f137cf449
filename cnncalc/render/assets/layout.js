// cnncalc's layered layout, the same as cnncalc/render/svg.py's, step for step (its docstrings
// say why each step is as it is); tests/test_report_browser.py checks that both place every
// box and route every arrow alike. A drawing here is {nodes: [{id, ...}], edges: [[source id,
// target id], ...]}, in the order cnncalc/draw.py gives them.
"use strict";
var cnncalcLayout = (function () {
  var BOX_H = 62, GAP_Y = 36, MARGIN = 20;
  var BOX_MIN_W = 150, BOX_MAX_W = 300, PAD = 8;
  var GAP_BOX = 26, GAP_LANE = 12, SWEEPS = 12, SIZE = 11, BROADCAST = 4, MAX_POINTS = 100000;

  function Graph(n) {
    this.n = n; this.above = new Map(); this.below = new Map();
    this.rank = []; this.up = []; this.down = []; this.rows = []; this.chains = []; this.work = 0;
  }
  Graph.prototype.link = function (a, b) { this.down[a].push(b); this.up[b].push(a); };
  Graph.prototype.add = function (rank) { this.rank.push(rank); this.up.push([]); this.down.push([]); return this.rank.length - 1; };

  function minOf(values) { return values.reduce(function (a, b) { return b < a ? b : a; }); }

  function ranks(n, edges) {
    var outgoing = [], feeders = [], k;
    for (k = 0; k < n; k++) { outgoing.push([]); feeders.push(0); }
    edges.forEach(function (e) { outgoing[e[0]].push(e[1]); feeders[e[1]] += 1; });
    var waiting = feeders.slice(), ready = [], rank = [];
    for (k = 0; k < n; k++) { rank.push(0); if (!waiting[k]) ready.push(k); }
    ready.reverse();
    while (ready.length) {
      var item = ready.pop();
      outgoing[item].forEach(function (t) {
        rank[t] = Math.max(rank[t], rank[item] + 1);
        waiting[t] -= 1;
        if (!waiting[t]) ready.push(t);
      });
    }
    var steps = hanging(rank, outgoing, feeders);
    for (k = 0; k < n; k++) {
      if (!feeders[k] && outgoing[k].length) rank[k] = minOf(outgoing[k].map(function (t) { return rank[t]; })) - 1;
    }
    var levels = Array.from(new Set(rank)).sort(function (a, b) { return a - b; }), used = new Map();
    levels.forEach(function (level, i) { used.set(level, i); });
    return [rank.map(function (level) { return used.get(level); }), steps + n + edges.length];
  }

  function hanging(rank, outgoing, feeders) {
    var steps = 0;
    outgoing.forEach(function (readers) {
      if (readers.length < BROADCAST) return;
      var chains = [];
      readers.forEach(function (head) {
        var chain = [head];
        while (outgoing[chain[chain.length - 1]].length === 1 && feeders[outgoing[chain[chain.length - 1]][0]] === 1) {
          chain.push(outgoing[chain[chain.length - 1]][0]);
        }
        steps += chain.length;
        var last = chain[chain.length - 1];
        if (feeders[head] === 1 && outgoing[last].length === 1) {
          var reader = outgoing[last][0];
          if (rank[reader] - rank[last] > 2 * chain.length) chains.push([chain, rank[reader]]);
        }
      });
      if (chains.length >= BROADCAST) {
        chains.forEach(function (c) { c[0].forEach(function (item, k) { rank[item] = c[1] - c[0].length + k; }); });
      }
    });
    return steps;
  }

  function build(n, edges) {
    var graph = new Graph(n), r = ranks(n, edges);
    graph.work = r[1];
    r[0].forEach(function (level) { graph.add(level); });
    var rank = graph.rank, far = new Map(), lanesOut = new Map(), lanesIn = new Map();
    edges.forEach(function (e) { if (rank[e[1]] - rank[e[0]] > 1) far.set(e[1], (far.get(e[1]) || 0) + 1); });
    function laneOf(map, key) { if (!map.has(key)) map.set(key, []); return map.get(key); }
    var skipped = 0;
    edges.forEach(function (e) {
      var a = e[0], b = e[1], span = rank[b] - rank[a] - 1, chain;
      if (span > 0 && skipped + span > MAX_POINTS) {
        graph.chains.push([a, b]);  // past svg.py's MAX_POINTS: straight, unlinked, in no lane
        return;
      }
      skipped += Math.max(span, 0);
      if (span <= 0) chain = [a, b];
      else if (far.get(b) >= BROADCAST) chain = [a].concat(lane(graph, laneOf(lanesIn, b), b, span, -1).reverse(), [b]);
      else chain = [a].concat(lane(graph, laneOf(lanesOut, a), a, span, 1), [b]);
      if (span <= 0 || far.get(b) >= BROADCAST) graph.link(a, chain[1]);
      else graph.link(chain[chain.length - 2], b);
      graph.chains.push(chain);
    });
    var deepest = rank.reduce(function (most, level) { return Math.max(most, level); }, -1);  // no apply: too many arguments
    for (var level = 0; level <= deepest; level++) graph.rows.push([]);
    graph.work += rank.length;
    graph.above = spine(graph, edges);
    graph.below = new Map();
    graph.above.forEach(function (a, b) { graph.below.set(a, b); });
    return graph;
  }

  function lane(graph, path, end, span, step) {
    while (path.length < span) {
      var point = graph.add(graph.rank[end] + step * (path.length + 1));
      var last = path.length ? path[path.length - 1] : end;
      if (step > 0) graph.link(last, point); else graph.link(point, last);
      path.push(point);
    }
    return path.slice(0, span);
  }

  function spine(graph, edges) {
    var n = graph.n, after = [], before = [], readers = [], k;
    for (k = 0; k < n; k++) { after.push(0); before.push(0); readers.push([]); }
    var order = [];
    for (k = 0; k < n; k++) order.push(k);
    order.sort(function (a, b) { return graph.rank[a] - graph.rank[b]; });
    edges.forEach(function (e) { readers[e[0]].push(e[1]); });
    order.forEach(function (item) { readers[item].forEach(function (b) { before[b] = Math.max(before[b], before[item] + 1); }); });
    for (k = order.length - 1; k >= 0; k--) {
      var item = order[k];
      after[item] = readers[item].reduce(function (m, b) { return Math.max(m, after[b] + 1); }, 0);
    }
    var picked = new Map();
    order.forEach(function (item) {
      var below = graph.down[item].filter(function (b) { return b < n; });
      if (!below.length) return;
      var best = below.reduce(function (m, b) { return after[b] > after[m] || (after[b] === after[m] && b < m) ? b : m; });
      if (!picked.has(best)) { picked.set(best, item); return; }
      var held = picked.get(best);
      if (before[item] > before[held] || (before[item] === before[held] && item < held)) picked.set(best, item);
    });
    graph.work += n + edges.length;
    return picked;
  }

  function firstOrder(graph) {
    var seen = graph.rank.map(function () { return false; });
    for (var start = 0; start < graph.n; start++) {
      if (seen[start] || graph.up[start].length) continue;
      var stack = [start];
      while (stack.length) {
        var item = stack.pop();
        if (seen[item]) continue;
        seen[item] = true;
        graph.rows[graph.rank[item]].push(item);
        var next = graph.down[item].slice().reverse();
        var boxes = next.filter(function (o) { return o < graph.n; }), lanes = next.filter(function (o) { return o >= graph.n; });
        boxes.concat(lanes).forEach(function (other) { stack.push(other); });
        graph.work += 1 + graph.down[item].length;
      }
    }
    for (var k = 0; k < seen.length; k++) if (!seen[k]) graph.rows[graph.rank[k]].push(k);
  }

  function sweep(graph, levels, neighbours, pos) {
    levels.forEach(function (level) {
      var row = graph.rows[level], key = new Map();
      row.forEach(function (item, index) {
        var near = neighbours[item], total = 0;
        near.forEach(function (u) { total += pos[u]; });
        key.set(item, near.length ? total / near.length : index);
        graph.work += 1 + near.length;
      });
      row.sort(function (a, b) { return key.get(a) - key.get(b); });
      row.forEach(function (item, index) { pos[item] = index; });
    });
  }

  function crossings(graph, pos) {
    var total = 0;
    for (var r = 0; r + 1 < graph.rows.length; r++) {
      var upper = graph.rows[r], lower = graph.rows[r + 1], ends = [];
      upper.forEach(function (u) { graph.down[u].forEach(function (v) { ends.push([pos[u], pos[v]]); }); });
      ends.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
      var tree = new Array(lower.length + 1).fill(0);
      ends.forEach(function (end, seen) {
        var k = Math.trunc(end[1]) + 1, below = 0;
        while (k > 0) { below += tree[k]; k -= k & -k; }
        total += seen - below;
        k = Math.trunc(end[1]) + 1;
        while (k <= lower.length) { tree[k] += 1; k += k & -k; }
      });
      graph.work += ends.length + lower.length;
    }
    return total;
  }

  function copyRows(rows) { return rows.map(function (row) { return row.slice(); }); }

  function order(graph) {
    firstOrder(graph);
    var pos = graph.rank.map(function () { return 0; });
    graph.rows.forEach(function (row) { row.forEach(function (item, index) { pos[item] = index; }); });
    var best = crossings(graph, pos), bestRows = copyRows(graph.rows), stale = 0, down = [], up = [], k;
    for (k = 1; k < graph.rows.length; k++) down.push(k);
    for (k = graph.rows.length - 2; k >= 0; k--) up.push(k);
    for (var s = 0; s < 2 * SWEEPS; s++) {
      if (best === 0 || stale >= 4) break;
      if (s % 2) sweep(graph, up, graph.down, pos); else sweep(graph, down, graph.up, pos);
      var count = crossings(graph, pos);
      if (count < best) { best = count; bestRows = copyRows(graph.rows); stale = 0; } else stale += 1;
    }
    graph.rows = bestRows;
    return best;
  }

  function gap(graph, a, b, boxW) {
    if (a < graph.n && b < graph.n) return boxW + GAP_BOX;
    if (a < graph.n || b < graph.n) return boxW / 2 + GAP_LANE;
    return GAP_LANE;
  }

  function conflicts(graph, pos) {
    var found = new Set();
    for (var r = 0; r + 1 < graph.rows.length; r++) {
      var above = graph.rows[r], row = graph.rows[r + 1], k0 = 0, scan = 0;
      for (var index = 0; index < row.length; index++) {
        var item = row[index], inner = null;
        if (item >= graph.n) {
          for (var j = 0; j < graph.up[item].length; j++) if (graph.up[item][j] >= graph.n) { inner = graph.up[item][j]; break; }
        }
        var k1 = inner !== null ? pos[inner] : above.length;
        if (inner === null && index !== row.length - 1) continue;
        row.slice(scan, index + 1).forEach(function (other) {
          graph.up[other].forEach(function (u) {
            if ((pos[u] < k0 || pos[u] > k1) && !(u >= graph.n && other >= graph.n)) found.add(u + ">" + other);
          });
          graph.work += 1 + graph.up[other].length;
        });
        scan = index + 1; k0 = k1;
      }
    }
    return found;
  }

  function align(graph, rows, neighbours, found) {
    var total = graph.rank.length, root = [], alignTo = [], pos = [], k;
    for (k = 0; k < total; k++) { root.push(k); alignTo.push(k); pos.push(0); }
    rows.forEach(function (row) { row.forEach(function (item, index) { pos[item] = index; }); });
    var upward = neighbours === graph.up, otherSide = upward ? graph.down : graph.up;
    var partner = upward ? graph.above : graph.below, kept = upward ? graph.below : graph.above;
    rows.forEach(function (row) {
      var last = -1;
      row.forEach(function (item) {
        var near = candidates(graph, item, neighbours, otherSide, partner, kept);
        near.sort(function (a, b) { return pos[a] - pos[b]; });
        graph.work += 1 + near.length;
        var middle = (near.length - 1) / 2;
        near.slice(Math.trunc(middle), Math.trunc(middle + 0.5) + 1).forEach(function (w) {
          var edge = upward ? w + ">" + item : item + ">" + w;
          if (alignTo[item] === item && last < pos[w] && !found.has(edge)) {
            alignTo[w] = item;
            root[item] = root[w];
            alignTo[item] = root[item];
            last = pos[w];
          }
        });
      });
    });
    return root;
  }

  function candidates(graph, item, neighbours, otherSide, partner, kept) {
    var near = neighbours[item];
    if (partner.has(item)) return near.indexOf(partner.get(item)) >= 0 ? [partner.get(item)] : [];
    var free = near.filter(function (w) { return !kept.has(w); });
    if (item < graph.n) {
      var boxes = free.filter(function (w) { return w < graph.n; });
      return boxes.length ? boxes : free;
    }
    var points = free.filter(function (w) { return w >= graph.n; });
    if (points.length) return points;
    return free.filter(function (w) { return otherSide[w].every(function (o) { return o >= graph.n; }); });
  }

  function compact(graph, rows, root, boxW) {
    var gaps = new Map(), keys = [];
    rows.forEach(function (row) {
      for (var i = 0; i + 1 < row.length; i++) {
        var key = root[row[i]] + "," + root[row[i + 1]], g = gap(graph, row[i], row[i + 1], boxW);
        if (!gaps.has(key)) { gaps.set(key, 0); keys.push([root[row[i]], root[row[i + 1]], key]); }
        gaps.set(key, Math.max(gaps.get(key), g));
      }
    });
    var before = new Map(), after = new Map(), waiting = new Map();
    Array.from(new Set(root)).forEach(function (block) { waiting.set(block, 0); });
    keys.forEach(function (k) {
      var g = gaps.get(k[2]);
      if (!after.has(k[0])) after.set(k[0], []);
      if (!before.has(k[1])) before.set(k[1], []);
      after.get(k[0]).push([k[1], g]);
      before.get(k[1]).push([k[0], g]);
      waiting.set(k[1], waiting.get(k[1]) + 1);
    });
    var sortedBlocks = Array.from(waiting.keys()).sort(function (a, b) { return a - b; });
    var topo = sortedBlocks.filter(function (block) { return !waiting.get(block); });
    for (var i = 0; i < topo.length; i++) {
      (after.get(topo[i]) || []).forEach(function (p) {
        waiting.set(p[0], waiting.get(p[0]) - 1);
        if (!waiting.get(p[0])) topo.push(p[0]);
      });
    }
    var x = new Map();
    topo.forEach(function (block) { x.set(block, 0); });
    topo.forEach(function (block) {
      x.set(block, (before.get(block) || []).reduce(function (m, p) { return Math.max(m, x.get(p[0]) + p[1]); }, before.has(block) ? -Infinity : 0));
    });
    for (var j = topo.length - 1; j >= 0; j--) {
      var block = topo[j];
      if (after.has(block)) {
        x.set(block, Math.max(x.get(block), minOf(after.get(block).map(function (p) { return x.get(p[0]) - p[1]; }))));
      }
    }
    graph.work += topo.length + 2 * keys.length;
    return root.map(function (r) { return x.get(r); });
  }

  function coordinates(graph, boxW) {
    var pos = graph.rank.map(function () { return 0; });
    graph.rows.forEach(function (row) { row.forEach(function (item, index) { pos[item] = index; }); });
    var found = conflicts(graph, pos), layouts = [];
    [[graph.rows, graph.up], [graph.rows.slice().reverse(), graph.down]].forEach(function (way) {
      [false, true].forEach(function (mirrored) {
        var turned = mirrored ? way[0].map(function (row) { return row.slice().reverse(); }) : way[0];
        var xs = compact(graph, turned, align(graph, turned, way[1], found), boxW);
        layouts.push([mirrored ? xs.map(function (v) { return -v; }) : xs, mirrored]);
      });
    });
    var spans = layouts.map(function (l) { return [minOf(l[0]), -minOf(l[0].map(function (v) { return -v; }))]; });
    var narrowest = 0;
    for (var k = 1; k < 4; k++) if (spans[k][1] - spans[k][0] < spans[narrowest][1] - spans[narrowest][0]) narrowest = k;
    var low = spans[narrowest][0], high = spans[narrowest][1];
    var shifted = layouts.map(function (l, i) {
      var shift = l[1] ? high - spans[i][1] : low - spans[i][0];
      return l[0].map(function (v) { return v + shift; });
    });
    var xs = shifted[0].map(function (_, i) {
      var four = [shifted[0][i], shifted[1][i], shifted[2][i], shifted[3][i]].sort(function (a, b) { return a - b; });
      return (four[1] + four[2]) / 2;
    });
    graph.rows.forEach(function (row) {
      for (var i = 0; i + 1 < row.length; i++) xs[row[i + 1]] = Math.max(xs[row[i + 1]], xs[row[i]] + gap(graph, row[i], row[i + 1], boxW));
    });
    return xs;
  }

  function ports(graph, xs, boxW) {
    var out = new Map(), into = new Map();
    for (var item = 0; item < graph.n; item++) {
      [[graph.down[item], out, true], [graph.up[item], into, false]].forEach(function (side) {
        var near = side[0], step = Math.min(14.0, (boxW / 2 - 12) / Math.max(1, near.length));
        var ordered = near.slice().sort(function (a, b) { return xs[a] - xs[b] || a - b; });
        var offsets = ordered.map(function (o) { return xs[o] - xs[item]; }), straight = -1;
        for (var k = 0; k < offsets.length; k++) if (Math.abs(offsets[k]) < 0.5) { straight = k; break; }
        var centre = (ordered.length - 1) / 2;
        ordered.forEach(function (o, k) {
          var spot = straight < 0 ? (k - centre) * step : (k - straight) * step;
          side[1].set(side[2] ? item + ">" + o : o + ">" + item, spot);
        });
      });
    }
    return [out, into];
  }

  // A drawing laid out: {boxes: id -> [x, y], routes: [points per edge], boxW, width, height}
  function layout(drawing, boxW, top) {
    var index = new Map();
    drawing.nodes.forEach(function (node, k) { index.set(node.id, k); });
    var pairs = drawing.edges.map(function (e) { return [index.get(e[0]), index.get(e[1])]; });
    var graph = build(drawing.nodes.length, pairs), crossed = order(graph);
    var xs = graph.rank.length ? coordinates(graph, boxW) : [];
    var left = xs.length ? minOf(xs.map(function (x, k) { return x - (k < graph.n ? boxW / 2 : 0); })) : 0;
    xs = xs.map(function (x) { return x - left + MARGIN; });
    var tops = graph.rank.map(function (rank) { return top + rank * (BOX_H + GAP_Y); });
    var boxes = {};
    drawing.nodes.forEach(function (node, k) { boxes[node.id] = [xs[k] - boxW / 2, tops[k]]; });
    var p = ports(graph, xs, boxW), routes = [];
    pairs.forEach(function (pair, e) {
      var a = pair[0], b = pair[1], chain = graph.chains[e];
      var points = [[xs[a] + (p[0].get(a + ">" + chain[1]) || 0), tops[a] + BOX_H]];
      chain.slice(1, -1).forEach(function (item) { points.push([xs[item], tops[item]], [xs[item], tops[item] + BOX_H]); });
      points.push([xs[b] + (p[1].get(chain[chain.length - 2] + ">" + b) || 0), tops[b]]);
      routes.push(points);
    });
    var width = (xs.length ? -minOf(xs.map(function (x) { return -(x + boxW / 2); })) : 0) + MARGIN;
    var height = (tops.length ? -minOf(tops.map(function (t) { return -t; })) : top) + BOX_H + MARGIN;
    return { boxes: boxes, routes: routes, boxW: boxW, width: width, height: height, crossings: crossed, work: graph.work };
  }

  // ---- labels: Helvetica's advance widths, as svg.py measures them ----------------------
  var WIDTHS = {};
  [["ijl", 222], ["ftI .,:;!'[]/\\|·", 278], ["r-()\"", 333], ["cksvxyzJ", 500], ["wCDHNRU", 722], ["mMGOQ", 833], ["W", 944]]
    .forEach(function (group) { Array.from(group[0]).forEach(function (c) { WIDTHS[c] = group[1]; }); });
  function isLower(c) { return c !== c.toUpperCase() && c === c.toLowerCase(); }
  function isUpper(c) { return c !== c.toLowerCase() && c === c.toUpperCase(); }
  function width(text, size, bold) {
    var em = 0;
    Array.from(text).forEach(function (c) {
      em += WIDTHS[c] || (isLower(c) || /[0-9]/.test(c) || c === "_" ? 556 : isUpper(c) ? 700 : 833);
    });
    return em * (size || SIZE) / 1000 * (bold ? 1.08 : 1.0);
  }
  function cut(chars, keep) {
    var head = Math.floor((keep + 1) / 2);
    return chars.slice(0, head).join("") + "…" + chars.slice(chars.length - (keep - head)).join("");
  }
  function fit(text, room, size, bold) {
    if (width(text, size, bold) <= room) return text;
    var chars = Array.from(text), low = 0, high = chars.length;
    while (low < high) {
      var keep = Math.floor((low + high + 1) / 2);
      if (width(cut(chars, keep), size, bold) <= room) low = keep; else high = keep - 1;
    }
    return cut(chars, Math.max(low, 1));
  }
  function boxWidth(labels) {  // labels: each box's lines, the first bold
    var widest = 0;
    labels.forEach(function (lines) { lines.forEach(function (line, k) { widest = Math.max(widest, width(line, SIZE, k === 0)); }); });
    return Math.min(BOX_MAX_W, Math.max(BOX_MIN_W, widest + 2 * PAD + 8));
  }

  return { layout: layout, boxWidth: boxWidth, fit: fit, width: width, BOX_H: BOX_H, PAD: PAD, MARGIN: MARGIN, SIZE: SIZE };
})();
