// List pages: confirmation before destructive buttons, tidy URLs for filter forms.
// No inline handlers anywhere (the Content-Security-Policy allows scripts from this origin only).
(function () {
  "use strict";

  // Buttons marked data-confirm ask first (bulk delete, deleting a saved view).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  // A bulk action needs ticked rows: say so instead of posting an empty selection.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "bulk-form") return;
    if (!form.querySelector('input[name="ids"]:checked')) {
      event.preventDefault();
      window.alert("Select at least one row first.");
    }
  });

  // Empty filters stay out of the URL, so a bookmarked or shared view reads cleanly.
  function dropEmpty(formData) {
    var empty = [];
    formData.forEach(function (value, key) {
      if (value === "" && empty.indexOf(key) < 0) empty.push(key);
    });
    empty.forEach(function (key) {
      var kept = formData.getAll(key).filter(function (v) { return v !== ""; });
      formData.delete(key);
      kept.forEach(function (v) { formData.append(key, v); });
    });
  }

  document.addEventListener("formdata", function (event) {
    if (event.target.hasAttribute("data-list-filters")) dropEmpty(event.formData);
  });

  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt || !elt.hasAttribute || !elt.hasAttribute("data-list-filters")) return;
    var params = event.detail.parameters;
    if (params && typeof params.forEach === "function" && typeof params.delete === "function") {
      dropEmpty(params);
    }
  });
})();
