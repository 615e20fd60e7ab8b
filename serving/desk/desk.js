// The support desk: reads the queue and trends, sends corrections and resolutions, all through
// the service's API with the agent's key. Every element is built with textContent: a customer's
// text is shown, never interpreted.
"use strict";

const KEY_SLOT = "agora-desk-key";
const LANGUAGE_SLOT = "agora-desk-language";
const DRAFTS_SLOT = "agora-desk-drafts";
const CORRECTABLE = ["sentiment", "is_complaint", "reason", "category", "urgency", "queue"];
const NOT_RESOLVED = "not_resolved";  // the outcome that leaves a case open
const UNKNOWN_ZONE = "Etc/Unknown";
// Without dates the queue holds the cases that arrived in these last days; the count says so,
// since an open case that arrived before is not in it (the page said "16 open cases" with a 17th
// out of sight). The date filter reaches further back, a page at a time ("Show more").
const QUEUE_DAYS = 7;
const PAGE_SIZE = 50;

// The desk speaks English or Simplified Chinese: `?lang=zh` or `?lang=en`, else the agent's last
// choice (the language button), else the browser's languages. The API's own vocabularies (urgency
// levels, sentiments, outcomes, `unsure`, the spike dimensions) are shown in Chinese with the API
// name beside it, "未解决（not_resolved）": a Chinese-speaking agent chose an outcome among
// "resolved / workaround / not_resolved" without reading which one leaves the case open, and the
// name is still what reports, routing and the API use. Every value sent is the API name. Labels
// a deployment defines (its reasons, categories, queues) are shown as they are named.
const STRINGS = {
  en: {
    title: "Agora support desk",
    switchTo: "中文",
    keyLabel: "Agent API key",
    open: "Open the desk",
    keyHint: "The key stays in this tab only (session storage) and is sent with each call.",
    trends: "Trends (last 7 days, by reason)",
    complaints: "complaints",
    queue: "Queue",
    refresh: "Refresh",
    loading: "loading…",
    // Counts take the form of their number: `key_one` for 1, `key_other` otherwise (the
    // page said "1 open cases").
    cases_open_one: "{total} open case",
    cases_open_other: "{total} open cases",
    cases_resolved_one: "{total} resolved case",
    cases_resolved_other: "{total} resolved cases",
    cases_all_one: "{total} case",
    cases_all_other: "{total} cases",
    lastDays: "of the last {days} days",
    between: "that arrived from {from} to {to}",
    fromDay: "that arrived from {from} on",
    toDay: "that arrived up to {to}",
    inQueue: "in queue {queue}",
    listSeparator: ", ",
    ofUrgency: "of urgency {urgency}",
    allShown: "{cases} {scope}, most urgent first",
    someShown: "{shown} of {cases} {scope}, most urgent first (Show more for the next {page})",
    filters: "Filter the queue",
    status: "status",
    status_open: "open",
    status_resolved: "resolved",
    status_all: "all",
    any: "any",
    fromLabel: "from",
    toLabel: "to",
    apply: "Apply",
    more: "Show more",
    datesReversed: "the “from” day is after the “to” day",
    queueFailed: "could not load the queue: {error}",
    keyRefused: "That key cannot open the desk ({error}). Enter an agent key.",
    signOut: "Sign out",
    trendsFailed: "trends unavailable: {error}",
    spike_one: "spike {when}: {dimension} {group}, {count} message where {expected} were expected (p={p})",
    spike_other: "spike {when}: {dimension} {group}, {count} messages where {expected} were expected (p={p})",
    customer: "customer",
    item: "item",
    evidence: "evidence",
    similar: "similar resolved cases:",
    cut: "(the first {shown} of {total} characters)",
    fieldToCorrect: "field to correct",
    correctLabel: "correct label",
    correct: "Correct",
    corrected: "corrected {field} to {label}",
    correctionFailed: "correction failed: {error}",
    howResolved: "How was it resolved?",
    resolution: "resolution",
    outcome: "outcome",
    resolve: "Resolve",
    writeFirst: "write the resolution first",
    resolved: "resolved ({outcome})",
    stillOpen: "recorded as not resolved: the case stays open",
    lastAttempt: "last attempt ({outcome}, {agent}): {resolution}",
    resolvedAs: "resolution ({outcome}, {agent}, {when}): {resolution}",
    resolutionFailed: "resolution failed: {error}",
    alreadyResolved: "not recorded: {agent} resolved this case at {when} ({outcome}). Your text is kept: Refresh to read theirs, or replace theirs with yours.",
    replace: "Replace {agent}'s resolution",
    replaced: "replaced {agent}'s resolution ({outcome})",
    field_sentiment: "sentiment",
    field_is_complaint: "is_complaint",
    field_complaint: "complaint",
    field_reason: "reason",
    field_category: "category",
    field_urgency: "urgency",
    field_queue: "queue",
  },
  zh: {
    title: "Agora 客服工作台",
    switchTo: "English",
    keyLabel: "客服 API 密钥",
    open: "打开工作台",
    keyHint: "密钥只保存在本标签页（会话存储）中，随每次请求发送。",
    trends: "趋势（近 7 天，按原因）",
    complaints: "投诉数",
    queue: "待处理队列",
    refresh: "刷新",
    loading: "加载中…",
    cases_open_other: "{total} 个待处理案例",
    cases_resolved_other: "{total} 个已解决案例",
    cases_all_other: "{total} 个案例",
    lastDays: "近 {days} 天",
    between: "{from} 至 {to} 到达",
    fromDay: "{from} 起到达",
    toDay: "{to} 及以前到达",
    inQueue: "队列 {queue}",
    listSeparator: "，",
    ofUrgency: "紧急程度 {urgency}",
    allShown: "{scope}的 {cases}，最紧急的在前",
    someShown: "{scope}的 {cases}，已显示最紧急的 {shown} 个（“显示更多”再加载 {page} 个）",
    filters: "筛选队列",
    status: "状态",
    status_open: "待处理",
    status_resolved: "已解决",
    status_all: "全部",
    any: "全部",
    fromLabel: "从",
    toLabel: "到",
    apply: "应用",
    more: "显示更多",
    datesReversed: "开始日期晚于结束日期",
    queueFailed: "无法加载队列：{error}",
    keyRefused: "此密钥无法打开工作台（{error}），请输入客服密钥。",
    signOut: "退出",
    trendsFailed: "趋势暂不可用：{error}",
    spike_other: "激增 {when}：{dimension} {group}，{count} 条消息，预期 {expected} 条（p={p}）",
    customer: "客户",
    item: "商品",
    evidence: "依据",
    similar: "相似的已解决案例：",
    cut: "（仅显示前 {shown} 个字符，共 {total} 个）",
    fieldToCorrect: "要更正的字段",
    correctLabel: "正确的标签",
    correct: "更正",
    corrected: "已将 {field} 更正为 {label}",
    correctionFailed: "更正失败：{error}",
    howResolved: "是如何解决的？",
    resolution: "解决方法",
    outcome: "结果",
    resolve: "标记为已解决",
    writeFirst: "请先填写解决方法",
    resolved: "已记录：{outcome}",
    stillOpen: "已记录为未解决：案例仍待处理",
    lastAttempt: "上次处理（{outcome}，{agent}）：{resolution}",
    resolvedAs: "解决方法（{outcome}，{agent}，{when}）：{resolution}",
    resolutionFailed: "提交解决方法失败：{error}",
    alreadyResolved: "未记录：{agent} 已于 {when} 解决此案例（{outcome}）。你填写的内容已保留：可刷新查看对方的解决方法，或用你的替换。",
    replace: "替换 {agent} 的解决方法",
    replaced: "已替换 {agent} 的解决方法（{outcome}）",
    field_sentiment: "情感",
    field_is_complaint: "是否投诉",
    field_complaint: "投诉判定",
    field_reason: "原因",
    field_category: "类别",
    field_urgency: "紧急程度",
    field_queue: "处理队列",
  },
};

