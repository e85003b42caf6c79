/* geo-service map helpers: feature layers styled by class, popups and labels built (and
 * escaped) on the server, filters, a fullscreen control. No network access of its own. */
(function () {
  "use strict";
  var registry = [];

  function styleOf(styles, feature) {
    return styles[feature.properties._cls] || styles["default"] || {};
  }

  window.geoServiceLayer = function (data, styles, options) {
    var renderer = L.canvas({ padding: 0.1 });  // less off-screen drawing per frame
    var layer = L.geoJSON(null, {
      renderer: renderer,
      style: function (feature) { return styleOf(styles, feature); },
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, Object.assign({ renderer: renderer, radius: 6 },
                                                    styleOf(styles, feature)));
      },
      onEachFeature: function (feature, item) {
        var p = feature.properties;
        if (p._popup) { item.bindPopup(p._popup, { maxWidth: 360 }); }  // escaped on the server
        if (options.popupUrl && p._id !== undefined) {
          // Served pages fetch each popup when it opens; the fragment is escaped server-side.
          item.bindPopup("…", { maxWidth: 360 });
          item.on("popupopen", function (e) {
            fetch(options.popupUrl + p._id, { credentials: "same-origin" })
              .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
              .then(function (html) { e.popup.setContent(html); })
              .catch(function () { e.popup.setContent("无法加载详情 (could not load)"); });
          });
        }
        if (p._label) {
          var point = feature.geometry && feature.geometry.type === "Point";
          item.bindTooltip(p._label, {
            permanent: !!options.labels,
            direction: point ? "right" : "center",
            offset: point ? [8, 0] : [0, 0],
            className: options.labels ? "gs-label" : ""
          });
        }
      }
    });
    layer._gsAll = data.features;
    layer._gsFilterable = !!options.filterable;
    layer.addData(data);
    registry.push(layer);
    return layer;
  };

  window.geoServiceFeatureCount = function () {
    var n = 0;
    registry.forEach(function (layer) { n += layer.getLayers().length; });
    return n;
  };

  window.geoServiceFilter = function (map, config) {
    var control = L.control({ position: "topright" });
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "gs-panel gs-filter");
      var html = "<b>" + config.title + "</b><br>";
      if (config.parks) {
        html += config.parkLabel + ' <select data-f="park"><option value="">' + config.all +
          "</option>";
        config.parks.forEach(function (p) {
          html += '<option value="' + p[0] + '">' + p[1] + "</option>";
        });
        html += "</select><br>";
      }
      if (config.area) {
        html += config.areaLabel + ' <input data-f="min" type="number" style="width:60px"> – ' +
          '<input data-f="max" type="number" style="width:60px"><br>';
      }
      if (config.types) {
        config.types.forEach(function (t) {
          html += '<label><input data-f="type" type="checkbox" value="' + t[0] +
            '" checked> ' + t[1] + "</label> ";
        });
      }
      div.innerHTML = html;  // config strings are escaped on the server
      L.DomEvent.disableClickPropagation(div);
      div.addEventListener("change", function () { apply(div); });
      div.addEventListener("input", function () { apply(div); });
      return div;
    };
    function apply(div) {
      var park = (div.querySelector('[data-f="park"]') || {}).value || "";
      var min = parseFloat((div.querySelector('[data-f="min"]') || {}).value);
      var max = parseFloat((div.querySelector('[data-f="max"]') || {}).value);
      var types = Array.prototype.filter.call(div.querySelectorAll('[data-f="type"]'),
        function (box) { return box.checked; }).map(function (box) { return box.value; });
      registry.forEach(function (layer) {
        if (!layer._gsFilterable) { return; }
        layer.clearLayers();
        layer.addData({ type: "FeatureCollection", features: layer._gsAll.filter(function (f) {
          var p = f.properties;
          if (park && p._park !== park) { return false; }
          if (!isNaN(min) && p._size < min) { return false; }
          if (!isNaN(max) && p._size > max) { return false; }
          if (config.types && types.indexOf(p._type) < 0) { return false; }
          return true;
        }) });
      });
    }
    control.addTo(map);
  };

  window.geoServiceTileErrors = function (map, message) {
    // An online basemap that fails (no network, no key, rate-limited with 429) says so once.
    var shown = false;
    map.eachLayer(function (layer) {
      if (!(layer instanceof L.TileLayer)) { return; }
      layer.on("tileerror", function () {
        if (shown) { return; }
        shown = true;
        window.geoServicePanel(map, "<div class='gs-message'>" + message + "</div>",
                               "bottomleft");
      });
    });
  };

  window.geoServicePanel = function (map, html, position) {
    var control = L.control({ position: position || "bottomright" });
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "gs-panel");
      div.innerHTML = html;  // built and escaped on the server
      return div;
    };
    control.addTo(map);
  };

  window.geoServiceFullscreen = function (map) {
    var control = L.control({ position: "topleft" });
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "leaflet-bar gs-fullscreen");
      var a = L.DomUtil.create("a", "", div);
      a.href = "#"; a.title = "全屏 (fullscreen)"; a.setAttribute("aria-label", a.title);
      L.DomEvent.on(a, "click", function (e) {
        L.DomEvent.preventDefault(e);
        var box = map.getContainer();
        if (document.fullscreenElement) { document.exitFullscreen(); }
        else if (box.requestFullscreen) { box.requestFullscreen(); }
      });
      return div;
    };
    control.addTo(map);
    document.addEventListener("fullscreenchange", function () { map.invalidateSize(); });
  };
})();
