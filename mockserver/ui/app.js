// The altcraft-mock dashboard: reads the /_mock/ JSON API, nothing else.
//
// Safety: the journal shows what clients sent, so every string reaches the page
// through textContent / createElement (see `el`), never as markup. Tokens are
// masked by the server; `maskSecrets` masks any that slipped through once more.
"use strict";

(() => {
  // How often the page looks for changes; `?refresh=MS` sets it (200 ms to 1 min).
  const POLL_MS = (() => {
    const asked = Number.parseInt(new URLSearchParams(window.location.search).get("refresh") || "", 10);
    return Number.isFinite(asked) ? Math.min(60_000, Math.max(200, asked)) : 1500;
  })();
  const JOURNAL_PAGE = 50;
  const FULL_JOURNAL_MS = 15_000;
  const FULL_TASKS_MS = 5_000;
  const TASK_PAGE = 10;
  const PROFILE_PAGE = 25;
  const FAILED_SHOWN = 200;
  const TOKEN_KEY = "altcraft-mock.admin-token";
  const FINISHED = new Set(["completed", "failed"]);
  const VENDOR_PREFIX = "/api/v1.1/";

  // -- DOM helpers ------------------------------------------------------------------
  const $ = (selector, root = document) => root.querySelector(selector);

  /** An element; string children become text nodes (never parsed as HTML). */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = String(value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const fill = (node, ...children) => {
    node.replaceChildren();
    return append(node, children);
  };

  // The page refreshes itself every POLL_MS. Replacing a button between a
  // click's mousedown and mouseup swallows the click, so what did not change
  // stays the same DOM node: `fillIfChanged` and `patchRows` compare the new
  // content's serialisation with the old (reading, never writing, markup).

  /** Replace `node`'s children only when the new ones differ. */
  function fillIfChanged(node, ...children) {
    const fresh = append(document.createElement(node.tagName), children);
    if (fresh.innerHTML !== node.innerHTML) node.replaceChildren(...fresh.childNodes);
    return node;
  }

  /** Table rows keyed by `data-id`: unchanged cells stay, changed cells are swapped. */
  function patchRows(tbody, rows) {
    const old = new Map([...tbody.rows].map((row) => [row.dataset.id, row]));
    const kept = rows.map((row) => {
      const current = old.get(row.dataset.id);
      if (!current || current.cells.length !== row.cells.length) return row;
      current.className = row.className;
      Object.assign(current.dataset, row.dataset);
      [...row.cells].forEach((cell, index) => {
        const before = current.cells[index];
        if (cell.outerHTML !== before.outerHTML) current.replaceChild(cell, before);
      });
      return current;
    });
    kept.forEach((row, index) => {
      if (tbody.rows[index] !== row) tbody.insertBefore(row, tbody.rows[index] || null);
    });
    while (tbody.rows.length > kept.length) tbody.deleteRow(-1);
  }

  function toast(message, kind = "ok") {
    const item = el("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
    $("#toasts").append(item);
    setTimeout(() => item.remove(), kind === "error" ? 7000 : 3500);
  }

  const fmt = new Intl.NumberFormat("en-US");
  const number = (n) => (typeof n === "number" ? fmt.format(n) : "–");
  const shortId = (id) => (id && id.length > 12 ? `${id.slice(0, 8)}…` : id || "–");
  const clock = (iso) => (typeof iso === "string" && iso.length >= 23 ? iso.slice(11, 23) : iso || "");
  const when = (iso) =>
    typeof iso === "string" ? iso.replace("T", " ").replace(/(\.\d{3})\d*Z$/, "$1") : "–";

  /** `polls · 2 steps`, `rate · 50/s`, `manual`. */
  function describeProgression({ mode, steps, rate }) {
    if (mode === "polls") return `polls · ${steps} steps`;
    if (mode === "rate") return `rate · ${rate}/s`;
    return mode || "–";
  }

  /** `--latency` entries: `20–50 ms · tasks/status 100 ms` (a method-less entry is every other method's). */
  function describeLatency(entries) {
    if (!entries || entries.length === 0) return "none";
    return entries
      .map(({ method, min_ms: low, max_ms: high }) => {
        const span = low === high ? `${low} ms` : `${low}–${high} ms`;
        return method ? `${method} ${span}` : span;
      })
      .join(" · ");
  }

  /** `--faults`: the file and how many rules it set (a reset restores them). */
  function describeFaultsFile(file, count) {
    if (!file) return "none";
    return `${file} · ${count} rule${count === 1 ? "" : "s"}`;
  }

  function duration(seconds) {
    const s = Math.round(seconds || 0);
    if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
    if (s >= 60) return `${Math.floor(s / 60)} min ${s % 60} s`;
    return `${s} s`;
  }

  // -- JSON view ------------------------------------------------------------------
  const JSON_TOKENS = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;

  /** Pretty JSON with coloured tokens, built from text nodes only. */
  function jsonView(value) {
    const pre = el("pre", { class: "json" });
    if (value === undefined) return append(pre, [el("span", { class: "j-null", text: "(none)" })]);
    const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
    if (typeof value === "string") return append(pre, [text]);
    let last = 0;
    for (const match of text.matchAll(JSON_TOKENS)) {
      if (match.index > last) pre.append(text.slice(last, match.index));
      if (match[1] !== undefined) {
        pre.append(el("span", { class: match[2] ? "j-key" : "j-str", text: match[1] }));
        if (match[2]) pre.append(match[2]);
      } else if (match[3] !== undefined) {
        pre.append(el("span", { class: "j-lit", text: match[3] }));
      } else {
        pre.append(el("span", { class: "j-num", text: match[4] }));
      }
      last = match.index + match[0].length;
    }
    if (last < text.length) pre.append(text.slice(last));
    return pre;
  }

  const SECRET_KEYS = new Set(["token", "authorization", "x-admin-token", "cookie"]);

  /** A copy with secret-looking fields masked (the server masks them already). */
  function maskSecrets(value) {
    if (Array.isArray(value)) return value.map(maskSecrets);
    if (!value || typeof value !== "object") return value;
    const copy = {};
    for (const [key, entry] of Object.entries(value)) {
      const secret = SECRET_KEYS.has(key.toLowerCase()) && typeof entry === "string";
      copy[key] = secret && !entry.endsWith("…") ? maskString(entry) : maskSecrets(entry);
    }
    return copy;
  }

  function maskString(text) {
    const [scheme, secret] = text.includes(" ") ? text.split(/ (.*)/s) : ["", text];
    const masked = secret.length > 4 ? `${secret.slice(0, 4)}…` : "…";
    return scheme ? `${scheme} ${masked}` : masked;
  }

  // -- the API ------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, body) {
      const text = body && typeof body === "object" ? body.error_debug || body.error_text : "";
      super(text || `HTTP ${status}`);
      this.status = status;
      this.body = body;
    }
  }

  const auth = { token: sessionStorage.getItem(TOKEN_KEY) || "", waiting: false, optional: false };

  async function api(method, path, { query, body } = {}) {
    const url = new URL(path, window.location.origin);
    for (const [key, value] of Object.entries(query || {})) {
      if (value !== null && value !== undefined && value !== "") url.searchParams.set(key, value);
    }
    const headers = { Accept: "application/json" };
    if (auth.token) headers.Authorization = `Bearer ${auth.token}`;
    const init = { method, headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(url, init);
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  const isAuthError = (error) => error instanceof ApiError && (error.status === 401 || error.status === 403);

  /** The token dialog: after a 401/403 (polling waits for an answer), or from the
   * header's button to change the token (`optional`: Escape closes it). */
  function askForToken(error, optional = false) {
    auth.waiting = true;
    auth.optional = optional;
    if (!optional) setConnection("locked");
    const dialog = $("#token-dialog");
    $("#token-error").textContent =
      error && error.status === 403 && auth.token ? "That token was refused (HTTP 403). Try again." : "";
    if (!dialog.open) dialog.showModal();
    $("#token-input").focus();
  }

  /** Run a button's action; report success or the server's reason. */
  async function act(label, action) {
    try {
      const result = await action();
      if (label) toast(label);
      await refresh({ force: true });
      return result;
    } catch (error) {
      if (isAuthError(error)) askForToken(error);
      else toast(`${error.message}`, "error");
      return null;
    }
  }

  // -- state --------------------------------------------------------------------------
  const state = {
    live: true,
    timer: null,
    busy: false,
    health: null,
    progression: null,
    methods: new Set(),
    methodsLoaded: false,
    journal: {
      method: "",
      error: "",
      cursors: [], // `before` ids of the pages newer than the one shown
      before: null,
      entries: [],
      selected: null,
      signature: null,
      topId: null, // the newest recorded entry when the page was last fetched
      lastFull: 0,
      meta: null,
    },
    tasks: {
      all: [],
      page: 0,
      filter: "all",
      selected: null,
      details: new Map(),
      signature: null,
      loadedAt: 0,
    },
    faults: [],
    profiles: {
      db: "",
      field: "email",
      q: "",
      offset: 0,
      total: 0,
      items: [],
      selected: null,
      engagements: new Map(),
      engagementsKey: null,
      dbs: new Map(), // db id -> profile count
      signature: null,
    },
  };

  // -- the refresh loop -----------------------------------------------------------------
  async function refresh({ force = false } = {}) {
    if (auth.waiting) return;
    const progression = api("GET", "/_mock/progression");
    progression.catch(() => {}); // awaited below: health (open) is shown even without the token
    const previous = state.health;
    state.health = await api("GET", "/_mock/health");
    renderServer();
    state.progression = await progression;
    renderServer();
    if (!state.methodsLoaded) loadMethodNames(); // suggestions only: not waited for
    const [journalChanged, tasksChanged] = await Promise.all([
      refreshJournal(force),
      refreshTasks(force, previous),
      refreshFaults(),
    ]);
    await refreshProfiles(force || journalChanged || tasksChanged, previous);
    setConnection("live");
  }

  function schedule() {
    clearTimeout(state.timer);
    state.timer = setTimeout(tick, POLL_MS);
  }

  async function tick() {
    if (state.live && !document.hidden && !auth.waiting && !state.busy) {
      state.busy = true;
      try {
        await refresh();
      } catch (error) {
        if (isAuthError(error)) askForToken(error);
        else setConnection("offline", error);
      } finally {
        state.busy = false;
      }
    }
    schedule();
  }

  function setConnection(mode, error) {
    const node = $("#connection");
    node.className = `connection ${mode}`;
    if (mode === "offline") node.textContent = "server unreachable, retrying…";
    else if (mode === "locked") node.textContent = "admin token needed";
    else node.textContent = state.live ? "● live" : "paused";
    node.title = error ? String(error.message || error) : "";
  }

  // -- server strip -----------------------------------------------------------------------
  function renderServer() {
    const { health, progression } = state;
    const s = health.settings || {};
    $("#version").textContent = `v${health.version}`;
    const pairs = [
      ["Progression", describeProgression({ mode: s.progression, steps: s.steps, rate: s.rate })],
      ["Status policy", s.http_status],
      ["Seed", s.seed === null || s.seed === undefined ? "random" : s.seed],
      ["Mode", s.mode],
      ["Store", s.store],
      ["Task ids", s.task_id_format],
      ["Latency", describeLatency(s.latency)],
      ["Start-up faults", describeFaultsFile(s.faults_file, s.startup_faults)],
      ["Uptime", duration(health.uptime_seconds)],
    ];
    if (health.clock) {
      // The server's time: a virtual clock (--clock virtual) stands still until moved.
      pairs.push(["Clock", `${health.clock.mode} · ${health.clock.now}`]);
    }
    fillIfChanged(
      $("#settings"),
      pairs.map(([key, value]) =>
        el("div", { class: "pair" }, el("dt", { text: key }), el("dd", { text: value })),
      ),
    );
    const c = health.counts || {};
    const counts = [
      ["accounts", c.accounts],
      ["profiles", c.profiles],
      ["tasks", c.tasks],
      ["active", c.active_tasks],
      ["engagements", c.engagements],
    ];
    fillIfChanged(
      $("#counts"),
      counts.map(([key, value]) =>
        el("div", { class: "pair" }, el("dd", { text: number(value) }), el("dt", { text: key })),
      ),
    );
    const select = $("#progression-select");
    const mode = progression && progression.default ? progression.default.mode : s.progression;
    if (document.activeElement !== select) select.value = mode;
  }

  /** Vendor method names for the filter's suggestions, from the OpenAPI document. */
  async function loadMethodNames() {
    state.methodsLoaded = true;
    try {
      const doc = await api("GET", "/_mock/openapi.json");
      for (const path of Object.keys(doc.paths || {})) {
        if (path.startsWith(VENDOR_PREFIX)) state.methods.add(path.slice(VENDOR_PREFIX.length));
      }
      renderMethodNames();
    } catch (error) {
      state.methodsLoaded = false; // try again on the next refresh (after the token, say)
    }
  }

  function renderMethodNames() {
    fill(
      $("#method-names"),
      [...state.methods].sort().map((name) => el("option", { value: name })),
    );
  }

  // -- journal -----------------------------------------------------------------------------
  /**
   * The journal, cheaply: one probe for the newest recorded entry; when it moved
   * on, only the entries after the last one seen are fetched and merged into the
   * newest page. A probe that went back (a clear, a reset, an entry recorded out
   * of order) or a filter change fetches the page whole, and so does every
   * FULL_JOURNAL_MS, so a slow request recorded late is never missed for long.
   */
  async function refreshJournal(force) {
    const j = state.journal;
    const probe = await api("GET", "/_mock/requests", { query: { limit: 1 } });
    const top = probe.requests[0] || null;
    const signature = top ? `${top.id}|${top.time}` : "empty";
    const changed = signature !== j.signature;
    j.meta = probe;
    if (!force && !changed) return false;
    if (!force && j.before !== null) {
      j.signature = signature;
      renderJournalMeta(probe); // an older page is stable: keep it still
      return changed;
    }
    const filters = { method: j.method, error: j.error };
    const stale = Date.now() - j.lastFull > FULL_JOURNAL_MS;
    const onward = !force && !stale && j.before === null && j.topId !== null && top && top.id > j.topId;
    const answer = await api("GET", "/_mock/requests", {
      query: onward
        ? { ...filters, since: j.topId, limit: JOURNAL_PAGE }
        : { ...filters, before: j.before, limit: JOURNAL_PAGE },
    });
    const fetched = answer.requests;
    if (onward) {
      const known = new Set(fetched.map((entry) => entry.id));
      j.entries = [...fetched, ...j.entries.filter((entry) => !known.has(entry.id))];
    } else {
      j.entries = fetched;
      j.lastFull = Date.now();
    }
    j.entries = j.entries.sort((a, b) => b.id - a.id).slice(0, JOURNAL_PAGE);
    j.signature = signature;
    j.topId = top ? top.id : null;
    noteMethods(j.entries);
    renderJournal();
    return changed;
  }

  function noteMethods(entries) {
    const before = state.methods.size;
    for (const entry of entries) if (entry.api_method) state.methods.add(entry.api_method);
    if (state.methods.size !== before) renderMethodNames();
  }

  function renderJournalMeta(meta) {
    const dropped = meta.dropped ? ` · ${number(meta.dropped)} dropped` : "";
    $("#journal-meta").textContent = `keeps the last ${number(meta.capacity)}${dropped}`;
  }

  function entryName(entry) {
    return entry.api_method || `${entry.method} ${entry.path}`;
  }

  function faultBadges(entry) {
    const rules = entry.fault && Array.isArray(entry.fault.rules) ? entry.fault.rules : [];
    return rules.map((rule) =>
      el("span", { class: "badge fault", title: `fault rule ${rule.id}` }, `⚡ ${rule.action}`),
    );
  }

  function errorBadge(entry) {
    if (entry.error === null || entry.error === undefined) return el("span", { class: "muted", text: "–" });
    return el("span", { class: `badge ${entry.error === 0 ? "ok" : "bad"}`, text: String(entry.error) });
  }

  function httpBadge(entry) {
    if (entry.status === null || entry.status === undefined)
      return el("span", { class: "badge bad", text: "dropped" });
    return el("span", { class: `http ${entry.status >= 400 ? "bad" : ""}`, text: String(entry.status) });
  }

  function renderJournal() {
    const j = state.journal;
    if (j.meta) renderJournalMeta(j.meta);
    const rows = j.entries.map((entry) =>
      el(
        "tr",
        {
          class: `${entry.id === j.selected ? "selected" : ""} ${entry.error ? "row-error" : ""}`,
          tabindex: 0,
          dataset: { id: entry.id },
          onclick: () => selectRequest(entry.id),
          onkeydown: (event) => event.key === "Enter" && selectRequest(entry.id),
        },
        el("td", { class: "mono muted", text: entry.id }),
        el("td", { class: "mono", title: entry.time, text: clock(entry.time) }),
        el("td", { class: "method", title: entry.path }, entryName(entry)),
        el("td", {}, httpBadge(entry)),
        el("td", {}, errorBadge(entry)),
        el("td", {}, faultBadges(entry)),
        el("td", { class: "num mono muted", text: entry.duration_ms.toFixed(1) }),
      ),
    );
    patchRows($("#request-table tbody"), rows);
    $("#request-empty").hidden = rows.length > 0;
    const filtered = j.method || j.error;
    $("#request-empty").textContent =
      j.before !== null
        ? "No older requests."
        : filtered
          ? "No request matches these filters."
          : "No requests yet. Point your client at this server.";
    const pageNo = j.cursors.length + 1;
    $("#journal-page").textContent = rows.length
      ? `page ${pageNo} · #${j.entries[0].id} – #${j.entries[j.entries.length - 1].id}${j.before === null ? " · newest first" : ""}`
      : `page ${pageNo}`;
    $("#journal-newer").disabled = j.before === null;
    $("#journal-older").disabled = j.entries.length < JOURNAL_PAGE;
    if (j.selected !== null) {
      const entry = j.entries.find((e) => e.id === j.selected);
      if (entry && $("#request-detail").dataset.shown !== String(entry.id)) renderRequestDetail(entry);
    }
  }

  function selectRequest(id) {
    state.journal.selected = id;
    const entry = state.journal.entries.find((e) => e.id === id);
    for (const row of document.querySelectorAll("#request-table tbody tr")) {
      row.classList.toggle("selected", Number(row.dataset.id) === id);
    }
    if (entry) renderRequestDetail(entry);
  }

  async function showRequestById(id) {
    const found = state.journal.entries.find((e) => e.id === id);
    if (found) {
      selectRequest(id);
    } else {
      try {
        const answer = await api("GET", "/_mock/requests", { query: { since: id - 1, before: id + 1 } });
        if (!answer.requests.length) {
          toast(`Request #${id} is no longer in the journal`, "error");
          return;
        }
        state.journal.selected = id;
        renderRequestDetail(answer.requests[0]);
      } catch (error) {
        toast(error.message, "error");
        return;
      }
    }
    $("#requests").scrollIntoView({ behavior: "smooth", block: "start" });
  }

  function renderRequestDetail(entry) {
    const detail = $("#request-detail");
    detail.hidden = false;
    detail.dataset.shown = String(entry.id);
    const taskId = entry.response && typeof entry.response === "object" ? entry.response.task_id : null;
    fill(
      $("#request-summary"),
      el("span", { class: "mono strong", text: `#${entry.id}` }),
      el("span", { class: "mono", text: `${entry.method} ${entry.path}` }),
      httpBadge(entry),
      el("span", {}, "error ", errorBadge(entry)),
      faultBadges(entry),
      entry.account ? el("span", { class: "muted", text: `account ${entry.account}` }) : null,
      el("span", { class: "muted", text: `${entry.duration_ms.toFixed(1)} ms · ${entry.time}` }),
      taskId
        ? el(
            "button",
            { type: "button", class: "link", onclick: () => showTask(taskId) },
            `task ${shortId(taskId)} →`,
          )
        : null,
    );
    const query = entry.query && Object.keys(entry.query).length ? entry.query : null;
    fill(
      $("#request-pane"),
      entry.body_note
        ? el("p", { class: "note", text: `body: ${entry.body_note} (${number(entry.body_bytes)} bytes)` })
        : null,
      entry.warning ? el("p", { class: "note", text: `warning: ${entry.warning}` }) : null,
      query ? [el("h4", { text: "Query" }), jsonView(maskSecrets(query))] : null,
      el("h4", { text: "Body" }),
      jsonView(entry.body === null ? undefined : maskSecrets(entry.body)),
      el(
        "details",
        { class: "headers" },
        el("summary", { text: `Headers (${Object.keys(entry.headers || {}).length})` }),
        jsonView(maskSecrets(entry.headers || {})),
      ),
    );
    fill(
      $("#response-pane"),
      entry.response_note ? el("p", { class: "note", text: `answer: ${entry.response_note}` }) : null,
      entry.fault ? [el("h4", { text: "Fault applied" }), jsonView(entry.fault)] : null,
      el("h4", { text: entry.status === null ? "No answer" : `HTTP ${entry.status}` }),
      jsonView(entry.response === null ? undefined : entry.response),
    );
  }

  function setJournalPage(before, cursors) {
    const j = state.journal;
    j.before = before;
    j.cursors = cursors;
    return refreshJournal(true);
  }

  // -- tasks ---------------------------------------------------------------------------------
  async function refreshTasks(force, previous) {
    const t = state.tasks;
    const counts = state.health.counts || {};
    const before = previous ? previous.counts || {} : {};
    const anyActive = t.all.some((task) => !FINISHED.has(task.status));
    // Finished tasks never change; a reset between two looks may keep the count: reload now and then.
    const mustLoad =
      force ||
      t.signature === null ||
      counts.tasks !== before.tasks ||
      counts.active_tasks > 0 ||
      anyActive ||
      Date.now() - t.loadedAt > FULL_TASKS_MS;
    if (!mustLoad) return false;
    const answer = await api("GET", "/_mock/tasks");
    t.loadedAt = Date.now();
    const tasks = answer.tasks
      .slice()
      .sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
    const signature = tasks.map((task) => `${task.task_id}:${task.status}:${task.processed}`).join(",");
    const changed = signature !== t.signature;
    t.signature = signature;
    t.all = tasks;
    for (const task of tasks) if (task.db_id !== null && task.db_id !== undefined) noteDb(task.db_id);
    await loadTaskDetails();
    renderTasks();
    return changed;
  }

  function visibleTasks() {
    const t = state.tasks;
    const shown = t.all.filter((task) =>
      t.filter === "all"
        ? true
        : t.filter === "active"
          ? !FINISHED.has(task.status)
          : task.status === t.filter,
    );
    const pages = Math.max(1, Math.ceil(shown.length / TASK_PAGE));
    t.page = Math.min(t.page, pages - 1);
    return { shown, pages, rows: shown.slice(t.page * TASK_PAGE, (t.page + 1) * TASK_PAGE) };
  }

  /** Item results of the tasks on screen (a finished task's never change: kept). */
  async function loadTaskDetails() {
    const t = state.tasks;
    const wanted = visibleTasks().rows.map((task) => task.task_id);
    if (t.selected && !wanted.includes(t.selected)) wanted.push(t.selected);
    await Promise.all(
      wanted.map(async (id) => {
        const task = t.all.find((x) => x.task_id === id);
        if (!task) return;
        const key = `${task.status}:${task.processed}`;
        const cached = t.details.get(id);
        if (cached && cached.key === key) return;
        try {
          const detail = await api("GET", `/_mock/tasks/${encodeURIComponent(id)}`);
          t.details.set(id, { key, detail, failed: failedItems(detail) });
        } catch (error) {
          if (isAuthError(error)) throw error;
        }
      }),
    );
  }

  function failedItems(detail) {
    const failed = [];
    (detail.results || []).forEach((result, index) => {
      if (result && result.error) failed.push({ index, ...result });
    });
    return failed;
  }

  function statusBadge(status) {
    return el("span", { class: `status ${status}`, text: status });
  }

  function progressBar(task) {
    const bar = el("span", { class: "bar" });
    bar.style.width = `${Math.max(0, Math.min(100, task.progress))}%`;
    return el(
      "span",
      {
        class: `progress ${task.status}`,
        role: "progressbar",
        "aria-valuemin": 0,
        "aria-valuemax": 100,
        "aria-valuenow": task.progress,
        title: `${task.progress}%`,
      },
      el("span", { class: "track" }, bar),
      el("span", { class: "pct", text: `${task.progress}%` }),
    );
  }

  function taskButtons(task) {
    if (FINISHED.has(task.status))
      return el("span", {
        class: "muted small",
        text: task.finished_at ? `finished ${clock(task.finished_at)}` : "finished",
      });
    const id = task.task_id;
    const path = `/_mock/tasks/${encodeURIComponent(id)}`;
    const stop = (fn) => (event) => {
      event.stopPropagation();
      fn();
    };
    return el(
      "span",
      { class: "buttons" },
      el(
        "button",
        {
          type: "button",
          class: "small-button",
          "data-action": "advance",
          title: "One step",
          onclick: stop(() =>
            act(`Advanced ${shortId(id)}`, () => api("POST", `${path}/advance`, { body: {} })),
          ),
        },
        "Advance",
      ),
      el(
        "button",
        {
          type: "button",
          class: "small-button",
          "data-action": "complete",
          title: "Process the rest now",
          onclick: stop(() =>
            act(`Completed ${shortId(id)}`, () => api("POST", `${path}/complete`, { body: {} })),
          ),
        },
        "Complete",
      ),
      el(
        "button",
        {
          type: "button",
          class: "small-button danger",
          "data-action": "fail",
          title: "End as failed (error 500)",
          onclick: stop(() =>
            act(`Failed ${shortId(id)}`, () => api("POST", `${path}/fail`, { body: { error: 500 } })),
          ),
        },
        "Fail",
      ),
    );
  }

  function renderTasks() {
    const t = state.tasks;
    const { shown, pages, rows } = visibleTasks();
    const active = t.all.filter((task) => !FINISHED.has(task.status)).length;
    $("#tasks-meta").textContent = `${number(t.all.length)} total · ${number(active)} active`;
    patchRows(
      $("#task-table tbody"),
      rows.map((task) => {
        const cached = t.details.get(task.task_id);
        const failed = cached ? cached.failed.length : null;
        return el(
          "tr",
          {
            class: task.task_id === t.selected ? "selected" : "",
            tabindex: 0,
            dataset: { id: task.task_id, status: task.status },
            onclick: () => selectTask(task.task_id),
            onkeydown: (event) =>
              event.key === "Enter" && event.target === event.currentTarget && selectTask(task.task_id),
          },
          el(
            "td",
            {},
            el("div", { class: "mono", title: task.task_id, text: shortId(task.task_id) }),
            el("div", { class: "muted small", text: campaignName(task) }),
          ),
          el("td", {}, statusBadge(task.status)),
          el(
            "td",
            { class: "progress-cell" },
            progressBar(task),
            el(
              "div",
              { class: "small muted items" },
              `${number(task.processed)} / ${number(task.total)} items`,
              failed ? el("span", { class: "bad-text", text: ` · ${number(failed)} failed` }) : null,
            ),
          ),
          el("td", {}, taskButtons(task)),
        );
      }),
    );
    $("#task-empty").hidden = rows.length > 0;
    $("#task-empty").textContent = t.all.length ? "No task with this status." : "No tasks yet.";
    $("#tasks-page").textContent = shown.length ? `page ${t.page + 1} of ${pages}` : "";
    $("#tasks-prev").disabled = t.page === 0;
    $("#tasks-next").disabled = t.page >= pages - 1;
    renderTaskDetail();
  }

  function selectTask(id) {
    state.tasks.selected = id;
    for (const row of document.querySelectorAll("#task-table tbody tr"))
      row.classList.toggle("selected", row.dataset.id === id);
    loadTaskDetails().then(renderTaskDetail, (error) => toast(error.message, "error"));
  }

  function showTask(id) {
    const t = state.tasks;
    t.filter = "all";
    $("#task-filter").value = "all";
    const index = t.all.findIndex((task) => task.task_id === id);
    if (index >= 0) t.page = Math.floor(index / TASK_PAGE);
    selectTask(id);
    renderTasks();
    $("#tasks").scrollIntoView({ behavior: "smooth", block: "start" });
  }

  function renderTaskDetail() {
    const t = state.tasks;
    const detail = $("#task-detail");
    const task = t.all.find((x) => x.task_id === t.selected);
    if (!task) {
      detail.hidden = true;
      return;
    }
    detail.hidden = false;
    const cached = t.details.get(task.task_id);
    const done = FINISHED.has(task.status);
    fillIfChanged(
      $("#task-summary"),
      el("span", { class: "mono strong", text: task.task_id }),
      statusBadge(task.status),
      task.request_id
        ? el(
            "button",
            { type: "button", class: "link", onclick: () => showRequestById(task.request_id) },
            `request #${task.request_id} →`,
          )
        : null,
      el("span", { class: "mono muted small source", text: task.source }),
    );
    const progression = task.progression || {};
    const facts = [
      ["Account", task.account],
      task.trigger_id != null ? ["Trigger", task.trigger_id] : ["Workflow", task.workflow_id ?? "–"],
      ["Database", task.db_id ?? "–"],
      ["Progression", describeProgression(progression)],
      ["Items", `${number(task.processed)} of ${number(task.total)} processed`],
      ["Created", when(task.created)],
      ["Finished", task.finished_at ? when(task.finished_at) : "–"],
    ];
    const plans = task.fault_plans || [];
    const failed = cached ? cached.failed : [];
    fillIfChanged(
      $("#task-body"),
      el("div", { class: "progress-large" }, progressBar(task)),
      el(
        "dl",
        { class: "facts" },
        facts.map(([key, value]) => [el("dt", { text: key }), el("dd", { text: value })]),
      ),
      task.failure
        ? el(
            "p",
            { class: "failure" },
            `Failed with error ${task.failure.error}: `,
            el("strong", { text: task.failure.error_text }),
          )
        : null,
      plans.length
        ? el(
            "div",
            { class: "plans" },
            el("h4", { text: "Fault plans carried by this task" }),
            plans.map((plan) =>
              el(
                "span",
                { class: "badge fault", title: JSON.stringify(plan) },
                `⚡ ${plan.rule} ${plan.action}${plan.pattern ? ` /${plan.pattern}/` : ""}${plan.action === "fail_task" ? ` at ${plan.at_progress}%` : ""} → ${plan.error}`,
              ),
            ),
          )
        : null,
      el("h4", { text: cached ? `Failed items (${number(failed.length)})` : "Failed items (loading…)" }),
      failed.length
        ? el(
            "div",
            { class: "table-wrap failed-items" },
            el(
              "table",
              { class: "table compact" },
              el(
                "thead",
                {},
                el(
                  "tr",
                  {},
                  el("th", { text: "Item" }),
                  el("th", { text: "Error" }),
                  el("th", { text: "Text" }),
                  el("th", { text: "Debug" }),
                ),
              ),
              el(
                "tbody",
                {},
                failed
                  .slice(0, FAILED_SHOWN)
                  .map((item) =>
                    el(
                      "tr",
                      {},
                      el("td", { class: "mono", text: `data[${item.index}]` }),
                      el("td", {}, el("span", { class: "badge bad", text: item.error })),
                      el("td", { text: item.error_text || "" }),
                      el("td", { class: "muted", text: item.error_debug || "" }),
                    ),
                  ),
              ),
            ),
            failed.length > FAILED_SHOWN
              ? el("p", { class: "muted small", text: `… and ${number(failed.length - FAILED_SHOWN)} more` })
              : null,
          )
        : cached
          ? el("p", { class: "muted small", text: "None." })
          : null,
    );
    $("#task-forms").hidden = done; // a finished task cannot be moved any more
  }

  // -- faults ----------------------------------------------------------------------------------
  async function refreshFaults() {
    const answer = await api("GET", "/_mock/faults");
    state.faults = answer.faults;
    renderFaults();
  }

  /** Text that may wrap after `/` and `_` (long vendor method names). */
  function breakable(text) {
    return text.split(/(?<=[/_])/).flatMap((part, index) => (index ? [el("wbr"), part] : [part]));
  }

  function faultMatch(rule) {
    const parts = [];
    const m = rule.match || {};
    if (m.method) parts.push(m.method);
    if (m.workflow_id !== undefined) parts.push(`workflow ${m.workflow_id}`);
    if (m.account) parts.push(`account ${m.account}`);
    if (m.token) parts.push("a token");
    if (rule.after) parts.push(`after ${rule.after}`);
    if (rule.times !== null && rule.times !== undefined) parts.push(`${rule.times}×`);
    if (rule.probability !== null && rule.probability !== undefined) parts.push(`p=${rule.probability}`);
    return parts.length ? parts.join(" · ") : "every vendor request";
  }

  function faultEffect(rule) {
    switch (rule.action) {
      case "error":
        return `${rule.error} ${rule.error_text}${rule.http_status ? ` (HTTP ${rule.http_status})` : ""}`;
      case "rate_limit":
        return `429, Retry-After ${rule.retry_after}s`;
      case "delay":
        return rule.delay_ms[0] === rule.delay_ms[1]
          ? `${rule.delay_ms[0]} ms`
          : `${rule.delay_ms[0]}–${rule.delay_ms[1]} ms`;
      case "drop":
      case "malformed":
        return `${rule.when} processing`;
      case "fail_task":
        return `at ${rule.at_progress}% → ${rule.error} ${rule.error_text}`;
      case "fail_items":
        return `/${rule.pattern}/ → ${rule.error} ${rule.error_text}`;
      default:
        return "";
    }
  }

  function renderFaults() {
    const rules = state.faults;
    $("#faults-meta").textContent = rules.length ? `${rules.length} active` : "";
    patchRows(
      $("#fault-table tbody"),
      rules.map((rule) =>
        el(
          "tr",
          { dataset: { id: rule.id } },
          el(
            "td",
            {},
            el("div", { class: "mono", text: rule.id }),
            el("span", { class: "badge fault", text: rule.action }),
          ),
          el("td", { class: "small" }, breakable(faultMatch(rule))),
          el("td", { class: "small", text: faultEffect(rule) }),
          el(
            "td",
            { class: "num", title: `matched ${rule.matched} request(s), fired ${rule.fired} time(s)` },
            el("div", { class: `mono ${rule.fired ? "strong" : "muted"}`, text: number(rule.fired) }),
            el("div", { class: "muted small", text: `of ${number(rule.matched)} matched` }),
          ),
          el(
            "td",
            {},
            el(
              "button",
              {
                type: "button",
                class: "small-button ghost",
                "data-action": "remove",
                onclick: () =>
                  act(`Removed ${rule.id}`, () =>
                    api("DELETE", `/_mock/faults/${encodeURIComponent(rule.id)}`),
                  ),
              },
              "Remove",
            ),
          ),
        ),
      ),
    );
    $("#fault-empty").hidden = rules.length > 0;
    $("#faults-clear").disabled = rules.length === 0;
  }

  function showFaultFields() {
    const action = $("#fault-action").value;
    for (const label of document.querySelectorAll("#fault-form [data-for]")) {
      label.hidden = !label.dataset.for.split(" ").includes(action);
    }
  }

  const INTEGER_FIELDS = ["after", "times", "error", "http_status", "retry_after", "at_progress"];

  function faultFromForm(form) {
    const data = new FormData(form);
    const action = data.get("action");
    const visible = (name) => !form.elements[name].closest("label").hidden;
    const rule = { action };
    const match = {};
    const text = (name) => String(data.get(name) || "").trim();
    if (text("method")) match.method = text("method");
    if (text("account")) match.account = text("account");
    if (text("workflow_id")) match.workflow_id = Number.parseInt(text("workflow_id"), 10);
    if (Object.keys(match).length) rule.match = match;
    for (const name of INTEGER_FIELDS) {
      if (text(name) && visible(name)) rule[name] = Number.parseInt(text(name), 10);
    }
    if (text("probability")) rule.probability = Number.parseFloat(text("probability"));
    if (text("delay_ms") && visible("delay_ms")) rule.delay_ms = Number.parseFloat(text("delay_ms"));
    if (text("error_text") && visible("error_text")) rule.error_text = text("error_text");
    if (text("pattern") && visible("pattern")) rule.pattern = text("pattern");
    if (visible("when")) rule.when = text("when");
    return rule;
  }

  // -- profiles -------------------------------------------------------------------------------
  function noteDb(id) {
    if (!state.profiles.dbs.has(id)) state.profiles.dbs.set(id, null);
  }

  async function refreshProfiles(force, previous) {
    const p = state.profiles;
    const counts = state.health.counts || {};
    const before = previous ? previous.counts || {} : {};
    const signature = `${counts.profiles}|${counts.engagements}`;
    const countsChanged = signature !== p.signature || counts.profiles !== before.profiles;
    if (!force && !countsChanged) return;
    p.signature = signature;
    const query = { db_id: p.db, limit: PROFILE_PAGE, offset: p.offset };
    if (p.q) query[p.field] = p.q;
    let answer = await api("GET", "/_mock/profiles", { query });
    if (!answer.profiles.length && p.offset > 0) {
      p.offset = Math.max(0, (Math.ceil(answer.total / PROFILE_PAGE) - 1) * PROFILE_PAGE);
      answer = await api("GET", "/_mock/profiles", { query: { ...query, offset: p.offset } });
    }
    p.items = answer.profiles;
    p.total = answer.total;
    for (const profile of p.items) noteDb(profile.db_id);
    // Engagements are read per profile on the page: again only when they can differ.
    const engagementsKey = `${counts.engagements}|${p.items.map((profile) => profile.id).join(",")}`;
    const engagementsStale = engagementsKey !== p.engagementsKey;
    p.engagementsKey = engagementsKey;
    await Promise.all([engagementsStale ? loadEngagements(p.items) : null, countDbs(countsChanged)]);
    renderProfiles();
  }

  async function loadEngagements(profiles) {
    const p = state.profiles;
    p.engagements = new Map(
      await Promise.all(
        profiles.map(async (profile) => {
          const answer = await api("GET", "/_mock/engagements", {
            query: { profile_id: profile.id, account: profile.account, limit: 50 },
          });
          return [profile.id, answer];
        }),
      ),
    );
  }

  /** Profile counts of the databases seen so far (in tasks and profiles). */
  async function countDbs(again) {
    const p = state.profiles;
    const ids = [...p.dbs.keys()].filter((id) => again || p.dbs.get(id) === null);
    await Promise.all(
      ids.map(async (id) => {
        const answer = await api("GET", "/_mock/profiles", { query: { db_id: id, limit: 1 } });
        p.dbs.set(id, answer.total);
      }),
    );
  }

  function renderDbTabs() {
    const p = state.profiles;
    const total = state.health ? state.health.counts.profiles : null;
    const tab = (value, label, count) =>
      el(
        "button",
        {
          type: "button",
          role: "tab",
          class: `tab ${String(p.db) === String(value) ? "active" : ""}`,
          "aria-selected": String(p.db) === String(value) ? "true" : "false",
          dataset: { db: value },
          onclick: () => {
            p.db = value;
            p.offset = 0;
            p.selected = null;
            reloadProfiles();
          },
        },
        label,
        count === null || count === undefined ? null : el("span", { class: "count", text: number(count) }),
      );
    const ids = [...p.dbs.keys()].sort((a, b) => a - b);
    fillIfChanged(
      $("#db-tabs"),
      tab("", "All databases", total),
      ids.map((id) => tab(String(id), `Database ${id}`, p.dbs.get(id))),
    );
  }

  function renderProfiles() {
    const p = state.profiles;
    renderDbTabs();
    const from = p.total ? p.offset + 1 : 0;
    const to = p.offset + p.items.length;
    $("#profiles-meta").textContent =
      `${number(p.total)} ${p.q ? "found" : "stored"}${p.db ? ` in database ${p.db}` : ""}`;
    $("#profiles-page").textContent = p.total ? `${number(from)}–${number(to)} of ${number(p.total)}` : "";
    $("#profiles-prev").disabled = p.offset === 0;
    $("#profiles-next").disabled = to >= p.total;
    patchRows(
      $("#profile-table tbody"),
      p.items.map((profile) => {
        const data = profile.data || {};
        const engaged = p.engagements.get(profile.id);
        const campaigns = engaged ? [...new Set(engaged.engagements.map(campaignChip))] : [];
        const phones = Array.isArray(data.phones) ? data.phones.join(", ") : data.phones || "";
        const name = [data._fname, data._lname].filter(Boolean).join(" ");
        return el(
          "tr",
          {
            class: profile.id === p.selected ? "selected" : "",
            tabindex: 0,
            dataset: { id: profile.id },
            onclick: () => selectProfile(profile.id),
            onkeydown: (event) => event.key === "Enter" && selectProfile(profile.id),
          },
          el("td", { class: "mono", title: profile.id, text: profile.id }),
          el("td", { class: "num-left", text: profile.db_id }),
          el("td", { text: profile.account }),
          el("td", { text: data.email || "" }),
          el("td", { class: "mono small", text: phones }),
          el("td", { class: "nowrap", text: name }),
          el(
            "td",
            {},
            campaigns.length
              ? campaigns.map((chip) =>
                  el("span", {
                    class: "chip",
                    title: `engaged in ${chip.startsWith("trg") ? "trigger" : "workflow"} ${chip.split(" ")[1]}`,
                    text: chip,
                  }),
                )
              : el("span", { class: "muted", text: "–" }),
          ),
        );
      }),
    );
    $("#profile-empty").hidden = p.items.length > 0;
    $("#profile-empty").textContent = p.q ? `No profile with ${p.field} ${p.q}.` : "No profiles here.";
    renderProfileDetail();
  }

  function selectProfile(id) {
    state.profiles.selected = id;
    for (const row of document.querySelectorAll("#profile-table tbody tr"))
      row.classList.toggle("selected", row.dataset.id === id);
    renderProfileDetail();
  }

  // A task or engagement belongs to a workflow or, for campaigns/triggers/*, a trigger.
  function campaignName(x) {
    return x.trigger_id != null ? `trigger ${x.trigger_id}` : `workflow ${x.workflow_id ?? "–"}`;
  }

  function campaignChip(e) {
    return e.trigger_id != null ? `trg ${e.trigger_id}` : `wf ${e.workflow_id}`;
  }

  function renderProfileDetail() {
    const p = state.profiles;
    const detail = $("#profile-detail");
    const profile = p.items.find((x) => x.id === p.selected);
    if (!profile) {
      detail.hidden = true;
      return;
    }
    detail.hidden = false;
    const engaged = p.engagements.get(profile.id) || { engagements: [], total: 0 };
    fillIfChanged(
      $("#profile-summary"),
      el("span", { class: "mono strong", text: profile.id }),
      el("span", { class: "muted", text: `database ${profile.db_id} · account ${profile.account}` }),
    );
    fillIfChanged(
      $("#profile-body"),
      el("h4", { text: `Engagements (${number(engaged.total)})` }),
      engaged.engagements.length
        ? el(
            "table",
            { class: "table compact" },
            el(
              "thead",
              {},
              el(
                "tr",
                {},
                ["Campaign", "Task", "Profile", "When"].map((h) => el("th", { text: h })),
              ),
            ),
            el(
              "tbody",
              {},
              engaged.engagements.map((e) =>
                el(
                  "tr",
                  { title: e.source ? `by ${e.source}` : null },
                  el("td", { text: campaignName(e) }),
                  el(
                    "td",
                    {},
                    e.task_id
                      ? el(
                          "button",
                          {
                            type: "button",
                            class: "link mono",
                            title: e.task_id,
                            onclick: () => showTask(e.task_id),
                          },
                          shortId(e.task_id),
                        )
                      : el("span", { class: "muted small", text: e.source || "–" }),
                  ),
                  el("td", { text: e.created ? "created" : "updated" }),
                  el("td", { class: "mono small", title: e.time, text: when(e.time) }),
                ),
              ),
            ),
          )
        : el("p", { class: "muted small", text: "Not engaged in any workflow or trigger." }),
      el("h4", { text: "Data" }),
      jsonView(profile.data),
      profile.subscriptions && profile.subscriptions.length
        ? [el("h4", { text: "Subscriptions" }), jsonView(profile.subscriptions)]
        : null,
    );
  }

  async function reloadProfiles() {
    try {
      await refreshProfiles(true, state.health);
    } catch (error) {
      if (isAuthError(error)) askForToken(error);
      else toast(error.message, "error");
    }
  }

  // -- wiring ------------------------------------------------------------------------------------
  function wire() {
    $("#live-toggle").addEventListener("click", () => {
      state.live = !state.live;
      $("#live-toggle").textContent = state.live ? "Pause" : "Resume";
      $("#live-toggle").setAttribute("aria-pressed", String(state.live));
      setConnection("live");
      if (state.live) tick();
    });

    let armed = null;
    $("#reset-button").addEventListener("click", () => {
      const button = $("#reset-button");
      if (!armed) {
        button.textContent = "Click again to reset everything";
        button.classList.add("armed");
        armed = setTimeout(() => {
          armed = null;
          button.textContent = "Reset…";
          button.classList.remove("armed");
        }, 4000);
        return;
      }
      clearTimeout(armed);
      armed = null;
      button.textContent = "Reset…";
      button.classList.remove("armed");
      state.journal.selected = null;
      state.tasks.selected = null;
      state.tasks.details.clear();
      state.profiles.selected = null;
      state.profiles.dbs.clear();
      $("#request-detail").hidden = true;
      act("Reset: back to the fixtures", () => api("POST", "/_mock/reset", { body: {} }));
    });

    $("#token-button").addEventListener("click", () => askForToken(null, true));
    $("#token-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      auth.token = $("#token-input").value.trim();
      sessionStorage.setItem(TOKEN_KEY, auth.token);
      auth.waiting = false;
      try {
        await refresh({ force: true });
        $("#token-dialog").close();
        $("#token-input").value = "";
        $("#token-button").hidden = false;
      } catch (error) {
        if (isAuthError(error)) askForToken(error);
        else {
          $("#token-dialog").close();
          setConnection("offline", error);
        }
      }
    });
    $("#token-dialog").addEventListener("cancel", (event) => {
      if (!auth.optional) {
        event.preventDefault(); // nothing to show without it
        return;
      }
      auth.waiting = false;
      $("#token-error").textContent = "";
    });

    $("#progression-select").addEventListener("change", (event) => {
      const mode = event.target.value;
      act(`New tasks now progress: ${mode}`, () =>
        api("PUT", "/_mock/progression", { body: { default: { mode } } }),
      );
    });

    // Journal
    $("#journal-filters").addEventListener("submit", (event) => {
      event.preventDefault();
      const j = state.journal;
      j.method = $("#filter-method").value.trim();
      j.error = $("#filter-error").value.trim();
      if (j.error && !/^-?\d+$/.test(j.error)) {
        toast("The error code is a number, e.g. 400", "error");
        return;
      }
      setJournalPage(null, []).catch((error) => toast(error.message, "error"));
    });
    $("#filter-reset").addEventListener("click", () => {
      $("#filter-method").value = "";
      $("#filter-error").value = "";
      state.journal.method = "";
      state.journal.error = "";
      setJournalPage(null, []).catch((error) => toast(error.message, "error"));
    });
    $("#journal-older").addEventListener("click", () => {
      const j = state.journal;
      if (!j.entries.length) return;
      const oldest = j.entries[j.entries.length - 1].id;
      setJournalPage(oldest, [...j.cursors, j.before]).catch((error) => toast(error.message, "error"));
    });
    $("#journal-newer").addEventListener("click", () => {
      const j = state.journal;
      const cursors = j.cursors.slice();
      const before = cursors.length ? cursors.pop() : null;
      setJournalPage(before, cursors).catch((error) => toast(error.message, "error"));
    });
    $("#journal-clear").addEventListener("click", () => {
      state.journal.selected = null;
      $("#request-detail").hidden = true;
      state.journal.before = null;
      state.journal.cursors = [];
      act("Journal cleared", () => api("DELETE", "/_mock/requests"));
    });

    // Tasks
    $("#task-filter").addEventListener("change", (event) => {
      state.tasks.filter = event.target.value;
      state.tasks.page = 0;
      renderTasks();
      loadTaskDetails().then(renderTasks, () => {});
    });
    const turnTaskPage = (delta) => {
      state.tasks.page = Math.max(0, state.tasks.page + delta);
      renderTasks();
      loadTaskDetails().then(renderTasks, () => {});
    };
    $("#tasks-prev").addEventListener("click", () => turnTaskPage(-1));
    $("#tasks-next").addEventListener("click", () => turnTaskPage(1));
    $("#task-advance-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const id = state.tasks.selected;
      const items = $("#advance-items").value.trim();
      const body = items ? { items: Number.parseInt(items, 10) } : {};
      act(`Advanced ${shortId(id)}`, () =>
        api("POST", `/_mock/tasks/${encodeURIComponent(id)}/advance`, { body }),
      );
    });
    $("#task-fail-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const id = state.tasks.selected;
      const body = { error: Number.parseInt($("#fail-error").value || "500", 10) };
      const text = $("#fail-text").value.trim();
      if (text) body.error_text = text;
      act(`Failed ${shortId(id)}`, () =>
        api("POST", `/_mock/tasks/${encodeURIComponent(id)}/fail`, { body }),
      );
    });

    // Faults
    $("#fault-action").addEventListener("change", showFaultFields);
    showFaultFields();
    $("#fault-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      const rule = faultFromForm(form);
      $("#fault-form-error").textContent = "";
      try {
        const added = await api("POST", "/_mock/faults", { body: rule });
        toast(`Added ${added.id} (${added.action})`);
        await refresh({ force: true });
      } catch (error) {
        if (isAuthError(error)) askForToken(error);
        else $("#fault-form-error").textContent = error.message;
      }
    });
    $("#faults-clear").addEventListener("click", () =>
      act("Removed every fault rule", () => api("DELETE", "/_mock/faults")),
    );

    // Profiles
    const placeholders = {
      email: "exact email, e.g. profile5@example.com",
      phone: "phone, e.g. +79000000000",
      profile_id: "profile id",
    };
    $("#profile-field").addEventListener("change", (event) => {
      $("#profile-query").placeholder = placeholders[event.target.value];
    });
    $("#profile-search").addEventListener("submit", (event) => {
      event.preventDefault();
      const p = state.profiles;
      p.field = $("#profile-field").value;
      p.q = $("#profile-query").value.trim();
      p.offset = 0;
      reloadProfiles();
    });
    $("#profile-search-clear").addEventListener("click", () => {
      $("#profile-query").value = "";
      state.profiles.q = "";
      state.profiles.offset = 0;
      reloadProfiles();
    });
    $("#profiles-prev").addEventListener("click", () => {
      state.profiles.offset = Math.max(0, state.profiles.offset - PROFILE_PAGE);
      reloadProfiles();
    });
    $("#profiles-next").addEventListener("click", () => {
      state.profiles.offset += PROFILE_PAGE;
      reloadProfiles();
    });

    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) tick();
    });
  }

  async function start() {
    wire();
    $("#token-button").hidden = !auth.token;
    state.busy = true;
    try {
      await refresh({ force: true });
    } catch (error) {
      if (isAuthError(error)) askForToken(error);
      else setConnection("offline", error);
    } finally {
      state.busy = false;
    }
    schedule();
  }

  start();
})();
