// The support desk: reads the queue and trends, sends corrections and resolutions, all through
// the service's API with the agent's key. Every element is built with textContent: a customer's
// text is shown, never interpreted.
"use strict";

const KEY_SLOT = "agora-desk-key";
const CORRECTABLE = ["sentiment", "is_complaint", "reason", "category", "urgency", "queue"];

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

async function call(method, path, body) {
  const headers = { "X-API-Key": sessionStorage.getItem(KEY_SLOT) || "" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = (data.error && data.error.message) || response.statusText;
    throw new Error(`${response.status}: ${message}`);
  }
  return data;
}

function setStatus(node, message, isError = false) {
  node.textContent = message;
  node.classList.toggle("error", isError);
}

function newId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function labelRow(item) {
  const labels = el("div", { className: "labels" });
  for (const name of ["sentiment", "reason", "category", "queue"]) {
    const value = (item.corrections && item.corrections[name]) || item[name];
    if (value) labels.append(el("span", { className: `label-${name}`, text: `${name}: ${value}` }));
  }
  return labels;
}

function evidenceOf(item) {
  const parts = [];
  for (const part of item.evidence || []) {
    const terms = [...new Set((part.terms || []).map((term) => term.term))];
    if (terms.length) parts.push(`${part.task} ${part.label}: ${terms.join(", ")}`);
  }
  return parts.length ? el("p", { className: "evidence", text: `evidence · ${parts.join(" · ")}` }) : null;
}

function similarOf(item) {
  const cases = item.similar_cases || [];
  if (!cases.length) return null;
  const list = el("ul", { className: "similar" });
  for (const found of cases) {
    const what = [found.reason, found.category].filter(Boolean).join(" / ");
    const text = `${(found.similarity ?? 0).toFixed(2)} ${what}: ${found.resolution || ""} (${found.outcome || ""})`;
    list.append(el("li", { text }));
  }
  return el("div", { className: "similar-cases" },
    el("p", { className: "similar", text: "similar resolved cases:" }), list);
}

function correctionForm(item, choices, done) {
  const field = el("select", { className: "correct-field", "aria-label": "field to correct" });
  for (const name of CORRECTABLE) field.append(el("option", { value: name, text: name }));
  const label = el("select", { className: "correct-label", "aria-label": "correct label" });
  const fillLabels = () => {
    label.replaceChildren();
    for (const value of choices[field.value] || []) label.append(el("option", { value, text: value }));
  };
  field.addEventListener("change", fillLabels);
  fillLabels();
  const button = el("button", { type: "button", className: "correct", text: "Correct" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await call("POST", "/corrections", {
        triage_id: item.triage_id, field: field.value, correct_label: label.value,
        correction_id: newId(),
      });
      setStatus(done, `corrected ${field.value} to ${label.value}`);
    } catch (error) {
      setStatus(done, `correction failed: ${error.message}`, true);
    } finally {
      button.disabled = false;
    }
  });
  return [field, label, button];
}

function resolutionForm(item, outcomes, done, card) {
  const text = el("textarea", { className: "resolution-text", placeholder: "How was it resolved?",
    "aria-label": "resolution" });
  const outcome = el("select", { className: "resolution-outcome", "aria-label": "outcome" });
  for (const value of outcomes) outcome.append(el("option", { value, text: value }));
  const button = el("button", { type: "button", className: "resolve", text: "Resolve" });
  button.addEventListener("click", async () => {
    if (!text.value.trim()) {
      setStatus(done, "write the resolution first", true);
      return;
    }
    button.disabled = true;
    try {
      await call("POST", "/resolutions", {
        triage_id: item.triage_id, resolution: text.value, outcome: outcome.value,
        resolution_id: newId(),
      });
      setStatus(done, `resolved (${outcome.value})`);
      card.classList.add("resolved");
    } catch (error) {
      setStatus(done, `resolution failed: ${error.message}`, true);
      button.disabled = false;
    }
  });
  return [text, outcome, button];
}

function caseCard(item, choices, outcomes) {
  const card = el("li", { className: "case", "data-triage-id": item.triage_id });
  const when = new Date((item.occurred_at || item.created_at) * 1000).toLocaleString();
  const urgency = item.urgency || "normal";
  card.append(
    el("div", { className: "meta" },
      el("span", { className: `urgency urgency-${urgency}`, text: urgency }),
      ` ${when} · customer ${item.customer_id || "-"} · item ${item.item_id || "-"}`),
    el("p", { className: "text", text: item.text }),
    ...[labelRow(item), evidenceOf(item), similarOf(item)].filter(Boolean),
  );
  const done = el("span", { className: "done" });
  card.append(el("div", { className: "actions" }, ...correctionForm(item, choices, done)));
  card.append(el("div", { className: "actions" }, ...resolutionForm(item, outcomes, done, card), done));
  return card;
}

async function loadQueue() {
  const status = document.getElementById("queue-status");
  setStatus(status, "loading…");
  try {
    const data = await call("GET", "/desk/queue?limit=50");
    const queue = document.getElementById("queue");
    const outcomes = data.outcomes || ["resolved"];
    queue.replaceChildren(...data.cases.map((item) => caseCard(item, data.choices || {}, outcomes)));
    setStatus(status, `${data.cases.length} open cases, most urgent first`);
  } catch (error) {
    setStatus(status, `could not load the queue: ${error.message}`, true);
  }
}

async function loadTrends() {
  const status = document.getElementById("trends-status");
  try {
    const data = await call("GET", "/analytics/complaints?since=7d&by=reason");
    const body = document.querySelector("#trends-table tbody");
    body.replaceChildren(...(data.groups || []).map((group) =>
      el("tr", {}, el("td", { text: group.group }), el("td", { text: String(group.total) }))));
    const alerts = document.getElementById("alerts");
    alerts.replaceChildren(...(data.alerts || []).map((alert) => {
      const d = alert.details || {};
      const when = new Date(alert.window_start * 1000).toLocaleString();
      return el("li", {
        text: `spike ${when}: ${alert.dimension} ${alert.group_value}, ${d.count} messages where `
          + `${Number(d.expected).toFixed(1)} were expected (p=${Number(d.p_value).toExponential(1)})`,
      });
    }));
    setStatus(status, "");
  } catch (error) {
    setStatus(status, `trends unavailable: ${error.message}`, true);
  }
}

function openDesk() {
  document.getElementById("sign-in").hidden = true;
  document.getElementById("desk").hidden = false;
  loadQueue();
  loadTrends();
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("sign-in").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_SLOT, document.getElementById("api-key").value.trim());
    openDesk();
  });
  document.getElementById("refresh").addEventListener("click", () => { loadQueue(); loadTrends(); });
  if (sessionStorage.getItem(KEY_SLOT)) openDesk();
});
