// minicrm's page behaviour that every page shares. No inline scripts anywhere: the
// Content-Security-Policy allows scripts from this origin only.
(function () {
  "use strict";

  function isTyping(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    var search = document.getElementById("global-search-input");
    if (!search) return;
    // "/" focuses the header search, as in most web apps, unless the user is typing.
    if (event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !isTyping(event.target)) {
      event.preventDefault();
      search.focus();
      search.select();
    }
    if (event.key === "Escape" && document.activeElement === search) {
      document.getElementById("search-results").innerHTML = "";
      search.blur();
    }
  });

  // Clicking outside the search closes its results.
  document.addEventListener("click", function (event) {
    var results = document.getElementById("search-results");
    if (results && !event.target.closest(".global-search")) results.innerHTML = "";
  });

  // Elements marked data-autosubmit submit their form on change (filters, selects on cards).
  document.addEventListener("change", function (event) {
    var el = event.target.closest("[data-autosubmit]");
    if (el && el.form) el.form.requestSubmit();
  });

  // data-select-all checkboxes tick every checkbox named by their value in the same form.
  document.addEventListener("change", function (event) {
    var master = event.target.closest("[data-select-all]");
    if (!master || !master.form) return;
    var name = master.getAttribute("data-select-all");
    master.form.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
      box.checked = master.checked;
    });
  });
})();
