// SPDX-License-Identifier: GPL-2.0-or-later
// dashboard.js - the dashboard's one script: polls this daemon's API and
// draws the totals, the charts (plain SVG) and the recent requests.
//
// Polling, not a push feed: the API runs in libmicrohttpd's internal
// thread, where a held-open SSE response would need a suspended
// connection and a wake-up per record; /v1/usage is a copy of an
// in-memory table, cheap to ask every 2 s. The SQL queries (charts,
// table) run only when the request count moved, a control changed, or a
// minute passed (so the time axis rolls on). Nothing polls while the tab
// is hidden.
//
// Every record field reaches the page as textContent, never as markup.
"use strict";

(function () {
	const POLL_MS = 2000;
	const SLOW_MS = 60000;
	const TIMEOUT_MS = 10000;
	const SERIES_MAX = 8;	// colours s0..s7; the rest are summed as "other"
	const SVGNS = "http://www.w3.org/2000/svg";
	const nf = new Intl.NumberFormat("en-US");

	const state = {
		requests: -1,	// the count the charts and table were drawn for
		slowAt: 0,
		dirty: true,	// the SQL-backed parts must be fetched again
		kicked: false,	// a control changed during a poll
		timer: 0,
		busy: false,
		topId: 0,	// the newest record id in the table
	};

	const $ = (sel) => document.querySelector(sel);

	function fmtInt(n) {
		return typeof n === "number" ? nf.format(n) : "–";
	}

	function fmtUsd(v) {
		if (typeof v !== "number")
			return "–";
		return "$" + v.toFixed(Math.abs(v) >= 1 || v === 0 ? 2 : 4);
	}

	function fmtCompact(v, usd) {
		const a = Math.abs(v);
		let s;
		if (a >= 1e9)
			s = (v / 1e9).toFixed(a >= 1e10 ? 0 : 1) + "G";
		else if (a >= 1e6)
			s = (v / 1e6).toFixed(a >= 1e7 ? 0 : 1) + "M";
		else if (a >= 1e3)
			s = (v / 1e3).toFixed(a >= 1e4 ? 0 : 1) + "k";
		else
			s = usd ? v.toFixed(a >= 1 || v === 0 ? 2 : 3) : String(v);
		return usd ? "$" + s : s;
	}

	async function getJSON(url, okStatuses) {
		const ctl = new AbortController();
		const t = setTimeout(() => ctl.abort(), TIMEOUT_MS);
		try {
			const r = await fetch(url, { cache: "no-store", signal: ctl.signal });
			if (!r.ok && !(okStatuses || []).includes(r.status))
				throw new Error(url.split("?")[0] + ": HTTP " + r.status);
			return await r.json();
		} finally {
			clearTimeout(t);
		}
	}

	function el(tag, attrs, text) {
		const e = document.createElement(tag);
		for (const k in attrs || {})
			e.setAttribute(k, attrs[k]);
		if (text !== undefined)
			e.textContent = text;
		return e;
	}

	function svg(tag, attrs, text) {
		const e = document.createElementNS(SVGNS, tag);
		for (const k in attrs || {})
			e.setAttribute(k, attrs[k]);
		if (text !== undefined)
			e.textContent = text;
		return e;
	}

	// An integer cell: the text formatted, the exact value in data-value.
	function numCell(v, usd) {
		const td = el("td", {}, usd ? fmtUsd(v) : fmtInt(v));
		td.dataset.value = v === null || v === undefined ? "" : String(v);
		if (usd && typeof v === "number")
			td.title = "$" + v;
		return td;
	}

	function showTotals(u) {
		for (const dd of document.querySelectorAll("[data-total]")) {
			const k = dd.dataset.total;
			const v = u.totals[k];
			dd.dataset.value = v === null || v === undefined ? "" : String(v);
			dd.textContent = k === "cost_usd" ? fmtUsd(v) : fmtInt(v);
			dd.title = k === "cost_usd" && typeof v === "number" ?
				"$" + v + (u.totals.unpriced_requests ?
					" (" + u.totals.unpriced_requests + " unpriced)" : "") : "";
		}
		$("#since").textContent = u.since ? "since " + u.since : "";
	}

	function setStatus(kind, text) {
		const s = $("#status");
		s.dataset.state = kind;
		s.textContent = text;
	}

	// The buckets of a range: keys as store_group.c writes them (UTC).
	function buckets(range) {
		const hour = range === "24h";
		const step = hour ? 3600 : 86400;
		const n = hour ? 24 : parseInt(range, 10);
		const now = Math.floor(Date.now() / 1000);
		const first = (Math.floor(now / step) - n + 1) * step;
		const out = [];
		for (let i = 0; i < n; i++) {
			const iso = new Date((first + i * step) * 1000).toISOString();
			out.push(hour ? iso.slice(0, 13) + ":00Z" : iso.slice(0, 10));
		}
		return { unit: hour ? "hour" : "day", keys: out,
			since: new Date(first * 1000).toISOString().slice(0, 19) + "Z" };
	}

	// Series from groups: the biggest by the metric first, the tail as one.
	function series(groups, by, unit, metric) {
		const map = new Map();
		for (const g of groups) {
			const key = g[by];
			let s = map.get(key);
			if (!s) {
				s = { key: key, name: by === "model" && g.label ? g.label : key,
				      requests: 0, total_tokens: 0, cost_usd: 0,
				      priced: false, at: new Map() };
				map.set(key, s);
			}
			s.requests += g.requests;
			s.total_tokens += g.total_tokens;
			if (typeof g.cost_usd === "number") {
				s.cost_usd += g.cost_usd;
				s.priced = true;
			}
			const v = metric === "cost_usd" ? g.cost_usd || 0 : g[metric];
			s.at.set(g[unit], (s.at.get(g[unit]) || 0) + v);
		}
		const all = [...map.values()].sort((a, b) =>
			(metric === "cost_usd" ? b.cost_usd - a.cost_usd :
			 b.total_tokens - a.total_tokens) || (a.key < b.key ? -1 : 1));
		if (all.length <= SERIES_MAX)
			return all;
		const rest = { key: "", name: "other (" + (all.length - SERIES_MAX + 1) + ")",
			       other: true, requests: 0, total_tokens: 0, cost_usd: 0,
			       priced: false, at: new Map() };
		for (const s of all.slice(SERIES_MAX - 1)) {
			rest.requests += s.requests;
			rest.total_tokens += s.total_tokens;
			rest.cost_usd += s.cost_usd;
			rest.priced = rest.priced || s.priced;
			for (const [k, v] of s.at)
				rest.at.set(k, (rest.at.get(k) || 0) + v);
		}
		return all.slice(0, SERIES_MAX - 1).concat([rest]);
	}

	// A "nice" axis maximum and step: 1, 2 or 5 times a power of ten.
	function niceAxis(max) {
		if (max <= 0)
			return { max: 1, step: 0.25 };
		const raw = max / 4;
		const p = Math.pow(10, Math.floor(Math.log10(raw)));
		const f = raw / p;
		const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
		return { max: step * Math.ceil(max / step), step: step };
	}

	// Counted back from the newest bucket, so "now" always has a label.
	function axisLabel(key, unit, i, n) {
		if (unit === "hour")
			return (n - 1 - i) % 6 === 0 ? key.slice(11, 16) : "";
		return n <= 7 || (n - 1 - i) % 5 === 0 ? key.slice(5, 10) : "";
	}

	// Stacked bars, one per bucket, one colour per series.
	function drawChart(plot, b, ss, metric) {
		const W = 640, H = 220, L = 52, R = 8, T = 8, B = 22;
		const usd = metric === "cost_usd";
		const sums = b.keys.map((k) => ss.reduce((a, s) => a + (s.at.get(k) || 0), 0));
		const ax = niceAxis(Math.max(0, ...sums));
		const root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img",
			"aria-label": plot.parentNode.querySelector("figcaption").textContent });
		const y = (v) => T + (H - T - B) * (1 - v / ax.max);
		for (let v = 0; v <= ax.max + ax.step / 2; v += ax.step) {
			root.append(svg("line", { class: "grid", x1: L, x2: W - R, y1: y(v), y2: y(v) }));
			root.append(svg("text", { x: L - 4, y: y(v) + 4, "text-anchor": "end" },
				fmtCompact(Number(v.toPrecision(6)), usd)));
		}
		const bw = (W - L - R) / b.keys.length;
		b.keys.forEach((k, i) => {
			let acc = 0;
			ss.forEach((s, si) => {
				const v = s.at.get(k) || 0;
				if (v <= 0)
					return;
				const r = svg("rect", { class: "s" + si, x: L + i * bw + bw * 0.1,
					y: y(acc + v), width: bw * 0.8,
					height: Math.max(0.5, y(acc) - y(acc + v)) });
				r.dataset.series = s.key;
				r.dataset.bucket = k;
				r.dataset.value = String(v);
				r.append(svg("title", {}, s.name + " · " + k + ": " +
					(usd ? fmtUsd(v) : fmtInt(v) + " tokens")));
				root.append(r);
				acc += v;
			});
			const lab = axisLabel(k, b.unit, i, b.keys.length);
			if (lab)
				root.append(svg("text", { x: L + i * bw + bw / 2, y: H - 6,
					"text-anchor": "middle" }, lab));
		});
		if (!ss.length)
			root.append(svg("text", { class: "empty", x: (L + W) / 2, y: H / 2,
				"text-anchor": "middle" }, "no records in this range"));
		plot.replaceChildren(root);
	}

	function drawLegend(tbody, ss, by) {
		tbody.replaceChildren(...ss.map((s, si) => {
			const tr = el("tr");
			tr.dataset.series = s.key;
			const sw = el("td");
			sw.append(el("span", { class: "swatch s" + si }));
			const name = el("td", {}, s.key === "" && !s.other ?
				(by === "agent" ? "(no agent)" : "(none)") : s.name);
			if (s.name !== s.key && !s.other)
				name.title = s.key;
			tr.append(sw, name, numCell(s.requests), numCell(s.total_tokens),
				numCell(s.priced ? Number(s.cost_usd.toFixed(9)) : null, true));
			return tr;
		}));
	}

	async function refreshCharts() {
		const range = $("#range").value, metric = $("#metric").value;
		const b = buckets(range);
		const q = (by) => getJSON("/v1/usage?since=" + encodeURIComponent(b.since) +
			"&by=" + b.unit + "," + by);
		const docs = await Promise.all([q("model"), q("agent")]);
		["model", "agent"].forEach((by, i) => {
			const fig = $("#chart-" + by);
			const ss = series(docs[i].groups, by, b.unit, metric);
			drawChart(fig.querySelector(".plot"), b, ss, metric);
			drawLegend(fig.querySelector(".legend tbody"), ss, by);
		});
	}

	// Keeps a select's choice while its options follow the data.
	function setChoices(sel, values) {
		const cur = sel.value;
		const want = [""].concat([...new Set(values)].filter((v) => v).sort());
		if (cur && !want.includes(cur))
			want.push(cur);
		const have = [...sel.options].map((o) => o.value);
		if (have.join("\n") === want.join("\n"))
			return;
		sel.replaceChildren(...want.map((v) => el("option", { value: v },
			v === "" ? "any" : v)));
		sel.value = cur;
	}

	async function refreshChoices(u) {
		const f = $("#filters");
		setChoices(f.elements.model, Object.keys(u.models || {}));
		setChoices(f.elements.endpoint, Object.keys(u.endpoints || {}));
		for (const by of ["host", "agent", "key"]) {
			const d = await getJSON("/v1/usage?by=" + by);
			setChoices(f.elements[by], d.groups.map((g) => g[by]));
		}
	}

	function recentRow(r, fresh) {
		const tr = el("tr", fresh ? { class: "new" } : {});
		tr.dataset.id = String(r.id);
		const t = el("td", {}, (r.time || "").replace("T", " ").replace(/\.\d+Z$|Z$/, ""));
		t.title = r.time || "";
		const cut = el("td", r.complete ? {} : { class: "cut" },
			r.complete ? "" : "cut");
		tr.append(t, el("td", {}, r.agent || "–"), el("td", {}, r.model || "–"),
			el("td", {}, r.host), el("td", {}, r.endpoint),
			el("td", {}, String(r.status)),
			numCell(r.input_tokens), numCell(r.output_tokens),
			numCell(r.thinking_tokens), numCell(r.cached_tokens),
			numCell(r.cache_creation_tokens), numCell(r.cost_usd, true),
			numCell(Math.round(r.duration_ms)), cut);
		return tr;
	}

	async function refreshRecent() {
		const q = new URLSearchParams();
		for (const e of $("#filters").elements)
			if (e.name && e.value)
				q.set(e.name, e.value);
		const rows = await getJSON("/v1/requests?" + q.toString());
		const top = state.topId;
		$("#recent tbody").replaceChildren(...rows.map((r) =>
			recentRow(r, top > 0 && r.id > top)));
		state.topId = rows.length ? rows[0].id : 0;
		$("#recent-note").textContent = rows.length ? "" :
			"no records match these filters";
	}

	async function poll() {
		state.timer = 0;
		state.busy = true;
		state.kicked = false;
		try {
			const [u, h] = await Promise.all([getJSON("/v1/usage"),
				getJSON("/health", [503])]);
			showTotals(u);
			if (state.dirty || u.totals.requests !== state.requests ||
			    Date.now() - state.slowAt > SLOW_MS) {
				state.dirty = false;
				await Promise.all([refreshCharts(), refreshRecent(),
					refreshChoices(u)]);
				state.requests = u.totals.requests;
				state.slowAt = Date.now();
			}
			setStatus(h.status === "ok" ? "ok" : "degraded",
				h.status === "ok" ? "live · v" + h.version :
				"degraded: " + (h.reason || "store") +
				(h.queued ? " (" + h.queued + " queued)" : ""));
			$("#updated").textContent = "updated " +
				new Date().toLocaleTimeString();
			// For a reader (and the test): what the page now shows.
			document.body.dataset.shown = String(state.requests);
		} catch (e) {
			state.dirty = true;
			setStatus("error", "daemon unreachable: " + e.message);
		}
		state.busy = false;
		schedule(state.kicked ? 0 : POLL_MS);
	}

	function schedule(ms) {
		if (state.timer)
			clearTimeout(state.timer);
		state.timer = 0;
		if (!document.hidden && !state.busy)
			state.timer = setTimeout(poll, ms);
	}

	// A control changed: redraw now (or at the end of the running poll).
	function kick() {
		state.dirty = true;
		state.kicked = true;
		schedule(0);
	}

	function init() {
		$("#range").addEventListener("change", kick);
		$("#metric").addEventListener("change", kick);
		$("#filters").addEventListener("change", kick);
		$("#filters").addEventListener("submit", (e) => e.preventDefault());
		document.addEventListener("visibilitychange", () => {
			if (document.hidden)
				schedule(0);	// clears the timer: hidden, nothing runs
			else
				kick();
		});
		poll();
	}

	if (document.readyState === "loading")
		document.addEventListener("DOMContentLoaded", init);
	else
		init();
})();
