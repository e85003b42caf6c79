// The project form: show the land or the factory fields as the switch says. Without
// script every field shows, and the server ignores the other kind's.
"use strict";
(function () {
  const form = document.getElementById("project-form");
  if (!form) return;
  const kind = form.querySelector("[name=site_kind]");
  function show() {
    const k = kind.value || "land";
    form.dataset.kind = k;
    for (const el of form.querySelectorAll(".only-land, .only-factory")) {
      el.hidden = !el.classList.contains("only-" + k);
    }
    for (const g of form.querySelectorAll("details.group-land, details.group-factory")) {
      g.hidden = !g.classList.contains("group-" + k);
    }
  }
  kind.addEventListener("change", show);
  show();
})();
