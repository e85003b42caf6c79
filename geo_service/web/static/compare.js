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
    map.fitBounds((site || drawn).getBounds(), { padding: [28, 28] });
  }
})();
