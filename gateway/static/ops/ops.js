// The operations page: reads the gateway's operator API with the operator's bearer token (kept
// in sessionStorage, asked for on first use, forgotten on a 401) and draws each channel's
// scorecard, its charts (uPlot, vendored), its go-live readiness, the open exceptions with their
// Temporal UI links and the exchange log with its re-run button. No other origin is contacted.
"use strict";

const TOKEN_KEY = "orderloop.operatorToken";
const DASH = "\u2013";
const state = { channels: [], report: null, charts: [] };

const $ = (selector) => document.querySelector(selector);

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) || ""}`, Accept: "application/json" },
  });
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch (_) {
    body = text;
  }
  if (!response.ok) {
    const reason = body && typeof body === "object" && body.error
      ? body.error + (body.hint ? ` (${body.hint})` : "")
      : `HTTP ${response.status}`;
    throw new ApiError(response.status, reason);
  }
  return body;
}

// --- formatting: the API's figures as shown ----------------------------------------------------

const fmt = {
  int: (v) => (v === null || v === undefined ? DASH : String(v)),
  fixed: (v) => (v === null || v === undefined ? DASH : Number(v).toFixed(2)),
  share: (v) => (v === null || v === undefined ? DASH : `${(v * 100).toFixed(1)} %`),
  seconds: (v) => (v === null || v === undefined ? DASH : `${Number(v).toFixed(1)} s`),
  minutes: (v) => (v === null || v === undefined ? DASH : `${Number(v).toFixed(1)} min`),
  money: (v) => (v === null || v === undefined ? DASH : String(v)),
};

function cell(row, text, field, numeric = true) {
  const td = row.insertCell();
  td.textContent = text;
  if (field) td.dataset.field = field;
  if (numeric) td.className = "num";
  return td;
}

function clear(tbody) {
  while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
}

// --- sign in -----------------------------------------------------------------------------------

function showLogin(reason) {
  $("#ops").hidden = true;
  $("#period-box").hidden = true;
  $("#login").hidden = false;
  const error = $("#auth-error");
  error.hidden = !reason;
  error.textContent = reason || "";
}

function failed(error) {
  if (error instanceof ApiError && error.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin(error.message);
    return;
  }
  const box = $("#load-error");
  box.hidden = false;
  box.textContent = error.message;
}

// --- the scorecard, charts, readiness ------------------------------------------------------------

async function loadReport() {
  const since = $("#since").value;
  const report = await api(`/api/channels/report?since=${encodeURIComponent(since)}`);
  state.report = report;
  state.channels = report.channels.map((c) => c.channel);
  $("#report-period").textContent =
    `${report.since} to ${report.until}; operator time at ${report.hourlyCost} ${report.currency} an hour`;
  const readiness = await Promise.all(
    state.channels.map((channel) =>
      api(`/api/channels/${encodeURIComponent(channel)}/golive/readiness`).catch((error) => {
        if (error.status === 401) throw error;
        return { channel, stage: null, ready: null, criteria: [], error: error.message };
      })),
  );
  state.readiness = Object.fromEntries(readiness.map((r) => [r.channel, r]));
  const tbody = $("#scorecard tbody");
  clear(tbody);
  for (const c of report.channels) {
    const row = tbody.insertRow();
    row.dataset.channel = c.channel;
    const verdict = state.readiness[c.channel];
    cell(row, c.channel, "channel", false);
    cell(row, verdict.stage || DASH, "stage", false);
    const ready = cell(row, verdict.ready === null ? DASH : verdict.ready ? "ready" : "not ready", "ready", false);
    ready.className = verdict.ready ? "ready" : "not-ready";
    cell(row, fmt.int(c.orders), "orders");
    cell(row, fmt.int(c.units), "units");
    cell(row, fmt.money(c.revenue), "revenue");
    cell(row, fmt.int(c.exceptions), "exceptions");
    cell(row, fmt.fixed(c.exceptionsPer100), "exceptionsPer100");
    cell(row, fmt.share(c.automationRate), "automationRate");
    cell(row, fmt.fixed(c.operatorTouchesPer100), "operatorTouchesPer100");
    cell(row, fmt.minutes(c.operatorMinutes), "operatorMinutes");
    cell(row, fmt.int(c.manualReroutes), "manualReroutes");
    cell(row, fmt.seconds(c.timeToShipP50Seconds), "timeToShipP50Seconds");
    cell(row, fmt.seconds(c.timeToShipP95Seconds), "timeToShipP95Seconds");
    cell(row, fmt.int(c.slaBreaches), "slaBreaches");
    cell(row, fmt.seconds(c.pushLatencyP99Seconds), "pushLatencyP99Seconds");
    cell(row, fmt.money(c.costPerOrder), "costPerOrder");
    cell(row, fmt.share(c.costShareOfRevenue), "costShareOfRevenue");
  }
  for (const select of [$("#channel"), document.querySelector("#exchange-filters [name=channel]")]) {
    const keep = select.value;
    const first = select.id === "channel" ? [] : [["", "all"]];
    while (select.options.length) select.remove(0);
    for (const [value, label] of [...first, ...state.channels.map((c) => [c, c])]) {
      select.add(new Option(label, value));
    }
    if ([...select.options].some((o) => o.value === keep)) select.value = keep;
  }
  await loadChannel();
}

const CHARTS = [
  ["#chart-exceptions", "exceptions per 100", "#d62728", (p) => p.exceptionsPer100],
  ["#chart-ship", "hours", "#1f77b4", (p) => (p.timeToShipP50Seconds === null ? null : p.timeToShipP50Seconds / 3600)],
  ["#chart-cost", "%", "#2ca02c", (p) => (p.costShareOfRevenue === null ? null : p.costShareOfRevenue * 100)],
];

async function loadChannel() {
  const channel = $("#channel").value;
  if (!channel) return;
  const since = $("#since").value;
  const bucket = since === "48h" ? "1h" : "1d";
  const series = await api(
    `/api/channels/${encodeURIComponent(channel)}/report/series?since=${encodeURIComponent(since)}&bucket=${bucket}`,
  );
  for (const chart of state.charts) chart.destroy();
  state.charts = [];
  const xs = series.points.map((p) => Date.parse(p.start) / 1000);
  for (const [selector, label, colour, value] of CHARTS) {
    const target = $(selector);
    target.dataset.points = String(series.points.filter((p) => value(p) !== null).length);
    const options = {
      width: 380,
      height: 200,
      legend: { show: false },
      series: [{}, { label, stroke: colour, fill: `${colour}cc`, paths: uPlot.paths.bars({ size: [0.8, 40] }) }],
      axes: [{}, { size: 50 }],
      scales: { x: { time: true } },
    };
    state.charts.push(new uPlot(options, [xs, series.points.map(value)], target));
  }
  showReadiness(state.readiness[channel]);
}

function showReadiness(verdict) {
  const line = $("#readiness-verdict");
  if (!verdict || verdict.error) {
    line.textContent = verdict ? verdict.error : "";
    clear($("#readiness tbody"));
    return;
  }
  const since = verdict.monitoringSince ? `, monitoring since ${verdict.monitoringSince}` : "";
  line.textContent = `${verdict.channel}: stage ${verdict.stage || DASH}, ` +
    `${verdict.ready ? "ready" : "not ready"} (window ${verdict.windowHours} h${since})`;
  line.className = verdict.ready ? "ready" : "not-ready";
  const tbody = $("#readiness tbody");
  clear(tbody);
  for (const c of verdict.criteria) {
    const row = tbody.insertRow();
    cell(row, c.name, "name", false);
    cell(row, c.value === null ? DASH : String(c.value), "value");
    cell(row, String(c.threshold), "threshold");
    cell(row, c.passed ? "yes" : "no", "passed", false).className = c.passed ? "ready" : "not-ready";
    cell(row, c.detail, "detail", false);
  }
}

// --- open exceptions ---------------------------------------------------------------------------------

async function loadExceptions() {
  const open = await api("/api/exceptions/open");
  const byKind = $("#exceptions-by-kind tbody");
  clear(byKind);
  for (const k of open.byKind) {
    const row = byKind.insertRow();
    cell(row, k.channel, "channel", false);
    cell(row, k.kind, "kind", false);
    cell(row, String(k.count), "count");
  }
  const list = $("#open-exceptions tbody");
  clear(list);
  for (const e of open.exceptions) {
    const row = list.insertRow();
    row.dataset.workflowId = e.workflowId;
    cell(row, e.raisedAt, "raisedAt", false);
    cell(row, e.channel, "channel", false);
    cell(row, e.kind, "kind", false);
    const link = document.createElement("a");
    link.href = e.uiUrl;
    link.textContent = e.workflowId;
    link.target = "_blank";
    link.rel = "noopener";
    link.className = "ui-link";
    row.insertCell().appendChild(link);
  }
}

// --- the exchange log --------------------------------------------------------------------------------

async function loadExchanges() {
  const form = new FormData($("#exchange-filters"));
  const params = new URLSearchParams({ since: $("#since").value, limit: "100" });
  for (const [key, value] of form.entries()) if (value) params.set(key, value);
  const data = await api(`/api/exchanges?${params}`);
  $("#exchange-totals").textContent =
    `${data.count} shown; in the period ${data.totals.ok} ok, ${data.totals.failed} failed`;
  const tbody = $("#exchanges tbody");
  clear(tbody);
  for (const x of data.exchanges) {
    const row = tbody.insertRow();
    row.dataset.id = String(x.id);
    row.className = x.status;
    cell(row, String(x.id), "id");
    cell(row, x.at, "at", false);
    cell(row, x.direction, "direction", false);
    cell(row, x.channel, "channel", false);
    const order = row.insertCell();
    order.dataset.field = "order";
    if (x.orderId) {
      const link = document.createElement("a");
      link.href = x.orderUiUrl;
      link.textContent = x.orderId;
      link.target = "_blank";
      link.rel = "noopener";
      order.appendChild(link);
    }
    cell(row, x.operation, "operation", false);
    cell(row, `${x.statusCode === null ? "no answer" : x.statusCode} ${x.status}`, "status", false);
    cell(row, String(x.attempt), "attempt");
    cell(row, String(x.durationMs), "durationMs");
    cell(row, x.error || x.summary, "what", false);
    const actions = row.insertCell();
    const show = document.createElement("button");
    show.type = "button";
    show.textContent = "show";
    show.className = "show";
    show.addEventListener("click", () => showExchange(x.id).catch(failed));
    actions.appendChild(show);
    if (x.rerunnable) {
      const rerun = document.createElement("button");
      rerun.type = "button";
      rerun.textContent = "re-run";
      rerun.className = "rerun";
      rerun.addEventListener("click", () => rerunExchange(x.id, rerun).catch(failed));
      actions.appendChild(rerun);
    } else if (x.rerunAt) {
      actions.appendChild(document.createTextNode(` re-run by ${x.rerunBy}`));
    }
  }
}

async function showExchange(id) {
  const x = await api(`/api/exchanges/${id}`);
  $("#exchange-detail").hidden = false;
  $("#exchange-title").textContent =
    `#${x.id} ${x.direction} ${x.channel} ${x.method || ""} ${x.target || ""} ${x.statusCode ?? "no answer"}`;
  $("#exchange-request").textContent = JSON.stringify(x.request, null, 2);
  $("#exchange-response").textContent = JSON.stringify(x.response, null, 2);
}