// What each API value reads as in a language other than English (only the fixed vocabularies).
const VALUE_NAMES = {
  zh: {
    low: "低", normal: "普通", high: "高", critical: "紧急",
    negative: "负面", neutral: "中性", positive: "正面",
    resolved: "已解决", workaround: "临时解决", not_resolved: "未解决",
    unsure: "不确定", "(none)": "无", true: "是", false: "否", inquiry: "咨询或建议（非投诉）",
    item: "商品", item_reason: "商品 · 原因",
  },
};

function chooseLanguage() {
  const asked = new URLSearchParams(window.location.search).get("lang");
  if (asked && asked in STRINGS) return asked;
  const saved = localStorage.getItem(LANGUAGE_SLOT);
  if (saved && saved in STRINGS) return saved;
  const preferred = (navigator.languages || [navigator.language || "en"]).find(Boolean) || "en";
  return preferred.toLowerCase().startsWith("zh") ? "zh" : "en";
}

const LANGUAGE = chooseLanguage();

// The text of `key` in the desk's language, with each {name} replaced by vars[name].
function t(key, vars = {}) {
  const template = STRINGS[LANGUAGE][key] ?? STRINGS.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

// The text of `key` for the number `count` (vars.count): the language's plural form of it, e.g.
// `cases_open_one` for 1 in English; Chinese has one form (`_other`).
function tn(key, count, vars = {}) {
  const form = new Intl.PluralRules(LANGUAGE === "zh" ? "zh-CN" : "en").select(count);
  const strings = STRINGS[LANGUAGE];
  const chosen = `${key}_${form}` in strings ? `${key}_${form}` : `${key}_other`;
  return t(chosen, { count, ...vars });
}

function fieldName(name) {
  return t(`field_${name}`);
}

// An id is shown as stored, except a bidirectional control in it: the service stores any id a
// client sends, and an override reorders what follows it (item "\u202e05" read as item 50, and
// an unclosed one reversed the rest of the line). Each is shown as its code point instead.
const BIDI_CONTROL = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function shownId(id) {
  if (!id) return "-";
  return String(id).replace(BIDI_CONTROL,
    (c) => `[U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}]`);
}

// An API value as the agent reads it: "紧急（critical）" in Chinese, the value itself in English
// or when the value is a deployment's own label. Never used for what is sent.
function shown(value) {
  const name = (VALUE_NAMES[LANGUAGE] || {})[String(value)];
  return name ? `${name}（${value}）` : String(value);
}

// A spike's dimension: "reason" is a correctable field, the item dimensions are not.
function dimensionName(dimension) {
  return dimension === "reason" ? fieldName("reason") : shown(dimension);
}

function translatePage() {
  document.documentElement.lang = LANGUAGE === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  const button = document.getElementById("language");
  button.textContent = t("switchTo");
  button.lang = LANGUAGE === "zh" ? "en" : "zh-CN";
}

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
    const error = new Error(`${response.status}: ${message}`);
    error.status = response.status;
    error.details = data.error || {};  // its code, and what that code documents
    throw error;
  }
  return data;
}

