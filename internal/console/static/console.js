// omq console keys: "g" then a letter goes to a page, "/" focuses the
// page's search, "r" reloads. Nothing here is needed to use a page.
(function () {
  "use strict";
  var pages = { o: "overview", d: "deadletters", p: "portfolio", i: "imports", a: "audit" };
  var pending = false;
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    if (pending) {
      pending = false;
      if (pages[e.key]) { e.preventDefault(); location.href = "/console/" + pages[e.key]; }
      return;
    }
    if (e.key === "g") { pending = true; setTimeout(function () { pending = false; }, 1500); return; }
    if (e.key === "/") {
      var s = document.querySelector("input[type=search], input[name=q]");
      if (s) { e.preventDefault(); s.focus(); }
      return;
    }
    if (e.key === "r") { location.reload(); }
  });
})();
