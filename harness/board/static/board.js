// The lead board's page: one EventSource for a snapshot and then patches; every countdown is
// computed here from the expiry the server sent and the SLA clock's offset from this browser's
// clock (so a moved SLA clock, sla_clock_travel(), shows right). No framework, no build step.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const els = {
    board: $("board"), who: $("who"), totals: $("totals"), clock: $("clock"), link: $("link"),
    linkText: $("link-text"), notice: $("notice"), noticeText: $("notice-text"), empty: $("empty"),
    template: $("card-template"), team: $("team"), teamFilter: $("team-filter"),
    bell: $("bell"), bellButton: $("bell-button"), bellCount: $("bell-count"), bellList: $("bell-list"),
  };
  const state = {
    identity: null,        // {agent_id, name, role}
    agents: new Map(),     // id -> {id, name, role, active, accepting}
    teams: [],             // [{id, name, members: [agent id]}]
    team: null,            // the team shown (?team=<name or id>), or null for everyone
    cards: new Map(),      // lead id -> card data from the server
    absences: [],          // [{agent_id, starts_ms, ends_ms}] not over yet, on the SLA clock
    notifications: [],     // the board's own step notifications, newest first
    unread: 0,             // notifications that arrived since the bell was last opened
    offsetMs: 0,           // SLA clock minus this browser's clock
    travelMs: 0,           // SLA clock minus the database's wall clock
    log: [],               // what happened when, for tests and latency measurements
  };
  const REASONS = { unclaimed: "unclaimed", no_contact: "no contact", manual: "manual" };
  const STAGES = { claim_window: "claim window", contact_window: "contact window" };
  const NOTIFICATIONS_KEPT = 20;
  const DONE = { claim: "Claimed", contact: "First contact recorded for", decline: "Declined" };
  const REFUSED = { claim: "Claim", contact: "Contacted", decline: "Decline" };
  const QUEUE = "queue"; // the column of leads waiting for an eligible agent

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
    setTeams(msg.teams || []);
    const who = msg.identity.agent_id
      ? `Signed in as ${msg.identity.name} (${msg.identity.role}): what its row-level security shows`
      : "Service view: every open lead";
    els.who.textContent = who;
    document.title = (msg.identity.agent_id ? msg.identity.name + " · " : "") + "Lead board · crm-sla";
    state.cards = new Map(msg.cards.map((c) => [c.id, c]));
    state.absences = msg.absences || [];
    // The bell: shown on an agent's board; what was there before this page opened is read.
    els.bell.hidden = !msg.identity.agent_id;
    state.notifications = [];
    addNotifications(msg.notifications || [], false);
    render();
    state.log.push({ kind: "snapshot", at: now(), cards: msg.cards.length });
  }

  // Every column and card from scratch (a snapshot, another team chosen).
  function render() {
    els.board.replaceChildren();
    for (const id of teamColumns()) column(id);
    const cards = [...state.cards.values()];
    for (const c of cards) place(c, false);
    finish(new Set(cards.map(keyOf)));
  }

  function onPatch(msg) {
    const received = now();
    if (msg.trace) state.log.push({ kind: "patch", at: received, trace: msg.trace });
    if (msg.teams) setTeams(msg.teams);
    if (msg.agents || msg.teams) {
      if (msg.agents) setAgents(msg.agents);
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
      touched.add(keyOf(old));
      state.log.push({ kind: "removed", lead: id, at: now() });
    }
    for (const c of msg.upsert) {
      const old = state.cards.get(c.id);
      if (old) touched.add(keyOf(old));
      touched.add(keyOf(c));
      place(c, true);
    }
    finish(touched);
    if (msg.absences) {
      state.absences = msg.absences;
      state.log.push({ kind: "absences", count: msg.absences.length, at: now() });
      tick();
    }
    for (const s of msg.steps || []) stepped(s);
    if (msg.notifications) addNotifications(msg.notifications, true);
    // The next frame is when the change is on screen.
    requestAnimationFrame(() => state.log.push({ kind: "painted", at: now(), received }));
  }

  // ---- columns ----------------------------------------------------------------------------
  function setAgents(list) {
    state.agents = new Map(list.map((a) => [a.id, a]));
  }

  // ---- teams ------------------------------------------------------------------------------
  // The selector lists the teams; ?team=<name or id> in the address picks one on arrival.
  function setTeams(list) {
    state.teams = list;
    const wanted = state.team ? state.team.id : new URLSearchParams(location.search).get("team");
    const options = [new Option("All teams", "")];
    for (const t of list) options.push(new Option(t.name, t.id));
    els.team.replaceChildren(...options);
    els.teamFilter.hidden = list.length === 0 && !wanted;
    state.team = null;
    if (wanted) {
      const key = wanted.toLowerCase();
      state.team = list.find((t) => t.id === wanted) || list.find((t) => t.name.toLowerCase() === key) || null;
      if (!state.team) notice(`No team "${wanted}": showing every team.`, false);
    }
    els.team.value = state.team ? state.team.id : "";
  }

  els.team.addEventListener("change", () => {
    state.team = state.teams.find((t) => t.id === els.team.value) || null;
    const url = new URL(location.href);
    if (state.team) url.searchParams.set("team", state.team.name);
    else url.searchParams.delete("team");
    history.replaceState(null, "", url);
    els.notice.hidden = true;
    render();
    state.log.push({ kind: "team", team: state.team ? state.team.id : null, at: now() });
  });

  // With a team chosen: its members' leads, and the waiting leads of its policies.
  function visible(c) {
    if (!state.team) return true;
    if (keyOf(c) === QUEUE) return c.team === state.team.id;
    return state.team.members.includes(c.owner);
  }

  // The column a card goes in: its owner's, or the queue while it waits for an eligible agent.
  function keyOf(c) {
    return c.waiting || !c.owner ? QUEUE : c.owner;
  }

  // The columns that are always there: the queue and every active agent (of the chosen team)
  // for the service role and admins; an agent's own column for an agent (its row-level
  // security shows it nothing else).
  function teamColumns() {
    const me = state.identity && state.identity.agent_id;
    if (me && state.identity.role !== "admin") return [me];
    const members = state.team ? new Set(state.team.members) : null;
    return [QUEUE, ...[...state.agents.values()]
      .filter((a) => a.active && a.role === "agent" && (!members || members.has(a.id)))
      .map((a) => a.id)];
  }

  function columns() {
    return [...els.board.querySelectorAll(":scope > .column")].map((c) => [c.dataset.agentId, c]);
  }

  function column(agentId) {
    const key = agentId || QUEUE;
    let col = els.board.querySelector(`:scope > .column[data-agent-id="${key}"]`);
    if (col) return col;
    col = document.createElement("section");
    col.className = key === QUEUE ? "column queue" : "column";
    col.dataset.agentId = key;
    const head = document.createElement("h2");
    const name = document.createElement("span");
    name.className = "agent";
    const count = document.createElement("span");
    count.className = "count";
    const role = document.createElement("span");
    role.className = "role";
    const out = document.createElement("span");
    out.className = "out";
    out.hidden = true;
    head.append(name, count, role, out);
    const list = document.createElement("div");
    list.className = "cards";
    col.append(head, list);
    paintColumnHead(col, key);
    // Keep the team's order; columns that appear for other owners (an admin holding an
    // escalated lead, an inactive agent, nobody) go after it.
    const order = [QUEUE, ...state.agents.keys()];
    const rank = (id) => (order.indexOf(id) === -1 ? order.length : order.indexOf(id));
    const next = columns().find(([id]) => rank(id) > rank(key));
    els.board.insertBefore(col, next ? next[1] : null);
    els.board.classList.toggle("single", columns().length === 1);
    return col;
  }

  function paintColumnHead(col, key) {
    const agent = state.agents.get(key);
    const name = key === QUEUE ? "Waiting for an agent" : agent ? agent.name : "Agent " + key.slice(0, 8);
    const label = col.querySelector(".agent");
    label.textContent = name + (agent && !agent.active ? " (inactive)" : "");
    label.title = name;
    col.classList.toggle("admin", !!agent && agent.role === "admin");
    col.querySelector(".role").textContent = agent && agent.role === "admin" ? "admin" : "";
    col.setAttribute("aria-label", name);
    if (key === QUEUE) {
      col.querySelector(".role").textContent = "overflow queue";
      label.title = "Leads nobody eligible could take: no owner yet, or a window that ran out " +
        "while nobody could take them over";
    }
  }

  // An agent inside an absence at the SLA clock's instant: until when (the end of its latest
  // absence under way, as routing reads it), or null. Routing gives it no new lead meanwhile.
  function outUntil(agentId, slaNow) {
    let until = null;
    for (const b of state.absences) {
      if (b.agent_id === agentId && b.starts_ms <= slaNow && slaNow < b.ends_ms) {
        until = until === null ? b.ends_ms : Math.max(until, b.ends_ms);
      }
    }
    return until;
  }

  function paintOut(slaNow) {
    for (const [id, col] of columns()) {
      const until = id === QUEUE ? null : outUntil(id, slaNow);
      const out = col.querySelector(".out");
      const was = col.dataset.out === "true";
      col.dataset.out = String(until !== null);
      col.classList.toggle("out", until !== null);
      out.hidden = until === null;
      if (until !== null) {
        out.textContent = `out until ${resumesAt(until, slaNow)}`;
        out.title = `Absent until ${FULL_FORMAT.format(new Date(until))}: gets no new leads`;
      }
      if (was !== (until !== null)) state.log.push({ kind: "out", agent: id, out: until !== null, at: now() });
    }
  }

  // After a change: re-sort the touched columns, update their counts, drop empty extra columns.
  function finish(owners) {
    const team = new Set(teamColumns());
    for (const owner of owners) {
      const key = owner || QUEUE;
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
    els.empty.hidden = els.board.querySelector(".card") !== null;
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
    const old = live ? state.cards.get(c.id) : undefined;
    state.cards.set(c.id, c);
    let el = cardEl(c.id);
    if (!visible(c)) {
      if (el) el.remove();
      return;
    }
    if (!el) {
      el = els.template.content.firstElementChild.cloneNode(true);
      el.dataset.leadId = c.id;
      el.querySelectorAll(".act").forEach((b) => b.addEventListener("click", () => act(c.id, b)));
    }
    paintCard(el, c);
    const list = column(keyOf(c)).querySelector(".cards");
    if (el.parentElement !== list) {
      list.appendChild(el);
      if (live && old && keyOf(old) !== keyOf(c)) {
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
    el.dataset.waiting = String(keyOf(c) === QUEUE);
    const policy = el.querySelector(".policy");
    policy.hidden = !c.policy;
    policy.textContent = c.policy ? `policy: ${c.policy}` : "";
    policy.title = c.policy ? `SLA policy: ${c.policy}` : "";
    const waiting = el.querySelector(".waiting-note");
    const holder = c.owner && state.agents.get(c.owner);
    waiting.hidden = keyOf(c) !== QUEUE;
    waiting.textContent = !c.owner ? "no owner yet" : `window ran out · with ${holder ? holder.name : "its owner"}`;
    el.querySelector(".name").textContent = c.name;
    el.querySelector(".name").title = c.name;
    el.querySelector(".stage").textContent = c.stage;
    el.querySelector(".breach-claim").hidden = !c.claim_breached;
    el.querySelector(".breach-contact").hidden = !c.contact_breached;
    const moves = el.querySelector(".moves");
    moves.hidden = !c.reassignments;
    if (c.reassignments) {
      const from = c.previous_owner && state.agents.get(c.previous_owner);
      const reason = (REASONS[c.reason] || c.reason || "") + (c.notes ? `: ${c.notes}` : "");
      const what = Object.assign(document.createElement("span"), { textContent: `↻ ${c.reassignments} · ${reason}` });
      what.className = c.notes ? "why" : "";
      const who = Object.assign(document.createElement("span"), { textContent: from ? `· from ${from.name}` : "" });
      moves.replaceChildren(what, " ", who);
      moves.title = `Reassigned ${c.reassignments} time(s); last: ${reason}` +
        (from ? `, from ${from.name}` : "");
    }
    const mine = state.identity && state.identity.agent_id && c.owner === state.identity.agent_id;
    el.querySelector(".actions").hidden = !mine;
    el.classList.toggle("waiting", keyOf(c) === QUEUE);
    el.querySelector('.act[data-action="claim"]').hidden = c.stage === "contact";
    el.querySelector('.act[data-action="decline"]').hidden = c.stage === "contact";
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

  // Weekday and time in the viewer's time zone (the browser's), e.g. "Mon 09:00"; a date too
  // when it is a week or more away.
  const SOON_FORMAT = new Intl.DateTimeFormat("en-GB", { weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const LATER_FORMAT = new Intl.DateTimeFormat("en-GB", { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const FULL_FORMAT = new Intl.DateTimeFormat("en-GB", { dateStyle: "full", timeStyle: "long" });
  function resumesAt(ms, slaNow) {
    const parts = (ms - slaNow < 6 * 86400000 ? SOON_FORMAT : LATER_FORMAT).formatToParts(new Date(ms));
    const get = (type) => (parts.find((p) => p.type === type) || {}).value;
    const day = get("day") ? ` ${get("day")} ${get("month")}` : "";
    return `${get("weekday")}${day} ${get("hour")}:${get("minute")}`;
  }

  function tick() {
    const slaNow = Date.now() + state.offsetMs;
    let overdue = 0;
    let breached = 0;
    let warned = 0;
    let waiting = 0;
    let shown = 0;
    for (const el of els.board.querySelectorAll(".card")) {
      const c = state.cards.get(el.dataset.leadId);
      if (!c) continue;
      shown += 1;
      if (c.breached) breached += 1;
      if (keyOf(c) === QUEUE) waiting += 1;
      const countdown = el.querySelector(".countdown");
      const note = el.querySelector(".paused-note");
      if (c.expires_ms === null && (c.paused_reason === "status" || c.paused_reason === "snoozed")) {
        // The clock is stopped (the lead waits on the customer, or is snoozed): no deadline
        // runs; the card shows the open time it keeps, why, and until when for a snooze.
        el.dataset.paused = "true";
        el.dataset.pausedReason = c.paused_reason;
        el.dataset.warned = "false";
        el.classList.add("paused");
        el.classList.remove("soon", "overdue", "warned");
        el.querySelector(".warned-badge").hidden = true;
        countdown.textContent = c.left_ms === null ? "paused" : mmss(c.left_ms);
        countdown.title = "open time left; the clock is stopped";
        note.hidden = false;
        const snoozed = c.paused_reason === "snoozed";
        note.textContent = !snoozed ? "waiting on customer"
          : c.snoozed_until_ms ? `snoozed until ${resumesAt(c.snoozed_until_ms, slaNow)}` : "snoozed";
        note.title = snoozed && c.snoozed_until_ms
          ? `Snoozed: the clock starts again ${FULL_FORMAT.format(new Date(c.snoozed_until_ms))}`
          : "Its status stops the clock (the policy's pause_when) until it changes";
        continue;
      }
      const paused = c.expires_ms !== null && c.resumes_ms !== null && c.resumes_ms !== undefined &&
        slaNow < c.resumes_ms;
      // Warned: the engine sent its warning, or the window passed its warning point here.
      const warnedNow = c.expires_ms !== null && (c.warned ||
        (c.warn_ms !== null && c.warn_ms !== undefined && !paused && slaNow >= c.warn_ms));
      el.dataset.paused = String(paused);
      el.dataset.pausedReason = paused ? "closed" : "";
      el.dataset.warned = String(warnedNow);
      note.hidden = !paused;
      el.classList.toggle("paused", paused);
      if (c.expires_ms === null) {
        countdown.textContent = c.stage === "escalated" ? "—" :
          !c.owner && c.created_ms !== null ? "waiting " + mmss(slaNow - c.created_ms) : "";
        countdown.title = !c.owner ? "how long it has waited for its first owner (no timer runs yet)" : "";
        el.classList.remove("soon", "overdue", "warned");
        el.querySelector(".warned-badge").hidden = true;
        continue;
      }
      const left = paused ? c.left_ms : c.expires_ms - slaNow;
      const late = left !== null && left < 0;
      // Amber while the warned window still runs; overdue (red) wins afterwards.
      el.classList.toggle("warned", warnedNow && !late);
      el.querySelector(".warned-badge").hidden = !(warnedNow && !late);
      if (warnedNow && !late) warned += 1;
      if (paused) {
        // The timer's calendar is closed: the card is paused, not counting down; it shows the
        // open time it has left, and when the calendar opens again (in the viewer's zone).
        countdown.textContent = left === null ? "paused" : mmss(left);
        countdown.title = "open time left; paused while the calendar is closed";
        const when = resumesAt(c.resumes_ms, slaNow);
        note.textContent = `closed until ${when}`;
        note.title = `Its calendar is closed: the clock starts again ${FULL_FORMAT.format(new Date(c.resumes_ms))}`;
        el.classList.remove("soon", "overdue");
        continue;
      }
      countdown.title = "";
      countdown.textContent = mmss(left);
      el.classList.toggle("overdue", late);
      el.classList.toggle("soon", !late && left < 60000);
      if (late) overdue += 1;
    }
    paintOut(slaNow);
    els.totals.textContent = `${shown} open · ${overdue} overdue · ${breached} breached` +
      (warned ? ` · ${warned} warned` : "") + ` · ${waiting} waiting`;
    const t = new Date(slaNow);
    const hms = [t.getUTCHours(), t.getUTCMinutes(), t.getUTCSeconds()]
      .map((n) => String(n).padStart(2, "0")).join(":");
    els.clock.replaceChildren("SLA clock ", Object.assign(document.createElement("b"), { textContent: hms + " UTC" }),
      Math.abs(state.travelMs) >= 1000 ? ` (${state.travelMs > 0 ? "+" : "-"}${mmss(Math.abs(state.travelMs))} from the wall clock)` : "");
  }

  // ---- ladder steps and the bell ----------------------------------------------------------
  // A step for the lead's owner flashes its card (a manager's step is the manager's, on its bell).
  function stepped(s) {
    const c = state.cards.get(s.lead_id);
    const el = cardEl(s.lead_id);
    if (!c || !el || !s.agent_id || s.agent_id !== c.owner) return;
    el.classList.remove("stepped");
    void el.offsetWidth; // restart the flash
    el.classList.add("stepped");
    state.log.push({ kind: "step", lead: s.lead_id, agent: s.agent_id, at: now() });
  }

  function addNotifications(list, live) {
    const known = new Set(state.notifications.map((n) => n.id));
    const fresh = list.filter((n) => !known.has(n.id));
    state.notifications = [...fresh, ...state.notifications].sort((a, b) => b.id - a.id)
      .slice(0, NOTIFICATIONS_KEPT);
    if (live && fresh.length) {
      state.unread += fresh.length;
      els.bell.classList.remove("ring");
      void els.bell.offsetWidth;
      els.bell.classList.add("ring");
      for (const n of fresh) state.log.push({ kind: "notification", lead: n.lead_id, step: n.step, at: now() });
    }
    paintBell();
  }

  function paintBell() {
    const n = state.unread;
    els.bellCount.textContent = String(n);
    els.bellCount.hidden = n === 0;
    els.bellButton.setAttribute("aria-label", `Notifications: ${n} new of ${state.notifications.length}`);
    const items = state.notifications.map((n) => {
      const li = document.createElement("li");
      const what = Object.assign(document.createElement("b"), { textContent: n.step });
      const lead = n.lead_name || (n.lead_id ? "Lead " + n.lead_id.slice(0, 8) : "a lead");
      const owner = n.owner_id && state.agents.get(n.owner_id);
      const when = n.at_ms ? resumesAt(n.at_ms, Date.now() + state.offsetMs) : "";
      li.append(what, ` · ${lead}` + (STAGES[n.stage] ? ` · ${STAGES[n.stage]}` : "") +
        (owner ? ` · owner ${owner.name}` : "") + (when ? ` · ${when}` : ""));
      li.dataset.leadId = n.lead_id || "";
      li.title = n.notify === "manager" ? "A ladder step for you as the owner's manager" : "A ladder step for you";
      return li;
    });
    if (items.length === 0) items.push(Object.assign(document.createElement("li"), { className: "none", textContent: "No notifications yet." }));
    els.bellList.replaceChildren(...items);
  }

  els.bellButton.addEventListener("click", () => {
    const open = els.bellList.hidden;
    els.bellList.hidden = !open;
    els.bellButton.setAttribute("aria-expanded", String(open));
    if (open) {
      state.unread = 0;
      paintBell();
    }
  });

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
      notice(`${DONE[action]} ${label}.`, true);
      state.log.push({ kind: "acted", lead: leadId, action, at: now() });
    } else {
      const e = body.error || {};
      notice(`${REFUSED[action]} refused for ${label}: ${e.message}` +
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