// A key the service refuses (removed, or not an agent's) brings the sign-in back, whichever call
// met it: a refused Correct or Resolve left the agent on a desk where every call failed the same
// way. What they were writing is kept (drafts survive a sign-in). True if `error` was that.
function keyRefused(error) {
  if (error.status !== 401 && error.status !== 403) return false;
  signOut(t("keyRefused", { error: error.message }));
  return true;
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
    if (value) labels.append(el("span", { className: `label-${name}`, text: `${fieldName(name)}: ${shown(value)}` }));
  }
  return labels;
}

function evidenceOf(item) {
  const parts = [];
  for (const part of item.evidence || []) {
    const terms = [...new Set((part.terms || []).map((term) => term.term))];
    if (terms.length) parts.push(`${fieldName(part.task)} ${shown(part.label)}: ${terms.join(", ")}`);
  }
  return parts.length ? el("p", { className: "evidence", text: `${t("evidence")} · ${parts.join(" · ")}` }) : null;
}

function similarOf(item) {
  const cases = item.similar_cases || [];
  if (!cases.length) return null;
  const list = el("ul", { className: "similar" });
  for (const found of cases) {
    const what = [found.reason, found.category].filter(Boolean).map(shown).join(" / ");
    const outcome = found.outcome ? shown(found.outcome) : "";
    const text = `${(found.similarity ?? 0).toFixed(2)} ${what}: ${found.resolution || ""} (${outcome})`;
    list.append(el("li", { text }));
  }
  return el("div", { className: "similar-cases" },
    el("p", { className: "similar", text: t("similar") }), list);
}

