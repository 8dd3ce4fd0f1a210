// The pipeline board's drag and drop: native HTML5 drag events, no library. A drop sets the
// card's own "Move to" select and submits its form, so dragging and the keyboard/phone path
// post the same htmx request (CSRF from the hx-headers on <body>). The server answers with the
// whole board re-rendered (totals included); on a refusal (400/403) that board still has the
// card in its old column, and on any other failure the card is put back here.
(function () {
  "use strict";

  var dragged = null; // {card, parent, next}: where the card came from, to put it back

  function column(el) {
    return el && el.closest ? el.closest("[data-drop-stage]") : null;
  }

  function clearTargets() {
    document.querySelectorAll(".pipeline-cards.is-target").forEach(function (el) {
      el.classList.remove("is-target");
    });
  }

  function putBack() {
    if (!dragged) return;
    dragged.card.classList.remove("is-moving");
    if (dragged.card.parentNode !== dragged.parent) {
      dragged.parent.insertBefore(dragged.card, dragged.next);
    }
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".pipeline-card[draggable=true]");
    if (!card) return;
    dragged = { card: card, parent: card.parentNode, next: card.nextSibling };
    event.dataTransfer.effectAllowed = "move";
    // Some browsers start no drag without data.
    event.dataTransfer.setData("text/plain", card.getAttribute("data-deal"));
    card.classList.add("is-dragging");
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.card.classList.remove("is-dragging");
    clearTargets();
  });

  document.addEventListener("dragover", function (event) {
    var target = column(event.target);
    if (!target || !dragged) return;
    event.preventDefault(); // allows the drop
    event.dataTransfer.dropEffect = "move";
    if (!target.classList.contains("is-target")) {
      clearTargets();
      target.classList.add("is-target");
    }
  });

  document.addEventListener("drop", function (event) {
    var target = column(event.target);
    if (!target || !dragged) return;
    event.preventDefault();
    clearTargets();
    var card = dragged.card;
    var stage = target.getAttribute("data-drop-stage");
    var form = card.querySelector("form.pipeline-move");
    var select = form && form.querySelector("select[name=stage]");
    if (!select || target === dragged.parent) return;
    select.value = stage;
    target.insertBefore(card, target.firstChild); // shown where it goes while the request runs
    card.classList.add("is-moving");
    form.requestSubmit();
  });

  function isMove(event) {
    var detail = event.detail || {};
    var elt = (detail.requestConfig && detail.requestConfig.elt) || detail.elt;
    return !!(elt && elt.matches && elt.matches("form.pipeline-move"));
  }

  // A refused move answers 400/403 with the board as it is and a message: swap it in anyway.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (isMove(event) && (status === 400 || status === 403)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    if (isMove(event)) putBack();
  });
  document.addEventListener("htmx:sendError", function (event) {
    if (isMove(event)) putBack();
  });
  document.addEventListener("htmx:afterSwap", function () {
    dragged = null;
  });
})();
