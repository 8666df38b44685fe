/* htp-assistant chat widget.
 *
 * Embed with one tag:  <script src="https://host/widget.js" data-title="…" data-lang="vi"></script>
 * Optional: data-api="https://host" (default: where this script comes from), data-position="left".
 *
 * Rules kept throughout: every piece of user or server text is inserted with textContent/createElement
 * (never parsed as HTML), styles live in a shadow root so the host page and the widget cannot restyle each other,
 * and the API base URL is derived from this script's own src so the tag works on any site.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || document.getElementById("htp-assistant-root")) return;

  var SRC = new URL(script.src, location.href);
  var API = (script.dataset.api || new URL(".", SRC).href).replace(/\/+$/, "");
  var KEY = "htp-assistant:" + new URL(API).host;
  var store = {
    get: function (k) { try { return localStorage.getItem(KEY + ":" + k); } catch (e) { return null; } },
    set: function (k, v) { try { if (v == null) localStorage.removeItem(KEY + ":" + k); else localStorage.setItem(KEY + ":" + k, v); } catch (e) { /* private mode */ } }
  };

  var T = {
    vi: {
      launcher: "Hỏi đáp pháp lý", open: "Mở trợ lý pháp lý", close: "Đóng", title: script.dataset.title || "Trợ lý pháp lý khu công nghệ cao",
      subtitle: "Trả lời có trích dẫn Điều, Khoản và hiệu lực", placeholder: "Nhập câu hỏi của bạn…",
      send: "Gửi câu hỏi", hint: "Enter để gửi · Shift+Enter xuống dòng", newChat: "Cuộc trò chuyện mới",
      welcome: "Xin chào! Tôi trả lời câu hỏi về pháp luật khu công nghệ cao dựa trên văn bản pháp luật hiện hành, kèm trích dẫn Điều, Khoản và tình trạng hiệu lực.",
      suggested: "Câu hỏi gợi ý", basis: "Căn cứ pháp lý", notes: "Lưu ý", fullText: "Xem toàn văn câu trả lời",
      building: "Đang xây dựng chỉ mục… Trợ lý sẽ sẵn sàng trong giây lát.", offline: "Không kết nối được máy chủ trợ lý.",
      lexical: "Tìm theo từ khóa", hybrid: "Tìm kiếm kết hợp", llm: "Có diễn giải",
      inForce: "Còn hiệu lực", expired: "Hết hiệu lực", notYet: "Chưa có hiệu lực", lowConf: "Bản OCR – độ tin cậy thấp", doubt: "Cần kiểm tra hiệu lực",
      helpful: "Câu trả lời hữu ích", notHelpful: "Câu trả lời chưa hữu ích", thanks: "Cảm ơn phản hồi của bạn!",
      procedure: "Thủ tục", authority: "Cơ quan tiếp nhận", documents: "Hồ sơ", timeLimit: "Thời hạn", result: "Kết quả",
      provision: "Nội dung điều khoản", loading: "Đang tải…", thinking: "Đang tra cứu văn bản…",
      error: "Đã có lỗi xảy ra. Vui lòng thử lại.", tooMany: "Bạn gửi quá nhanh. Vui lòng thử lại sau {s} giây.",
      asOf: "Hiệu lực tính đến {d}", disclaimer: "Thông tin tham khảo, không thay thế văn bản trả lời chính thức của cơ quan có thẩm quyền.",
      language: "Ngôn ngữ", you: "Bạn", bot: "Trợ lý", openProvision: "Xem {c}", citationList: "Các điều khoản được trích dẫn",
      highlighted: "Phần được trích dẫn",
      handover: "Gửi cho Ban quản lý", hoTitle: "Gửi cuộc trò chuyện cho Ban quản lý",
      hoIntro: "Cán bộ Ban quản lý sẽ đọc cuộc trò chuyện này và trả lời bạn trong thời hạn quy định.",
      hoName: "Họ và tên", hoOrg: "Doanh nghiệp / tổ chức", hoContact: "Email hoặc số điện thoại",
      hoMessage: "Bạn cần Ban quản lý trả lời hoặc quyết định điều gì? (không bắt buộc)", hoSubmit: "Gửi yêu cầu",
      hoSending: "Đang gửi…", hoDone: "Đã gửi cho Ban quản lý. Mã yêu cầu của bạn:", hoDue: "Hạn trả lời: {d}",
      hoFollow: "Theo dõi yêu cầu", hoKeep: "Hãy lưu mã và đường dẫn này để theo dõi trả lời.",
      hoMissing: "Vui lòng nhập họ tên và thông tin liên hệ."
    },
    en: {
      launcher: "Legal Q&A", open: "Open the legal assistant", close: "Close", title: script.dataset.titleEn || (script.dataset.lang === "en" && script.dataset.title) || "High-tech park legal assistant",
      subtitle: "Answers cite Articles and Clauses of the law", placeholder: "Type your question…",
      send: "Send question", hint: "Enter to send · Shift+Enter for a new line", newChat: "New conversation",
      welcome: "Hello! I answer questions on Vietnam's high-tech park law from the legal texts, citing Articles and Clauses with their validity status. Quotes stay in the original Vietnamese.",
      suggested: "Suggested questions", basis: "Legal basis", notes: "Notes", fullText: "Show the full answer",
      building: "Building the index… The assistant will be ready shortly.", offline: "Cannot reach the assistant server.",
      lexical: "Keyword search", hybrid: "Hybrid search", llm: "With explanation",
      inForce: "In force", expired: "No longer in force", notYet: "Not yet in force", lowConf: "OCR copy – low confidence", doubt: "Validity to be checked",
      helpful: "Helpful answer", notHelpful: "Unhelpful answer", thanks: "Thank you for your feedback!",
      procedure: "Procedure", authority: "Receiving authority", documents: "Dossier", timeLimit: "Time limit", result: "Result",
      provision: "Provision text", loading: "Loading…", thinking: "Searching the legal texts…",
      error: "Something went wrong. Please try again.", tooMany: "Too many requests. Please retry in {s} seconds.",
      asOf: "Validity as of {d}", disclaimer: "For reference only; not an official reply of the competent authority.",
      language: "Language", you: "You", bot: "Assistant", openProvision: "Open {c}", citationList: "Cited provisions",
      highlighted: "Cited part",
      handover: "Send to the park's staff", hoTitle: "Send this conversation to the park's staff",
      hoIntro: "An officer of the management board will read this conversation and reply within the set time limit.",
      hoName: "Full name", hoOrg: "Company / organisation", hoContact: "E-mail or telephone",
      hoMessage: "What do you need the board to answer or decide? (optional)", hoSubmit: "Send request",
      hoSending: "Sending…", hoDone: "Sent to the park's staff. Your reference code:", hoDue: "Reply due by {d}",
      hoFollow: "Follow your request", hoKeep: "Keep this code and link to follow the reply.",
      hoMissing: "Please enter your name and a contact."
    }
  };
  var SUGGEST = {
    vi: ["Điều kiện thành lập khu công nghệ cao là gì?",
         "Doanh nghiệp công nghệ cao được ưu đãi thuế thu nhập doanh nghiệp như thế nào?",
         "Hồ sơ đề nghị cấp Giấy chứng nhận doanh nghiệp công nghệ cao gồm những gì?",
         "Ban quản lý khu công nghệ cao có nhiệm vụ, quyền hạn gì?"],
    en: ["What are the conditions for establishing a high-tech park?",
         "What corporate income tax incentives do high-tech enterprises get?",
         "What documents are needed for a high-tech enterprise certificate?",
         "What are the duties of a high-tech park management board?"]
  };

  var lang = store.get("lang") || (script.dataset.lang === "en" ? "en" : "vi");
  // The answer follows the question's language unless the user picked one with the switch (then it is sent).
  var langChosen = store.get("lang-chosen") === "1";
  var sessionId = store.get("session");
  var busy = false, readyTimer = null, lastFocus = null;
  function t(k, vars) {
    var s = (T[lang] && T[lang][k]) || T.vi[k] || k;
    if (vars) Object.keys(vars).forEach(function (v) { s = s.replace("{" + v + "}", vars[v]); });
    return s;
  }

  /* ------------------------------------------------------------------ DOM helpers (text only) */
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
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function append(el, child) {
    if (child == null || child === false) return;
    if (Array.isArray(child)) child.forEach(function (c) { append(el, c); });
    else el.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
  var ICONS = {  // static path data (ours, never user input)
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    close: "M6 6l12 12M18 6L6 18", send: "M4 12l16-8-6 16-2-6-8-2z", plus: "M12 5v14M5 12h14",
    up: "M7 11v9H4v-9h3zm0 0l4-7a2 2 0 0 1 3 2l-1 4h5a2 2 0 0 1 2 2l-2 7a2 2 0 0 1-2 1H7",
    down: "M17 13V4h3v9h-3zm0 0l-4 7a2 2 0 0 1-3-2l1-4H6a2 2 0 0 1-2-2l2-7a2 2 0 0 1 2-1h9",
    scale: "M12 3v18M5 21h14M4 7h16M7 7l-3 7a3 3 0 0 0 6 0L7 7zm10 0l-3 7a3 3 0 0 0 6 0l-3-7z",
    doc: "M6 2h9l5 5v15H6zM14 2v6h6"
  };
  function icon(name, cls) {
    var NS = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "htp-icon " + (cls || ""));
    var p = document.createElementNS(NS, "path");
    p.setAttribute("d", ICONS[name]);
    svg.appendChild(p);
    return svg;
  }

  /* ------------------------------------------------------------------ shell */
  var host = h("div", { id: "htp-assistant-root" });
  var root = host.attachShadow({ mode: "open" });
  root.appendChild(h("link", { rel: "stylesheet", href: API + "/widget.css" }));
  var wrap = h("div", { class: "htp-wrap" + (script.dataset.position === "left" ? " htp-left" : ""), lang: lang });
  root.appendChild(wrap);

  var L = {};  // elements whose text follows the language
  var launcher = h("button", { class: "htp-launcher", type: "button", "aria-expanded": "false", "aria-controls": "htp-panel",
                               onclick: function () { togglePanel(); } },
                   icon("chat"), L.launcher = h("span", { class: "htp-launcher-label" }));
  var titleId = "htp-title";
  var modeBadge = h("span", { class: "htp-mode", hidden: true });
  var langVi = h("button", { type: "button", class: "htp-seg", lang: "vi", onclick: function () { setLang("vi"); } }, "Tiếng Việt");
  var langEn = h("button", { type: "button", class: "htp-seg", lang: "en", onclick: function () { setLang("en"); } }, "English");
  var newBtn = h("button", { type: "button", class: "htp-icon-btn", onclick: newConversation }, icon("plus"));
  var closeBtn = h("button", { type: "button", class: "htp-icon-btn", onclick: function () { togglePanel(false); } }, icon("close"));
  var notice = h("div", { class: "htp-notice", role: "status", hidden: true });
  var log = h("div", { class: "htp-log", role: "log", "aria-live": "polite", "aria-relevant": "additions" });
  var input = h("textarea", { class: "htp-input", rows: "1", maxlength: "2000", "aria-describedby": "htp-hint" });
  var sendBtn = h("button", { type: "submit", class: "htp-send" }, icon("send"));
  var form = h("form", { class: "htp-composer", onsubmit: function (e) { e.preventDefault(); send(input.value); } },
               input, sendBtn);
  var langGroup = h("div", { class: "htp-lang", role: "group" }, langVi, langEn);
  var panel = h("section", { id: "htp-panel", class: "htp-panel", role: "dialog", "aria-modal": "false",
                             "aria-labelledby": titleId, hidden: true },
    h("header", { class: "htp-head" },
      h("div", { class: "htp-head-row" },
        h("div", { class: "htp-logo" }, icon("scale")),
        h("div", { class: "htp-head-text" },
          L.title = h("h2", { id: titleId, class: "htp-title" }),
          L.subtitle = h("div", { class: "htp-sub" })),
        newBtn, closeBtn),
      h("div", { class: "htp-toolbar" }, modeBadge, langGroup)),
    notice, log,
    h("div", { class: "htp-foot" }, form,
      L.handover = h("button", { type: "button", class: "htp-handover", hidden: true, onclick: function () { openHandover(handoverBtn()); } }),
      L.hint = h("span", { id: "htp-hint", class: "htp-sr" }),
      L.disclaimer = h("div", { class: "htp-disclaimer" })));

  // Side sheet with a provision's text (modal inside the panel: focus stays in it until closed).
  var sheetTitle = h("h3", { class: "htp-sheet-title", id: "htp-sheet-title" });
  var sheetMeta = h("div", { class: "htp-sheet-meta" });
  var sheetBody = h("div", { class: "htp-sheet-body" });
  var sheetClose = h("button", { type: "button", class: "htp-icon-btn", onclick: closeSheet }, icon("close"));
  var sheet = h("div", { class: "htp-sheet", role: "dialog", "aria-modal": "true", "aria-labelledby": "htp-sheet-title", hidden: true },
    h("div", { class: "htp-sheet-head" }, h("div", { class: "htp-sheet-icon" }, icon("doc")), sheetTitle, sheetClose), sheetMeta, sheetBody);
  var scrim = h("div", { class: "htp-scrim", hidden: true, onclick: closeSheet });
  panel.appendChild(scrim);
  panel.appendChild(sheet);

  wrap.appendChild(panel);
  wrap.appendChild(launcher);
  (document.body || document.documentElement).appendChild(host);

  /* ------------------------------------------------------------------ language */
  function applyStrings() {
    wrap.setAttribute("lang", lang);
    L.launcher.textContent = t("launcher");
    launcher.setAttribute("aria-label", t("open"));
    L.title.textContent = t("title");
    L.subtitle.textContent = t("subtitle");
    L.hint.textContent = t("hint");
    L.disclaimer.textContent = t("disclaimer");
    L.handover.textContent = t("handover");
    input.setAttribute("placeholder", t("placeholder"));
    input.setAttribute("aria-label", t("placeholder"));
    sendBtn.setAttribute("aria-label", t("send"));
    sendBtn.setAttribute("title", t("send"));
    newBtn.setAttribute("aria-label", t("newChat"));
    newBtn.setAttribute("title", t("newChat"));
    closeBtn.setAttribute("aria-label", t("close"));
    closeBtn.setAttribute("title", t("close"));
    sheetClose.setAttribute("aria-label", t("close"));
    langGroup.setAttribute("aria-label", t("language"));
    langVi.setAttribute("aria-pressed", String(lang === "vi"));
    langEn.setAttribute("aria-pressed", String(lang === "en"));
    if (modeBadge.dataset.mode) modeBadge.textContent = t(modeBadge.dataset.mode);
    if (!notice.hidden && notice.dataset.kind) notice.textContent = t(notice.dataset.kind);
    var welcome = log.querySelector(".htp-welcome");
    if (welcome) welcome.replaceWith(welcomeBlock());
  }
  function setLang(l) {
    lang = l;
    langChosen = true;
    store.set("lang", l);
    store.set("lang-chosen", "1");
    applyStrings();
  }

  /* ------------------------------------------------------------------ panel */
  function togglePanel(open) {
    var show = open == null ? panel.hidden : open;
    panel.hidden = !show;
    launcher.setAttribute("aria-expanded", String(show));
    wrap.classList.toggle("htp-open", show);
    if (show) {
      checkReady();
      if (!log.childElementCount) restore();
      input.focus();
    } else {
      closeSheet();
      launcher.focus();
    }
  }
  root.addEventListener("keydown", function (e) {
    if (e.key === "Escape") {
      e.stopPropagation();
      if (!sheet.hidden) closeSheet(); else if (!panel.hidden) togglePanel(false);
    } else if (e.key === "Tab" && !sheet.hidden) {
      trapFocus(e, sheet);
    }
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(input.value); }
  });
  input.addEventListener("input", function () {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 140) + "px";
  });
  function trapFocus(e, container) {
    var f = container.querySelectorAll("button, [href], [tabindex]:not([tabindex='-1'])");
    if (!f.length) return;
    var first = f[0], last = f[f.length - 1], active = root.activeElement;
    if (e.shiftKey && active === first) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && active === last) { e.preventDefault(); first.focus(); }
  }

  function welcomeBlock() {
    return h("div", { class: "htp-welcome" },
      h("p", { class: "htp-welcome-text", text: t("welcome") }),
      h("div", { class: "htp-suggest-label", text: t("suggested") }),
      h("div", { class: "htp-suggest" }, SUGGEST[lang].map(function (q) {
        return h("button", { type: "button", class: "htp-suggestion", onclick: function () { send(q); } }, q);
      })));
  }
  function newConversation() {
    sessionId = null;
    store.set("session", null);
    L.handover.hidden = true;
    log.textContent = "";
    log.appendChild(welcomeBlock());
    input.focus();
  }
  function scrollDown() { log.scrollTop = log.scrollHeight; }

  /* ------------------------------------------------------------------ readiness */
  function setMode(mode) {
    if (!mode) { modeBadge.hidden = true; return; }
    modeBadge.dataset.mode = mode;
    modeBadge.textContent = t(mode);
    modeBadge.className = "htp-mode htp-mode-" + mode;
    modeBadge.hidden = false;
  }
  function showNotice(kind) {
    if (!kind) { notice.hidden = true; delete notice.dataset.kind; return; }
    notice.dataset.kind = kind;
    notice.textContent = t(kind);
    notice.hidden = false;
  }
  function checkReady() {
    clearTimeout(readyTimer);
    fetch(API + "/readyz", { cache: "no-store" }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (r.ok) {
          showNotice(null); setMode(j.mode);
          if (j.mode !== "hybrid" && !panel.hidden) readyTimer = setTimeout(checkReady, 15000);  // lexical → hybrid
        } else {
          showNotice("building"); setMode(null);
          if (!panel.hidden) readyTimer = setTimeout(checkReady, 3000);
        }
      });
    }).catch(function () { showNotice("offline"); if (!panel.hidden) readyTimer = setTimeout(checkReady, 8000); });
  }

  /* ------------------------------------------------------------------ messages */
  function userMsg(text) {
    var m = h("div", { class: "htp-msg htp-user" }, h("span", { class: "htp-sr", text: t("you") + ": " }),
              h("div", { class: "htp-bubble", text: text }));
    log.appendChild(m);
    scrollDown();
  }
  function botMsg() {
    var text = h("div", { class: "htp-text" });
    var typing = h("div", { class: "htp-typing", "aria-label": t("thinking") }, h("span"), h("span"), h("span"),
                   h("em", { text: t("thinking") }));
    var bubble = h("div", { class: "htp-bubble" }, typing, text);
    var m = h("div", { class: "htp-msg htp-bot", "aria-busy": "true" }, h("span", { class: "htp-sr", text: t("bot") + ": " }), bubble);
    log.appendChild(m);
    scrollDown();
    return { el: m, bubble: bubble, text: text, typing: typing };
  }

  function badgeOf(c) {
    if (c.low_confidence && c.in_force !== false) return { cls: "htp-b-amber", label: t("lowConf") };
    if (c.validity_doubt && c.in_force !== false) return { cls: "htp-b-amber", label: t("doubt") };
    if (c.in_force) return { cls: "htp-b-green", label: t("inForce") };
    var note = (c.status_note || "").toLowerCase();
    return { cls: "htp-b-red", label: note.indexOf("chưa") === 0 || note.indexOf("not yet") === 0 ? t("notYet") : t("expired") };
  }
  function chip(c, label) {
    var b = badgeOf(c);
    var full = c.citation || label;
    var el = h("button", { type: "button", class: "htp-chip " + b.cls, "data-provision": c.provision_id,
                           "aria-label": t("openProvision", { c: full }) + " — " + b.label, title: full + " — " + (c.status_note || b.label),
                           onclick: function () { openProvision(c.provision_id, el); } },
               h("span", { class: "htp-dot", "aria-hidden": "true" }),
               c.index ? h("span", { class: "htp-chip-n", text: String(c.index) }) : null,
               h("span", { class: "htp-chip-text", text: label || c.short }),
               h("span", { class: "htp-chip-status", text: b.label }));
    return el;
  }

  function procedureCard(p) {
    var rows = [["authority", p.authority], ["documents", p.documents], ["time_limit", p.time_limit], ["result", p.result]]
      .filter(function (r) { return r[1] && r[1].length; });
    if (!rows.length) return null;
    var keys = { authority: "authority", documents: "documents", time_limit: "timeLimit", result: "result" };
    return h("section", { class: "htp-proc", "aria-label": t("procedure") },
      h("div", { class: "htp-proc-title", text: t("procedure") }),
      h("dl", null, rows.map(function (r) {
        return [h("dt", { text: t(keys[r[0]]) }),
                h("dd", null, r[1].map(function (f) {
                  return h("div", { class: "htp-proc-item" }, h("span", { text: f.value }), " ",
                           h("button", { type: "button", class: "htp-mini-chip", "data-provision": f.provision_id,
                                         "aria-label": t("openProvision", { c: f.short }),
                                         onclick: function (e) { openProvision(f.provision_id, e.currentTarget); } }, f.short));
                }))];
      })));
  }

  function feedbackRow(ans) {
    var status = h("span", { class: "htp-fb-status", role: "status" });
    var up, down;
    function rate(v) {
      up.disabled = down.disabled = true;
      (v > 0 ? up : down).setAttribute("aria-pressed", "true");
      fetch(API + "/api/feedback", { method: "POST", headers: { "Content-Type": "application/json" },
                                     body: JSON.stringify({ answer_id: ans.answer_id, rating: v }) })
        .then(function (r) { status.textContent = r.ok ? t("thanks") : t("error"); })
        .catch(function () { status.textContent = t("error"); });
    }
    up = h("button", { type: "button", class: "htp-fb", "aria-pressed": "false", "aria-label": t("helpful"), title: t("helpful"),
                       onclick: function () { rate(1); } }, icon("up"));
    down = h("button", { type: "button", class: "htp-fb", "aria-pressed": "false", "aria-label": t("notHelpful"), title: t("notHelpful"),
                         onclick: function () { rate(-1); } }, icon("down"));
    var meta = [];
    if (ans.as_of) meta.push(t("asOf", { d: ans.as_of.split("-").reverse().join("/") }));
    return h("div", { class: "htp-msg-foot" }, h("span", { class: "htp-meta", text: meta.join(" · ") }), status,
             ans.answer_id ? h("span", { class: "htp-fb-group" }, up, down) : null);
  }

  // The final view of an answer: lead sentence, citation chips, procedure card, notes, full text on demand.
  function renderAnswer(view, ans) {
    var b = view.bubble;
    b.textContent = "";
    view.el.removeAttribute("aria-busy");
    if (ans.refused || !ans.citations || !ans.citations.length) {
      b.classList.add("htp-refused");
      b.appendChild(h("div", { class: "htp-text", text: ans.answer }));
    } else {
      b.appendChild(h("div", { class: "htp-text htp-lead", text: ans.lead || ans.answer }));
      b.appendChild(h("div", { class: "htp-cits-label", text: t("basis") }));
      b.appendChild(h("div", { class: "htp-cits", role: "list", "aria-label": t("citationList") },
        ans.citations.map(function (c) { var li = h("div", { role: "listitem" }, chip(c)); return li; })));
      if (ans.procedure) append(b, procedureCard(ans.procedure));
      if (ans.notes && ans.notes.length) {
        // Collapsed: the chips already carry each text's status; the notes give the details.
        b.appendChild(h("details", { class: "htp-notes" }, h("summary", { text: t("notes") + " (" + ans.notes.length + ")" }),
          h("ul", null, ans.notes.map(function (n) { return h("li", { text: n }); }))));
      }
      if (ans.lead && ans.answer !== ans.lead) {
        b.appendChild(h("details", { class: "htp-full" }, h("summary", { text: t("fullText") }),
                        h("div", { class: "htp-text", text: ans.answer })));
      }
    }
    view.el.appendChild(feedbackRow(ans));
  }
  function renderError(view, message) {
    view.el.removeAttribute("aria-busy");
    view.bubble.textContent = "";
    view.bubble.classList.add("htp-error");
    view.bubble.appendChild(h("div", { class: "htp-text", role: "alert", text: message }));
  }

  /* ------------------------------------------------------------------ streaming */
  function setBusy(v) {
    busy = v;
    sendBtn.disabled = v;
  }
  function send(text) {
    text = (text || "").trim();
    if (!text || busy) return;
    var welcome = log.querySelector(".htp-welcome .htp-suggest");
    if (welcome) welcome.parentNode.classList.add("htp-welcome-used");
    input.value = "";
    input.style.height = "auto";
    userMsg(text);
    var view = botMsg();
    setBusy(true);
    var body = { message: text, language: langChosen ? lang : "auto" };
    if (sessionId) body.session_id = sessionId;
    var got = false, finalAns = null;
    fetch(API + "/api/chat/stream", { method: "POST", headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
                                       body: JSON.stringify(body) })
      .then(function (r) {
        if (!r.ok) {
          return r.json().catch(function () { return {}; }).then(function (j) {
            var msg = r.status === 429 ? t("tooMany", { s: r.headers.get("Retry-After") || "60" })
              : (typeof j.detail === "string" ? j.detail : t("error"));
            if (r.status === 503) { showNotice("building"); checkReady(); }
            renderError(view, msg);
          });
        }
        return readSSE(r.body, function (name, data) {
          if (name === "meta") {
            if (data.session_id) { sessionId = data.session_id; store.set("session", sessionId); L.handover.hidden = false; }
            if (data.mode) setMode(data.mode);
          } else if (name === "delta") {
            if (!got) { got = true; view.typing.remove(); }
            view.text.appendChild(document.createTextNode(data.text || ""));
            scrollDown();
          } else if (name === "done") {
            finalAns = data;
          } else if (name === "error") {
            renderError(view, data.message || t("error"));
            finalAns = false;
          }
        }).then(function () {
          if (finalAns) {
            renderAnswer(view, finalAns);
            // Show the question and the start of its answer, not the end of a long answer.
            var top = (view.el.previousElementSibling || view.el).offsetTop - log.offsetTop - 8;
            log.scrollTop = Math.max(0, top);
            return true;
          }
          else if (finalAns === null) renderError(view, t("error"));
        });
      })
      .catch(function () { renderError(view, t("offline")); })
      .then(function (rendered) { setBusy(false); if (!rendered) scrollDown(); if (!panel.hidden) input.focus(); });
  }

  // Minimal SSE reader over fetch (EventSource cannot POST): events are separated by a blank line.
  function readSSE(stream, onEvent) {
    var reader = stream.getReader(), decoder = new TextDecoder(), buf = "";
    function dispatch(block) {
      var name = "message", data = [];
      block.split(/\r?\n/).forEach(function (line) {
        if (line.indexOf("event:") === 0) name = line.slice(6).trim();
        else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
      });
      if (!data.length) return;
      var payload;
      try { payload = JSON.parse(data.join("\n")); } catch (e) { payload = data.join("\n"); }
      onEvent(name, payload);
    }
    function pump() {
      return reader.read().then(function (res) {
        if (res.done) { if (buf.trim()) dispatch(buf); return; }
        buf += decoder.decode(res.value, { stream: true });
        var parts = buf.split(/\r?\n\r?\n/);
        buf = parts.pop();
        parts.forEach(dispatch);
        return pump();
      });
    }
    return pump();
  }

  /* ------------------------------------------------------------------ history */
  function restore() {
    if (!sessionId) { log.appendChild(welcomeBlock()); return; }
    fetch(API + "/api/sessions/" + encodeURIComponent(sessionId)).then(function (r) {
      if (!r.ok) { sessionId = null; store.set("session", null); log.appendChild(welcomeBlock()); return; }
      return r.json().then(function (j) {
        if (!j.turns || !j.turns.length) { log.appendChild(welcomeBlock()); return; }
        L.handover.hidden = false;
        j.turns.forEach(function (turn) {
          if (!turn.answer) return;
          userMsg(turn.question);
          renderAnswer(botMsg(), turn.answer);
        });
        scrollDown();
      });
    }).catch(function () { log.appendChild(welcomeBlock()); });
  }

  /* ------------------------------------------------------------------ provision sheet */
  function openProvision(pid, opener) {
    lastFocus = opener || null;
    sheetTitle.textContent = t("provision");
    sheetMeta.textContent = "";
    sheetBody.textContent = "";
    sheetBody.appendChild(h("p", { class: "htp-loading", text: t("loading") }));
    sheet.hidden = false;
    scrim.hidden = false;
    sheetClose.focus();
    fetch(API + "/api/provisions/" + encodeURIComponent(pid) + "?lang=" + lang).then(function (r) {
      return r.json().then(function (j) {
        sheetBody.textContent = "";
        if (!r.ok) { sheetBody.appendChild(h("p", { class: "htp-error", text: j.detail || t("error") })); return; }
        renderProvision(j);
      });
    }).catch(function () { sheetBody.textContent = t("offline"); });
  }
  function renderProvision(p) {
    var b = badgeOf(p);
    sheetTitle.textContent = p.short;
    var art = p.article_full;
    var hl = p.highlight || {};
    var body = h("div", { class: "htp-article" });
    function para(text, on, cls) {
      return h("p", { class: (cls || "") + (on ? " htp-hl" : "") }, text);
    }
    // The cited clause is highlighted as one block, a cited point on its own; a whole-article citation
    // needs no highlight (the sheet shows exactly that article).
    (art.intro || []).forEach(function (x) { body.appendChild(para(x, false)); });
    (art.points || []).forEach(function (pt) { body.appendChild(para(pt.letter + ") " + pt.text, !hl.clause && hl.point === pt.letter, "htp-point")); });
    (art.clauses || []).forEach(function (c) {
      var inClause = hl.clause === c.number;
      var block = h("div", { class: "htp-clause" + (inClause && !hl.point ? " htp-hl" : "") });
      block.appendChild(para(c.number + ". " + c.text, false));
      c.points.forEach(function (pt) {
        block.appendChild(para(pt.letter + ") " + pt.text, inClause && hl.point === pt.letter, "htp-point"));
      });
      (c.tail || []).forEach(function (x) { block.appendChild(para(x, false)); });
      body.appendChild(block);
    });
    (art.tail || []).forEach(function (x) { body.appendChild(para(x, false)); });
    sheetMeta.appendChild(h("p", { class: "htp-prov-cite", text: p.citation }));
    sheetMeta.appendChild(h("div", { class: "htp-prov-meta" },
      h("span", { class: "htp-badge " + b.cls }, h("span", { class: "htp-dot", "aria-hidden": "true" }), b.label),
      p.status_note && p.status_note.toLowerCase() !== b.label.toLowerCase()
        ? h("span", { class: "htp-prov-status", text: p.status_note }) : null));
    sheetBody.appendChild(h("h4", { class: "htp-art-head", text: art.heading }));
    sheetBody.appendChild(body);
    var on = body.querySelector(".htp-hl");
    if (on) {
      on.setAttribute("aria-label", t("highlighted"));
      setTimeout(function () { sheetBody.scrollTop = Math.max(0, on.offsetTop - 12); }, 0);
    }
  }
  /* ------------------------------------------------------------------ hand-over to the park's staff */
  function handoverBtn() { return L.handover; }
  function field(label, input) { return h("label", { class: "htp-field" }, h("span", { text: label }), input); }
  function openHandover(opener) {
    lastFocus = opener || null;
    sheetTitle.textContent = t("hoTitle");
    sheetMeta.textContent = "";
    sheetBody.textContent = "";
    var name = h("input", { class: "htp-ho-name", maxlength: "200", autocomplete: "name" });
    var org = h("input", { class: "htp-ho-org", maxlength: "300", autocomplete: "organization" });
    var contact = h("input", { class: "htp-ho-contact", maxlength: "200", autocomplete: "email" });
    var msg = h("textarea", { class: "htp-ho-message", maxlength: "4000", rows: "3" });
    var status = h("p", { class: "htp-ho-status", role: "status" });
    var submit = h("button", { type: "submit", class: "htp-ho-submit" }, t("hoSubmit"));
    var f = h("form", { class: "htp-ho-form", onsubmit: function (e) {
      e.preventDefault();
      if (!name.value.trim() || !contact.value.trim()) { status.textContent = t("hoMissing"); return; }
      submit.disabled = true;
      status.textContent = t("hoSending");
      fetch(API + "/api/handover", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ session_id: sessionId, name: name.value.trim(), organisation: org.value.trim() || null,
                               contact: contact.value.trim(), message: msg.value.trim() || null, language: lang }) })
        .then(function (r) {
          return r.json().catch(function () { return {}; }).then(function (j) {
            if (!r.ok) {
              submit.disabled = false;
              status.textContent = r.status === 429 ? t("tooMany", { s: r.headers.get("Retry-After") || "60" })
                : (typeof j.detail === "string" ? j.detail : t("error"));
              return;
            }
            store.set("request", j.code);
            handoverDone(j);
          });
        })
        .catch(function () { submit.disabled = false; status.textContent = t("offline"); });
    } }, h("p", { class: "htp-ho-intro", text: t("hoIntro") }), field(t("hoName"), name), field(t("hoOrg"), org),
      field(t("hoContact"), contact), field(t("hoMessage"), msg), submit, status);
    sheetBody.appendChild(f);
    sheet.hidden = false;
    scrim.hidden = false;
    name.focus();
  }
  function handoverDone(j) {
    sheetBody.textContent = "";
    var link = h("a", { class: "htp-ho-link", href: j.status_url + (lang === "en" ? "?lang=en" : ""), target: "_blank", rel: "noopener" }, t("hoFollow"));
    sheetBody.appendChild(h("div", { class: "htp-ho-done", role: "status" },
      h("p", { text: t("hoDone") }), h("p", { class: "htp-ho-code", text: j.code }),
      h("p", { class: "htp-ho-due", text: t("hoDue", { d: j.due.split("-").reverse().join("/") }) }),
      h("p", null, link), h("p", { class: "htp-ho-keep", text: t("hoKeep") })));
    link.focus();
  }

  function closeSheet() {
    if (sheet.hidden) return;
    sheet.hidden = true;
    scrim.hidden = true;
    if (lastFocus && lastFocus.isConnected) lastFocus.focus(); else input.focus();
  }

  applyStrings();
  checkReady();  // once now, so the notice is already right when the panel opens; it polls only while open
  window.HTPAssistant = { open: function () { togglePanel(true); }, close: function () { togglePanel(false); }, ask: function (q) { togglePanel(true); send(q); },
                         handover: function () { togglePanel(true); openHandover(L.handover); } };
})();