function correctionForm(item, choices, done, card) {
  const field = el("select", { className: "correct-field", "aria-label": t("fieldToCorrect") });
  for (const name of CORRECTABLE) field.append(el("option", { value: name, text: fieldName(name) }));
  const label = el("select", { className: "correct-label", "aria-label": t("correctLabel") });
  const fillLabels = () => {
    label.replaceChildren();
    for (const value of choices[field.value] || []) label.append(el("option", { value, text: shown(value) }));
  };
  field.addEventListener("change", fillLabels);
  fillLabels();
  const button = el("button", { type: "button", className: "correct", text: t("correct") });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await call("POST", "/corrections", {
        triage_id: item.triage_id, field: field.value, correct_label: label.value,
        correction_id: newId(),
      });
      setStatus(done, t("corrected", { field: fieldName(field.value), label: label.value }));
      // The card shows the correction at once, as the queue does from now on: it kept the
      // model's label (and urgency badge) until a refresh, as if the correction had not taken.
      item.corrections = { ...item.corrections, [field.value]: label.value };
      showLabels(card, item);
    } catch (error) {
      if (keyRefused(error)) return;
      setStatus(done, t("correctionFailed", { error: error.message }), true);
    } finally {
      button.disabled = false;
    }
  });
  return [field, label, button];
}

// Resolutions being written, by triage id, kept in the tab like the key: Refresh rebuilds every
// card and a reload the whole page, and each threw away what the agent had typed, unasked.
function drafts() {
  try {
    return JSON.parse(sessionStorage.getItem(DRAFTS_SLOT) || "{}");
  } catch {
    return {};
  }
}

function saveDraft(triageId, text) {
  const all = drafts();
  if (text.trim()) all[triageId] = text;
  else delete all[triageId];
  sessionStorage.setItem(DRAFTS_SLOT, JSON.stringify(all));
}

// A case's latest resolution, if it closed the case (a `not_resolved` attempt leaves it open).
function closingResolution(item) {
  const last = item.resolution;
  return last && last.outcome !== NOT_RESOLVED ? last : null;
}

function whenOf(epochSeconds) {
  return new Date(epochSeconds * 1000).toLocaleString(LANGUAGE);
}

// The case leaves the open count once, however many times it is resolved or replaced here.
function countResolved(card) {
  if (card.dataset.counted || shownQuery.status !== "open") return;
  card.dataset.counted = "1";
  openCount.shown -= 1;
  openCount.total -= 1;
  showOpenCount();
}

function resolutionForm(item, outcomes, done, card) {
  const text = el("textarea", { className: "resolution-text", placeholder: t("howResolved"),
    "aria-label": t("resolution") });
  text.value = drafts()[item.triage_id] || "";
  text.addEventListener("input", () => saveDraft(item.triage_id, text.value));
  const outcome = el("select", { className: "resolution-outcome", "aria-label": t("outcome") });
  for (const value of outcomes) outcome.append(el("option", { value, text: shown(value) }));
  const button = el("button", { type: "button", className: "resolve", text: t("resolve") });
  // The resolution a click replaces: a resolved case's (shown with resolved cases), or the one
  // another agent recorded first, learnt from a refusal. The service refuses a resolution of a
  // resolved case that does not name the one it replaces: two agents never both resolve a case.
  let replaces = closingResolution(item);
  const offerReplace = () => {
    if (replaces) button.textContent = t("replace", { agent: replaces.agent });
  };
  offerReplace();
  if (replaces) card.dataset.counted = "1";  // a resolved case is not in the open count
  button.addEventListener("click", async () => {
    if (!text.value.trim()) {
      setStatus(done, t("writeFirst"), true);
      return;
    }
    button.disabled = true;
    const body = {
      triage_id: item.triage_id, resolution: text.value, outcome: outcome.value,
      resolution_id: newId(),
    };
    if (replaces) body.replaces = replaces.resolution_id;
    try {
      await call("POST", "/resolutions", body);
      const sent = { agent: replaces && replaces.agent, outcome: shown(outcome.value) };
      text.value = "";
      saveDraft(item.triage_id, "");
      button.disabled = false;
      button.textContent = t("resolve");
      replaces = null;
      if (outcome.value === NOT_RESOLVED) {
        // The case stays open for the next attempt (the queue keeps it): the page said
        // "resolved (not_resolved)", greyed the card and locked its Resolve button.
        setStatus(done, t("stillOpen"));
        card.classList.remove("resolved");
        return;
      }
      setStatus(done, sent.agent ? t("replaced", sent) : t("resolved", sent));
      card.classList.add("resolved");
      countResolved(card);
    } catch (error) {
      if (keyRefused(error)) return;
      button.disabled = false;
      const latest = error.details.resolution;
      if (error.status === 409 && error.details.code === "already_resolved" && latest) {
        // Another agent resolved it first (or replaced the resolution this one replaced): say
        // who and when, keep the draft, and let the agent decide to replace theirs knowingly.
        const said = { ...latest, outcome: shown(latest.outcome), when: whenOf(latest.created_at) };
        setStatus(done, t("alreadyResolved", said), true);
        replaces = latest;
        offerReplace();
        if (latest.outcome !== NOT_RESOLVED) {
          card.classList.add("resolved");
          countResolved(card);
        }
        return;
      }
      setStatus(done, t("resolutionFailed", { error: error.message }), true);
    }
  });
  return [text, outcome, button];
}

