/* Staff page: one conversation with the full texts of every cited provision side by side, for drafting.
 * All data is inserted as text (textContent / createElement); the page runs under a script-src 'self' CSP. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var sessionId = new URLSearchParams(location.search).get("session") || "";
  var lastQuestion = "";
  var shown = {};  // provision id → card element
  var csrf = "";  // the sign-in's CSRF token: drafts of a conversation are a staff action
  fetch("/api/staff/me", { credentials: "same-origin" }).then(function (r) {
    if (r.status === 401) { location.assign("/staff/login?next=" + encodeURIComponent(location.pathname + location.search)); return; }
    return r.json().then(function (j) {
      csrf = j.csrf_token || "";
      $("me").textContent = j.name + " · " + (j.role === "admin" ? "Quản trị" : "Cán bộ");
    });
  }).catch(function () {});
  // Sign-out deletes the server-side session (the cookie alone is worthless afterwards), then back to sign-in.
  $("logout").addEventListener("click", function () {
    fetch("/api/staff/logout", { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: "{}" })
      .finally(function () { location.assign("/staff/login"); });
  });

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
  function badge(c) {
    if (c.low_confidence && c.in_force !== false) return ["amber", "Bản OCR – độ tin cậy thấp"];
    if (c.in_force) return ["green", "Còn hiệu lực"];
    return ["red", /^chưa/i.test(c.status_note || "") ? "Chưa có hiệu lực" : "Hết hiệu lực"];
  }
  function detail(r, j) { return (j && typeof j.detail === "string") ? j.detail : "Lỗi " + r.status; }

  /* ---------------------------------------------------------------- session */
  function setSession(id) {
    sessionId = id || "";
    $("session-id").value = sessionId;
    $("session-label").textContent = sessionId ? "Mã phiên: " + sessionId : "Chưa có phiên";
    var url = new URL(location.href);
    if (sessionId) url.searchParams.set("session", sessionId); else url.searchParams.delete("session");
    history.replaceState(null, "", url);
  }
  function reset() {
    $("transcript").textContent = "";
    $("provisions").textContent = "";
    shown = {};
    lastQuestion = "";
    countProvisions();
  }
  function load(id) {
    reset();
    if (!id) { setSession(""); empty(); return; }
    status("Đang tải phiên…");
    fetch("/api/sessions/" + encodeURIComponent(id)).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) { status(r.status === 404 ? "Không tìm thấy phiên này." : detail(r, j), "error"); setSession(""); empty(); return; }
        status("");
        setSession(id);
        j.turns.forEach(function (t) { if (t.answer) turn(t.question, t.answer); });
        if (!j.turns.length) empty();
      });
    }).catch(function () { status("Không kết nối được máy chủ.", "error"); });
  }
  function empty() {
    if ($("transcript").childElementCount) return;
    $("transcript").appendChild(h("p", { class: "empty", text: "Mở một phiên bằng mã phiên của nhà đầu tư, hoặc đặt câu hỏi để bắt đầu phiên mới." }));
  }

  /* ---------------------------------------------------------------- transcript */
  function turn(question, ans) {
    var box = $("transcript");
    var e = box.querySelector(".empty");
    if (e) e.remove();
    lastQuestion = question;
    var chips = (ans.citations || []).map(function (c) {
      var b = badge(c);
      return h("button", { type: "button", class: "chip chip-" + b[0], title: c.citation + " — " + c.status_note,
                           onclick: function () { focusProvision(c.provision_id); } },
               h("span", { class: "dot", "aria-hidden": "true" }), c.short, h("span", { class: "chip-status", text: b[1] }));
    });
    box.appendChild(h("article", { class: "turn" },
      h("div", { class: "q" }, h("span", { class: "who", text: "Hỏi" }), h("p", { text: question })),
      h("div", { class: "a" + (ans.refused ? " refused" : "") },
        h("span", { class: "who", text: "Đáp" }),
        h("div", null,
          h("p", { class: "lead", text: ans.refused ? ans.answer : (ans.lead || ans.answer) }),
          chips.length ? h("div", { class: "chips" }, chips) : null,
          ans.procedure ? procedure(ans.procedure) : null,
          (ans.notes || []).length ? h("ul", { class: "notes" }, ans.notes.map(function (n) { return h("li", { text: n }); })) : null,
          h("div", { class: "meta", text: "Hiệu lực tính đến " + (ans.as_of || "").split("-").reverse().join("/") +
                                          (ans.answer_id ? " · mã trả lời " + ans.answer_id.slice(0, 8) : "") })))));
    box.scrollTop = box.scrollHeight;
    (ans.citations || []).forEach(function (c) { provision(c.provision_id); });
  }

  function procedure(p) {
    var rows = [["Cơ quan tiếp nhận", p.authority], ["Hồ sơ", p.documents], ["Thời hạn", p.time_limit], ["Kết quả", p.result]]
      .filter(function (r) { return r[1] && r[1].length; });
    if (!rows.length) return null;
    return h("dl", { class: "proc" }, rows.map(function (r) {
      return [h("dt", { text: r[0] }), h("dd", null, r[1].map(function (f) {
        return h("div", null, f.value + " ", h("button", { type: "button", class: "mini", text: f.short,
                                                          onclick: function () { focusProvision(f.provision_id); } }));
      }))];
    }));
  }

  /* ---------------------------------------------------------------- provisions */
  function countProvisions() {
    var n = Object.keys(shown).length;
    $("law-count").textContent = n ? n + " điều khoản" : "";
    if (!n && !$("provisions").childElementCount) {
      $("provisions").appendChild(h("p", { class: "empty", text: "Toàn văn các điều khoản được trích dẫn sẽ hiện ở đây." }));
    }
  }
  function provision(pid) {
    if (shown[pid]) return;
    var e = $("provisions").querySelector(".empty");
    if (e) e.remove();
    var card = h("article", { class: "prov", tabindex: "-1" }, h("p", { class: "muted", text: "Đang tải " + pid + "…" }));
    shown[pid] = card;
    $("provisions").appendChild(card);
    countProvisions();
    fetch("/api/provisions/" + encodeURIComponent(pid)).then(function (r) {
      return r.json().then(function (p) {
        card.textContent = "";
        if (!r.ok) { card.appendChild(h("p", { class: "error", text: detail(r, p) })); return; }
        renderProvision(card, p);
      });
    });
  }
  function renderProvision(card, p) {
    var b = badge(p), art = p.article_full, hl = p.highlight || {};
    var body = h("div", { class: "article" });
    function para(text, on, cls) { return h("p", { class: (cls || "") + (on ? " hl" : "") }, text); }
    (art.intro || []).forEach(function (x) { body.appendChild(para(x, false)); });
    (art.points || []).forEach(function (pt) { body.appendChild(para(pt.letter + ") " + pt.text, !hl.clause && hl.point === pt.letter, "pt")); });
    (art.clauses || []).forEach(function (c) {
      var inC = hl.clause === c.number;
      var block = h("div", { class: "clause" + (inC && !hl.point ? " hl" : "") });
      block.appendChild(para(c.number + ". " + c.text, false));
      c.points.forEach(function (pt) { block.appendChild(para(pt.letter + ") " + pt.text, inC && hl.point === pt.letter, "pt")); });
      (c.tail || []).forEach(function (x) { block.appendChild(para(x, false)); });
      body.appendChild(block);
    });
    (art.tail || []).forEach(function (x) { body.appendChild(para(x, false)); });
    var copy = h("button", { type: "button", class: "btn btn-small btn-ghost", text: "Sao chép trích dẫn",
      onclick: function () {
        var text = p.citation + " (" + p.status_note + "):\n" + p.text;
        (navigator.clipboard ? navigator.clipboard.writeText(text) : Promise.reject()).then(
          function () { copy.textContent = "Đã sao chép"; }, function () { copy.textContent = "Không sao chép được"; });
      } });
    add(card, [
      h("header", { class: "prov-head" },
        h("div", null, h("h3", { text: p.short }), h("p", { class: "cite", text: p.citation })),
        h("span", { class: "badge badge-" + b[0], text: b[1] })),
      p.status_note.toLowerCase() !== b[1].toLowerCase() ? h("p", { class: "status-note", text: "Tình trạng: " + p.status_note }) : null,
      h("h4", { text: art.heading }), body, h("div", { class: "prov-actions" }, copy)]);
  }
  function focusProvision(pid) {
    var card = shown[pid];
    if (!card) { provision(pid); card = shown[pid]; }
    card.scrollIntoView({ behavior: "smooth", block: "start" });
    card.focus({ preventScroll: true });
    card.classList.remove("flash");
    void card.offsetWidth;
    card.classList.add("flash");
  }

  /* ---------------------------------------------------------------- ask */
  function ask(q) {
    q = q.trim();
    if (!q) return;
    var btn = $("ask-btn");
    btn.disabled = true;
    status("Đang tra cứu…");
    var body = { message: q };
    if (sessionId) body.session_id = sessionId;
    fetch("/api/chat", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) {
        return r.json().then(function (j) {
          if (!r.ok) { status(detail(r, j), "error"); return; }
          status("");
          $("question").value = "";
          setSession(j.session_id);
          turn(q, j);
        });
      })
      .catch(function () { status("Không kết nối được máy chủ.", "error"); })
      .then(function () { btn.disabled = false; $("question").focus(); });
  }

  /* ---------------------------------------------------------------- draft */
  function draft() {
    if (!lastQuestion) { status("Chưa có câu hỏi nào để soạn công văn trả lời.", "error"); return; }
    var btn = $("draft-btn");
    btn.disabled = true;
    status("Đang soạn công văn…");
    var body = { question: lastQuestion, session_id: sessionId || null, org: $("org").value.trim() || null,
                 ref: $("ref").value.trim() || null, format: "docx" };
    fetch("/api/drafts", { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
                           credentials: "same-origin", body: JSON.stringify(body) })
      .then(function (r) {
        if (!r.ok) {
          return r.json().catch(function () { return {}; }).then(function (j) {
            status(r.status === 404 || r.status === 405 ? "Chức năng soạn công văn chưa được bật trên máy chủ này." : detail(r, j), "error");
          });
        }
        var cd = r.headers.get("Content-Disposition") || "";
        var m = /filename\*=UTF-8''([^;]+)|filename="?([^";]+)"?/i.exec(cd);
        var name = m ? decodeURIComponent(m[1] || m[2]) : "cong-van-tra-loi.docx";
        return r.blob().then(function (blob) {
          var url = URL.createObjectURL(blob);
          var a = h("a", { href: url, download: name });
          document.body.appendChild(a);
          a.click();
          a.remove();
          setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
          status("Đã tải xuống " + name + ".", "ok");
        });
      })
      .catch(function () { status("Không kết nối được máy chủ.", "error"); })
      .then(function () { btn.disabled = false; });
  }

  /* ---------------------------------------------------------------- wiring */
  $("session-form").addEventListener("submit", function (e) { e.preventDefault(); load($("session-id").value.trim()); });
  $("new-session").addEventListener("click", function () { setSession(""); reset(); empty(); $("question").focus(); });
  $("ask-form").addEventListener("submit", function (e) { e.preventDefault(); ask($("question").value); });
  $("question").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); ask($("question").value); }
  });
  $("draft-form").addEventListener("submit", function (e) { e.preventDefault(); draft(); });
  fetch("/readyz").then(function (r) { return r.json().then(function (j) {
    var m = $("mode");
    if (r.ok) { m.hidden = false; m.textContent = j.mode === "hybrid" ? "Tìm kiếm kết hợp" : "Tìm theo từ khóa"; m.className = "mode mode-" + j.mode; }
    else status("Đang xây dựng chỉ mục… (" + (j.detail || "") + ")", "warn");
  }); }).catch(function () {});
  setSession(sessionId);
  if (sessionId) load(sessionId); else { empty(); countProvisions(); }
})();
