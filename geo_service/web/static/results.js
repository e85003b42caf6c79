// The results page: the ranked list and the map share one selection. Click a row (or
// press Enter on it) → the site is highlighted and in view, its details open; click a
// site, a line or a facility on the map → its row and details.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("results-features").textContent);
  const map = L.map("results-map", { zoomControl: true });
  const colours = { parcel: "#0b5cad", factory: "#0b5cad", single: "#0b5cad", group: "#6a3d9a", near: "#a15c00", line: "#444", infra: "#b42318" };
  const layers = {};
  let selected = null;

  function style(f, on) {
    const k = f.properties.kind;
    if (k === "line") return { color: colours.line, weight: on ? 4 : 2, dashArray: "5 5" };
    return { color: on ? "#f5a623" : colours[k] || "#333", weight: on ? 4 : 2,
             fillOpacity: on ? 0.55 : 0.3 };
  }
  const geo = L.geoJSON(data, {
    // Each feature's path is classed by the site it belongs to (gs-site-3, gs-near-0 …).
    style: (f) => Object.assign(style(f, false), { className: "gs-" + f.properties.key }),
    pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 7 }),
    onEachFeature: (f, layer) => {
      const key = f.properties.key;
      (layers[key] = layers[key] || []).push(layer);
      layer.bindTooltip(String(f.properties.rank ? "#" + f.properties.rank + " " : "") + f.properties.label);
      layer.on("click", () => select(key, false));
    },
  }).addTo(map);
  if (data.features.length) map.fitBounds(geo.getBounds(), { padding: [20, 20] });
  else map.setView([30, 120], 5);

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
  for (const row of document.querySelectorAll("tr[data-key]")) {
    row.addEventListener("click", () => select(row.dataset.key, true));
    row.addEventListener("keydown", (e) => { if (e.key === "Enter") select(row.dataset.key, true); });
  }
})();
