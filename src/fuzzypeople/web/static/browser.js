// fuzzypeople in-browser page: the photo is decoded, analysed and hidden here (fuzzy.js), never sent anywhere.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const FP = window.FuzzyPeople;
  const MAX_PIXELS = 60e6; // a bigger picture would need several GB of typed arrays
  // A photo bigger than PREVIEW_SIDE gets a first result from a copy of it at most this wide, drawn by the
  // browser: the whole-image passes there, CenterFace at PREVIEW_FACE_SIDE (a sixth of its 1920 px work).
  const PREVIEW_SIDE = 1280;
  const PREVIEW_FACE_SIDE = 768;
  const here = new URL(".", document.baseURI);
  const state = {
    sessions: null, loading: null, img: null, people: null, outlines: null, mask: null, seed: null, name: null, type: null,
    detections: 0, renders: 0, url: null, busy: false, timings: {},
  };

  function showError(message) { $("error").textContent = message || ""; $("error").hidden = !message; }
  function setStatus(text) { $("status").textContent = text || ""; }

  /** Start loading the models as soon as the page opens (the first photo then waits less). */
  function models() {
    if (!state.loading) {
      const t0 = performance.now();
      state.loading = FP.loadModels(new URL("static/models/", here).href, new URL("static/ort/", here).href)
        .then(async (s) => {
          // While no photo waits for them, run the preview's passes once (its first run is slower).
          if (!state.busy) await FP.warmUp(s, PREVIEW_SIDE, PREVIEW_FACE_SIDE);
          state.sessions = s; state.timings.models = (performance.now() - t0) / 1000; setStatus(state.img ? "" : "ready"); return s;
        })
        .catch((e) => { state.loading = null; throw e; });
    }
    return state.loading;
  }

  /**
   * The photo, decoded once: an ImageBitmap with its EXIF orientation applied and an ICC profile
   * converted to sRGB (the download carries none). pixels() reads it as RGB at any size.
   */
  async function open(file) {
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image", colorSpaceConversion: "default", premultiplyAlpha: "none" });
    const { width: w, height: h } = bitmap;
    if (w * h > MAX_PIXELS) {
      bitmap.close();
      throw new Error(`${w}x${h} is larger than the ${MAX_PIXELS / 1e6} megapixels this page handles`);
    }
    return bitmap;
  }

  /**
   * The bitmap's 8-bit sRGB pixels, {data (RGB), width, height}: at full size exactly as decoded, or
   * drawn smaller by the browser (its own high-quality downscaling, for the preview only).
   */
  function pixels(bitmap, w = bitmap.width, h = bitmap.height) {
    const canvas = document.createElement("canvas");
    canvas.width = w; canvas.height = h;
    const ctx = canvas.getContext("2d", { willReadFrequently: true, colorSpace: "srgb" });
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(bitmap, 0, 0, w, h);
    const rgba = ctx.getImageData(0, 0, w, h, { colorSpace: "srgb" }).data;
    const rgb = new Uint8Array(w * h * 3);
    for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) { rgb[j] = rgba[i]; rgb[j + 1] = rgba[i + 1]; rgb[j + 2] = rgba[i + 2]; }
    canvas.width = canvas.height = 0; // free its pixels now
    return { data: rgb, width: w, height: h };
  }

  /** A task boundary without a timer's clamping: input, painting and other tasks run, then this resolves. */
  function yieldToPage() {
    return new Promise((resolve) => { const ch = new MessageChannel(); ch.port1.onmessage = () => resolve(); ch.port2.postMessage(0); });
  }

  /** Let the browser paint what was drawn (a frame, then a task) before more work blocks it. */
  function paint() {
    return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  }

  function strength() { return Number($("strength").value); }

  /**
   * The mask from the people found: their traced outlines (the default, as `fuzzypeople photo.jpg`),
   * or with #boxes their grown boxes (as `--boxes`). Outlines are traced once per photo, when first
   * needed; nothing is detected again.
   */
  async function remask() {
    const { people } = state, img = state.analysed; // a photo over 4096 px is analysed shrunk, as on the command line
    let mask;
    if ($("boxes").checked) {
      mask = FP.buildMask(people, img.width, img.height);
    } else {
      if (!state.outlines) {
        const t0 = performance.now();
        state.outlines = await FP.outline(state.sessions, img, people, (done, total) => setStatus(`tracing outlines: ${done} of ${total}`));
        state.timings.outline = (performance.now() - t0) / 1000;
      }
      mask = FP.buildOutlineMask(people, state.outlines, img.width, img.height);
    }
    state.mask = img === state.img ? mask : FP.scaleMaskUp(mask, img.width, img.height, state.img.width, state.img.height);
  }

  function showStrength() {
    const method = $("method").value, s = strength();
    $("strength-field").hidden = method === "solid";
    $("strength-value").textContent = "x" + s + (s === 1 ? " (measured safe)" : "");
    $("weak").hidden = method === "solid" || s >= 1;
  }

  /**
   * Hide the people with the current method and strength: no detection, the mask is kept.
   * Before the analysis is complete (the tiles that find small people take long on a big photo) a
   * preview from the whole-image passes is drawn: marked data-preview="1", no download offered.
   */
  function render() {
    const final = Boolean(state.mask);
    const mask = final ? state.mask : state.previewMask, img = final ? state.img : state.previewImg;
    if (!img || !mask) return;
    const t0 = performance.now();
    const out = FP.hide(img, mask, $("method").value, strength(), state.seed);
    const { width: w, height: h } = out;
    const canvas = $("result");
    canvas.width = w; canvas.height = h;
    const rgba = new Uint8ClampedArray(w * h * 4);
    for (let i = 0, j = 0; j < out.data.length; i += 4, j += 3) {
      rgba[i] = out.data[j]; rgba[i + 1] = out.data[j + 1]; rgba[i + 2] = out.data[j + 2]; rgba[i + 3] = 255;
    }
    canvas.getContext("2d").putImageData(new ImageData(rgba, w, h), 0, 0);
    $("stage").classList.remove("empty");
    canvas.dataset.preview = final ? "0" : "1";
    $("caption").textContent = final ? "people hidden" : "preview: the people found so far, hidden; still looking (no download yet)";
    if (!final) return;
    state.renders += 1;
    canvas.dataset.version = String(state.renders);
    state.timings.hide = (performance.now() - t0) / 1000;
    makeDownload(canvas);
  }

  /** The download: encoded from the canvas (no metadata at all), as a blob: URL made here. */
  function makeDownload(canvas) {
    const link = $("download");
    link.setAttribute("aria-disabled", "true");
    if (state.url) { URL.revokeObjectURL(state.url); state.url = null; }
    const jpeg = state.type === "image/jpeg";
    const version = state.renders;
    canvas.toBlob((blob) => {
      if (!blob || version !== state.renders) return; // a newer result replaced this one
      state.url = URL.createObjectURL(blob);
      link.href = state.url;
      link.download = state.name.replace(/\.[^.]*$/, "") + "_anonymized." + (jpeg ? "jpg" : "png");
      link.setAttribute("aria-disabled", "false");
    }, jpeg ? "image/jpeg" : "image/png", 0.92);
  }

  function forget() {
    state.img = state.analysed = state.people = state.outlines = state.mask = state.previewImg = state.previewMask = null;
    $("count").textContent = "–";
    $("stage").classList.add("empty");
    $("download").setAttribute("aria-disabled", "true");
    $("download").removeAttribute("href");
    if (state.url) { URL.revokeObjectURL(state.url); state.url = null; }
  }

  async function choose(file) {
    showError("");
    forget();
    if (!file) return;
    state.busy = true;
    state.timings = { models: state.timings.models };
    const t0 = performance.now();
    try {
      setStatus("reading the photo…");
      let bitmap;
      try {
        bitmap = await open(file);
      } catch (e) {
        throw new Error(`${file.name}: cannot read this photo (${e.message || e.name})`);
      }
      let img, analysed, people;
      try {
        const seed = new Uint32Array(4);
        crypto.getRandomValues(seed);
        state.seed = Array.from(seed);
        state.timings.stages = {};
        const { width: w, height: h } = bitmap;
        const f = Math.min(1, PREVIEW_SIDE / Math.max(w, h));
        const pw = Math.max(1, Math.round(w * f)), ph = Math.max(1, Math.round(h * f));
        /** Draw a preview of `found` (boxes in a w2 x h2 image) over `shown` (pw x ph): no download offered. */
        const preview = async (shown, found, w2, h2) => {
          const kx = pw / w2, ky = ph / h2;
          const scaled = found.map((q) => ({ ...q, box: [q.box[0] * kx, q.box[1] * ky, q.box[2] * kx, q.box[3] * ky] }));
          const stages = state.timings.previewStages;
          let t = performance.now();
          state.previewImg = shown;
          state.previewMask = FP.buildMask(scaled, pw, ph, FP.GROW, Math.max(1, Math.round(FP.DILATE * f)));
          stages.mask = (performance.now() - t) / 1000;
          t = performance.now();
          render();
          stages.hide = (performance.now() - t) / 1000;
          state.timings.preview = (performance.now() - t0) / 1000;
          setStatus("preview shown; the complete analysis is running…");
          await paint();
        };
        let early = null;
        state.timings.previewStages = { open: (performance.now() - t0) / 1000 }; // the preview's split, for benchmarks
        if (f < 1) {
          // A big photo: the first result comes from a small copy drawn by the browser (decoding the
          // whole photo to RGB and the full-size passes come after it is shown).
          const stages = state.timings.previewStages;
          let t = performance.now();
          const shown = pixels(bitmap, pw, ph);
          stages.draw = (performance.now() - t) / 1000;
          setStatus(state.sessions ? "looking for people…" : "loading the models…");
          t = performance.now();
          const sessions = await models();
          stages.models = (performance.now() - t) / 1000;
          setStatus("looking for people…");
          const found = await FP.detectPreview(sessions, shown, PREVIEW_FACE_SIDE, stages);
          await preview(shown, found, pw, ph);
        } else {
          early = (found) => preview(img, found, w, h); // a small photo: the whole-image passes, shared (img is set by then)
        }
        let t = performance.now();
        img = pixels(bitmap);
        state.timings.stages.decode = (performance.now() - t) / 1000;
        bitmap.close();
        bitmap = null;
        const small = FP.analysisSize(img.width, img.height);
        analysed = small ? FP.resizeArea(img, small[0], small[1]) : img;
        const sessions = await models();
        setStatus(state.previewImg ? "preview shown; the complete analysis is running…" : "looking for people…");
        const t1 = performance.now();
        const tiles = (done, total) => {
          setStatus(`preview; looking for small people: tile ${done} of ${total}`);
          return done % 8 ? null : yieldToPage(); // keep the page responsive (and its status painted) during the tiles
        };
        people = await FP.detect(sessions, analysed, tiles, early, state.timings.stages);
        state.timings.detect = (performance.now() - t1) / 1000;
      } finally {
        if (bitmap) bitmap.close();
      }
      state.detections += 1;
      const t2 = performance.now();
      Object.assign(state, { img, analysed, people, name: file.name, type: file.type, outlines: null });
      await remask();
      state.timings.mask = (performance.now() - t2) / 1000;
      state.previewImg = state.previewMask = null;
      $("count").textContent = String(FP.countPeople(people));
      render();
      state.timings.total = (performance.now() - t0) / 1000;
      setStatus(`done in ${state.timings.total.toFixed(1)} s, on this device`);
    } catch (e) {
      forget(); // fail closed: nothing is shown or offered for download
      showError(e.message.startsWith(file.name) ? e.message : `${file.name}: ${e.message}`);
      setStatus("");
    } finally {
      state.busy = false;
      $("file").value = ""; // the same file can be chosen again
    }
  }

  $("file").addEventListener("change", () => choose($("file").files[0]));
  $("method").addEventListener("change", () => { showStrength(); render(); });
  $("strength").addEventListener("input", () => { showStrength(); render(); });
  $("boxes").addEventListener("change", async () => {
    if (!state.people || state.busy) return;
    state.busy = true;
    try { await remask(); render(); setStatus(""); } catch (e) { forget(); showError(`${state.name}: ${e.message}`); } finally { state.busy = false; }
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); choose(e.dataTransfer.files[0]); });
  showStrength();
  models().catch((e) => showError(`The models could not be loaded: ${e.message}`));

  /** For tests and people who embed the page: what the last photo gave, read-only copies. */
  window.fuzzypeoplePage = {
    stats: () => ({ detections: state.detections, renders: state.renders, busy: state.busy, timings: JSON.parse(JSON.stringify(state.timings)),
      people: state.people ? state.people.map((p) => ({ ...p, box: [...p.box] })) : null,
      held: state.people && state.people.held ? state.people.held.map((b) => [...b]) : null, // boxes of things people hold
      traced: state.outlines ? state.outlines.map((o) => Boolean(o)) : null }),
    mask: () => state.mask && b64(state.mask), // one byte per pixel, 1 = hidden
    rgb: () => state.img && { width: state.img.width, height: state.img.height, data: b64(state.img.data) },
    analysed: () => state.analysed && { width: state.analysed.width, height: state.analysed.height },
  };

  function b64(bytes) {
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }
})();
