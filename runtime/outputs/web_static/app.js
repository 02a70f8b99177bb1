// Sentio live page: state from Server-Sent Events (/events), drawn at most once a frame.
"use strict";
(function () {
  const TRAIL = 24;
  const SVGNS = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  let historyS = 300;
  let points = [];       // history points, oldest first
  let state = null;      // the latest /api/state-like object
  let dirty = false;

  function fmt(x) { return (x >= 0 ? "+" : "") + x.toFixed(2); }

  function setBar(el, v) {
    const c = Math.max(-1, Math.min(1, v));
    el.style.left = (c < 0 ? 50 + c * 50 : 50) + "%";
    el.style.width = Math.abs(c) * 50 + "%";
  }

  function addPoint(p) {
    if (points.length && p.t < points[points.length - 1].t) points = [];  // a new stream
    points.push(p);
    const from = p.t - historyS;
    while (points.length && points[0].t < from) points.shift();
  }

  function pointOf(pred) {
    return { t: pred.t, valence: pred.valence, arousal: pred.arousal, quadrant: pred.quadrant,
      color: pred.color.hex, partial: pred.partial, silent: pred.silent, change: pred.change };
  }

  function drawNow() {
    const p = state && state.prediction;
    if (!p) return;
    $("swatch").style.background = p.color.hex;
    $("hex").textContent = p.color.hex + "  hue " + Math.round(p.color.hsv[0]) + "°";
    $("quadrant").textContent = p.quadrant;
    $("quadrant").style.color = p.color.hex;
    $("valence").textContent = fmt(p.valence);
    $("arousal").textContent = fmt(p.arousal);
    setBar($("vbar"), p.valence);
    setBar($("abar"), p.arousal);
    $("time").textContent = p.t.toFixed(1) + " s  (window " + p.window_s.toFixed(1) + " s)";
    const flags = [];
    if (p.partial) flags.push(["partial", "partial " + p.window_s.toFixed(1) + " s"]);
    if (p.silent) flags.push(["silent", "silent"]);
    if (p.change) flags.push(["change", "change"]);
    if (p.clipped) flags.push(["clipped", "clipped " + p.clipped]);
    $("flags").innerHTML = "";
    for (const [cls, text] of flags) {
      const s = document.createElement("span");
      s.className = cls; s.textContent = text; $("flags").appendChild(s);
    }
    const dot = $("dot");
    dot.setAttribute("cx", Math.max(-1, Math.min(1, p.valence)));
    dot.setAttribute("cy", -Math.max(-1, Math.min(1, p.arousal)));
    dot.setAttribute("fill", p.color.hex);
  }

  function drawTrail() {
    const recent = points.slice(-TRAIL);
    $("trail").setAttribute("points",
      recent.map((q) => q.valence.toFixed(3) + "," + (-q.arousal).toFixed(3)).join(" "));
    const g = $("trailDots");
    g.innerHTML = "";
    recent.slice(0, -1).forEach((q, i) => {
      const c = document.createElementNS(SVGNS, "circle");
      c.setAttribute("cx", q.valence); c.setAttribute("cy", -q.arousal);
      c.setAttribute("r", 0.018 + 0.02 * (i / TRAIL));
      c.setAttribute("fill", q.color);
      c.setAttribute("opacity", (0.25 + 0.75 * (i / TRAIL)).toFixed(2));
      g.appendChild(c);
    });
  }

  function el(name, attrs) {
    const e = document.createElementNS(SVGNS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }

  function drawChart() {
    const svg = $("chart");
    svg.innerHTML = "";
    const W = 600, H = 180;
    svg.appendChild(el("line", { x1: 0, y1: H / 2, x2: W, y2: H / 2, stroke: "#39414d", "stroke-width": 1 }));
    if (!points.length) return;
    const t1 = points[points.length - 1].t;
    const t0 = Math.min(points[0].t, t1 - 10);
    const span = Math.max(t1 - t0, 1e-6);
    const x = (t) => ((t - t0) / span) * W;
    const y = (v) => H / 2 - Math.max(-1, Math.min(1, v)) * (H / 2 - 6);
    $("span").textContent = "last " + Math.round(t1 - t0) + " s of audio";
    let prevT = t0;
    for (const q of points) {  // silent stretches as grey bands
      if (q.silent) svg.appendChild(el("rect", { x: x(prevT), y: 0, width: Math.max(x(q.t) - x(prevT), 1), height: H, fill: "#ffffff22" }));
      prevT = q.t;
    }
    for (const q of points) {
      if (q.change) svg.appendChild(el("line", { x1: x(q.t), y1: 0, x2: x(q.t), y2: H, stroke: "#e0a800", "stroke-width": 1.5 }));
    }
    for (const [key, color] of [["valence", "#ffb347"], ["arousal", "#58a6ff"]]) {
      let seg = [], partial = null;
      const flush = () => {
        if (seg.length > 1) {
          const attrs = { points: seg.join(" "), fill: "none", stroke: color, "stroke-width": 2,
            "vector-effect": "non-scaling-stroke" };
          if (partial) attrs["stroke-dasharray"] = "5 4";
          svg.appendChild(el("polyline", attrs));
        }
      };
      for (const q of points) {
        const xy = x(q.t).toFixed(1) + "," + y(q[key]).toFixed(1);
        if (partial !== null && q.partial !== partial) { seg.push(xy); flush(); seg = []; }
        partial = q.partial;
        seg.push(xy);
      }
      flush();
    }
  }

  function drawInfo() {
    if (!state) return;
    const info = Object.assign({}, state.info || {});
    const s = state.stats || {};
    const b = state.browsers || {};
    info["windows"] = s.windows;
    info["inference"] = (s.compute_ms_mean || 0).toFixed(1) + " ms mean, " + (s.compute_ms_max || 0).toFixed(1) + " ms max";
    info["overflows / dropped samples"] = (s.overflows || 0) + " / " + (s.dropped_samples || 0);
    if (b.connected !== undefined) info["browsers"] = b.connected + " connected";
    const dl = $("info");
    dl.innerHTML = "";
    for (const k in info) {
      if (info[k] === null || info[k] === undefined || info[k] === "") continue;
      const dt = document.createElement("dt"); dt.textContent = k;
      const dd = document.createElement("dd"); dd.textContent = String(info[k]);
      dl.appendChild(dt); dl.appendChild(dd);
    }
    const ul = $("outputs");
    ul.innerHTML = "";
    for (const line of state.outputs || []) {
      const li = document.createElement("li"); li.textContent = line; ul.appendChild(li);
    }
  }

  function render() {
    dirty = false;
    drawNow(); drawTrail(); drawChart(); drawInfo();
    document.body.dataset.windows = state && state.stats ? state.stats.windows : 0;
  }

  function schedule() {
    if (dirty) return;
    dirty = true;
    (window.requestAnimationFrame || setTimeout)(render, 16);
  }

  function onSnapshot(ev) {
    const snap = JSON.parse(ev.data);
    historyS = snap.history.history_s || historyS;
    points = snap.history.points || [];
    state = snap;
    schedule();
  }

  function onPrediction(ev) {
    const msg = JSON.parse(ev.data);
    state = Object.assign({}, state || {}, { prediction: msg.prediction, stats: msg.stats });
    addPoint(pointOf(msg.prediction));
    schedule();
  }

  function connect() {
    const es = new EventSource("events");
    es.addEventListener("snapshot", onSnapshot);
    es.addEventListener("prediction", onPrediction);
    es.onopen = () => { $("conn").textContent = "live"; $("conn").className = "conn on"; };
    es.onerror = () => { $("conn").textContent = "reconnecting…"; $("conn").className = "conn off"; };
  }

  // the counters of the other outputs change without a prediction event: refresh them now and then
  setInterval(() => {
    fetch("api/state").then((r) => r.json()).then((s) => {
      if (state) { state.outputs = s.outputs; state.browsers = s.browsers; state.info = s.info; schedule(); }
    }).catch(() => {});
  }, 5000);
  connect();
})();
