// A workflow drawn as its DAG: steps in columns by depth (the longest dependsOn chain before
// them), edges from each dependency to its dependent, each step coloured by its phase. Pure
// layout (layout()) and an SVG built with DOM calls (no markup strings, so no injection).
const SVG = 'http://www.w3.org/2000/svg';
const W = 220, H = 52, GX = 56, GY = 22;

export function layout(steps) {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const depth = new Map();
  const visiting = new Set();
  const d = (name) => {
    if (depth.has(name)) return depth.get(name);
    if (visiting.has(name)) return 0;  // a cycle (the operator refuses it; draw it anyway)
    visiting.add(name);
    const s = byName.get(name);
    let v = 0;
    for (const p of (s && s.dependsOn) || []) if (byName.has(p)) v = Math.max(v, d(p) + 1);
    visiting.delete(name);
    depth.set(name, v);
    return v;
  };
  const columns = [];
  for (const s of steps) {
    const c = d(s.name);
    (columns[c] = columns[c] || []).push(s.name);
  }
  const pos = new Map();
  columns.forEach((names, c) => names.forEach((n, r) => {
    pos.set(n, { x: 10 + c * (W + GX), y: 10 + r * (H + GY) });
  }));
  const rows = Math.max(1, ...columns.map((c) => (c ? c.length : 0)));
  return { pos, width: 20 + columns.length * (W + GX) - GX, height: 20 + rows * (H + GY) - GY };
}

function el(name, attrs, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

export function renderDag(steps) {
  const { pos, width, height } = layout(steps);
  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
    'aria-label': 'Workflow steps and their dependencies', class: 'dag' });
  const defs = el('defs');
  const marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5,
    markerWidth: 8, markerHeight: 8, orient: 'auto-start-reverse' });
  marker.appendChild(el('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'dag-arrow' }));
  defs.appendChild(marker);
  svg.appendChild(defs);
  for (const s of steps) {
    for (const p of s.dependsOn || []) {
      const a = pos.get(p), b = pos.get(s.name);
      if (!a || !b) continue;
      const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2, mx = (x1 + x2) / 2;
      svg.appendChild(el('path', { d: `M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2} ${y2}`,
        class: 'dag-edge', 'marker-end': 'url(#arrow)' }));
    }
  }
  for (const s of steps) {
    const p = pos.get(s.name);
    const g = el('g', { class: 'dag-step phase-' + String(s.phase || 'Pending').toLowerCase(),
      'data-step': s.name, transform: `translate(${p.x} ${p.y})` });
    g.appendChild(el('title', {}, `${s.name}: ${s.phase || 'Pending'}` +
      (s.message ? ' — ' + s.message : '')));
    g.appendChild(el('rect', { width: W, height: H, rx: 8 }));
    g.appendChild(el('text', { x: 10, y: 21, class: 'dag-name' }, s.name));
    g.appendChild(el('text', { x: 10, y: 40, class: 'dag-phase' },
      `${s.phase || 'Pending'} · ${s.agent}` + (s.attempts ? ` · try ${s.attempts}` : '')));
    svg.appendChild(g);
  }
  return svg;
}
