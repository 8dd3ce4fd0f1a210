// Project boards: drag a card within or across columns (HTML5 drag and drop), and the move is
// posted to the board's move URL (task, section, index). The server answers with the columns
// fragment, which replaces the board, so the page always shows the order as stored. The
// "Move to" form on each card does the same without JavaScript or a mouse.
(function () {
  "use strict";

  var dragged = null;

  function csrfToken() {
    // base.html puts the token in <body hx-headers>; a form's hidden input is the fallback.
    try {
      var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      if (headers["X-CSRFToken"]) return headers["X-CSRFToken"];
    } catch (e) { /* not JSON: use the form's token */ }
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function cardsOf(list) {
    return Array.prototype.filter.call(list.children, function (el) {
      return el.classList.contains("board-card-item") && el !== dragged;
    });
  }

  // The index the card would take in `list` if dropped at height `y`: before the first card
  // whose middle is below the pointer.
  function dropIndex(list, y) {
    var cards = cardsOf(list);
    for (var i = 0; i < cards.length; i++) {
      var box = cards[i].getBoundingClientRect();
      if (y < box.top + box.height / 2) return i;
    }
    return cards.length;
  }

  function clearMarks() {
    document.querySelectorAll(".board-column.is-drop-target").forEach(function (el) {
      el.classList.remove("is-drop-target");
    });
  }

  function send(board, taskId, sectionId, index) {
    var url = board.getAttribute("data-move-url");
    var values = { task: taskId, section: sectionId, index: String(index) };
    if (window.htmx) {
      window.htmx.ajax("POST", url, {
        target: "#board-columns", swap: "outerHTML", values: values,
        headers: { "X-CSRFToken": csrfToken() }
      });
      return;
    }
    var body = new URLSearchParams(values);
    fetch(url, { method: "POST", body: body, headers: { "X-CSRFToken": csrfToken() }, credentials: "same-origin" })
      .then(function () { window.location.reload(); });
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".board-card-item[draggable=true]");
    if (!card) return;
    dragged = card;
    card.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-task"));
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("is-dragging");
    dragged = null;
    clearMarks();
  });

  document.addEventListener("dragover", function (event) {
    if (!dragged) return;
    var column = event.target.closest && event.target.closest(".board-column");
    if (!column) return;
    event.preventDefault(); // this makes the column a drop target
    event.dataTransfer.dropEffect = "move";
    if (!column.classList.contains("is-drop-target")) {
      clearMarks();
      column.classList.add("is-drop-target");
    }
  });

  document.addEventListener("drop", function (event) {
    if (!dragged) return;
    var column = event.target.closest && event.target.closest(".board-column");
    var board = column && column.closest(".board-columns[data-move-url]");
    if (!board) return;
    event.preventDefault();
    var list = column.querySelector(".board-cards-list");
    var index = dropIndex(list, event.clientY);
    var cards = cardsOf(list);
    // Show the new place at once; the server's answer replaces the board a moment later.
    list.insertBefore(dragged, cards[index] || null);
    send(board, dragged.getAttribute("data-task"), list.getAttribute("data-section"), index);
    clearMarks();
  });
})();
