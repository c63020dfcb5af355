// The NOC board refreshes itself: rows from board.json every few seconds, the
// countdowns every second. Rows are built with textContent only (no HTML from data).
"use strict";
(function () {
  const REFRESH_MS = 5000;
  const ACTIONS = ["acknowledge", "notify", "pause", "resume", "classify", "resolve"];
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const attributionSelect = document.querySelector('select[name="attribution"]');
  const tbody = document.getElementById("rows");

  function duration(s) {
    s = Math.floor(Math.abs(s));
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60), x = s % 60;
    const two = (n) => String(n).padStart(2, "0");
    if (d) return `${d} d ${h} h ${two(m)} min ${two(x)} s`;
    if (h) return `${h} h ${two(m)} min ${two(x)} s`;
    return m ? `${m} min ${two(x)} s` : `${two(x)} s`;
  }

  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function actions(incident) {
    const td = document.createElement("td");
    td.className = "actions";
    for (const a of ACTIONS) {
      const f = document.createElement("form");
      f.method = "post";
      f.className = "inline";
      f.action = `/portal/noc/incidents/${encodeURIComponent(incident)}/${a}`;
      const c = document.createElement("input");
      c.type = "hidden"; c.name = "csrf"; c.value = csrf;
      f.appendChild(c);
      if (a === "classify" && attributionSelect) f.appendChild(attributionSelect.cloneNode(true));
      const b = document.createElement("button");
      b.type = "submit"; b.textContent = a; b.dataset.action = a;
      f.appendChild(b);
      td.appendChild(f);
    }
    return td;
  }

  function confirmForm(incident) {
    const f = document.createElement("form");
    f.method = "post"; f.className = "inline";
    f.action = `/portal/noc/incidents/${encodeURIComponent(incident)}/classify`;
    for (const [name, value] of [["csrf", csrf], ["attribution", "provider"]]) {
      const i = document.createElement("input");
      i.type = "hidden"; i.name = name; i.value = value;
      f.appendChild(i);
    }
    const b = document.createElement("button");
    b.type = "submit"; b.textContent = "确认 Confirm (provider)"; b.dataset.action = "confirm";
    f.appendChild(b);
    return f;
  }

  function render(board) {
    const rows = [];
    for (const r of board.rows) {
      const tr = document.createElement("tr");
      tr.className = r.level;
      tr.dataset.deadline = r.deadline_ts === null ? "" : String(r.deadline_ts);
      tr.dataset.incident = r.incident_id;
      tr.append(cell("", "left"), cell(r.deadline), cell(r.title),
                cell(`${r.window} ${r.clause || ""}`), cell(`${r.contract_id} ${r.customer_id}`), actions(r.incident_id));
      rows.push(tr);
    }
    if (!rows.length) {
      const tr = document.createElement("tr");
      tr.className = "empty";
      const td = cell("没有进行中的时限 No running windows.");
      td.colSpan = 6;
      tr.appendChild(td);
      rows.push(tr);
    }
    tbody.replaceChildren(...rows);
    for (const [id, items, text, extra] of [
      ["unconfirmed", board.unconfirmed, (c) => `${c.title} — ${c.contract_id} `, (c) => confirmForm(c.incident_id)],
      ["errors", board.errors, (e) => `${e.contract_id}: ${e.reason} — ${e.detail}`, null]]) {
      const list = document.getElementById(id);
      const lis = items.map((x) => {
        const li = document.createElement("li");
        li.textContent = text(x);
        if (extra) li.appendChild(extra(x));
        return li;
      });
      if (!lis.length) { const li = document.createElement("li"); li.textContent = "—"; lis.push(li); }
      list.replaceChildren(...lis);
    }
    const more = board.more ? ` (+${board.more} later)` : "";
    document.getElementById("updated").textContent = `${board.rows.length} windows${more} · ${new Date().toLocaleTimeString()}`;
    tick();
  }

  function tick() {
    const now = Date.now() / 1000;
    for (const tr of tbody.querySelectorAll("tr[data-deadline]")) {
      const td = tr.querySelector("td.left");
      if (!tr.dataset.deadline) continue;
      const left = Number(tr.dataset.deadline) - now;
      td.textContent = left >= 0 ? duration(left) : `${duration(left)} overdue`;
      if (left < 0) tr.className = "breached";
    }
  }

  async function refresh() {
    try {
      const r = await fetch("/portal/noc/board.json", {credentials: "same-origin", cache: "no-store"});
      if (r.status === 401) { window.location = "/"; return; }
      if (r.ok) render(await r.json());
    } catch (e) { /* the next poll tries again */ }
  }

  setInterval(tick, 1000);
  setInterval(refresh, REFRESH_MS);
  tick();
})();