// An open case's earlier attempt (`not_resolved`): the next agent reads it before starting over.
// A resolved case's resolution (with resolved cases shown) is what a replacement would replace.
function lastAttempt(item) {
  const last = item.resolution;
  if (!last) return null;
  const said = { ...last, outcome: shown(last.outcome) };
  const text = closingResolution(item)
    ? t("resolvedAs", { ...said, when: whenOf(last.created_at) })
    : t("lastAttempt", said);
  return el("p", { className: "attempt", text });
}

// The queue sends a long message's opening only (its first 4,000 characters): say so.
function cutNote(item) {
  const shown = [...item.text].length;  // characters, as the service counts them
  if (!(item.text_chars > shown)) return null;
  return el("p", { className: "cut", text: t("cut", { shown, total: item.text_chars }) });
}

function urgencyBadge(item) {
  // An agent's correction of the urgency is what the queue is ordered by, so it is what shows.
  const urgency = (item.corrections && item.corrections.urgency) || item.urgency || "normal";
  return el("span", { className: `urgency urgency-${urgency}`, text: shown(urgency) });
}

// Show `item`'s labels as corrected so far on its card.
function showLabels(card, item) {
  card.querySelector(".urgency").replaceWith(urgencyBadge(item));
  card.querySelector(".labels").replaceWith(labelRow(item));
}

function caseCard(item, choices, outcomes) {
  const card = el("li", { className: "case", "data-triage-id": item.triage_id });
  const when = new Date((item.occurred_at || item.created_at) * 1000).toLocaleString(LANGUAGE);
  card.append(
    el("div", { className: "meta" },
      urgencyBadge(item),
      ` ${when} · ${t("customer")} ${shownId(item.customer_id)} · ${t("item")} ${shownId(item.item_id)}`),
    // dir=auto: a message in Arabic or Hebrew reads right to left, its punctuation where its
    // writer put it (in the page's left-to-right flow "!" and "." jumped to the sentence's start).
    el("p", { className: "text", dir: "auto", text: item.text }),
    ...[cutNote(item), labelRow(item), evidenceOf(item), lastAttempt(item), similarOf(item)]
      .filter(Boolean),
  );
  // role=status: a screen reader announces "corrected ..." or a failure; without it a click
  // on Correct or Resolve was followed by silence, success or not.
  const done = el("span", { className: "done", role: "status" });
  card.append(el("div", { className: "actions" }, ...correctionForm(item, choices, done, card)));
  card.append(el("div", { className: "actions" }, ...resolutionForm(item, outcomes, done, card), done));
  return card;
}

// The open cases as last loaded, less those resolved on the page since: the count said "18 open"
// after each resolution until a refresh.
const openCount = { shown: 0, total: 0 };
// The query the shown cases answer (the filters when Apply or Refresh was last pressed), and the
// cursor of its next page (null: none).
let shownQuery = { status: "open", queue: "", urgency: "", from: "", to: "" };
let nextCursor = null;

