// Record forms and inline edit. No inline scripts: the Content-Security-Policy allows
// scripts from this origin only, so behaviour hangs off data attributes and classes.
(function () {
  "use strict";

  // Escape in an inline-edit form cancels it (asks the server for the display fragment).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var form = event.target.closest && event.target.closest("form.inline-field.editing");
    if (!form) return;
    var cancel = form.querySelector("[data-inline-cancel]");
    if (cancel) {
      event.preventDefault();
      cancel.click();
    }
  });

  // After an inline save or cancel, put focus back on the field's Edit button, so keyboard
  // users keep their place on the page.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || !target.id) return;
    var swapped = document.getElementById(target.id);
    if (swapped && swapped.matches("span.inline-field")) {
      var button = swapped.querySelector("button.inline-edit");
      if (button) button.focus();
    }
  });
})();
