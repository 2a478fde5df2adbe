// The approvals inbox: lists approvals from /v1/approvals and approves or denies them with a reason.
// Plain DOM, no framework, no CDN. Every value from the server is written with textContent (never
// innerHTML), so a request that carries markup is shown as text, not run.
"use strict";

(function () {
  const TOKEN_KEY = "celgate.approver.token";
  const $ = (id) => document.getElementById(id);
  const list = $("list");
  const statusLine = $("status");
  let timer = null;

  function token() {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  }

  async function api(method, path, body) {
    const headers = { "accept": "application/json" };
    if (token()) headers["authorization"] = "Bearer " + token();
    const init = { method, headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    let payload = null;
    try {
      payload = await response.json();
    } catch (e) {
      payload = null;
    }
    if (!response.ok) {
      const message = payload && payload.error ? payload.error.message : response.status + " " + response.statusText;
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return payload;
  }

  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString();
  }

  function setState(el, state) {
    el.textContent = state;
    el.className = "state " + state;
  }

  function describeDecision(a) {
    if (a.state === "approved") return "Approved by " + a.decided_by + (a.reason ? ": " + a.reason : "") + " — usable until " + when(a.expires_at);
    if (a.state === "denied") return "Denied by " + a.decided_by + (a.reason ? ": " + a.reason : "");
    if (a.state === "used") return "Approved by " + a.decided_by + ", used " + when(a.used_at);
    if (a.state === "expired") return "Expired " + when(a.expires_at);
    return "";
  }

  function render(a) {
    const node = $("card").content.firstElementChild.cloneNode(true);
    node.id = a.id;
    node.dataset.id = a.id;
    node.querySelector(".what").textContent = (a.tool ? a.tool : a.action) + " for " + (a.principal || "(no principal)");
    setState(node.querySelector(".state"), a.state);
    node.querySelector(".meta").textContent =
      a.id + " · " + a.action + (a.session ? " · session " + a.session : "") +
      " · asked " + when(a.created_at) + (a.state === "pending" ? " · expires " + when(a.expires_at) : "");
    const reasons = node.querySelector(".reasons");
    for (const r of a.reasons || []) {
      const li = document.createElement("li");
      li.textContent = (r.message || "approval required") + " ";
      const code = document.createElement("code");
      code.textContent = r.policy + "/" + r.rule;
      li.appendChild(code);
      reasons.appendChild(li);
    }
    // What is asked, at a glance: the tool's arguments, or for other actions the latest content.
    const rows = node.querySelector("table.args tbody");
    const request = a.request || {};
    const shown = request.tool && request.tool.args ? request.tool.args : null;
    const addRow = (key, value) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.textContent = key;
      const td = document.createElement("td");
      td.textContent = typeof value === "string" ? value : JSON.stringify(value);
      tr.append(th, td);
      rows.appendChild(tr);
    };
    if (shown) {
      for (const [key, value] of Object.entries(shown)) addRow(key, value);
    } else {
      const messages = request.messages || [];
      const last = messages.length ? messages[messages.length - 1] : null;
      if (last) addRow(last.role || "message", last.content || "");
      if (request.response) addRow("response", request.response.content || "");
    }
    if (!rows.children.length) node.querySelector("table.args").hidden = true;
    node.querySelector(".request").textContent = JSON.stringify(request, null, 2);
    node.querySelector(".decision").textContent = describeDecision(a);
    const form = node.querySelector("form.act");
    if (a.state !== "pending") form.hidden = true;
    const act = async (approve) => {
      const result = node.querySelector(".result");
      const buttons = form.querySelectorAll("button");
      buttons.forEach((b) => (b.disabled = true));
      result.className = "result";
      result.textContent = approve ? "Approving…" : "Denying…";
      try {
        const reason = form.querySelector(".reason").value;
        const updated = await api("POST", "/v1/approvals/" + encodeURIComponent(a.id) + (approve ? "/approve" : "/deny"), { reason });
        setState(node.querySelector(".state"), updated.state);
        node.querySelector(".decision").textContent = describeDecision(updated);
        result.className = "result ok";
        result.textContent = updated.state === "approved" ? "Approved." : "Denied.";
        form.hidden = true;
      } catch (e) {
        result.className = "result error";
        result.textContent = e.message;
        buttons.forEach((b) => (b.disabled = false));
        if (e.status === 409) refresh();
      }
    };
    node.querySelector(".approve").addEventListener("click", () => act(true));
    node.querySelector(".deny").addEventListener("click", () => act(false));
    return node;
  }

  async function refresh() {
    const params = new URLSearchParams();
    const state = $("state").value;
    if (state) params.set("state", state);
    const principal = $("filter-principal").value.trim();
    if (principal) params.set("principal", principal);
    const tool = $("filter-tool").value.trim();
    if (tool) params.set("tool", tool);
    statusLine.textContent = "Loading…";
    try {
      const data = await api("GET", "/v1/approvals?" + params.toString());
      // Keep cards that show a result the approver has not seen refreshed away yet.
      list.replaceChildren();
      if (!data.approvals.length) {
        const p = document.createElement("p");
        p.className = "empty";
        p.textContent = state ? "No " + state + " approvals." : "No approvals.";
        list.appendChild(p);
      }
      for (const a of data.approvals) list.appendChild(render(a));
      statusLine.textContent = data.approvals.length + " shown · updated " + new Date().toLocaleTimeString();
    } catch (e) {
      list.replaceChildren();
      const p = document.createElement("p");
      p.className = "empty";
      p.textContent = e.status === 401 ? "Enter an approver token above to see approvals." : e.message;
      list.appendChild(p);
      statusLine.textContent = "";
    }
  }

  $("auth").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = $("token").value.trim();
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
    $("token").value = "";
    $("who").textContent = value ? "token set for this tab" : "";
    refresh();
  });
  $("refresh").addEventListener("click", refresh);
  $("state").addEventListener("change", refresh);
  $("filter-principal").addEventListener("change", refresh);
  $("filter-tool").addEventListener("change", refresh);
  if (token()) $("who").textContent = "token set for this tab";
  refresh();
  // Bounded polling while the page is open and visible: new requests appear without a reload.
  timer = setInterval(() => {
    if (document.visibilityState === "visible" && !list.querySelector("input.reason:focus")) refresh();
  }, 15000);
  window.addEventListener("pagehide", () => clearInterval(timer));
})();