// What the shown cases are: "12 open cases of the last 7 days, most urgent first", or "50 of
// 180 ..." when more pages remain.
function showOpenCount() {
  const { shown, total } = openCount;
  const q = shownQuery;
  // The filters first, then the days: "1 open case of urgency high, of the last 7 days".
  const parts = [];
  if (q.queue) parts.push(t("inQueue", { queue: q.queue }));
  if (q.urgency) parts.push(t("ofUrgency", { urgency: shown(q.urgency) }));
  if (q.from && q.to) parts.push(t("between", { from: q.from, to: q.to }));
  else if (q.from) parts.push(t("fromDay", { from: q.from }));
  else if (q.to) parts.push(t("toDay", { to: q.to }));
  else parts.push(t("lastDays", { days: QUEUE_DAYS }));
  const vars = {
    cases: tn(`cases_${q.status}`, total, { total }), scope: parts.join(t("listSeparator")), shown,
    page: Math.min(PAGE_SIZE, total - shown),
  };
  const status = document.getElementById("queue-status");
  setStatus(status, total > shown ? t("someShown", vars) : t("allShown", vars));
}

// The day after `day` (YYYY-MM-DD): "to" is the whole of its day, the service's `until` excludes.
function dayAfter(day) {
  const [y, m, d] = day.split("-").map(Number);
  const next = new Date(Date.UTC(y, m - 1, d + 1));
  return next.toISOString().slice(0, 10);
}

function agentZone() {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return zone && zone !== UNKNOWN_ZONE ? zone : "";
}

// The queue's URL for the first page of `q`, or for the page after `cursor`.
function queueUrl(q, cursor) {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (cursor) {
    params.set("cursor", cursor);  // it carries the query and its window
  } else {
    params.set("status", q.status);
    if (q.queue) params.set("queue", q.queue);
    if (q.urgency) params.set("urgency", q.urgency);
    if (q.from || q.to) {
      // Days of the agent's own calendar: the service reads the dates in their zone.
      if (q.from) params.set("since", q.from);
      if (q.to) params.set("until", dayAfter(q.to));
      const zone = agentZone();
      if (zone) params.set("tz", zone);
    } else {
      params.set("since_hours", String(QUEUE_DAYS * 24));
    }
  }
  return `/desk/queue?${params}`;
}

function filtersAsked() {
  return {
    status: document.getElementById("filter-status").value,
    queue: document.getElementById("filter-queue").value,
    urgency: document.getElementById("filter-urgency").value,
    from: document.getElementById("filter-from").value,
    to: document.getElementById("filter-to").value,
  };
}

// Fill a filter's choices (the served models' queues, the urgency levels), keeping its value.
function fillChoices(id, values) {
  const select = document.getElementById(id);
  const kept = select.value;
  const options = [el("option", { value: "", text: t("any") })];
  for (const value of new Set([...(values || []), ...(kept ? [kept] : [])])) {
    options.push(el("option", { value, text: shown(value) }));
  }
  select.replaceChildren(...options);
  select.value = kept;
}

// Read the queue's first page for the filters as they are now (`more`: the next page, added
// below the cases shown).
async function loadQueue(more = false) {
  const status = document.getElementById("queue-status");
  const moreButton = document.getElementById("more");
  const asked = more ? shownQuery : filtersAsked();
  if (asked.from && asked.to && asked.from > asked.to) {
    setStatus(status, t("queueFailed", { error: t("datesReversed") }), true);
    return;
  }
  setStatus(status, t("loading"));
  moreButton.disabled = true;
  try {
    const data = await call("GET", queueUrl(asked, more ? nextCursor : null));
    const queue = document.getElementById("queue");
    const outcomes = data.outcomes || ["resolved"];
    // A case is offered the labels of its language's own models where they answer a field:
    // POST /corrections refuses the others (`neutral` on a Chinese case of a two-class model).
    const ownChoices = data.language_choices || {};
    const cards = data.cases.map((item) =>
      caseCard(item, { ...(data.choices || {}), ...(ownChoices[item.language] || {}) }, outcomes));
    if (more) queue.append(...cards);
    else queue.replaceChildren(...cards);
    const choices = data.choices || {};
    fillChoices("filter-queue", choices.queue);
    fillChoices("filter-urgency", choices.urgency);
    shownQuery = asked;
    nextCursor = data.next_cursor || null;
    moreButton.hidden = !nextCursor;
    openCount.shown = queue.children.length;
    openCount.total = Math.max(data.total || 0, openCount.shown);
    showOpenCount();
  } catch (error) {
    if (keyRefused(error)) return;  // a wrong key must not lock the tab
    setStatus(status, t("queueFailed", { error: error.message }), true);
  } finally {
    moreButton.disabled = false;
  }
}

