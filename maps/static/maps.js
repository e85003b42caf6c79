/* geo-service map helpers: feature layers styled by class, popups and labels built (and
 * escaped) on the server, filters, a fullscreen control. No network access of its own. */
(function () {
  "use strict";
  var registry = [];

  function styleOf(styles, feature) {
    return styles[feature.properties._cls] || styles["default"] || {};
  }

  // Every vector layer of a map is drawn on the map's one canvas (prefer_canvas): Leaflet
  // hands a mouse event to the topmost canvas only, so a layer with a canvas of its own
  // would hide every layer below it from clicks. The tolerance makes a 2 px line or a
  // point's rim clickable with a finger.
  L.Canvas.mergeOptions({ tolerance: 4 });

  function fetchInto(popup, url) {  // a popup fragment built and escaped on the server
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) { popup.setContent(html); })
      .catch(function () { popup.setContent("无法加载详情 (could not load)"); });
  }

  var PHONE = window.matchMedia("(max-width: 600px)");  // as maps.base.PHONE

  function depth(map, corners, fromBottom) {  // px of the map's height its controls there take
    var box = map.getContainer().getBoundingClientRect(), out = 0;
    map.getContainer().querySelectorAll(corners).forEach(function (corner) {
      Array.prototype.forEach.call(corner.children, function (control) {
        var r = control.getBoundingClientRect();
        out = Math.max(out, fromBottom ? box.bottom - r.top : r.bottom - box.top);
      });
    });
    return out;
  }

  function popupOptions(map) {  // a long popup (a site's score breakdown) scrolls in the window
    var height = map.getSize().y;
    if (!PHONE.matches) { return { maxWidth: 360, maxHeight: Math.max(200, Math.round(height * 0.7)) }; }
    // On a phone a popup is as wide as the map: it opens between the controls above and
    // below it, not under them.
    var top = depth(map, ".leaflet-top", false) + 8, bottom = depth(map, ".leaflet-bottom", true) + 8;
    return { maxWidth: Math.min(360, map.getSize().x - 50),
             maxHeight: Math.max(160, height - top - bottom - 40),
             autoPanPaddingTopLeft: [5, top], autoPanPaddingBottomRight: [5, bottom] };
  }

  function tileSiteAt(map, latlng) {  // a site drawn from vector tiles (above every layer here)
    return registry.some(function (layer) {
      return layer._gsAt !== undefined && map.hasLayer(layer) && layer._gsAt(latlng) !== null;
    });
  }

  window.geoServiceLayer = function (map, data, styles, options) {
    var layer = L.geoJSON(null, {
      style: function (feature) { return styleOf(styles, feature); },
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, Object.assign({ radius: 6 }, styleOf(styles, feature)));
      },
      onEachFeature: function (feature, item) {
        var p = feature.properties;
        if (p._popup) {  // embedded: built and escaped on the server
          item.bindPopup(p._popup, popupOptions(map));
          // A site drawn from vector tiles lies above this feature: the map's click opens it.
          item.off("click").on("click", function (e) {
            if (tileSiteAt(map, e.latlng)) { return; }
            L.DomEvent.stop(e);
            item.openPopup(e.latlng);
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
    if (options.popupUrl) {
      // Served pages fetch a feature's popup when it is clicked: one handler for the layer,
      // not a popup bound to each of tens of thousands of features before the first paint.
      layer.on("click", function (e) {
        var p = e.layer.feature.properties;
        if (p._popup || p._id === undefined || tileSiteAt(map, e.latlng)) { return; }
        L.DomEvent.stop(e);
        var popup = L.popup(popupOptions(map)).setLatLng(e.latlng).setContent("…").openOn(map);
        fetchInto(popup, options.popupUrl + p._id);
      });
    }
    layer._gsAll = data.features;
    layer._gsFilterable = !!options.filterable;
    layer.addData(data);
    registry.push(layer);
    return layer;
  };

  window.geoServiceFeatureCount = function () {
    var n = 0;
    registry.forEach(function (layer) {
      n += layer._gsCount ? layer._gsCount() : layer.getLayers().length;
    });
    return n;
  };

  // ---- Vector tiles (Mapbox Vector Tile 2.1) fetched from the service, drawn on canvas ----
  // A small protobuf reader for the few messages a tile has: tile → layers → features.
  function Reader(buffer) {
    this.bytes = new Uint8Array(buffer);
    this.view = new DataView(buffer);
    this.pos = 0;
  }
  Reader.prototype.varint = function () {
    var result = 0, shift = 0, b;
    do {
      b = this.bytes[this.pos++];
      result += (b & 0x7f) * Math.pow(2, shift);  // exact up to 2^53; no 32-bit overflow
      shift += 7;
    } while (b & 0x80);
    return result;
  };
  Reader.prototype.skip = function (wire) {
    if (wire === 0) { this.varint(); }
    else if (wire === 1) { this.pos += 8; }
    else if (wire === 2) { this.pos += this.varint(); }
    else if (wire === 5) { this.pos += 4; }
    else { throw new Error("unsupported protobuf wire type " + wire); }
  };
  Reader.prototype.fields = function (end, each) {  // calls each(field, wire) until end
    while (this.pos < end) {
      var tag = this.varint();
      var start = this.pos;
      if (each(Math.floor(tag / 8), tag & 7) === false) { this.pos = start; this.skip(tag & 7); }
    }
  };
  Reader.prototype.text = function () {
    var n = this.varint(), s = utf8.decode(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  };
  Reader.prototype.packed = function () {
    var end = this.varint() + this.pos, out = [];
    while (this.pos < end) { out.push(this.varint()); }
    return out;
  };
  var utf8 = new TextDecoder("utf-8");
  function zigzag(n) { return n % 2 ? -(n + 1) / 2 : n / 2; }

  function readValue(r, end) {
    var value = null;
    r.fields(end, function (f, wire) {
      if (f === 1 && wire === 2) { value = r.text(); }
      else if (f === 2 && wire === 5) { value = r.view.getFloat32(r.pos, true); r.pos += 4; }
      else if (f === 3 && wire === 1) { value = r.view.getFloat64(r.pos, true); r.pos += 8; }
      else if ((f === 4 || f === 5) && wire === 0) { value = r.varint(); }
      else if (f === 6 && wire === 0) { value = zigzag(r.varint()); }
      else if (f === 7 && wire === 0) { value = r.varint() !== 0; }
      else { return false; }
    });
    return value;
  }

  function readFeature(r, end, keys, values) {
    var feature = { id: null, type: 0, properties: {}, rings: [] };
    var tags = [], commands = [];
    r.fields(end, function (f, wire) {
      if (f === 1 && wire === 0) { feature.id = r.varint(); }
      else if (f === 2 && wire === 2) { tags = r.packed(); }
      else if (f === 3 && wire === 0) { feature.type = r.varint(); }
      else if (f === 4 && wire === 2) { commands = r.packed(); }
      else { return false; }
    });
    for (var t = 0; t + 1 < tags.length; t += 2) {
      feature.properties[keys[tags[t]]] = values[tags[t + 1]];
    }
    // Geometry commands: MoveTo (1) starts a ring or point, LineTo (2) extends it, ClosePath (7).
    var x = 0, y = 0, ring = null, i = 0;
    while (i < commands.length) {
      var id = commands[i] & 7, count = Math.floor(commands[i] / 8);
      i += 1;
      if (id === 7) { continue; }
      for (var k = 0; k < count; k++) {
        x += zigzag(commands[i]); y += zigzag(commands[i + 1]); i += 2;
        if (id === 1) { ring = []; feature.rings.push(ring); }
        ring.push(x, y);
      }
    }
    return feature;
  }

  function readLayer(r, end, wanted) {
    var name = null, extent = 4096, keys = [], values = [], spans = [];
    r.fields(end, function (f, wire) {
      if (f === 1 && wire === 2) { name = r.text(); }
      else if (f === 2 && wire === 2) { var n = r.varint(); spans.push([r.pos, r.pos + n]); r.pos += n; }
      else if (f === 3 && wire === 2) { keys.push(r.text()); }
      else if (f === 4 && wire === 2) { var m = r.varint(); values.push(readValue(r, r.pos + m)); }
      else if (f === 5 && wire === 0) { extent = r.varint(); }
      else { return false; }
    });
    if (name !== wanted) { return null; }
    var features = spans.map(function (span) {
      r.pos = span[0];
      return readFeature(r, span[1], keys, values);
    });
    return { extent: extent, features: features };
  }

  function readTile(buffer, wanted) {
    var r = new Reader(buffer), layer = null;
    r.fields(r.bytes.length, function (f, wire) {
      if (f !== 3 || wire !== 2) { return false; }
      var n = r.varint(), end = r.pos + n;
      layer = readLayer(r, end, wanted) || layer;
      r.pos = end;
    });
    return layer || { extent: 4096, features: [] };
  }

  window.geoServiceDecodeTile = readTile;  // pure; the tests compare it with another decoder

  function inside(rings, x, y) {  // even-odd rule over every ring, as the canvas fills
    var hit = false;
    rings.forEach(function (ring) {
      for (var i = 0, j = ring.length - 2; i < ring.length; j = i, i += 2) {
        var xi = ring[i], yi = ring[i + 1], xj = ring[j], yj = ring[j + 1];
        if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) { hit = !hit; }
      }
    });
    return hit;
  }

  function near(rings, x, y, tolerance) {  // a point within tolerance of a line's segments
    return rings.some(function (ring) {
      for (var i = 2; i < ring.length; i += 2) {
        var ax = ring[i - 2], ay = ring[i - 1], dx = ring[i] - ax, dy = ring[i + 1] - ay;
        var t = dx || dy ? ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy) : 0;
        t = Math.max(0, Math.min(1, t));
        var ex = ax + t * dx - x, ey = ay + t * dy - y;
        if (ex * ex + ey * ey <= tolerance * tolerance) { return true; }
      }
      return false;
    });
  }

  var CELLS = 2;  // squares per tile side below the detail zoom: 128 px, room for a label
  var groupNumber = new Intl.NumberFormat("en");

  var TileSites = L.GridLayer.extend({
    createTile: function (coords, done) {
      var o = this.options.gs, self = this;
      var cells = o.cells && coords.z < o.detailZoom;
      var tile = cells ? L.DomUtil.create("div", "leaflet-tile gs-cells")
        : L.DomUtil.create("canvas", "leaflet-tile");
      var size = this.getTileSize(), ratio = window.devicePixelRatio || 1;
      if (!cells) {
        tile.width = size.x * ratio;
        tile.height = size.y * ratio;
      }
      tile._gsCoords = coords;
      // Squares count only the sites the filter keeps: the service counts them (exactly,
      // over sites this page never loads), asked by the tile's query; null: none kept.
      var query = cells && this._gsQuery !== undefined ? this._gsQuery : "";
      var drawing = this._gsDrawing;
      var url = L.Util.template(o.url, coords) + (query || "");
      var got = query === null ? Promise.resolve(null) : fetch(url, { credentials: "same-origin" })
        .then(function (r) {
          if (r.status === 204) { return null; }
          return r.ok ? r.arrayBuffer() : Promise.reject(new Error(url + ": " + r.status));
        });
      got
        .then(function (buffer) {
          if (drawing !== self._gsDrawing) { return; }  // the filter changed: drawn again
          var data = buffer ? readTile(buffer, o.layer) : { extent: 4096, features: [] };
          tile._gsExtent = data.extent;
          if (cells) {
            tile._gsCells = self._squares(data);
            self._label(tile);
          } else {
            tile._gsFeatures = data.features.map(function (f) { return self._site(f); });
            self._paint(tile);
          }
          done(null, tile);
        })
        .catch(function (error) {
          if (drawing !== self._gsDrawing) { return; }
          tile._gsFeatures = [];
          console.error("geo-service: tile " + url + " not drawn: " + error);
          done(error, tile);
        });
      return tile;
    },
    _squares: function (data) {  // the tile's counts per cell summed into CELLS² squares
      var side = data.extent / CELLS, count = this.options.gs.cells.count, out = {};
      data.features.forEach(function (f) {
        var ring = f.rings[0];
        var key = Math.floor(ring[0] / side) + ":" + Math.floor(ring[1] / side);
        out[key] = (out[key] || 0) + (f.properties[count] || 0);
      });
      return out;
    },
    _label: function (tile) {  // each square's count, as text a person reads (and a test)
      var c = this.options.gs.cells, size = this.getTileSize().x / CELLS;
      Object.keys(tile._gsCells).forEach(function (key) {
        var ij = key.split(":").map(Number), n = tile._gsCells[key];
        if (!n || ij[0] < 0 || ij[1] < 0 || ij[0] >= CELLS || ij[1] >= CELLS) { return; }
        var div = L.DomUtil.create("div", "gs-cell" + (c.foot ? " gs-cell-foot" : ""), tile);
        div.style.left = ij[0] * size + "px";
        div.style.top = ij[1] * size + "px";
        div.style.width = div.style.height = size + "px";
        var box = L.DomUtil.create("span", "", div);
        box.style.background = c.color;
        L.DomUtil.create("b", "", box).textContent = groupNumber.format(n);
        box.appendChild(document.createTextNode(" " + c.label));
      });
    },
    _site: function (f) {  // the same properties the embedded layers carry
      var o = this.options.gs, p = f.properties;
      f.properties = {
        _id: f.id,
        _cls: o.clsField ? String(p[o.clsField]) : o.cls,
        _type: o.type,
        _park: p.park_id === undefined ? "" : String(p.park_id),
        _size: o.size ? p[o.size[0]] * o.size[1] : undefined
      };
      return f;
    },
    _paint: function (tile) {
      var ctx = tile.getContext("2d"), scale = tile.width / tile._gsExtent;
      var styles = this.options.gs.styles, keep = this._gsKeep;
      ctx.clearRect(0, 0, tile.width, tile.height);
      tile._gsFeatures.forEach(function (f) {
        if (keep && !keep(f.properties)) { return; }
        var s = styleOf(styles, f);
        ctx.beginPath();
        f.rings.forEach(function (ring) {
          if (f.type === 1) {
            ctx.moveTo(ring[0] * scale + 6, ring[1] * scale);
            ctx.arc(ring[0] * scale, ring[1] * scale, 6, 0, 2 * Math.PI);
            return;
          }
          ctx.moveTo(ring[0] * scale, ring[1] * scale);
          for (var i = 2; i < ring.length; i += 2) { ctx.lineTo(ring[i] * scale, ring[i + 1] * scale); }
          if (f.type === 3) { ctx.closePath(); }
        });
        if (f.type !== 2) {
          ctx.globalAlpha = s.fillOpacity === undefined ? 0.2 : s.fillOpacity;
          ctx.fillStyle = s.fillColor || s.color || "#3388ff";
          ctx.fill("evenodd");
        }
        ctx.globalAlpha = s.opacity === undefined ? 1 : s.opacity;
        ctx.strokeStyle = s.color || "#3388ff";
        ctx.lineWidth = (s.weight === undefined ? 3 : s.weight) * (window.devicePixelRatio || 1);
        ctx.stroke();
      });
      ctx.globalAlpha = 1;
    },
    _current: function () {  // loaded tiles of the zoom level shown
      var out = [], z = this._tileZoom;
      Object.keys(this._tiles).forEach(function (key) {
        var t = this._tiles[key];
        if (t.coords.z === z && t.el._gsFeatures) { out.push(t.el); }
      }, this);
      return out;
    },
    _gsCount: function () {  // distinct sites drawn: one site may span several tiles
      if (!this._map) { return 0; }
      var seen = {}, n = 0, keep = this._gsKeep;
      this._current().forEach(function (tile) {
        tile._gsFeatures.forEach(function (f) {
          if ((keep && !keep(f.properties)) || seen[f.properties._id]) { return; }
          seen[f.properties._id] = true;
          n += 1;
        });
      });
      return n;
    },
    _gsFilter: function (keep, chosen) {
      this._gsKeep = keep;
      this._current().forEach(this._paint, this);
      if (!this.options.gs.cells) { return; }
      var query = this._query(chosen);
      if (query === (this._gsQuery === undefined ? "" : this._gsQuery)) { return; }
      this._gsQuery = query;  // tiles made from now on ask with it
      // The squares in view are asked again once the filter rests: "66667" typed asks the
      // service once, not once per digit.
      var self = this;
      clearTimeout(this._gsWait);
      this._gsWait = setTimeout(function () {
        if (self._map && self._tileZoom < self.options.gs.detailZoom) {
          self._gsDrawing = (self._gsDrawing || 0) + 1;  // answers to older queries: dropped
          self.redraw();
        }
      }, 300);
    },
    _query: function (chosen) {  // the filter as a tile's query; null: none of these sites
      var o = this.options.gs, q = [];
      if (chosen.types && chosen.types.indexOf(o.type) < 0) { return null; }
      if (chosen.park) { q.push("park=" + encodeURIComponent(chosen.park)); }
      if (isFinite(chosen.min)) { q.push("min_m2=" + encodeURIComponent(chosen.min)); }
      if (isFinite(chosen.max)) { q.push("max_m2=" + encodeURIComponent(chosen.max)); }
      return q.length ? "?" + q.join("&") : "";
    },
    _gsAt: function (latlng) {  // the square, site or line under a point, topmost first
      var z = this._tileZoom, size = this.getTileSize();
      var point = this._map.project(latlng, z);
      var coords = point.unscaleBy(size).floor();
      var tile = this._tiles[coords.x + ":" + coords.y + ":" + z];
      if (!tile) { return null; }
      var fx = point.x / size.x - coords.x, fy = point.y / size.y - coords.y;
      if (tile.el._gsCells) {
        var i = Math.floor(fx * CELLS), j = Math.floor(fy * CELLS);
        if (!tile.el._gsCells[i + ":" + j]) { return null; }
        var nw = coords.scaleBy(size).add(L.point(i, j).multiplyBy(size.x / CELLS));
        return { cell: L.latLngBounds(this._map.unproject(nw, z),
                                      this._map.unproject(nw.add([size.x / CELLS, size.x / CELLS]), z)) };
      }
      if (!tile.el._gsFeatures) { return null; }
      var e = tile.el._gsExtent, x = fx * e, y = fy * e, px = e / size.x;
      var keep = this._gsKeep, features = tile.el._gsFeatures, styles = this.options.gs.styles;
      for (var k = features.length - 1; k >= 0; k--) {
        var f = features[k];
        if (keep && !keep(f.properties)) { continue; }
        if (f.type === 3 && inside(f.rings, x, y)) { return f; }
        var weight = styleOf(styles, f).weight;
        if (f.type === 2 && near(f.rings, x, y, (4 + (weight === undefined ? 3 : weight) / 2) * px)) {
          return f;
        }
      }
      return null;
    }
  });

  var PANES = { gsContext: 420, gsSites: 450 };  // tiled roads above the parks, sites on top

  function covered(map, layer, latlng) {  // a tile layer drawn above this one has a hit here
    var mine = registry.indexOf(layer), z = PANES[layer.options.pane];
    return registry.some(function (other, i) {
      if (other === layer || other._gsAt === undefined || !map.hasLayer(other)) { return false; }
      var above = PANES[other.options.pane] > z || (PANES[other.options.pane] === z && i > mine);
      return above && other._gsAt(latlng) !== null;
    });
  }

  window.geoServiceTiles = function (map, options) {
    if (!map.getPane(options.pane)) {  // above the parks (and roads), as embedded sites are
      map.createPane(options.pane).style.zIndex = PANES[options.pane];
    }
    var layer = new TileSites({ gs: options, minZoom: options.minZoom, maxZoom: 20,
                                pane: options.pane, updateWhenZooming: false, keepBuffer: 1 });
    layer._gsFilterable = !!options.filterable;
    registry.push(layer);
    map.on("click", function (e) {
      if (!map.hasLayer(layer)) { return; }
      var hit = layer._gsAt(e.latlng);
      if (!hit || covered(map, layer, e.latlng)) { return; }
      if (hit.cell) { map.fitBounds(hit.cell); return; }  // a square of counts: zoom into it
      if (!options.popupUrl) { return; }
      var popup = L.popup(popupOptions(map)).setLatLng(e.latlng).setContent("…").openOn(map);
      fetchInto(popup, options.popupUrl + hit.properties._id);
    });
    if (options.cells && !hints[L.stamp(map)]) {  // one hint per map, below the tiles' zooms
      var hint = hints[L.stamp(map)] = L.control({ position: "topright" });
      hint.onAdd = function () {
        var div = L.DomUtil.create("div", "gs-panel gs-message");
        div.innerHTML = "放大地图以显示地块与厂房 (zoom in to see the sites)";
        return div;
      };
      var toggle = function () {
        if (map.getZoom() < options.minZoom) { hint.addTo(map); } else { hint.remove(); }
      };
      map.on("zoomend", toggle);
      toggle();
    }
    return layer;
  };
  var hints = {};

  window.geoServiceFilter = function (map, config) {
    var control = L.control({ position: "topright" });
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "gs-panel gs-filter");
      var html = "<b>" + config.title + "</b><br>";
      if (config.parks) {
        html += "<label>" + config.parkLabel + ' <select data-f="park" aria-label="' +
          config.parkLabel + '"><option value="">' + config.all + "</option>";
        config.parks.forEach(function (p) {
          html += '<option value="' + p[0] + '">' + p[1] + "</option>";
        });
        html += "</select></label><br>";
      }
      if (config.area) {  // each box named for a screen reader (and a test): min, max
        html += config.areaLabel + ' <input data-f="min" type="number" style="width:60px" ' +
          'aria-label="' + config.areaLabel + ' 最小 min"> – <input data-f="max" ' +
          'type="number" style="width:60px" aria-label="' + config.areaLabel + ' 最大 max"> ' +
          '<select data-f="unit" aria-label="' + config.unitLabel + '">';
        config.units.forEach(function (u) {  // [label, m² in one of it]
          html += '<option value="' + u[1] + '">' + u[0] + "</option>";
        });
        html += "</select><br>";
      }
      if (config.types) {
        config.types.forEach(function (t) {
          html += '<label><input data-f="type" type="checkbox" value="' + t[0] +
            '" checked> ' + t[1] + "</label> ";
        });
      }
      div.innerHTML = html;  // config strings are escaped on the server
      if (PHONE.matches) { fold(div, div.querySelector("b")); }  // the map's top stays clear
      L.DomEvent.disableClickPropagation(div);
      div.addEventListener("change", function () { apply(div); });
      div.addEventListener("input", function () { apply(div); });
      return div;
    };
    function apply(div) {
      var park = (div.querySelector('[data-f="park"]') || {}).value || "";
      var unit = parseFloat((div.querySelector('[data-f="unit"]') || {}).value) || 1;
      var min = parseFloat((div.querySelector('[data-f="min"]') || {}).value) * unit;
      var max = parseFloat((div.querySelector('[data-f="max"]') || {}).value) * unit;
      var types = Array.prototype.filter.call(div.querySelectorAll('[data-f="type"]'),
        function (box) { return box.checked; }).map(function (box) { return box.value; });
      var keep = function (p) {
        if (park && p._park !== park) { return false; }
        if (!isNaN(min) && p._size < min) { return false; }
        if (!isNaN(max) && p._size > max) { return false; }
        if (config.types && types.indexOf(p._type) < 0) { return false; }
        return true;
      };
      var chosen = { park: park, min: min, max: max, types: config.types ? types : null };
      registry.forEach(function (layer) {
        if (!layer._gsFilterable) { return; }
        if (layer._gsFilter) { layer._gsFilter(keep, chosen); return; }  // vector tiles
        layer.clearLayers();
        layer.addData({ type: "FeatureCollection", features: layer._gsAll.filter(function (f) {
          return keep(f.properties);
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
      var title = PHONE.matches && /^bottom/.test(control.getPosition()) && div.querySelector("b");
      if (title) { fold(div, title); }
      return div;
    };
    control.addTo(map);
  };

  function fold(div, title) {  // a phone folds a panel to its title; a tap opens it
    var details = document.createElement("details"), summary = L.DomUtil.create("summary", "", details);
    summary.textContent = title.textContent;
    var parent = title.parentNode;
    if (title.nextSibling && title.nextSibling.nodeName === "BR") {
      parent.removeChild(title.nextSibling);  // the summary is a line of its own
    }
    parent.removeChild(title);
    if (parent !== div && !parent.textContent.trim()) { parent.parentNode.removeChild(parent); }
    while (div.firstChild) { details.appendChild(div.firstChild); }
    details.insertBefore(summary, details.firstChild);
    div.appendChild(details);
    L.DomEvent.disableClickPropagation(div);
  }

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
