// Sites compared side by side: a small map per site, its outline fitted, its park's
// outline around it. No basemap (the offices have no internet); a click on an outline
// says what it is.
"use strict";
(function () {
  const maps = JSON.parse(document.getElementById("compare-maps").textContent);
  const styles = {
    park: { color: "#5b6875", weight: 1.5, dashArray: "4 4", fillOpacity: 0.04 },
    site: { color: "#0b5cad", weight: 3, fillOpacity: 0.35 },
  };

  // Names come from the data: set as text, never as HTML.
  function label(props) {
    const box = document.createElement("div");
    const id = document.createElement("strong");
    id.textContent = props.label;
    box.append(id);
    if (props.name) box.append(document.createElement("br"), props.name);
    return box;
  }

  const fitted = [];
  for (const m of maps) {
    const map = L.map("map-" + m.key, { attributionControl: false, scrollWheelZoom: false, zoomSnap: 0.25 });
    let site = null;
    const drawn = L.geoJSON({ type: "FeatureCollection", features: m.features }, {
      style: (f) => Object.assign({ className: "gs-" + f.properties.kind }, styles[f.properties.kind]),
      onEachFeature: (f, layer) => {
        layer.bindTooltip(label(f.properties), { sticky: true });
        layer.bindPopup(label(f.properties));
        if (f.properties.kind === "site") site = layer;
      },
    }).addTo(map);
    if (site) site.bringToFront();
    const bounds = (site || drawn).getBounds();
    map.fitBounds(bounds, { padding: [28, 28] });
    fitted.push([map, bounds]);
  }
  // Printed, the maps are smaller than on screen: fit each site again to its new size.
  function refit() {
    for (const [map, bounds] of fitted) { map.invalidateSize(); map.fitBounds(bounds, { padding: [12, 12], animate: false }); }
  }
  window.addEventListener("beforeprint", refit);
  window.addEventListener("afterprint", refit);
  window.matchMedia("print").addEventListener("change", refit);
})();
