/* Staff sign-in: POST /api/staff/login (JSON), then back to the page asked for (same site only). */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  function next() {
    var n = new URLSearchParams(location.search).get("next") || "/staff/inbox";
    return /^\/(?!\/)/.test(n) && n.indexOf("\\") < 0 ? n : "/staff/inbox";  // never another site
  }
  function status(msg, kind) {
    var s = $("status");
    s.hidden = !msg;
    s.className = "status" + (kind ? " status-" + kind : "");
    s.textContent = msg || "";
  }
  $("login-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var btn = $("login-btn");
    btn.disabled = true;
    status("Đang đăng nhập…");
    fetch("/api/staff/login", { method: "POST", headers: { "Content-Type": "application/json" }, credentials: "same-origin",
                                body: JSON.stringify({ username: $("username").value.trim(), password: $("password").value }) })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (r.ok) { location.assign(next()); return; }
          status(r.status === 401 ? "Sai tên đăng nhập hoặc mật khẩu." :
                 r.status === 429 ? "Thử quá nhiều lần. Vui lòng đợi một phút." :
                 (typeof j.detail === "string" ? j.detail : "Lỗi " + r.status), "error");
          $("password").value = "";
          $("password").focus();
        });
      })
      .catch(function () { status("Không kết nối được máy chủ.", "error"); })
      .then(function () { btn.disabled = false; });
  });
  $("username").focus();
})();
