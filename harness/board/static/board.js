// The lead board's page: one EventSource for a snapshot and then patches; every countdown is
// computed here from the expiry the server sent and the SLA clock's offset from this browser's
// clock (so a moved SLA clock, sla_clock_travel(), shows right). No framework, no build step.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const els = {
    board: $("board"), who: $("who"), totals: $("totals"), clock: $("clock"), link: $("link"),
    linkText: $("link-text"), notice: $("notice"), noticeText: $("notice-text"), empty: $("empty"),
    template: $("card-template"),
  };
  const state = {
    identity: null,        // {agent_id, name, role}
    agents: new Map(),     // id -> {id, name, role, active, accepting}
    cards: new Map(),      // lead id -> card data from the server
    offsetMs: 0,           // SLA clock minus this browser's clock
    travelMs: 0,           // SLA clock minus the database's wall clock
    log: [],               // what happened when, for tests and latency measurements
  };
  const REASONS = { unclaimed: "unclaimed", no_contact: "no contact", manual: "manual" };

  // ---- the stream -------------------------------------------------------------------------
  let source = null;
  let retryMs = 1000;
  let retryTimer = null;

  function connect() {
    clearTimeout(retryTimer);
    if (source) source.close();
    setLink("connecting", "");
    source = new EventSource("/events");
    source.onmessage = (ev) => {
      retryMs = 1000;
      const msg = JSON.parse(ev.data);
      if (msg.type === "snapshot") onSnapshot(msg);
      else if (msg.type === "patch") onPatch(msg);
      onClock(msg);
    };
    source.onerror = () => {
      setLink("reconnecting…", "down");
      // The browser retries by itself after a dropped stream; if it gave up (the server
      // answered with an error, or is gone), start over with a growing pause.
      if (source.readyState === EventSource.CLOSED) {
        retryTimer = setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 10000);
      }
    };
  }

  function setLink(text, cls) {
    els.linkText.textContent = text;
    els.link.className = "link " + cls;
  }

  function onClock(msg) {
    state.offsetMs = msg.sla_now_ms - Date.now();
    state.travelMs = msg.travel_ms;
    if (msg.listening === false) setLink("database connection lost, retrying", "down");
    else setLink("live", "live");
    tick();
  }

  function onSnapshot(msg) {
    state.identity = msg.identity;
    setAgents(msg.agents);
    const who = msg.identity.agent_id
      ? `Signed in as ${msg.identity.name} (${msg.identity.role}): what its row-level security shows`
      : "Service view: every open lead";
    els.who.textContent = who;
    document.title = (msg.identity.agent_id ? msg.identity.name + " · " : "") + "Lead board · crm-sla";
    state.cards = new Map();
    els.board.replaceChildren();
    for (const id of teamColumns()) column(id);
    for (const c of msg.cards) place(c, false);
    finish(new Set(msg.cards.map((c) => c.owner)));
    state.log.push({ kind: "snapshot", at: now(), cards: msg.cards.length });
  }

  function onPatch(msg) {
    const received = now();
    if (msg.trace) state.log.push({ kind: "patch", at: received, trace: msg.trace });
    if (msg.agents) {
      setAgents(msg.agents);
      for (const id of teamColumns()) column(id);
      for (const [id, col] of columns()) paintColumnHead(col, id);
    }
    const touched = new Set();
    for (const id of msg.remove) {
      const old = state.cards.get(id);
      if (!old) continue;
      state.cards.delete(id);
      const el = cardEl(id);
      if (el) el.remove();
      touched.add(old.owner);
      state.log.push({ kind: "removed", lead: id, at: now() });
    }
    for (const c of msg.upsert) {
      const old = state.cards.get(c.id);
      if (old) touched.add(old.owner);
      touched.add(c.owner);
      place(c, true);
    }
    finish(touched);
    // The next frame is when the change is on screen.
    requestAnimationFrame(() => state.log.push({ kind: "painted", at: now(), received }));
  }

  // ---- columns ----------------------------------------------------------------------------
  function setAgents(list) {
    state.agents = new Map(list.map((a) => [a.id, a]));
  }

  // The columns that are always there: every active agent for the service role and admins; an
  // agent's own column for an agent (its row-level security shows it nothing else).
  function teamColumns() {
    const me = state.identity && state.identity.agent_id;
    if (me && state.identity.role !== "admin") return [me];
    return [...state.agents.values()].filter((a) => a.active && a.role === "agent").map((a) => a.id);
  }

  function columns() {
    return [...els.board.querySelectorAll(":scope > .column")].map((c) => [c.dataset.agentId, c]);
  }

  function column(agentId) {
    const key = agentId || "none";
    let col = els.board.querySelector(`:scope > .column[data-agent-id="${key}"]`);
    if (col) return col;
    col = document.createElement("section");
    col.className = "column";
    col.dataset.agentId = key;
    const head = document.createElement("h2");
    const name = document.createElement("span");
    name.className = "agent";
    const count = document.createElement("span");
    count.className = "count";
    const role = document.createElement("span");
    role.className = "role";
    head.append(name, count, role);
    const list = document.createElement("div");
    list.className = "cards";
    col.append(head, list);
    paintColumnHead(col, key);
    // Keep the team's order; columns that appear for other owners (an admin holding an
    // escalated lead, an inactive agent, nobody) go after it.
    const order = [...state.agents.keys()];
    const rank = (id) => (order.indexOf(id) === -1 ? order.length : order.indexOf(id));
    const next = columns().find(([id]) => rank(id) > rank(key));
    els.board.insertBefore(col, next ? next[1] : null);
    els.board.classList.toggle("single", columns().length === 1);
    return col;
  }

  function paintColumnHead(col, key) {
    const agent = state.agents.get(key);
    const name = key === "none" ? "Unassigned" : agent ? agent.name : "Agent " + key.slice(0, 8);
    const label = col.querySelector(".agent");
    label.textContent = name + (agent && !agent.active ? " (inactive)" : "");
    label.title = name;
    col.classList.toggle("admin", !!agent && agent.role === "admin");
    col.querySelector(".role").textContent = agent && agent.role === "admin" ? "admin" : "";
    col.setAttribute("aria-label", name);
  }

  // After a change: re-sort the touched columns, update their counts, drop empty extra columns.
  function finish(owners) {
    const team = new Set(teamColumns());
    for (const owner of owners) {
      const key = owner || "none";
      const col = els.board.querySelector(`:scope > .column[data-agent-id="${key}"]`);
      if (!col) continue;
      const list = col.querySelector(".cards");
      const items = [...list.children];
      items.sort((a, b) => urgency(state.cards.get(a.dataset.leadId), state.cards.get(b.dataset.leadId)));
      for (const el of items) list.appendChild(el);
      if (items.length === 0 && !team.has(key)) col.remove();
    }
    for (const [, col] of columns()) {
      col.querySelector(".count").textContent = col.querySelector(".cards").children.length;
    }
    els.board.classList.toggle("single", columns().length === 1);
    els.empty.hidden = state.cards.size > 0;
    tick();
  }

  function urgency(a, b) {
    if (!a || !b) return 0;
    const ea = a.expires_ms === null ? Infinity : a.expires_ms;
    const eb = b.expires_ms === null ? Infinity : b.expires_ms;
    return ea - eb || a.created_ms - b.created_ms || (a.id < b.id ? -1 : 1);
  }

  // ---- cards ------------------------------------------------------------------------------
  function cardEl(id) {
    return els.board.querySelector(`.card[data-lead-id="${id}"]`);
  }

  function place(c, live) {
    const old = state.cards.get(c.id);
    state.cards.set(c.id, c);
    let el = cardEl(c.id);
    if (!el) {
      el = els.template.content.firstElementChild.cloneNode(true);
      el.dataset.leadId = c.id;
      el.querySelectorAll(".act").forEach((b) => b.addEventListener("click", () => act(c.id, b)));
    }
    paintCard(el, c);
    const list = column(c.owner).querySelector(".cards");
    if (el.parentElement !== list) {
      list.appendChild(el);
      if (live && old && old.owner !== c.owner) {
        el.classList.remove("moved");
        void el.offsetWidth; // restart the highlight
        el.classList.add("moved");
        state.log.push({ kind: "moved", lead: c.id, from: old.owner, to: c.owner, at: now() });
      } else if (live && !old) {
        state.log.push({ kind: "added", lead: c.id, at: now() });
      }
    }
    if (live && old && old.stage !== c.stage) {
      state.log.push({ kind: "stage", lead: c.id, stage: c.stage, at: now() });
    }
  }

  function paintCard(el, c) {
    el.className = `card stage-${c.stage}` + (c.breached ? " breached" : "");
    el.dataset.stage = c.stage;
    el.dataset.owner = c.owner || "none";
    el.dataset.expiresMs = c.expires_ms === null ? "" : c.expires_ms;
    el.querySelector(".name").textContent = c.name;
    el.querySelector(".name").title = c.name;
    el.querySelector(".stage").textContent = c.stage;
    el.querySelector(".breach-claim").hidden = !c.claim_breached;
    el.querySelector(".breach-contact").hidden = !c.contact_breached;
    const moves = el.querySelector(".moves");
    moves.hidden = !c.reassignments;
    if (c.reassignments) {
      const from = c.previous_owner && state.agents.get(c.previous_owner);
      const reason = REASONS[c.reason] || c.reason || "";
      const what = Object.assign(document.createElement("span"), { textContent: `↻ ${c.reassignments} · ${reason}` });
      const who = Object.assign(document.createElement("span"), { textContent: from ? `· from ${from.name}` : "" });
      moves.replaceChildren(what, " ", who);
      moves.title = `Reassigned ${c.reassignments} time(s); last: ${reason}` +
        (from ? `, from ${from.name}` : "");
    }
    const mine = state.identity && state.identity.agent_id && c.owner === state.identity.agent_id;
    el.querySelector(".actions").hidden = !mine;
    el.querySelector('.act[data-action="claim"]').hidden = c.stage === "contact";
    el.querySelectorAll(".act").forEach((b) => { b.disabled = false; });
    const countdown = el.querySelector(".countdown");
    countdown.setAttribute("aria-label", c.expires_ms === null ? "no running timer" : `${c.stage} window`);
  }

  // ---- time -------------------------------------------------------------------------------
  function now() {
    return Date.now(); // the wall clock, comparable with the server's and the database's
  }

  function mmss(ms) {
    const whole = Math.ceil(ms / 1000);
    const sign = ms < 0 && whole <= 0 ? "-" : "";
    const s = Math.abs(whole);
    return sign + String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
  }

  function resumesAt(ms) {
    // Weekday and time in the viewer's zone, e.g. "Mon 09:00".
    const t = new Date(ms);
    const day = t.toLocaleDateString("en-GB", { weekday: "short" });
    return `${day} ${String(t.getHours()).padStart(2, "0")}:${String(t.getMinutes()).padStart(2, "0")}`;
  }

  function tick() {
    const slaNow = Date.now() + state.offsetMs;
    let overdue = 0;
    let breached = 0;
    for (const el of els.board.querySelectorAll(".card")) {
      const c = state.cards.get(el.dataset.leadId);
      if (!c) continue;
      if (c.breached) breached += 1;
      const countdown = el.querySelector(".countdown");
      if (c.expires_ms === null) {
        countdown.textContent = c.stage === "escalated" ? "—" : "";
        el.classList.remove("soon", "overdue");
        continue;
      }
      if (c.resumes_ms !== null && c.resumes_ms !== undefined && slaNow < c.resumes_ms) {
        // The timer's calendar is closed: the card is paused, not counting down.
        countdown.textContent = `paused · resumes ${resumesAt(c.resumes_ms)}`;
        el.classList.remove("soon", "overdue");
        el.classList.add("paused");
        continue;
      }
      el.classList.remove("paused");
      const left = c.expires_ms - slaNow;
      countdown.textContent = mmss(left);
      el.classList.toggle("overdue", left < 0);
      el.classList.toggle("soon", left >= 0 && left < 60000);
      if (left < 0) overdue += 1;
    }
    els.totals.textContent = `${state.cards.size} open · ${overdue} overdue · ${breached} breached`;
    const t = new Date(slaNow);
    const hms = [t.getUTCHours(), t.getUTCMinutes(), t.getUTCSeconds()]
      .map((n) => String(n).padStart(2, "0")).join(":");
    els.clock.replaceChildren("SLA clock ", Object.assign(document.createElement("b"), { textContent: hms + " UTC" }),
      Math.abs(state.travelMs) >= 1000 ? ` (${state.travelMs > 0 ? "+" : "-"}${mmss(Math.abs(state.travelMs))} from the wall clock)` : "");
  }

  // ---- acting as the agent ----------------------------------------------------------------
  async function act(leadId, button) {
    const action = button.dataset.action;
    const card = state.cards.get(leadId);
    const label = card ? card.name : leadId;
    button.closest(".actions").querySelectorAll(".act").forEach((b) => { b.disabled = true; });
    let body = null;
    try {
      const res = await fetch(`/api/leads/${leadId}/${action}`, {
        method: "POST", headers: { "X-CRM-SLA-Board": "1" },
      });
      body = await res.json();
    } catch (err) {
      body = { ok: false, error: { message: "the board did not answer: " + err.message } };
    }
    if (body.ok) {
      notice(`${action === "claim" ? "Claimed" : "First contact recorded for"} ${label}.`, true);
      state.log.push({ kind: "acted", lead: leadId, action, at: now() });
    } else {
      const e = body.error || {};
      notice(`${action === "claim" ? "Claim" : "Contacted"} refused for ${label}: ${e.message}` +
        (e.code ? ` (${e.code})` : "") + (e.detail ? ` ${e.detail}` : "") + (e.hint ? ` Hint: ${e.hint}` : ""), false);
      state.log.push({ kind: "refused", lead: leadId, action, code: e.code, at: now() });
      button.closest(".actions").querySelectorAll(".act").forEach((b) => { b.disabled = false; });
    }
  }

  let noticeTimer = null;
  function notice(text, ok) {
    clearTimeout(noticeTimer);
    els.noticeText.textContent = text;
    els.notice.classList.toggle("ok", ok);
    els.notice.hidden = false;
    if (ok) noticeTimer = setTimeout(() => { els.notice.hidden = true; }, 4000);
  }
  $("notice-close").addEventListener("click", () => { els.notice.hidden = true; });

  window.board = { state, connect };
  setInterval(tick, 250);
  connect();
})();
