// warren's live traffic chart: lines on a <canvas>, no library.
// Copyright the warren authors; part of warren, under warren's licence.
(function () {
  'use strict';

  // Colours of the series, by name; the page's CSS names them too.
  var colours = { rx: '#2a7ab0', tx: '#c0562b' };

  function niceMax(v) {
    if (v <= 0) { return 1; }
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * p >= v) { return steps[i] * p; }
    }
    return 10 * p;
  }

  // draw paints series (arrays of numbers, newest last, all of length
  // capacity or less) onto canvas, scaled to the largest value, with a
  // label of the scale formatted by fmt.
  function draw(canvas, series, capacity, fmt) {
    var ctx = canvas.getContext('2d');
    if (!ctx) { return; }
    var w = canvas.width, h = canvas.height, pad = 14;
    ctx.clearRect(0, 0, w, h);
    var top = 0;
    Object.keys(series).forEach(function (k) {
      series[k].forEach(function (v) { if (v > top) { top = v; } });
    });
    top = niceMax(top);
    ctx.strokeStyle = '#d8d8d8';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(0, pad + 0.5); ctx.lineTo(w, pad + 0.5);
    ctx.moveTo(0, h - 0.5); ctx.lineTo(w, h - 0.5);
    ctx.stroke();
    ctx.fillStyle = '#666';
    ctx.font = '11px sans-serif';
    ctx.textBaseline = 'bottom';
    ctx.fillText(fmt(top), 2, pad - 1);
    var dx = w / Math.max(capacity - 1, 1);
    Object.keys(series).forEach(function (k) {
      var vals = series[k];
      if (vals.length < 2) { return; }
      ctx.strokeStyle = colours[k] || '#333';
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      var x0 = w - (vals.length - 1) * dx;
      vals.forEach(function (v, i) {
        var x = x0 + i * dx;
        var y = h - 1 - (v / top) * (h - pad - 2);
        if (i === 0) { ctx.moveTo(x, y); } else { ctx.lineTo(x, y); }
      });
      ctx.stroke();
    });
  }

  window.warrenChart = { draw: draw };
})();
