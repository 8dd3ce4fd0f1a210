// Type-ahead for related-record fields (crm/forms/widgets.py, _autocomplete_widget.html).
// htmx fetches the options into the listbox; this script sends the typed text, opens and closes
// the listbox, moves through it with the arrow keys and puts the picked record's id into the
// hidden input and its label into the search input. No inline scripts (the CSP allows only our
// static files), so everything hangs off data attributes, delegated from the document so
// fields swapped in later (inline edit) work too.
(function () {
  "use strict";

  var BOX = "[data-autocomplete]";

  function parts(element) {
    var box = element && element.closest ? element.closest(BOX) : null;
    if (!box) return null;
    return {
      box: box,
      input: box.querySelector("[data-autocomplete-input]"),
      value: box.querySelector("[data-autocomplete-value]"),
      list: box.querySelector("[role=listbox]"),
      status: box.querySelector("[data-autocomplete-status]"),
    };
  }

  function options(p) {
    return Array.prototype.slice.call(p.list.querySelectorAll("[role=option]"));
  }

  function isOpen(p) {
    return !p.list.hidden;
  }

  function open(p) {
    p.list.hidden = false;
    p.input.setAttribute("aria-expanded", "true");
  }

  function close(p) {
    p.list.hidden = true;
    p.input.setAttribute("aria-expanded", "false");
    p.input.removeAttribute("aria-activedescendant");
  }

  function activeIndex(p) {
    var id = p.input.getAttribute("aria-activedescendant");
    return options(p).findIndex(function (option) { return option.id === id; });
  }

  function activate(p, index) {
    var all = options(p);
    if (!all.length) return;
    index = (index + all.length) % all.length;
    all.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    p.input.setAttribute("aria-activedescendant", all[index].id);
    all[index].scrollIntoView({ block: "nearest" });
  }

  function pick(p, option) {
    p.value.value = option.dataset.value;
    p.input.value = option.dataset.label;
    p.input.dataset.label = option.dataset.label;
    close(p);
    // Whoever listens to the field (none yet) hears about the new value.
    p.value.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // The search input has no name (it is not part of the form's data): hand htmx its text.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.matches && elt.matches("[data-autocomplete-input]")) {
      event.detail.parameters.q = elt.value;
    }
  });

  // New options: give each an id for aria-activedescendant, open if the user is still here.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || !target.matches || !target.matches(BOX + " [role=listbox]")) return;
    var p = parts(target);
    var all = options(p);
    all.forEach(function (option, i) { option.id = target.id + "-" + i; });
    p.input.removeAttribute("aria-activedescendant");
    if (p.status) {
      var more = target.querySelector("[data-autocomplete-more]");
      p.status.textContent = (all.length === 1 ? "1 result" : all.length + " results") +
        (more ? ". " + more.textContent : "");
    }
    if (document.activeElement === p.input) open(p);
  });

  // Emptying the text empties the value: that is how an optional link is removed.
  document.addEventListener("input", function (event) {
    var p = event.target.matches && event.target.matches("[data-autocomplete-input]")
      ? parts(event.target) : null;
    if (p && event.target.value.trim() === "") {
      p.value.value = "";
      p.input.dataset.label = "";
    }
  });

  // Capture phase, so Escape closes the listbox before records.js would cancel the inline
  // form around it.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!target.matches || !target.matches("[data-autocomplete-input]")) return;
    var p = parts(target);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!isOpen(p)) {
        if (options(p).length) open(p);
        else return;
      }
      var index = activeIndex(p);
      var step = event.key === "ArrowDown" ? 1 : -1;
      activate(p, index < 0 ? (step > 0 ? 0 : -1) : index + step);
    } else if (event.key === "Enter" && isOpen(p)) {
      var active = options(p)[activeIndex(p)];
      if (active) {
        event.preventDefault(); // pick, do not submit the form
        pick(p, active);
      }
    } else if (event.key === "Escape" && isOpen(p)) {
      event.preventDefault();
      event.stopPropagation();
      close(p);
    } else if (event.key === "Tab") {
      close(p);
    }
  }, true);

  // Keep focus in the input while clicking in the listbox (an option, or a row saying there
  // is none or more), so it does not close first and the typed text stays.
  document.addEventListener("mousedown", function (event) {
    if (event.target.closest && event.target.closest(BOX + " [role=listbox] li")) {
      event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    var option = event.target.closest && event.target.closest(BOX + " [role=option]");
    if (option) pick(parts(option), option);
  });

  // Leaving the field: what it shows is what will be saved, so text that was typed but not
  // picked goes back to the chosen record's label.
  document.addEventListener("focusout", function (event) {
    var target = event.target;
    if (!target.matches || !target.matches("[data-autocomplete-input]")) return;
    var p = parts(target);
    close(p);
    if (target.value.trim() !== "") target.value = target.dataset.label || "";
    if (!target.value) p.value.value = "";
  });
})();
