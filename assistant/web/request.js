/* The investor's status page (/request/{code}): status, the assigned officer's role, the due date, their
 * questions, and the reply once sent. The code is read from this page's address; all text via textContent. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var code = decodeURIComponent(location.pathname.split("/").pop() || "");
  var lang = new URLSearchParams(location.search).get("lang") === "en" ? "en" : "vi";
  try { lang = localStorage.getItem("htp-request-lang") || lang; } catch (e) { /* private mode */ }
  var data = null, failed = null;
  var T = {
    vi: { title: "Theo dõi yêu cầu", sub: "Ban quản lý khu công nghệ cao", code: "Mã yêu cầu", status: "Trạng thái", due: "Hạn trả lời",
          who: "Người xử lý", unassigned: "Đang phân công", received: "Gửi lúc", questions: "Nội dung đã gửi", message: "Lời nhắn",
          reply: "Trả lời của Ban quản lý", repliedAt: "Trả lời ngày", pending: "Ban quản lý chưa trả lời. Trang này sẽ hiện nội dung trả lời ngay khi có.",
          overdue: "quá hạn", notFound: "Không tìm thấy yêu cầu với mã này. Vui lòng kiểm tra lại đường dẫn.", loading: "Đang tải…",
          error: "Không tải được yêu cầu. Vui lòng thử lại.", note: "Giữ kín đường dẫn này: ai có mã yêu cầu đều xem được trạng thái." },
    en: { title: "Follow your request", sub: "High-tech park management board", code: "Reference", status: "Status", due: "Reply due by",
          who: "Handled by", unassigned: "Being assigned", received: "Sent", questions: "What you sent", message: "Your message",
          reply: "The board's reply", repliedAt: "Replied on", pending: "No reply yet. It will appear on this page as soon as it is sent.",
          overdue: "overdue", notFound: "No request has this code. Please check the link.", loading: "Loading…",
          error: "The request could not be loaded. Please retry.", note: "Keep this link private: anyone holding the code can see the status." }
  };
  function t(k) { return T[lang][k]; }
  function h(tag, props) {
    var el = document.createElement(tag);
    if (props) Object.keys(props).forEach(function (k) {
      var v = props[k];
      if (v == null || v === false) return;
      if (k === "class") el.className = v; else if (k === "text") el.textContent = v; else el.setAttribute(k, String(v));
    });
    for (var i = 2; i < arguments.length; i++) if (arguments[i] != null) el.appendChild(typeof arguments[i] === "string" ? document.createTextNode(arguments[i]) : arguments[i]);
    return el;
  }
  function d(iso) { return iso ? iso.slice(0, 10).split("-").reverse().join("/") : ""; }

  function render() {
    document.documentElement.lang = lang;
    $("title").textContent = t("title");
    $("sub").textContent = t("sub");
    $("lang-vi").setAttribute("aria-pressed", String(lang === "vi"));
    $("lang-en").setAttribute("aria-pressed", String(lang === "en"));
    var c = $("content");
    c.textContent = "";
    if (failed) { c.appendChild(h("p", { class: "error", role: "alert", text: failed === 404 ? t("notFound") : t("error") })); return; }
    if (!data) { c.appendChild(h("p", { class: "muted", text: t("loading") })); return; }
    var r = data;
    c.appendChild(h("p", null, t("code") + ": ", h("span", { class: "code", id: "code", text: r.code })));
    c.appendChild(h("div", { class: "state" },
      h("div", { class: "tile st-" + r.status }, h("div", { class: "k", text: t("status") }), h("div", { class: "v", id: "status", text: r.status_label })),
      h("div", { class: "tile" }, h("div", { class: "k", text: t("due") }),
        h("div", { class: "v" + (r.overdue ? " late" : ""), id: "due", text: d(r.due) + (r.overdue ? " (" + t("overdue") + ")" : "") })),
      h("div", { class: "tile" }, h("div", { class: "k", text: t("who") }), h("div", { class: "v", id: "assignee", text: r.assignee_role || t("unassigned") }))));
    c.appendChild(h("p", { class: "muted", text: t("received") + " " + d(r.created) + (r.organisation ? " · " + r.organisation : "") }));
    c.appendChild(h("h2", { text: t("questions") }));
    var ul = h("ul", { class: "qs" });
    r.questions.forEach(function (q) { ul.appendChild(h("li", { text: q })); });
    c.appendChild(ul);
    if (r.message) { c.appendChild(h("h2", { text: t("message") })); c.appendChild(h("p", { text: r.message })); }
    c.appendChild(h("h2", { text: t("reply") }));
    if (r.reply) {
      c.appendChild(h("div", { class: "reply", id: "reply", text: r.reply }));
      c.appendChild(h("p", { class: "muted", text: t("repliedAt") + " " + d(r.replied_at) }));
    } else c.appendChild(h("div", { class: "pending", id: "reply-pending", text: t("pending") }));
    c.appendChild(h("p", { class: "note", text: t("note") }));
  }
  function load() {
    fetch("/api/handover/" + encodeURIComponent(code) + "?lang=" + lang, { cache: "no-store" }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (r.ok) { data = j; failed = null; } else { failed = r.status; }
        render();
      });
    }).catch(function () { failed = 0; render(); });
  }
  function setLang(l) { lang = l; try { localStorage.setItem("htp-request-lang", l); } catch (e) { /* private mode */ } load(); }
  $("lang-vi").addEventListener("click", function () { setLang("vi"); });
  $("lang-en").addEventListener("click", function () { setLang("en"); });
  render();
  load();
})();
