// The results page: the ranked list and the map share one selection. Click a row (or
// press Enter on it) → the site is highlighted and in view, its details open; click a
// site, a line or a facility on the map → its row and details. Changing a weight
// re-ranks in place: the server sends the new list, details and map data.
"use strict";
(function () {
  const map = L.map("results-map", { zoomControl: true });
  const colours = { parcel: "#0b5cad", factory: "#0b5cad", group: "#6a3d9a", near: "#a15c00",
                    line: "#444", infra: "#b42318", park: "#7a8793", road: "#b9c2cb" };
  let layers = {};
  let selected = null;
  let drawn = null;

  function style(f, on) {
    const k = f.properties.kind;
    if (k === "line") return { color: colours.line, weight: on ? 4 : 2, dashArray: "5 5" };
    if (k === "road") return { color: colours.road, weight: 3 };
    if (k === "park") return { color: colours.park, weight: 1, fillOpacity: 0.04, dashArray: "4 3" };
    return { color: on ? "#f5a623" : colours[k] || "#333", weight: on ? 4 : 2,
             fillOpacity: on ? 0.55 : 0.3 };
  }

  function draw(fit) {
    const data = JSON.parse(document.getElementById("results-features").textContent);
    if (drawn) drawn.remove();
    layers = {};
    drawn = L.geoJSON(data, {
      // Each feature's path is classed by what it belongs to (gs-site-3, gs-near-0 …).
      style: (f) => Object.assign(style(f, false), { className: "gs-" + f.properties.key }),
      pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 7 }),
      onEachFeature: (f, layer) => {
        const key = f.properties.key;
        (layers[key] = layers[key] || []).push(layer);
        const rank = f.properties.rank ? "#" + f.properties.rank + " " : "";
        // Names come from the data: as text, never as markup (Leaflet takes a string as HTML).
        const tip = document.createElement("span");
        tip.textContent = rank + f.properties.label;
        layer.bindTooltip(tip, { sticky: true });
        if (["infra", "park", "road"].includes(f.properties.kind)) {
          // No row of its own: a click says what it is.
          const text = document.createElement("div");
          text.textContent = f.properties.label + (f.properties.infra_kind ? " (" + f.properties.infra_kind + ")" : "");
          layer.bindPopup(text);
        } else {
          layer.on("click", () => select(key, false));
        }
      },
    }).addTo(map);
    for (const k of ["road", "park"]) for (const l of Object.values(layers).flat()) {
      if (l.feature.properties.kind === k && l.bringToBack) l.bringToBack();
    }
    if (fit) {
      const focus = Object.values(layers).flat().filter((l) => !["park", "road"].includes(l.feature.properties.kind));
      if (focus.length) map.fitBounds(L.featureGroup(focus).getBounds(), { padding: [20, 20] });
      else map.setView([30, 120], 5);
    }
    for (const row of document.querySelectorAll("tr[data-key]")) {
      row.addEventListener("click", () => select(row.dataset.key, true));
      row.addEventListener("keydown", (e) => { if (e.key === "Enter") select(row.dataset.key, true); });
    }
    selected = null;
  }

  function select(key, fromList) {
    if (selected) for (const l of layers[selected] || []) l.setStyle(style(l.feature, false));
    for (const row of document.querySelectorAll("tr[aria-selected=true]")) row.setAttribute("aria-selected", "false");
    for (const d of document.querySelectorAll(".site-detail")) d.hidden = true;
    selected = key;
    const own = layers[key] || [];
    for (const l of own) { l.setStyle(style(l.feature, true)); if (l.bringToFront) l.bringToFront(); }
    const row = document.querySelector('tr[data-key="' + key + '"]');
    if (row) { row.setAttribute("aria-selected", "true"); if (!fromList) row.scrollIntoView({ block: "nearest" }); }
    const detail = document.getElementById("detail-" + key);
    if (detail) detail.hidden = false;
    if (fromList && own.length) map.fitBounds(L.featureGroup(own).getBounds(), { maxZoom: 15, padding: [40, 40] });
  }

  const form = document.getElementById("weights");
  let timer = null;
  async function rerank() {
    const status = document.getElementById("rerank-status");
    status.textContent = status.dataset.busy || "…";
    const response = await fetch(form.action + "?part=ranked", {
      method: "POST", body: new FormData(form), credentials: "same-origin",
    });
    const html = await response.text();
    if (!response.ok) { status.textContent = html; return; }
    const doc = new DOMParser().parseFromString(html, "text/html");
    for (const id of ["ranked-list", "site-details", "results-features"]) {
      document.getElementById(id).replaceWith(doc.getElementById(id));
    }
    const error = doc.getElementById("rerank-error");
    status.textContent = error ? error.textContent : (status.dataset.done || "");
    draw(false);
  }
  if (form) {
    form.addEventListener("submit", (e) => {
      if (e.submitter && e.submitter.value === "1") return; // "save": a real post
      e.preventDefault();
      rerank();
    });
    form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(rerank, 400); });
  }
  // A download that takes seconds (the PDF) says so while it is made, then arrives as
  // a file; the page stays usable meanwhile.
  const status = document.getElementById("download-status");
  for (const link of document.querySelectorAll("a[data-progress]")) {
    link.addEventListener("click", async (e) => {
      e.preventDefault();
      status.textContent = status.dataset.busy;
      link.setAttribute("aria-busy", "true");
      try {
        const response = await fetch(link.href, { credentials: "same-origin" });
        if (!response.ok) throw new Error(String(response.status));
        const blob = await response.blob();
        const named = /filename\*=UTF-8''([^;]+)/.exec(response.headers.get("Content-Disposition") || "");
        const save = document.createElement("a");
        save.href = URL.createObjectURL(blob);
        save.download = named ? decodeURIComponent(named[1]) : link.href.split("/").pop();
        document.body.appendChild(save);
        save.click();
        save.remove();
        setTimeout(() => URL.revokeObjectURL(save.href), 60000);
        status.textContent = status.dataset.done;
      } catch (error) {
        status.textContent = status.dataset.failed;
      } finally {
        link.removeAttribute("aria-busy");
      }
    });
  }
  draw(true);
})();