async function loadTrends() {
  const status = document.getElementById("trends-status");
  try {
    // The agent's own days: a team in UTC+8 reading UTC days would see each day cut at 08:00.
    // A browser that cannot tell its zone says "Etc/Unknown" (ICU's name for none), which the
    // service refuses: the panel then showed only that 400. The service's default zone is better.
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const tz = zone && zone !== UNKNOWN_ZONE ? `&tz=${encodeURIComponent(zone)}` : "";
    // The service widens a range to whole days: `7d` began at midnight seven days ago and
    // counted eight days under "last 7 days"; `6d` is today and the six days before it.
    const data = await call("GET", `/analytics/complaints?since=6d&by=reason${tz}`);
    const body = document.querySelector("#trends-table tbody");
    body.replaceChildren(...(data.groups || []).map((group) =>
      el("tr", {}, el("td", { text: shown(group.group) }), el("td", { text: String(group.total) }))));
    const alerts = document.getElementById("alerts");
    alerts.replaceChildren(...(data.alerts || []).map((alert) => {
      const d = alert.details || {};
      const when = new Date(alert.window_start * 1000).toLocaleString(LANGUAGE);
      return el("li", {
        text: tn("spike", Number(d.count), {
          when, dimension: dimensionName(alert.dimension),
          group: alert.dimension === "reason" ? shown(alert.group_value) : shownId(alert.group_value),
          expected: Number(d.expected).toFixed(1), p: Number(d.p_value).toExponential(1),
        }),
      });
    }));
    setStatus(status, "");
  } catch (error) {
    setStatus(status, t("trendsFailed", { error: error.message }), true);
  }
}

function openDesk() {
  document.getElementById("sign-in").hidden = true;
  document.getElementById("desk").hidden = false;
  document.getElementById("sign-out").hidden = false;
  loadQueue();
  loadTrends();
}

// Forget the key and show the sign-in form again, with `message` (why) when there is one.
function signOut(message = "") {
  sessionStorage.removeItem(KEY_SLOT);
  document.getElementById("desk").hidden = true;
  document.getElementById("sign-out").hidden = true;
  document.getElementById("sign-in").hidden = false;
  const key = document.getElementById("api-key");
  key.value = "";
  setStatus(document.getElementById("sign-in-status"), message, Boolean(message));
  key.focus();  // the field to type into next; focus was left on the hidden desk, lost
}

document.addEventListener("DOMContentLoaded", () => {
  translatePage();
  document.getElementById("language").addEventListener("click", () => {
    localStorage.setItem(LANGUAGE_SLOT, LANGUAGE === "zh" ? "en" : "zh");
    const url = new URL(window.location.href);
    url.searchParams.delete("lang");  // the choice just made wins over a language in the link
    window.location.assign(url.toString());
  });
  document.getElementById("sign-in").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_SLOT, document.getElementById("api-key").value.trim());
    openDesk();
  });
  document.getElementById("refresh").addEventListener("click", () => { loadQueue(); loadTrends(); });
  document.getElementById("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    loadQueue();
  });
  document.getElementById("more").addEventListener("click", () => loadQueue(true));
  document.getElementById("sign-out").addEventListener("click", () => {
    // Drafts go with the agent who signs out; a refused key keeps them for its next sign-in.
    sessionStorage.removeItem(DRAFTS_SLOT);
    signOut();
  });
  if (sessionStorage.getItem(KEY_SLOT)) openDesk();
});
