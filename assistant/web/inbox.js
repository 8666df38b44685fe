/* Staff inbox: hand-over requests (overdue first), one request beside its conversation and the full texts of
 * the provisions it cites; assign, draft the reply letter, record the reply sent, close.
 * All data is inserted as text (textContent / createElement); state-changing calls carry the CSRF token. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var csrf = "", me = null, accounts = [], current = null, shown = {};
  var LABEL = { new: "Mới", in_progress: "Đang xử lý", answered: "Đã trả lời", closed: "Đóng" };
  var ACTION = { created: "Nhà đầu tư gửi yêu cầu", assigned: "Phân công", status: "Đổi trạng thái", drafted: "Soạn dự thảo công văn",
                 replied: "Ghi nhận đã trả lời", closed: "Đóng yêu cầu", reopened: "Mở lại" };

  function h(tag, props) {
    var el = document.createElement(tag);
    if (props) Object.keys(props).forEach(function (k) {
      var v = props[k];
      if (v == null || v === false) return;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    });
    for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function add(el, c) {
    if (c == null || c === false) return;
    if (Array.isArray(c)) c.forEach(function (x) { add(el, x); });
    else el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  }
  function status(msg, kind) {
    var s = $("status");
    s.hidden = !msg;
    s.className = "status" + (kind ? " status-" + kind : "");
    s.textContent = msg || "";
  }
  function vnDate(iso) { return iso ? iso.slice(0, 10).split("-").reverse().join("/") : ""; }
  function vnTime(iso) { return iso ? vnDate(iso) + " " + iso.slice(11, 16) : ""; }
  function toLogin() { location.assign("/staff/login?next=" + encodeURIComponent(location.pathname + location.search)); }

  function api(method, url, body) {
    var opts = { method: method, credentials: "same-origin", headers: {} };
    if (method !== "GET") { opts.headers["X-CSRF-Token"] = csrf; opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body || {}); }
    return fetch(url, opts).then(function (r) {
      if (r.status === 401) { toLogin(); throw new Error("signed out"); }
      return r;
    });
  }
  function json(r) {
    return r.json().catch(function () { return {}; }).then(function (j) {
      if (!r.ok) throw new Error(typeof j.detail === "string" ? j.detail : "Lỗi " + r.status);
      return j;
    });
  }

  /* ---------------------------------------------------------------- list */
  function loadList(selectId) {
    return api("GET", "/api/requests?status=" + $("filter").value).then(json).then(function (j) {
      var list = $("list");
      list.textContent = "";
      $("counts").textContent = j.requests.length + " yêu cầu" + (j.overdue ? " · " + j.overdue + " quá hạn" : "") +
        " · hôm nay " + vnDate(j.today);
      if (!j.requests.length) list.appendChild(h("li", { class: "empty", text: "Không có yêu cầu nào." }));
      j.requests.forEach(function (r) {
        var late = r.overdue;
        var due = r.status === "new" || r.status === "in_progress"
          ? (late ? "Quá hạn " + (-r.days_left) + " ngày (hạn " + vnDate(r.due) + ")" : "Hạn " + vnDate(r.due))
          : (r.status === "closed" ? "Đã đóng" : "Đã trả lời " + vnDate(r.replied_at));
        list.appendChild(h("li", null, h("button", { type: "button", class: "req-item" + (late ? " overdue" : ""), "data-id": r.id,
            "aria-current": current && current.id === r.id ? "true" : "false", onclick: function () { open(r.id); } },
          h("div", { class: "req-top" }, h("span", { class: "req-who", text: r.organisation || r.name }),
            h("span", { class: "st st-" + r.status, text: LABEL[r.status] })),
          h("p", { class: "req-q", text: r.question }),
          h("div", { class: "req-meta" }, h("span", { text: "#" + r.id }), h("span", { class: late ? "due-late" : "", text: due }),
            h("span", { text: r.assignee ? "Giao: " + r.assignee : "Chưa phân công" })))));
      });
      if (selectId) open(selectId);
    }).catch(function (e) { if (e.message !== "signed out") status(e.message, "error"); });
  }

  /* ---------------------------------------------------------------- one request */
  function open(id) {
    Array.prototype.forEach.call(document.querySelectorAll(".req-item"), function (b) {
      b.setAttribute("aria-current", String(b.getAttribute("data-id") === String(id)));
    });
    return api("GET", "/api/requests/" + id).then(json).then(function (r) {
      current = r;
      history.replaceState(null, "", "/staff/inbox?id=" + r.id);
      render(r);
    }).catch(function (e) { if (e.message !== "signed out") status(e.message, "error"); });
  }

  function render(r) {
    var box = $("req");
    box.textContent = "";
    $("req-code").textContent = r.code;
    var openState = r.status === "new" || r.status === "in_progress";
    add(box, [
      h("dl", { class: "facts" },
        h("dt", { text: "Trạng thái" }), h("dd", null, h("span", { class: "st st-" + r.status, text: LABEL[r.status] })),
        h("dt", { text: "Nhà đầu tư" }), h("dd", { text: r.name + (r.organisation ? " — " + r.organisation : "") }),
        h("dt", { text: "Liên hệ" }), h("dd", { text: r.contact }),
        h("dt", { text: "Nhận lúc" }), h("dd", { text: vnTime(r.created) }),
        h("dt", { text: "Hạn xử lý" }), h("dd", { class: r.overdue ? "due-late" : "", text: vnDate(r.due) + (r.overdue ? " (quá hạn)" : "") }),
        h("dt", { text: "Người xử lý" }), h("dd", { text: r.assignee || "Chưa phân công" }),
        h("dt", { text: "Mã tra cứu" }), h("dd", { text: r.code })),
      r.message ? [h("h3", { text: "Lời nhắn của nhà đầu tư" }), h("p", { class: "msg", text: r.message })] : null,
      h("h3", { text: "Hội thoại với trợ lý (" + r.transcript.length + " lượt)" }),
      h("div", { class: "transcript-inline" }, r.transcript.map(turn)),
      r.reply ? [h("h3", { text: "Nội dung đã trả lời" }), h("div", { class: "sent", text: r.reply })] : null,
      actions(r, openState),
      h("h3", { text: "Nhật ký" }),
      h("ul", { class: "log" }, r.events.map(function (e) {
        var d = e.detail || {};
        var extra = d.assignee !== undefined ? ": " + (d.assignee || "bỏ phân công") : d.to ? ": " + LABEL[d.to] : d.format ? " (" + d.format + ")" : "";
        return h("li", { text: vnTime(e.at) + " · " + e.actor + " · " + (ACTION[e.action] || e.action) + extra });
      }))]);
    $("provisions").textContent = "";
    shown = {};
    r.transcript.forEach(function (t) { ((t.answer || {}).citations || []).forEach(function (c) { provision(c.provision_id); }); });
    if (!Object.keys(shown).length) $("provisions").appendChild(h("p", { class: "empty", text: "Hội thoại không trích dẫn điều khoản nào." }));
    $("law-count").textContent = Object.keys(shown).length ? Object.keys(shown).length + " điều khoản" : "";
  }

  function turn(t) {
    var a = t.answer || {};
    return h("article", { class: "turn" },
      h("div", { class: "q" }, h("span", { class: "who", text: "Hỏi" }), h("p", { text: t.question })),
      h("div", { class: "a" + (a.refused ? " refused" : "") }, h("span", { class: "who", text: "Đáp" }),
        h("div", null, h("p", { class: "lead", text: a.refused ? a.answer : (a.lead || a.answer || "") }),
          (a.citations || []).length ? h("div", { class: "chips" }, a.citations.map(function (c) {
            var cls = c.in_force ? "green" : "red";
            return h("button", { type: "button", class: "chip chip-" + cls, title: c.citation,
                                 onclick: function () { focusProvision(c.provision_id); } },
                     h("span", { class: "dot", "aria-hidden": "true" }), c.short);
          })) : null)));
  }

  function actions(r, openState) {
    var sel = h("select", { id: "assignee", "aria-label": "Người xử lý" }, h("option", { value: "", text: "— Chưa phân công —" }),
      accounts.map(function (a) { return h("option", { value: a.username, text: a.name + " (" + a.username + ")" }); }));
    sel.value = r.assignee || "";
    var reply = h("textarea", { id: "reply", maxlength: "20000", placeholder: "Nội dung đã trả lời nhà đầu tư (nhà đầu tư xem được bằng mã tra cứu)…" });
    reply.value = r.reply || "";
    var closed = r.status === "closed";
    return h("div", { class: "actions" },
      closed ? null : [
        h("label", { class: "field" }, h("span", { text: "Phân công cho" }), sel),
        h("button", { type: "button", class: "btn btn-small", id: "assign-btn", text: "Phân công",
                      onclick: function () { act("assign", { assignee: sel.value || null }); } }),
        h("button", { type: "button", class: "btn btn-small btn-ghost", id: "take-btn", text: "Tôi nhận xử lý",
                      onclick: function () { act("assign", { assignee: me.username }); } })],
      h("button", { type: "button", class: "btn btn-small btn-accent", id: "draft-btn", text: "Soạn công văn (.docx)", onclick: draft }),
      closed ? null : h("div", { class: "reply-box" }, h("label", { for: "reply", class: "field" }, h("span", { text: "Trả lời" })), reply,
        h("div", null,
          h("button", { type: "button", class: "btn btn-small", id: "reply-btn", text: "Ghi nhận đã trả lời",
                        onclick: function () { if (reply.value.trim()) act("reply", { reply: reply.value }); else status("Chưa có nội dung trả lời.", "error"); } }),
          " ",
          h("button", { type: "button", class: "btn btn-small btn-ghost", id: "close-btn", text: "Đóng yêu cầu",
                        onclick: function () { act("close", {}); } }))),
      closed ? h("button", { type: "button", class: "btn btn-small btn-ghost", id: "reopen-btn", text: "Mở lại", onclick: function () { act("reopen", {}); } }) : null);
  }

  function act(what, body) {
    var id = current.id;
    status("Đang lưu…");
    return api("POST", "/api/requests/" + id + "/" + what, body).then(json).then(function () {
      status({ assign: "Đã phân công.", reply: "Đã ghi nhận trả lời.", close: "Đã đóng yêu cầu.", reopen: "Đã mở lại." }[what], "ok");
      return loadList(id);
    }).catch(function (e) { if (e.message !== "signed out") status(e.message, "error"); });
  }

  function draft() {
    status("Đang soạn công văn…");
    api("POST", "/api/requests/" + current.id + "/draft", { format: "docx" }).then(function (r) {
      if (!r.ok) return json(r);
      var cd = r.headers.get("Content-Disposition") || "";
      var m = /filename="?([^";]+)"?/i.exec(cd);
      var name = m ? m[1] : "cong-van-tra-loi.docx";
      return r.blob().then(function (blob) {
        var url = URL.createObjectURL(blob);
        var a = h("a", { href: url, download: name });
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
        status("Đã tải xuống " + name + ".", "ok");
        open(current.id);
      });
    }).catch(function (e) { if (e.message !== "signed out") status(e.message, "error"); });
  }

  /* ---------------------------------------------------------------- provisions */
  function provision(pid) {
    if (shown[pid]) return;
    var card = h("article", { class: "prov", tabindex: "-1" }, h("p", { class: "muted", text: "Đang tải " + pid + "…" }));
    shown[pid] = card;
    $("provisions").appendChild(card);
    fetch("/api/provisions/" + encodeURIComponent(pid)).then(function (r) {
      return r.json().then(function (p) {
        card.textContent = "";
        if (!r.ok) { card.appendChild(h("p", { class: "error", text: p.detail || "Lỗi" })); return; }
        var art = p.article_full, hl = p.highlight || {};
        var body = h("div", { class: "article" });
        (art.clauses || []).forEach(function (c) {
          var on = hl.clause === c.number;
          var block = h("div", { class: "clause" + (on ? " hl" : "") }, h("p", { text: c.number + ". " + c.text }));
          c.points.forEach(function (pt) { block.appendChild(h("p", { class: "pt", text: pt.letter + ") " + pt.text })); });
          body.appendChild(block);
        });
        (art.intro || []).forEach(function (x) { body.insertBefore(h("p", { text: x }), body.firstChild); });
        add(card, [h("header", { class: "prov-head" }, h("div", null, h("h3", { text: p.short }), h("p", { class: "cite", text: p.citation })),
                     h("span", { class: "badge badge-" + (p.in_force ? "green" : "red"), text: p.in_force ? "Còn hiệu lực" : "Hết hiệu lực" })),
                   h("h4", { text: art.heading }), body]);
      });
    });
  }
  function focusProvision(pid) {
    var card = shown[pid];
    if (!card) { provision(pid); card = shown[pid]; }
    card.scrollIntoView({ behavior: "smooth", block: "start" });
    card.focus({ preventScroll: true });
  }

  /* ---------------------------------------------------------------- wiring */
  $("filter").addEventListener("change", function () { loadList(); });
  $("logout").addEventListener("click", function () {
    api("POST", "/api/staff/logout", {}).then(function () { location.assign("/staff/login"); });
  });
  api("GET", "/api/staff/me").then(json).then(function (j) {
    me = j; csrf = j.csrf_token;
    $("me").textContent = j.name + " · " + (j.role === "admin" ? "Quản trị" : "Cán bộ");
    return api("GET", "/api/staff/accounts").then(json);
  }).then(function (j) {
    accounts = j.accounts;
    var id = new URLSearchParams(location.search).get("id");
    return loadList(id ? Number(id) : null);
  }).catch(function (e) { if (e.message !== "signed out") status(e.message, "error"); });
})();
