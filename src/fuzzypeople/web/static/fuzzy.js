/* fuzzypeople in the browser: the photo pipeline of src/fuzzypeople, ported to JavaScript.
 *
 * Nothing here sends anything anywhere: the models are fetched from the page's own
 * origin and run by onnxruntime-web (WebAssembly) in this page; the pixels never
 * leave it. Each function names the Python it mirrors; thresholds, tiles and rules
 * are the same values (keep them in step: tests/test_site.py compares the masks).
 *
 * The rules are the Python pipeline's default (Settings()): NanoDet whole image + tiles at 1.5x,
 * MoveNet, CenterFace, merge, the face rule, each body box >= 48 px traced by the two segmenters
 * (detect/outline.py, the same MediaPipe models converted to ONNX by tools/tflite_to_onnx.py),
 * dilate 4; or, with `boxes`, Settings(boxes=True): boxes grown (body 5%, face 25%), dilate 4.
 *
 * Images are {data: Uint8Array (RGB, row-major), width, height}.
 */
(function (global) {
  'use strict';

  // ---------------------------------------------------------------- numbers
  /** Python's round(): halves to even. */
  function pyRound(x) {
    const r = Math.round(x);
    return (Math.abs(x % 1) === 0.5 && r % 2 !== 0) ? r - 1 : r;
  }

  // ---------------------------------------------------------------- resizing (OpenCV semantics)
  /** cv2's computeResizeAreaTab: for each destination index, [source index, weight (float32)] pairs. */
  function areaTab(ssize, dsize) {
    const scale = 1 / (dsize / ssize); // as cv::resize computes it
    const f = Math.fround, tab = [];
    for (let dx = 0; dx < dsize; dx++) {
      const fsx1 = dx * scale, fsx2 = fsx1 + scale;
      const cellWidth = Math.min(scale, ssize - fsx1);
      let sx1 = Math.ceil(fsx1), sx2 = Math.floor(fsx2);
      sx2 = Math.min(sx2, ssize - 1);
      sx1 = Math.min(sx1, sx2);
      const row = [];
      if (sx1 - fsx1 > 1e-3) row.push([sx1 - 1, f((sx1 - fsx1) / cellWidth)]);
      for (let sx = sx1; sx < sx2; sx++) row.push([sx, f(1 / cellWidth)]);
      if (fsx2 - sx2 > 1e-3) row.push([sx2, f(Math.min(Math.min(fsx2 - sx2, 1), cellWidth) / cellWidth)]);
      tab.push(row);
    }
    return tab;
  }

  /**
   * cv2.resize(..., INTER_AREA) for shrinking: each output pixel is the area-weighted mean, summed in
   * float32 in OpenCV's order (a row's horizontal sums, then rows weighted) so pixels match its own.
   */
  function resizeArea(img, dw, dh) {
    const { data, width: sw, height: sh } = img;
    if (sw % dw === 0 && sh % dh === 0) return resizeAreaFast(img, sw / dw, sh / dh);
    const f = Math.fround, tx = areaTab(sw, dw), ty = areaTab(sh, dh);
    const xs = [], xw = [];
    for (const row of tx) { xs.push(Int32Array.from(row, (e) => e[0] * 3)); xw.push(Float32Array.from(row, (e) => e[1])); }
    const out = new Uint8Array(dw * dh * 3);
    const buf = new Float32Array(dw * 3), sum = new Float32Array(dw * 3);
    const round = (v) => { const r = pyRound(v); return r < 0 ? 0 : r > 255 ? 255 : r; };
    for (let dy = 0; dy < dh; dy++) {
      let first = true;
      for (const [sy, beta] of ty[dy]) {
        const srow = sy * sw * 3;
        for (let dx = 0; dx < dw; dx++) {
          const s = xs[dx], a = xw[dx];
          let r = 0, g = 0, b = 0;
          for (let k = 0; k < s.length; k++) {
            const i = srow + s[k], w = a[k];
            r = f(r + f(data[i] * w)); g = f(g + f(data[i + 1] * w)); b = f(b + f(data[i + 2] * w));
          }
          const o = dx * 3;
          buf[o] = r; buf[o + 1] = g; buf[o + 2] = b;
        }
        if (first) { for (let i = 0; i < dw * 3; i++) sum[i] = f(beta * buf[i]); first = false; }
        else for (let i = 0; i < dw * 3; i++) sum[i] = f(sum[i] + f(beta * buf[i]));
      }
      const orow = dy * dw * 3;
      for (let i = 0; i < dw * 3; i++) out[orow + i] = round(sum[i]);
    }
    return { data: out, width: dw, height: dh };
  }

  /** OpenCV's resizeAreaFast, for whole-number factors: block sums, rounded as its SIMD 2x2 path or cvRound. */
  function resizeAreaFast(img, kx, ky) {
    const { data, width: sw } = img, dw = img.width / kx, dh = img.height / ky, area = kx * ky;
    const scale = Math.fround(1 / area), out = new Uint8Array(dw * dh * 3);
    for (let dy = 0; dy < dh; dy++) {
      for (let dx = 0; dx < dw; dx++) {
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          for (let y = dy * ky; y < (dy + 1) * ky; y++) {
            const r = (y * sw + dx * kx) * 3 + c;
            for (let x = 0; x < kx; x++) sum += data[r + x * 3];
          }
          const v = area === 4 ? (sum + 2) >> 2 : pyRound(Math.fround(sum * scale));
          out[(dy * dw + dx) * 3 + c] = Math.min(255, v);
        }
      }
    }
    return { data: out, width: dw, height: dh };
  }

  /** Source index and weight of cv2's INTER_LINEAR for each destination index (half-pixel centres). */
  function linearTab(ssize, dsize) {
    const scale = 1 / (dsize / ssize); // as cv::resize computes it
    const i0 = new Int32Array(dsize), i1 = new Int32Array(dsize), f = new Float32Array(dsize);
    for (let d = 0; d < dsize; d++) {
      let fx = Math.fround((d + 0.5) * scale - 0.5);
      let sx = Math.floor(fx);
      fx -= sx;
      if (sx < 0) { fx = 0; sx = 0; }
      if (sx >= ssize - 1) { fx = 0; sx = ssize - 1; }
      i0[d] = sx; i1[d] = Math.min(sx + 1, ssize - 1); f[d] = fx;
    }
    return { i0, i1, f };
  }

  /**
   * A window [x0, x0+tw) x [y0, y0+th) of cv2.resize(img, (dw, dh), INTER_LINEAR), without making the
   * rest, bit for bit as OpenCV computes 8-bit pixels: 11-bit fixed-point weights, a horizontal pass
   * into ints, and its SIMD vertical pass ((b * (s >> 4)) >> 16 per row, + 2 >> 2). Detection scores
   * near a threshold or a tie in NMS depend on the last bit of the tiles' pixels.
   */
  function resizeLinearWindow(img, dw, dh, x0, y0, tw, th, areaMode = false) {
    const { data, width: sw, height: sh } = img;
    const ONE = 2048, sx_ = 1 / (dw / sw), sy_ = 1 / (dh / sh);
    /** [source index, fraction] of destination index d (linear: half-pixel centres; area mode: INTER_AREA enlarging). */
    const coord = (d, scale, inv) => {
      if (!areaMode) {
        const f = Math.fround((d + 0.5) * scale - 0.5), i = Math.floor(f);
        return [i, Math.fround(f - i)];
      }
      const i = Math.floor(d * scale);
      const f = Math.fround((d + 1) - (i + 1) * inv);
      return [i, f <= 0 ? 0 : Math.fround(f - Math.floor(f))];
    };
    const xo0 = new Int32Array(tw), xo1 = new Int32Array(tw), a0 = new Int32Array(tw), a1 = new Int32Array(tw);
    for (let x = 0; x < tw; x++) {
      let [sx, fx] = coord(x0 + x, sx_, dw / sw);
      if (sx < 0) { fx = 0; sx = 0; }
      if (sx >= sw - 1) { fx = 0; sx = sw - 1; }
      xo0[x] = sx * 3; xo1[x] = Math.min(sx + 1, sw - 1) * 3;
      a0[x] = pyRound(Math.fround(1 - fx) * ONE); a1[x] = pyRound(fx * ONE);
    }
    const row0 = new Int32Array(tw * 3), row1 = new Int32Array(tw * 3);
    const hres = (sy, out) => {
      const r = sy * sw * 3;
      for (let x = 0; x < tw; x++) {
        const p = r + xo0[x], q = r + xo1[x], o = x * 3;
        out[o] = data[p] * a0[x] + data[q] * a1[x];
        out[o + 1] = data[p + 1] * a0[x] + data[q + 1] * a1[x];
        out[o + 2] = data[p + 2] * a0[x] + data[q + 2] * a1[x];
      }
    };
    const out = new Uint8Array(tw * th * 3);
    let have0 = -1, have1 = -1;
    for (let y = 0; y < th; y++) {
      const [sy, fy] = coord(y0 + y, sy_, dh / sh);
      const b0 = pyRound(Math.fround(1 - fy) * ONE), b1 = pyRound(fy * ONE);
      const r0 = Math.min(Math.max(sy, 0), sh - 1), r1 = Math.min(Math.max(sy + 1, 0), sh - 1);
      if (have0 !== r0) { hres(r0, row0); have0 = r0; }
      if (have1 !== r1) { hres(r1, row1); have1 = r1; }
      const o = y * tw * 3;
      for (let i = 0; i < tw * 3; i++) {
        const v = ((((b0 * (row0[i] >> 4)) >> 16) + ((b1 * (row1[i] >> 4)) >> 16) + 2) >> 2);
        out[o + i] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
    return { data: out, width: tw, height: th };
  }

  function resizeLinear(img, dw, dh) { return resizeLinearWindow(img, dw, dh, 0, 0, dw, dh); }

  /** cv2.resize(img, (dw, dh), INTER_AREA), in both directions (square to square here). */
  function resizeAreaAny(img, dw, dh) {
    if (dw === img.width && dh === img.height) return img;
    if (dw <= img.width && dh <= img.height) return resizeArea(img, dw, dh);
    return resizeLinearWindow(img, dw, dh, 0, 0, dw, dh, true);
  }

  /** A window of cv2.resize(prob, (dw, dh), INTER_LINEAR) of a float map (size x size). */
  function resizeFloatWindow(prob, sw, sh, dw, dh, x0, y0, tw, th) {
    const tx = linearTab(sw, dw), ty = linearTab(sh, dh);
    const out = new Float32Array(tw * th);
    for (let y = 0; y < th; y++) {
      const dy = y0 + y, fy = ty.f[dy], r0 = ty.i0[dy] * sw, r1 = ty.i1[dy] * sw;
      for (let x = 0; x < tw; x++) {
        const dx = x0 + x, fx = tx.f[dx], a = tx.i0[dx], b = tx.i1[dx];
        const top = prob[r0 + a] * (1 - fx) + prob[r0 + b] * fx;
        const bot = prob[r1 + a] * (1 - fx) + prob[r1 + b] * fx;
        out[y * tw + x] = top * (1 - fy) + bot * fy;
      }
    }
    return out;
  }

  /** The resize NanoDet and MoveNet use: INTER_AREA when shrinking (scale < 1), else INTER_LINEAR. */
  function resize(img, dw, dh) {
    if (dw === img.width && dh === img.height) return img;
    return (dw <= img.width && dh <= img.height) ? resizeAreaAny(img, dw, dh) : resizeLinear(img, dw, dh);
  }

  function crop(img, x0, y0, w, h) {
    const out = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      const s = ((y0 + y) * img.width + x0) * 3;
      out.set(img.data.subarray(s, s + w * 3), y * w * 3);
    }
    return { data: out, width: w, height: h };
  }

  // ---------------------------------------------------------------- boxes (people.py, detect/_runtime.py)
  function iou(a, b) {
    const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
    const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
    const inter = iw * ih;
    const union = Math.max(0, a[2] - a[0]) * Math.max(0, a[3] - a[1]) + Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]) - inter;
    return union > 0 ? inter / Math.max(union, 1e-12) : 0;
  }

  /** cv2.dnn.NMSBoxes(boxes, scores, 0, thr): indices kept, best first. */
  function nms(boxes, scores, thr) {
    const order = scores.map((s, i) => i).filter((i) => scores[i] > 0);
    order.sort((i, j) => scores[j] - scores[i] || i - j);
    const keep = [];
    for (const i of order) {
      if (keep.every((k) => iou(boxes[i], boxes[k]) <= thr)) keep.push(i);
    }
    return keep;
  }

  function clipBox(b, w, h) {
    return [Math.min(Math.max(b[0], 0), w), Math.min(Math.max(b[1], 0), h), Math.min(Math.max(b[2], 0), w), Math.min(Math.max(b[3], 0), h)];
  }

  /** _runtime.tile_starts */
  function tileStarts(length, tile, overlap) {
    if (length <= tile) return [0];
    const n = Math.ceil((length - tile) / (tile * (1 - overlap))) + 1;
    const out = [];
    for (let i = 0; i < n; i++) out.push(pyRound(i * (length - tile) / (n - 1)));
    return out;
  }

  // ---------------------------------------------------------------- detectors
  const NANODET = {
    size: 416, bins: 11, threshold: 0.3, tileThreshold: 0.27, upscale: 1.5,
    mean: [103.53, 116.28, 123.675], std: [57.375, 57.12, 58.395], // BGR
    heads: { 8: ['Identity', 'Identity_3'], 16: ['Identity_1', 'Identity_4'], 32: ['Identity_2', 'Identity_5'] },
    // nanodet.HELD: COCO classes a person may hold or stand beside (not carriers, not worn), and their threshold.
    held: new Set([9, 10, 11, 12, 14, 15, 16, 25, 28, 29, 32, 33, 34, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 58, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79]),
    heldThreshold: 0.3,
  };
  const MOVENET = { size: 256, threshold: 0.2 };
  const CENTERFACE = { threshold: 0.4, maxSide: 1920 };
  const STACK = { mergeIou: 0.6, bodyWidth: 3.0, bodyAbove: 0.2, bodyHeight: 7.5 };
  const GROW = { body: 0.05, face: 0.25 };
  const DILATE = 4;

  /** detect/nanodet.py NanoDet.window: boxes and scores of people in one window; with an array `held`,
   * the boxes of held things the same run sees (nanodet.decode: best of the 80 classes, NMS per class) are pushed to it. */
  async function nanodetWindow(session, img, threshold, held) {
    const S = NANODET.size, { width: w, height: h } = img;
    const scale = S / Math.max(h, w);
    const nh = Math.min(S, pyRound(h * scale)), nw = Math.min(S, pyRound(w * scale));
    const r = resize(img, nw, nh);
    const x = new Float32Array(3 * S * S); // padding: MEAN, which normalises to 0
    const plane = S * S;
    for (let c = 0; c < 3; c++) {
      const src = 2 - c, m = NANODET.mean[c], sd = NANODET.std[c]; // BGR
      for (let yy = 0; yy < nh; yy++) {
        for (let xx = 0; xx < nw; xx++) x[c * plane + yy * S + xx] = (r.data[(yy * nw + xx) * 3 + src] - m) / sd;
      }
    }
    const out = await session.run({ input_1: new global.ort.Tensor('float32', x, [1, 3, S, S]) });
    const boxes = [], scores = [];
    const things = {}; // class -> {boxes, scores}
    const B = NANODET.bins;
    for (const [strideKey, [scoreName, boxName]] of Object.entries(NANODET.heads)) {
      const stride = Number(strideKey), n = S / stride;
      const sc = out[scoreName].data, reg = out[boxName].data;
      for (let cell = 0; cell < n * n; cell++) {
        let s = sc[cell * 80], label = -1;
        if (held) {
          let best = 0;
          for (let k = 1; k < 80; k++) if (sc[cell * 80 + k] > sc[cell * 80 + best]) best = k;
          if (NANODET.held.has(best) && sc[cell * 80 + best] >= NANODET.heldThreshold) label = best;
        }
        if (!(s >= threshold) && label < 0) continue;
        const d = [];
        for (let side = 0; side < 4; side++) {
          const o = cell * 44 + side * B;
          let mx = -Infinity;
          for (let k = 0; k < B; k++) mx = Math.max(mx, reg[o + k]);
          let sum = 0, dot = 0;
          for (let k = 0; k < B; k++) { const p = Math.exp(reg[o + k] - mx); sum += p; dot += p * k; }
          d.push(dot / sum * stride);
        }
        const cx = (cell % n + 0.5) * stride, cy = (Math.floor(cell / n) + 0.5) * stride;
        const b = [(cx - d[0]) / scale, (cy - d[1]) / scale, (cx + d[2]) / scale, (cy + d[3]) / scale];
        if (label >= 0) {
          const t = (things[label] = things[label] || { boxes: [], scores: [] });
          t.boxes.push(b); t.scores.push(sc[cell * 80 + label]);
        }
        if (s >= threshold) { boxes.push(b); scores.push(s); }
      }
    }
    for (const t of Object.values(things)) for (const i of nms(t.boxes, t.scores, 0.5)) held.push(t.boxes[i]);
    return { boxes, scores };
  }

  /** NanoDet on the whole image (detect/_runtime.py tiled(), first part): boxes and scores after NMS. */
  async function nanodetWhole(session, img) {
    const held = [];
    const whole = await nanodetWindow(session, img, NANODET.threshold, held);
    const keep = nms(whole.boxes, whole.scores, 0.5);
    const { width: w, height: h } = img;
    return { boxes: keep.map((i) => whole.boxes[i]), scores: keep.map((i) => whole.scores[i]), held: held.map((b) => clipBox(b, w, h)) };
  }

  /** The tiles of detect/_runtime.py tiled(): small people in tiles of the image enlarged `upscale` times,
   *  minus those a whole-image box already holds. Returns boxes and scores to add. */
  async function nanodetTiles(session, img, whole, onTile) {
    const { width: w, height: h } = img, S = NANODET.size, iouThr = 0.5, overlap = 0.25, maxTileBox = 0.5;
    const up = NANODET.upscale;
    const sw = pyRound(w * up), sh = pyRound(h * up);
    if (!up || Math.max(sw, sh) <= S) return { boxes: [], scores: [] };
    const kx = w / sw, ky = h / sh;
    let tb = [], ts = [];
    const ys = tileStarts(sh, S, overlap), xs = tileStarts(sw, S, overlap);
    let done = 0;
    for (const y0 of ys) {
      for (const x0 of xs) {
        const tw = Math.min(S, sw - x0), th = Math.min(S, sh - y0);
        const tile = up !== 1 ? resizeLinearWindow(img, sw, sh, x0, y0, tw, th) : crop(img, x0, y0, tw, th);
        const t = await nanodetWindow(session, tile, NANODET.tileThreshold);
        t.boxes.forEach((b, i) => {
          if (Math.max(b[2] - b[0], b[3] - b[1]) <= maxTileBox * S) {
            tb.push([Math.fround((b[0] + x0) * kx), Math.fround((b[1] + y0) * ky), Math.fround((b[2] + x0) * kx), Math.fround((b[3] + y0) * ky)]);
            ts.push(t.scores[i]);
          }
        });
        if (onTile) await onTile(++done, ys.length * xs.length); // it may yield to the page
      }
    }
    const keep = nms(tb, ts, iouThr);
    tb = keep.map((i) => tb[i]); ts = keep.map((i) => ts[i]);
    if (whole.boxes.length && tb.length) {
      const novel = tb.map((b) => Math.max(...whole.boxes.map((c) => iou(b, c))) <= iouThr);
      tb = tb.filter((_, i) => novel[i]); ts = ts.filter((_, i) => novel[i]);
    }
    return { boxes: tb, scores: ts };
  }

  function asBodies(found, w, h, source) {
    return found.boxes.map((b, i) => ({ box: clipBox(b, w, h), score: found.scores[i], kind: 'body', source }));
  }

  /** detect/nanodet.py NanoDet.__call__ with tiles: whole image, then tiles. */
  async function nanodet(session, img, onTile) {
    const whole = await nanodetWhole(session, img);
    const tiles = await nanodetTiles(session, img, whole, onTile);
    return asBodies({ boxes: whole.boxes.concat(tiles.boxes), scores: whole.scores.concat(tiles.scores) }, img.width, img.height, 'nanodet');
  }

  /** detect/movenet.py MoveNet (one pass at 256): people boxes. */
  async function movenet(session, img) {
    const S = MOVENET.size, { width: w, height: h } = img;
    const scale = S / Math.max(h, w);
    const nh = Math.max(1, Math.min(S, pyRound(h * scale))), nw = Math.max(1, Math.min(S, pyRound(w * scale)));
    const top = Math.floor((S - nh) / 2), left = Math.floor((S - nw) / 2);
    const r = resize(img, nw, nh);
    const x = new Int32Array(S * S * 3);
    for (let yy = 0; yy < nh; yy++) {
      for (let xx = 0; xx < nw; xx++) {
        const o = ((top + yy) * S + left + xx) * 3, i = (yy * nw + xx) * 3;
        x[o] = r.data[i]; x[o + 1] = r.data[i + 1]; x[o + 2] = r.data[i + 2];
      }
    }
    const out = (await session.run({ input: new global.ort.Tensor('int32', x, [1, S, S, 3]) })).Identity.data;
    const found = [];
    for (let p = 0; p < 6; p++) {
      const o = p * 56, score = out[o + 55];
      if (!(score >= MOVENET.threshold)) continue;
      const [ymin, xmin, ymax, xmax] = [0, 1, 2, 3].map((k) => out[o + 51 + k] * S);
      const box = [(xmin - left) / scale, (ymin - top) / scale, (xmax - left) / scale, (ymax - top) / scale];
      found.push({ box: clipBox(box, w, h), score, kind: 'body', source: 'movenet' });
    }
    return found;
  }

  /** detect/centerface.py CenterFace: face boxes. `maxSide` below 1920 only for the preview (faster, misses small faces). */
  async function centerface(session, img, maxSide = CENTERFACE.maxSide) {
    const { width: w, height: h } = img;
    const s = Math.min(1, maxSide / Math.max(w, h));
    const nw = Math.max(32, Math.ceil(w * s / 32) * 32), nh = Math.max(32, Math.ceil(h * s / 32) * 32);
    const r = nw < w ? resizeAreaAny(img, nw, nh) : (nw === w && nh === h ? img : resizeLinear(img, nw, nh)); // as Python: AREA if nw < w
    const plane = nw * nh, x = new Float32Array(3 * plane);
    for (let i = 0; i < plane; i++) {
      x[i] = r.data[i * 3]; x[plane + i] = r.data[i * 3 + 1]; x[2 * plane + i] = r.data[i * 3 + 2];
    }
    const out = await session.run({ 'input.1': new global.ort.Tensor('float32', x, [1, 3, nh, nw]) });
    const [heat, sc, off] = session.outputNames.slice(0, 3).map((n) => out[n]);
    const hh = heat.dims[2], hw = heat.dims[3], hp = hh * hw;
    const boxes = [], scores = [];
    for (let i = 0; i < hp; i++) {
      const v = heat.data[i];
      if (!(v > CENTERFACE.threshold)) continue;
      const ys = Math.floor(i / hw), xs = i % hw;
      const bh = Math.exp(sc.data[i]) * 4, bw = Math.exp(sc.data[hp + i]) * 4;
      const cy = (ys + off.data[i] + 0.5) * 4, cx = (xs + off.data[hp + i] + 0.5) * 4;
      const b = [(cx - bw / 2) * w / nw, (cy - bh / 2) * h / nh, (cx + bw / 2) * w / nw, (cy + bh / 2) * h / nh];
      boxes.push(clipBox(b, w, h)); scores.push(v);
    }
    return nms(boxes, scores, 0.3).map((i) => ({ box: boxes[i], score: scores[i], kind: 'face', source: 'centerface' }));
  }

  // ---------------------------------------------------------------- the stack (detect/stack.py)
  /** merge_overlapping: boxes overlapping > 0.6 become their enclosing box (max score). */
  function mergeOverlapping(bodies) {
    if (bodies.length < 2) return bodies;
    const order = bodies.map((_, i) => i).sort((i, j) => bodies[j].score - bodies[i].score || i - j);
    const b = order.map((i) => bodies[i]);
    const group = new Array(b.length).fill(-1);
    for (let i = 0; i < b.length; i++) {
      if (group[i] >= 0) continue;
      for (let j = 0; j < b.length; j++) if (group[j] < 0 && iou(b[i].box, b[j].box) > STACK.mergeIou) group[j] = i;
    }
    const leaders = [...new Set(group)].sort((p, q) => p - q);
    return leaders.map((g) => {
      const members = b.filter((_, i) => group[i] === g);
      return {
        box: [Math.min(...members.map((m) => m.box[0])), Math.min(...members.map((m) => m.box[1])),
          Math.max(...members.map((m) => m.box[2])), Math.max(...members.map((m) => m.box[3]))],
        score: b[g].score, kind: 'body', source: b[g].source,
      };
    });
  }

  function centreInside(box, c) {
    const cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
    return cx >= c[0] && cx <= c[2] && cy >= c[1] && cy <= c[3];
  }

  /** bodies_below_faces: a body region (3 faces wide, 7.5 tall) under every face no body box holds. */
  function bodiesBelowFaces(faces, bodies, w, h) {
    return faces.filter((f) => !bodies.some((b) => centreInside(f.box, b.box))).map((f) => {
      const [x1, y1, x2, y2] = f.box, fw = x2 - x1, fh = y2 - y1, mid = (x1 + x2) / 2;
      const box = clipBox([mid - fw * STACK.bodyWidth / 2, y1 - fh * STACK.bodyAbove, mid + fw * STACK.bodyWidth / 2, y1 + fh * STACK.bodyHeight], w, h);
      return { box, score: f.score, kind: 'body', source: 'face-rule' };
    });
  }

  /** web/app.py count_people: every body, plus every face whose centre lies in no body box. */
  function countPeople(people) {
    const bodies = people.filter((p) => p.kind === 'body'), faces = people.filter((p) => p.kind === 'face');
    return bodies.length + faces.filter((f) => !bodies.some((b) => centreInside(f.box, b.box))).length;
  }

  // ---------------------------------------------------------------- masks (api.grow_boxes, masks/)
  /** cv2.getStructuringElement(MORPH_ELLIPSE, (2r+1, 2r+1)): half-width of each row. */
  function ellipseRows(r) {
    const rows = [];
    for (let i = 0; i <= 2 * r; i++) {
      const dy = i - r;
      rows.push(Math.abs(dy) <= r && r > 0 ? pyRoundHalfAway(r * Math.sqrt((r * r - dy * dy) / (r * r))) : 0);
    }
    return rows;
  }
  function pyRoundHalfAway(x) { return Math.sign(x) * Math.round(Math.abs(x)); } // cv's saturate_cast<int>: cvRound

  /** masks.dilate: grow a mask (Uint8Array, 0/1) by a disc of radius r, as cv2.dilate with the ellipse. */
  function dilate(mask, w, h, r) {
    if (r <= 0) return mask;
    const rows = ellipseRows(r);
    // Horizontal distance to the nearest set pixel in each row, capped: one pass each way.
    const BIG = 1 << 20, left = new Int32Array(w * h), right = new Int32Array(w * h);
    for (let y = 0; y < h; y++) {
      let last = -BIG;
      for (let x = 0; x < w; x++) { if (mask[y * w + x]) last = x; left[y * w + x] = x - last; }
      last = BIG;
      for (let x = w - 1; x >= 0; x--) { if (mask[y * w + x]) last = x; right[y * w + x] = last - x; }
    }
    const out = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let i = 0; i <= 2 * r; i++) {
        const sy = y + i - r;
        if (sy < 0 || sy >= h) continue;
        const half = rows[i], o = sy * w;
        for (let x = 0; x < w; x++) {
          if (left[o + x] <= half || right[o + x] <= half) out[y * w + x] = 1;
        }
      }
    }
    return out;
  }

  /** Anonymizer.mask with box masks: grown boxes (clip_boxes rounding outwards), union, dilate 4. */
  function buildMask(people, w, h, grow = GROW, px = DILATE) {
    const mask = new Uint8Array(w * h);
    for (const p of people) {
      const g = grow[p.kind] || 0, bw = p.box[2] - p.box[0], bh = p.box[3] - p.box[1];
      const b = clipBox([p.box[0] - bw * g, p.box[1] - bh * g, p.box[2] + bw * g, p.box[3] + bh * g], w, h);
      const x1 = Math.floor(b[0]), y1 = Math.floor(b[1]), x2 = Math.ceil(b[2]), y2 = Math.ceil(b[3]);
      for (let y = y1; y < y2; y++) mask.fill(1, y * w + x1, y * w + x2);
    }
    return dilate(mask, w, h, px);
  }

  // ---------------------------------------------------------------- outlines (detect/outline.py)
  const OUTLINE = {
    minHeight: 48, crop: 1.25, size: 256, threshold: 0.3, minFill: 0.1, minConfidence: 0.7, agreement: 0.5,
    gate: 0.1, gateThreshold: 0.05, gateSlope: 0.5, coneThreshold: 0.5, alignScale: 1.5, alignMinPresence: 0.5, hipCentre: 33, scalePoint: 34,
    bodyLandmarks: 33, minVisibility: 0.5, minLandmarks: 6, landmarkSlack: 0.03, heldFace: 0.25,
  };

  /** outline.roi_affine: [a, b, c, d, e, f] mapping (x, y) to (a x + b y + c, d x + e y + f) in BlazePose's
   * size x size region of interest (hips-centred, upright), and the region's side in source pixels. */
  function roiAffine(cx, cy, px, py, size, scale) {
    const dx = px - cx, dy = py - cy;
    const side = 2 * scale * Math.hypot(dx, dy);
    const turn = -Math.PI / 2 - Math.atan2(dy, dx), k = size / side;
    const a = k * Math.cos(turn), b = -k * Math.sin(turn), d = k * Math.sin(turn), e = k * Math.cos(turn);
    return { m: [a, b, size / 2 - (a * cx + b * cy), d, e, size / 2 - (d * cx + e * cy)], side };
  }

  /** Invert a 2x3 affine map (cv2.invertAffineTransform). */
  function invertAffine([a, b, c, d, e, f]) {
    const det = a * e - b * d;
    const ia = e / det, ib = -b / det, id = -d / det, ie = a / det;
    return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
  }

  /** cv2.warpAffine with INTER_LINEAR and zero borders, sampling `src` (sw x sh, `ch` channels) at
   * inv(x, y) for every pixel of a dw x dh output (`inv` maps output to source: WARP_INVERSE_MAP). */
  function warpAffine(src, sw, sh, ch, inv, dw, dh, round) {
    const out = new Float32Array(dw * dh * ch);
    const [a, b, c, d, e, f] = inv;
    for (let y = 0; y < dh; y++) {
      for (let x = 0; x < dw; x++) {
        const fx = a * x + b * y + c, fy = d * x + e * y + f;
        const x0 = Math.floor(fx), y0 = Math.floor(fy), wx = fx - x0, wy = fy - y0;
        for (let k = 0; k < ch; k++) {
          let v = 0;
          for (let j = 0; j < 2; j++) {
            const yy = y0 + j;
            if (yy < 0 || yy >= sh) continue;
            const wyj = j ? wy : 1 - wy;
            for (let i = 0; i < 2; i++) {
              const xx = x0 + i;
              if (xx < 0 || xx >= sw) continue;
              v += src[(yy * sw + xx) * ch + k] * wyj * (i ? wx : 1 - wx);
            }
          }
          out[(y * dw + x) * ch + k] = round ? Math.min(255, Math.max(0, Math.round(v))) : v;
        }
      }
    }
    return out;
  }

  /** _runtime.sigmoid: the logistic function, clipped as in Python. */
  function sigmoid(v) {
    return 1 / (1 + Math.exp(-Math.min(30, Math.max(-30, v))));
  }

  /** Sigmoid of BlazePose's mask logits. */
  function sigmoidMap(logits) {
    const out = new Float32Array(logits.length);
    for (let i = 0; i < out.length; i++) out[i] = sigmoid(logits[i]);
    return out;
  }

  /**
   * outline.AlignedPose.aligned_pass: {mask, seen}: BlazePose's person probability on the crop's S x S
   * grid, from a second pass on the region MediaPipe would give it (hips-centred, upright; from the
   * first pass's landmarks 33 and 34), or the first pass's own mask when it sees no person; and the
   * body landmarks the second pass sees, as [x, y] on the same grid (null without a second pass, or
   * when it finds no person).
   */
  async function alignedPose(sessions, cropped, input) {
    const S = OUTLINE.size, side = cropped.width, k = side / S;
    const first = await sessions.pose.run({ input });
    const mask = sigmoidMap(first.Identity_2.data), lm = first.Identity.data, presence = first.Identity_1.data[0];
    const cx = lm[OUTLINE.hipCentre * 5] * k, cy = lm[OUTLINE.hipCentre * 5 + 1] * k;
    const px = lm[OUTLINE.scalePoint * 5] * k, py = lm[OUTLINE.scalePoint * 5 + 1] * k;
    if (!(presence >= OUTLINE.alignMinPresence) || ![cx, cy, px, py].every(Number.isFinite)
        || Math.hypot(px - cx, py - cy) < 4) return { mask, seen: null };
    const { m, side: roiSide } = roiAffine(cx, cy, px, py, S, OUTLINE.alignScale);
    let src = cropped, warp = m;
    const shrink = 2 * S / roiSide; // shrink a big region first so that the warp does not alias
    if (shrink < 1) {
      const n = Math.max(1, Math.round(side * shrink));
      src = resizeAreaAny(cropped, n, n);
      warp = [m[0] / shrink, m[1] / shrink, m[2], m[3] / shrink, m[4] / shrink, m[5]];
    }
    const roi = warpAffine(src.data, src.width, src.height, 3, invertAffine(warp), S, S, true);
    for (let i = 0; i < roi.length; i++) roi[i] /= 255;
    const second = await sessions.pose.run({ input: new global.ort.Tensor('float32', roi, [1, S, S, 3]) });
    const gridToRoi = [m[0] * k, m[1] * k, m[2], m[3] * k, m[4] * k, m[5]];
    const aligned = warpAffine(sigmoidMap(second.Identity_2.data), S, S, 1, gridToRoi, S, S, false);
    if (!(second.Identity_1.data[0] >= OUTLINE.alignMinPresence)) return { mask: aligned, seen: null };
    const back = invertAffine(gridToRoi), lm2 = second.Identity.data, seen = [];
    for (let i = 0; i < OUTLINE.bodyLandmarks; i++) {
      if (!(sigmoid(lm2[i * 5 + 3]) >= OUTLINE.minVisibility)) continue;
      const lx = lm2[i * 5], ly = lm2[i * 5 + 1];
      seen.push([back[0] * lx + back[1] * ly + back[2], back[3] * lx + back[4] * ly + back[5]]);
    }
    return { mask: aligned, seen };
  }

  /** Outliner.covers: does the S x S `person` mask (0/1) reach every seen landmark inside the grid,
   * within the slack, with at least minLandmarks of them? */
  function covers(person, seen) {
    const S = OUTLINE.size;
    if (!seen) return false;
    const inside = seen.filter(([x, y]) => x >= 0 && y >= 0 && x < S && y < S);
    if (inside.length < OUTLINE.minLandmarks) return false;
    const near = dilate(person, S, S, Math.round(OUTLINE.landmarkSlack * S / OUTLINE.crop));
    return inside.every(([x, y]) => near[Math.floor(y) * S + Math.floor(x)]);
  }

  /** outline.spread_down, in place: every pixel below one of the mask's within a cone opening
   * downwards (row y reaches floor(y * slope) - floor(y0 * slope) pixels to either side of row y0's). */
  function spreadDown(mask, w, h, slope) {
    const above = new Uint8Array(w);
    for (let y = 1; y < h; y++) {
      const k = Math.floor(y * slope) - Math.floor((y - 1) * slope), row = (y - 1) * w;
      for (let x = 0; x < w; x++) {
        let any = 0;
        for (let d = Math.max(x - k, 0); d <= Math.min(x + k, w - 1) && !any; d++) any = mask[row + d];
        above[x] = any;
      }
      for (let x = 0; x < w; x++) mask[y * w + x] |= above[x];
    }
    return mask;
  }

  /** Outliner.gated: the selfie probability, capped just under the threshold farther than the gate
   * from BlazePose's mask, except below it (spreadDown by gateSlope) down to row `bottom` (the body
   * box's bottom edge), where the selfie must be at least coneThreshold. */
  function gated(selfie, pose, bottom) {
    const S = OUTLINE.size, T = OUTLINE.threshold;
    const seed = new Uint8Array(S * S);
    for (let i = 0; i < seed.length; i++) seed[i] = pose[i] >= OUTLINE.gateThreshold;
    const grown = dilate(seed, S, S, Math.round(OUTLINE.gate * S / OUTLINE.crop));
    const near = spreadDown(grown.slice(), S, S, OUTLINE.gateSlope);
    for (let i = bottom * S; i < near.length; i++) near[i] = grown[i]; // no cone below the box
    const out = new Float32Array(S * S);
    for (let i = 0; i < out.length; i++) {
      const counts = grown[i] || (near[i] && selfie[i] >= OUTLINE.coneThreshold); // the cone: only where the selfie is sure
      out[i] = counts ? selfie[i] : Math.min(selfie[i], Math.fround(T * 0.999));
    }
    return out;
  }

  /** outline.square_crop: [x0, y0, side], a square centred on the box, 1.25 times its longer side. */
  function squareCrop(box) {
    const [x1, y1, x2, y2] = box;
    const side = Math.max(1, Math.trunc(pyRound(Math.max(x2 - x1, y2 - y1) * OUTLINE.crop)));
    return [Math.trunc(pyRound((x1 + x2 - side) / 2)), Math.trunc(pyRound((y1 + y2 - side) / 2)), side];
  }

  /** outline.on_grid: `box` (picture pixels) on the S grid of the square crop at (x0, y0), `side` pixels
   * a side: [c1, r1, c2, r2], outwards to whole cells, clipped to the grid. */
  function onGrid(box, x0, y0, side) {
    const S = OUTLINE.size, k = S / side;
    return [Math.max(Math.trunc((box[0] - x0) * k), 0), Math.max(Math.trunc((box[1] - y0) * k), 0),
      Math.min(Math.ceil((box[2] - x0) * k), S), Math.min(Math.ceil((box[3] - y0) * k), S)];
  }

  /** people.clip_boxes for one box: integer pixel range, rounded outwards, clipped. */
  function clipInt(box, w, h) {
    return [Math.min(Math.max(Math.floor(box[0]), 0), w), Math.min(Math.max(Math.floor(box[1]), 0), h),
      Math.min(Math.max(Math.ceil(box[2]), 0), w), Math.min(Math.max(Math.ceil(box[3]), 0), h)];
  }

  /**
   * Outliner.trace: the person's outline for one body box, as {x, y, w, h, mask} (a window of the
   * image), or null to keep the box (the segmenters are unsure, or disagree).
   */
  async function trace(sessions, img, box, held = []) {
    const { width: w, height: h } = img, S = OUTLINE.size, T = OUTLINE.threshold;
    const [x0, y0, side] = squareCrop(box);
    const ix1 = Math.max(x0, 0), iy1 = Math.max(y0, 0), ix2 = Math.min(x0 + side, w), iy2 = Math.min(y0 + side, h);
    if (ix2 <= ix1 || iy2 <= iy1) return null;
    const cropped = { data: new Uint8Array(side * side * 3), width: side, height: side }; // zero padding
    for (let y = iy1; y < iy2; y++) {
      const s0 = (y * w + ix1) * 3;
      cropped.data.set(img.data.subarray(s0, s0 + (ix2 - ix1) * 3), ((y - y0) * side + (ix1 - x0)) * 3);
    }
    const small = resizeAreaAny(cropped, S, S);
    const x = new Float32Array(S * S * 3);
    for (let i = 0; i < x.length; i++) x[i] = small.data[i] / 255;
    const input = new global.ort.Tensor('float32', x, [1, S, S, 3]);
    const selfie = (await sessions.selfie.run({ input }))[sessions.selfie.outputNames[0]].data;
    const { mask: pose, seen } = await alignedPose(sessions, cropped, input);
    const [bx1, by1, bx2, by2] = clipInt(box, w, h);
    // The segmenters must agree inside the box (S x S coordinates).
    const [sx1, sy1, sx2, sy2] = onGrid([bx1, by1, bx2, by2], x0, y0, side);
    let both = 0, either = 0;
    for (let yy = sy1; yy < sy2; yy++) {
      for (let xx = sx1; xx < sx2; xx++) {
        const a = selfie[yy * S + xx] >= T, b = pose[yy * S + xx] >= T;
        both += a && b; either += a || b;
      }
    }
    const near = gated(selfie, pose, sy2); // the selfie mask counts near BlazePose's, or below it to the box's foot
    // Outliner.without_held: inside a held thing's box only BlazePose's mask counts.
    for (const thing of held) {
      const [c1, r1, c2, r2] = onGrid(thing, x0, y0, side);
      for (let yy = r1; yy < r2; yy++) {
        for (let xx = c1; xx < c2; xx++) {
          const i = yy * S + xx;
          if (pose[i] < T) near[i] = Math.min(near[i], Math.fround(T * 0.999));
        }
      }
    }
    const prob = new Float32Array(S * S);
    for (let i = 0; i < prob.length; i++) prob[i] = Math.max(near[i], pose[i]);
    if (both < OUTLINE.agreement * Math.max(either, 1)) {
      // They disagree: keep the box, unless the mask reaches every body landmark BlazePose sees
      // (and paints less than the box would).
      const person = new Uint8Array(S * S);
      let painted = 0;
      for (let i = 0; i < person.length; i++) { person[i] = prob[i] >= T; painted += person[i]; }
      if (!covers(person, seen) || painted > (sx2 - sx1) * (sy2 - sy1)) return null;
    }
    const ww = ix2 - ix1, wh = iy2 - iy1;
    const big = resizeFloatWindow(prob, S, S, side, side, ix1 - x0, iy1 - y0, ww, wh);
    const mask = new Uint8Array(ww * wh);
    let sum = 0, n = 0;
    for (let i = 0; i < big.length; i++) if (big[i] >= T) { mask[i] = 1; sum += big[i]; n++; }
    let inside = 0;
    const area = Math.max(0, bx2 - bx1) * Math.max(0, by2 - by1);
    for (let y = by1; y < by2; y++) for (let xx = bx1; xx < bx2; xx++) inside += mask[(y - iy1) * ww + (xx - ix1)];
    if (area === 0 || inside / area < OUTLINE.minFill || !(sum / n >= OUTLINE.minConfidence)) return null;
    return { x: ix1, y: iy1, w: ww, h: wh, mask };
  }

  /** Outliner.__call__: an outline for every body box tall enough (null where the box stays). */
  async function outline(sessions, img, people, onBody) {
    const out = [];
    // Outliner.face_of: a held thing's box mostly covered by a face in it is that person's head.
    const area = (b) => Math.max(b[2] - b[0], 0) * Math.max(b[3] - b[1], 0);
    const faces = people.filter((p) => p.kind === 'face').map((p) => p.box);
    const held = (people.held || []).filter((t) => !faces.some((f) => centreInside(f, t) && area(f) >= OUTLINE.heldFace * area(t)));
    const tall = people.filter((p) => p.kind === 'body' && p.box[3] - p.box[1] >= OUTLINE.minHeight).length;
    let done = 0;
    for (const p of people) {
      if (p.kind !== 'body' || p.box[3] - p.box[1] < OUTLINE.minHeight) { out.push(null); continue; }
      out.push(await trace(sessions, img, p.box, held));
      if (onBody) onBody(++done, tall);
    }
    return out;
  }

  /**
   * Anonymizer.mask for the default (outlines): each person's traced outline, or their box where
   * none (ungrown: Python fills instance masks before growing boxes), union, dilate 4.
   */
  function buildOutlineMask(people, outlines, w, h, px = DILATE) {
    const mask = new Uint8Array(w * h);
    people.forEach((p, i) => {
      const o = outlines[i];
      if (o) {
        for (let y = 0; y < o.h; y++) {
          const row = (o.y + y) * w + o.x;
          for (let x = 0; x < o.w; x++) if (o.mask[y * o.w + x]) mask[row + x] = 1;
        }
      } else {
        const [x1, y1, x2, y2] = clipInt(p.box, w, h);
        for (let y = y1; y < y2; y++) mask.fill(1, y * w + x1, y * w + x2);
      }
    });
    return dilate(mask, w, h, px);
  }

  // ---------------------------------------------------------------- big photos (pipeline/photo.py)
  const ANALYSIS_MAX_SIDE = 4096;

  /** analysis_size: [w, h] to analyse a photo at, or null for full size. */
  function analysisSize(w, h) {
    if (Math.max(w, h) <= ANALYSIS_MAX_SIDE) return null;
    const s = ANALYSIS_MAX_SIDE / Math.max(w, h);
    return [Math.max(1, pyRound(w * s)), Math.max(1, pyRound(h * s))];
  }

  /** ScaledMasker._up: an analysis mask grown by one pixel, then scaled to full size (nearest). */
  function scaleMaskUp(mask, sw, sh, w, h) {
    const grown = dilate(mask, sw, sh, 1);
    const out = new Uint8Array(w * h), xs = new Int32Array(w);
    for (let x = 0; x < w; x++) xs[x] = Math.min(Math.floor(x * (sw / w)), sw - 1);
    for (let y = 0; y < h; y++) {
      const sy = Math.min(Math.floor(y * (sh / h)), sh - 1), row = sy * sw, o = y * w;
      for (let x = 0; x < w; x++) out[o + x] = grown[row + xs[x]];
    }
    return out;
  }

  // ---------------------------------------------------------------- hiding (obfuscate/)
  /**
   * Connected regions (8-connected) of a mask, as cv2.connectedComponentsWithStats finds them:
   * `labels` (Int32Array, 0 = none; a region's pixels share one label) and each label's box
   * [x1, y1, x2, y2] (inclusive). One pass with union-find, one to resolve labels.
   */
  function regions(mask, w, h) {
    const labels = new Int32Array(w * h);
    let parent = new Int32Array(256), next = 1;
    const find = (a) => { while (parent[a] !== a) { parent[a] = parent[parent[a]]; a = parent[a]; } return a; };
    const unite = (a, b) => { a = find(a); b = find(b); if (a !== b) { if (a < b) parent[b] = a; else parent[a] = b; } };
    for (let y = 0; y < h; y++) {
      const row = y * w;
      for (let x = 0; x < w; x++) {
        const i = row + x;
        if (!mask[i]) continue;
        let l = x > 0 ? labels[i - 1] : 0;
        if (y > 0) {
          for (let dx = -1; dx <= 1; dx++) {
            const xx = x + dx;
            if (xx < 0 || xx >= w) continue;
            const b = labels[i - w + dx];
            if (!b) continue;
            if (!l) l = b; else if (b !== l) unite(l, b);
          }
        }
        if (!l) {
          if (next === parent.length) { const p = new Int32Array(next * 2); p.set(parent); parent = p; }
          parent[next] = next; l = next++;
        }
        labels[i] = l;
      }
    }
    const boxes = new Map();
    for (let i = 0; i < w * h; i++) {
      if (!labels[i]) continue;
      const l = find(labels[i]);
      labels[i] = l;
      const x = i % w, y = (i - x) / w;
      const b = boxes.get(l);
      if (!b) boxes.set(l, [x, y, x, y]);
      else { if (x < b[0]) b[0] = x; if (x > b[2]) b[2] = x; if (y < b[1]) b[1] = y; if (y > b[3]) b[3] = y; }
    }
    return { labels, boxes, count: next };
  }

  /** _common.share_of_side: share of the region's shorter side, at least `min`, rounded up to a power of two. */
  function shareOfSide(side, share, min) {
    const x = Math.max(min, share * side);
    return 2 ** Math.max(0, Math.ceil(Math.log2(Math.max(x, 1))));
  }

  const METHODS = {
    scramble: { share: 1.0, min: 16 },
    pixelate: { share: 0.12, min: 8 },
    blur: { share: 0.25, min: 4 },
    solid: null,
  };

  /** A seeded generator (sfc32) for the scramble's offsets: a photo keeps one field while the slider moves. */
  function rng(seed) {
    let a = seed[0] | 0, b = seed[1] | 0, c = seed[2] | 0, d = seed[3] | 0;
    return function () {
      const t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0; a = b ^ (b >>> 9); b = (c + (c << 3)) | 0; c = (c << 21) | (c >>> 11); c = (c + t) | 0;
      return (t >>> 0) / 4294967296;
    };
  }

  function gaussianKernel(sigma) {
    const k = (Math.round(sigma * 3 * 2 + 1) | 1), half = (k - 1) / 2, out = new Float32Array(k);
    let sum = 0;
    for (let i = 0; i < k; i++) { out[i] = Math.exp(-((i - half) ** 2) / (2 * sigma * sigma)); sum += out[i]; }
    for (let i = 0; i < k; i++) out[i] /= sum;
    return out;
  }

  /** cv2.GaussianBlur(img, (0, 0), sigma, BORDER_REPLICATE), separable. */
  function gaussianBlur(img, sigma) {
    const { data, width: w, height: h } = img, k = gaussianKernel(sigma), half = (k.length - 1) / 2;
    const tmp = new Float32Array(w * h * 3), out = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let r = 0, g = 0, b = 0;
        for (let i = 0; i < k.length; i++) {
          const xx = Math.min(w - 1, Math.max(0, x + i - half)), s = (y * w + xx) * 3;
          r += data[s] * k[i]; g += data[s + 1] * k[i]; b += data[s + 2] * k[i];
        }
        const o = (y * w + x) * 3; tmp[o] = r; tmp[o + 1] = g; tmp[o + 2] = b;
      }
    }
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let r = 0, g = 0, b = 0;
        for (let i = 0; i < k.length; i++) {
          const yy = Math.min(h - 1, Math.max(0, y + i - half)), s = (yy * w + x) * 3;
          r += tmp[s] * k[i]; g += tmp[s + 1] * k[i]; b += tmp[s + 2] * k[i];
        }
        const o = (y * w + x) * 3; out[o] = Math.round(r); out[o + 1] = Math.round(g); out[o + 2] = Math.round(b);
      }
    }
    return { data: out, width: w, height: h };
  }

  /**
   * Hide the masked pixels of `img` (obfuscate.obfuscate): a new RGB array, `img` untouched.
   * `strength` multiplies each method's measured-safe share (1 = the default); every region
   * (person) gets its own value from its box's shorter side, as the Python auto strengths.
   */
  function hide(img, mask, method, strength = 1, seed = [1, 2, 3, 4], color = [0, 0, 0]) {
    const { data, width: w, height: h } = img;
    const out = new Uint8Array(data);
    if (method === 'solid') {
      for (let i = 0; i < w * h; i++) if (mask[i]) { out[i * 3] = color[0]; out[i * 3 + 1] = color[1]; out[i * 3 + 2] = color[2]; }
      return { data: out, width: w, height: h, values: [] };
    }
    const rule = METHODS[method];
    if (!rule) throw new Error(`unknown method ${method}`);
    const { labels, boxes, count } = regions(mask, w, h);
    const vals = new Float64Array(count); // label -> radius / block / sigma
    for (const [l, b] of boxes) vals[l] = shareOfSide(Math.min(b[2] - b[0] + 1, b[3] - b[1] + 1), rule.share * strength, rule.min);
    const distinct = [...new Set([...boxes.keys()].map((l) => vals[l]))].sort((a, b) => a - b);
    if (method === 'scramble') {
      const rand = rng(seed);
      for (let i = 0; i < w * h; i++) {
        const l = labels[i];
        if (!l) continue;
        const r = vals[l], x = i % w, y = (i - x) / w;
        const sx = Math.min(w - 1, Math.max(0, x + Math.floor(rand() * (2 * r + 1)) - r));
        const sy = Math.min(h - 1, Math.max(0, y + Math.floor(rand() * (2 * r + 1)) - r));
        const s = (sy * w + sx) * 3;
        out[i * 3] = data[s]; out[i * 3 + 1] = data[s + 1]; out[i * 3 + 2] = data[s + 2];
      }
    } else {
      for (const v of distinct) {
        // The window around every region with this value.
        let x1 = w, y1 = h, x2 = -1, y2 = -1;
        for (const [l, b] of boxes) {
          if (vals[l] !== v) continue;
          x1 = Math.min(x1, b[0]); y1 = Math.min(y1, b[1]); x2 = Math.max(x2, b[2]); y2 = Math.max(y2, b[3]);
        }
        if (method === 'pixelate') {
          const b = v, bx0 = Math.floor(x1 / b) * b, by0 = Math.floor(y1 / b) * b;
          const bx1 = Math.min(Math.ceil((x2 + 1) / b) * b, w), by1 = Math.min(Math.ceil((y2 + 1) / b) * b, h);
          const nx = Math.ceil((bx1 - bx0) / b), ny = Math.ceil((by1 - by0) / b);
          const sum = new Float64Array(nx * ny * 3), cnt = new Float64Array(nx * ny);
          for (let y = by0; y < by1; y++) {
            const cy = Math.floor((y - by0) / b);
            for (let x = bx0; x < bx1; x++) {
              const c = cy * nx + Math.floor((x - bx0) / b), s = (y * w + x) * 3;
              sum[c * 3] += data[s]; sum[c * 3 + 1] += data[s + 1]; sum[c * 3 + 2] += data[s + 2]; cnt[c]++;
            }
          }
          for (let y = by0; y < by1; y++) {
            const cy = Math.floor((y - by0) / b);
            for (let x = bx0; x < bx1; x++) {
              const i = y * w + x;
              if (!labels[i] || vals[labels[i]] !== v) continue;
              const c = cy * nx + Math.floor((x - bx0) / b);
              for (let k = 0; k < 3; k++) out[i * 3 + k] = Math.round(sum[c * 3 + k] / cnt[c]);
            }
          }
        } else { // blur: obfuscate/blur.py, blurring a smaller copy for wide sigmas
          const sigma = Math.max(v, 0.1), pad = Math.floor(3 * sigma) + 1;
          const wx0 = Math.max(x1 - pad, 0), wy0 = Math.max(y1 - pad, 0);
          const wx1 = Math.min(x2 + 1 + pad, w), wy1 = Math.min(y2 + 1 + pad, h);
          const win = crop(img, wx0, wy0, wx1 - wx0, wy1 - wy0);
          const f = Math.max(1, Math.floor(sigma / 4));
          const small = f > 1 ? resizeArea(win, Math.max(Math.floor(win.width / f), 1), Math.max(Math.floor(win.height / f), 1)) : win;
          let blurred = gaussianBlur(small, sigma / f);
          if (f > 1) blurred = resizeLinear(blurred, win.width, win.height);
          for (let y = wy0; y < wy1; y++) {
            for (let x = wx0; x < wx1; x++) {
              const i = y * w + x;
              if (!labels[i] || vals[labels[i]] !== v) continue;
              const s = ((y - wy0) * win.width + (x - wx0)) * 3;
              out[i * 3] = blurred.data[s]; out[i * 3 + 1] = blurred.data[s + 1]; out[i * 3 + 2] = blurred.data[s + 2];
            }
          }
        }
      }
    }
    return { data: out, width: w, height: h, values: distinct };
  }

  // ---------------------------------------------------------------- the models, loaded once per page
  const MODEL_FILES = {
    nanodet: 'nanodet.onnx', movenet: 'movenet.onnx', centerface: 'centerface.onnx',
    selfie: 'selfie_segmentation.onnx', pose: 'pose_landmark_full.onnx',
  };

  /** Create the five onnxruntime-web sessions from `base` (a URL of this page's own origin). */
  async function loadModels(base, ortBase) {
    const ort = global.ort;
    if (!ort) throw new Error('onnxruntime-web did not load');
    ort.env.wasm.wasmPaths = ortBase;
    // One thread: a static host is not cross-origin isolated anyway, and under `fuzzypeople serve`
    // made isolated (COOP + COEP) two wasm threads measured slower on a busy 2-core machine
    // (benchmarks/site_speed.py --serve: 48.9 s against 23.0 s for a 2 MP photo).
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = 'error';
    const opts = { executionProviders: ['wasm'], graphOptimizationLevel: 'all', logSeverityLevel: 3 };
    const sessions = {};
    for (const [name, file] of Object.entries(MODEL_FILES)) {
      sessions[name] = await ort.InferenceSession.create(base + file, opts); // one at a time: wasm init is shared
    }
    return sessions;
  }

  /** Stack.__call__'s joining: merge the bodies, add a body below every lone face, then the faces. */
  function join(bodies, faces, w, h) {
    const merged = mergeOverlapping(bodies);
    return merged.concat(bodiesBelowFaces(faces, merged, w, h)).concat(faces);
  }

  /**
   * detect/stack.py Stack.__call__ for targets "bodies,faces": everyone found, bodies then faces.
   * The whole-image passes run first; `onPartial(people)` (optional) gets what they found before the
   * tiles (the slow part on a big photo) run, for a preview. The answer is only the returned list.
   */
  async function detect(sessions, img, onTile, onPartial, timings = {}) {
    const { width: w, height: h } = img;
    const { whole, moving, faces } = await wholePasses(sessions, img, undefined, timings);
    let t = performance.now();
    const lap = (name) => { const now = performance.now(); timings[name] = (now - t) / 1000; t = now; };
    if (onPartial) await onPartial(join(asBodies(whole, w, h, 'nanodet').concat(moving), faces, w, h));
    lap('preview');
    const tiles = await nanodetTiles(sessions.nanodet, img, whole, onTile);
    lap('tiles');
    const nano = { boxes: whole.boxes.concat(tiles.boxes), scores: whole.scores.concat(tiles.scores) };
    const people = join(asBodies(nano, w, h, 'nanodet').concat(moving), faces, w, h);
    people.held = whole.held; // the things people hold, for outline() (Stack passes them to the Outliner)
    return people;
  }

  /** The whole-image passes, each timed into `timings`: NanoDet, MoveNet, CenterFace (at most `faceSide` px). */
  async function wholePasses(sessions, img, faceSide, timings) {
    let t = performance.now();
    const lap = (name) => { const now = performance.now(); timings[name] = (now - t) / 1000; t = now; };
    const whole = await nanodetWhole(sessions.nanodet, img);
    lap('nanodet');
    const moving = await movenet(sessions.movenet, img);
    lap('movenet');
    const faces = await centerface(sessions.centerface, img, faceSide);
    lap('centerface');
    return { whole, moving, faces };
  }

  /**
   * The preview of a big photo: the whole-image passes (NanoDet, MoveNet, CenterFace at most `faceSide`
   * px) on a small copy of it, for a first result in seconds. Not the pipeline's answer: CenterFace at a
   * smaller size misses small faces and there are no tiles, so the page shows it as a preview and offers
   * no download until detect() has run on the photo itself.
   */
  async function detectPreview(sessions, img, faceSide, timings = {}) {
    const { width: w, height: h } = img;
    const { whole, moving, faces } = await wholePasses(sessions, img, faceSide, timings);
    return join(asBodies(whole, w, h, 'nanodet').concat(moving), faces, w, h);
  }

  /**
   * Run the preview's three passes once on a grey square, so that a photo's first passes do not pay
   * for onnxruntime's first run (its buffers and plans; CenterFace's for this input size).
   */
  async function warmUp(sessions, side, faceSide) {
    const grey = { data: new Uint8Array(side * side * 3).fill(128), width: side, height: side };
    await detectPreview(sessions, grey, faceSide);
  }

  global.FuzzyPeople = {
    detectPreview, warmUp,
    pyRound, areaTab, resizeArea, resizeLinear, resizeLinearWindow, resize, tileStarts, nms, iou,
    nanodet, movenet, centerface, mergeOverlapping, bodiesBelowFaces, countPeople, ellipseRows, dilate,
    buildMask, regions, shareOfSide, hide, loadModels, detect, METHODS, GROW, DILATE,
    analysisSize, scaleMaskUp, ANALYSIS_MAX_SIDE, resizeAreaAny, squareCrop, gated, trace, outline, buildOutlineMask, OUTLINE,
    NANODET,
  };
})(typeof window !== 'undefined' ? window : globalThis);