async function rerunExchange(id, button) {
  button.disabled = true;
  const out = $("#rerun-result");
  try {
    const result = await api(`/api/exchanges/${id}/rerun`, { method: "POST" });
    out.className = "";
    out.textContent = `re-run of #${id}: ${result.message} (order ${result.orderId} now ${result.orderStatus})`;
  } catch (error) {
    if (error.status === 401) throw error;
    out.className = "error";
    out.textContent = `re-run of #${id} refused: ${error.message}`;
    button.disabled = false;
    return;
  }
  await loadExchanges();
}

// --- wiring ------------------------------------------------------------------------------------------

async function loadAll() {
  $("#load-error").hidden = true;
  try {
    await loadReport();
    $("#login").hidden = true;
    $("#ops").hidden = false;
    $("#period-box").hidden = false;
    await Promise.all([loadExceptions(), loadExchanges()]);
    document.body.dataset.loaded = String(Date.now());
  } catch (error) {
    failed(error);
  }
}

$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("#token").value.trim());
  $("#token").value = "";
  loadAll();
});
$("#sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin(null);
});
$("#refresh").addEventListener("click", loadAll);
$("#since").addEventListener("change", loadAll);
$("#channel").addEventListener("change", () => loadChannel().catch(failed));
$("#exchange-filters").addEventListener("submit", (event) => {
  event.preventDefault();
  loadExchanges().catch(failed);
});

if (sessionStorage.getItem(TOKEN_KEY)) loadAll();
else showLogin(null);
