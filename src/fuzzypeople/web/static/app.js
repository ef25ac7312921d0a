// fuzzypeople web app: plain JS, no libraries, nothing fetched from anywhere but this server.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { config: null, id: null, name: null, autoRadius: null, values: {} };
let busy = false, pending = false, meterAbort = null, meterTimer = null;

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

function setStatus(text) { $("status").textContent = text || ""; }

function mb(bytes) { return (bytes / 1024 / 1024).toFixed(0) + " MB"; }

async function errorText(response) {
  try {
    const body = await response.json();
    if (typeof body.detail === "string") return body.detail;
    return JSON.stringify(body.detail || body);
  } catch (e) {
    return "The server answered " + response.status + ".";
  }
}

function settings() {
  const method = $("method").value;
  const q = new URLSearchParams({ method, targets: $("targets").value });
  const slider = state.config.sliders[method];
  if (slider && (method !== "scramble" || state.values.scramble !== undefined)) {  // scramble untouched: auto
    q.set("value", $("slider").value);
  }
  if (state.config.colors[method]) q.set("color", $("color").value);
  return q.toString();
}

function configureSlider() {
  const method = $("method").value;
  const slider = state.config.sliders[method];
  $("slider-field").hidden = !slider;
  $("color-field").hidden = !state.config.colors[method];
  if (state.config.colors[method] && !state.colorTouched) $("color").value = state.config.colors[method];
  if (!slider) return;
  const input = $("slider");
  input.min = slider.min; input.max = slider.max; input.step = slider.step;
  let value = state.values[method];
  if (value === undefined) value = method === "scramble" ? (state.autoRadius || 16) : slider.default;
  input.value = value;
  $("slider-label").textContent = slider.label;
  showSliderValue();
}

function showSliderValue() {
  const method = $("method").value;
  const slider = state.config.sliders[method];
  if (!slider) return;
  let text = $("slider").value + " " + slider.unit;
  if (method === "scramble" && state.values.scramble === undefined) text += " (auto)";
  $("slider-value").textContent = text;
}

function refresh() {
  if (!state.id) return;
  if (busy) { pending = true; return; }
  busy = true;
  const q = settings();
  $("after").src = "/api/result/" + state.id + "?" + q;
  const link = $("download");
  link.href = "/api/download/" + state.id + "?" + q;
  link.setAttribute("aria-disabled", "false");
  scheduleMeter();
}

function resultLoaded() {
  const img = $("after");
  img.dataset.version = String(Number(img.dataset.version || 0) + 1);
  busy = false;
  if (pending) { pending = false; refresh(); }
}

function resultFailed() {
  busy = false;
  showError("Could not render the result; upload the photo again.");
}

function scheduleMeter() {
  clearTimeout(meterTimer);
  if (meterAbort) meterAbort.abort();
  $("verdict").className = "verdict stale";
  $("spinner").hidden = false;
  meterTimer = setTimeout(measure, 500);  // measure once the slider settles
}

async function measure() {
  if (!state.id) return;
  meterAbort = new AbortController();
  const signal = meterAbort.signal;
  try {
    const r = await fetch("/api/audit/" + state.id + "?" + settings(), { signal });
    if (!r.ok) throw new Error(await errorText(r));
    const m = await r.json();
    const of = (n, total) => total ? n + " of " + total : "none in original";
    $("m-faces").textContent = of(m.faces_still_detected, m.faces);
    $("m-reid").textContent = of(m.faces_reidentified, m.faces);
    $("m-bodies").textContent = of(m.bodies_still_detected, m.bodies);
    $("m-altered").textContent = (100 * m.altered_share).toFixed(1) + " %";
    $("verdict").textContent = m.verdict;
    $("verdict").className = "verdict " + (m.verdict === "private" ? "ok" : "risk");
    $("reasons").textContent = (m.reasons || []).join("; ");
  } catch (e) {
    if (e.name === "AbortError") return;
    $("verdict").textContent = "not measured";
    $("verdict").className = "verdict";
    $("reasons").textContent = e.message;
  }
  $("spinner").hidden = true;
}

function showPeople(info) {
  const n = info.people;
  $("people").textContent = String(n);
  $("people-label").textContent = n === 1 ? "person found" : "people found";
  $("people-kinds").textContent = info.bodies + (info.bodies === 1 ? " body, " : " bodies, ") +
    info.faces + (info.faces === 1 ? " face" : " faces") + " detected";
}

function showVideoView(on) {
  $("video-view").hidden = !on;
  $("stage").hidden = on;
  $("modes").hidden = on;
}

async function uploadVideo(file) {
  if (file.size > state.config.max_video_bytes) {
    showError("This video is larger than the " + mb(state.config.max_video_bytes) + " limit.");
    return;
  }
  const q = new URLSearchParams(settings());
  q.set("name", file.name);
  showVideoView(true);
  clearTimeout(meterTimer);
  if (meterAbort) meterAbort.abort();
  $("spinner").hidden = true;
  $("verdict").textContent = "photos only";
  $("verdict").className = "verdict";
  ["m-faces", "m-reid", "m-bodies", "m-altered"].forEach((k) => { $(k).textContent = "–"; });
  $("reasons").textContent = "For a video, run: fuzzypeople audit ORIGINAL ANONYMISED";
  $("video-name").textContent = file.name;
  $("video-result").hidden = true;
  $("video-download").hidden = true;
  $("video-progress").removeAttribute("value");
  $("video-status").textContent = "Uploading…";
  try {
    const r = await fetch("/api/video?" + q, {
      method: "POST", headers: { "Content-Type": file.type }, body: file,
    });
    if (!r.ok) throw new Error(await errorText(r));
    const { id } = await r.json();
    if (state.videoId) fetch("/api/video/" + state.videoId, { method: "DELETE" });
    state.videoId = id;
    pollVideo(id);
  } catch (e) {
    showError(e.message);
    $("video-status").textContent = "";
    showVideoView(Boolean(state.videoId));
  }
}

async function pollVideo(id) {
  if (id !== state.videoId) return;
  const r = await fetch("/api/video/" + id);
  if (!r.ok) { showError(await errorText(r)); return; }
  const job = await r.json();
  const bar = $("video-progress");
  if (job.total) { bar.max = job.total; bar.value = Math.min(job.done, job.total); }
  if (job.status === "error") {
    bar.value = 0;
    $("video-status").textContent = "";
    showError(job.message);
    return;
  }
  if (job.status !== "done") {
    $("video-status").textContent = job.status === "queued" ? "Waiting for the previous video…" :
      "Hiding people: frame " + job.done + (job.total ? " of " + job.total : "");
    setTimeout(() => pollVideo(id), 500);
    return;
  }
  bar.max = 1; bar.value = 1;
  $("video-status").textContent = "Done: " + job.done + " frames, " + job.people +
    (job.people === 1 ? " person" : " people") + " tracked.";
  $("people").textContent = String(job.people);
  $("people-label").textContent = job.people === 1 ? "person tracked" : "people tracked";
  $("people-kinds").textContent = "in the video";
  $("status").textContent = "";
  $("video-result").src = "/api/video/" + id + "/result";
  $("video-result").hidden = false;
  $("video-download").href = "/api/video/" + id + "/result?download=true";
  $("video-download").hidden = false;
}

async function upload(file) {
  showError("");
  if (!file) return;
  if (file.type.startsWith("video/")) {
    await uploadVideo(file);
    return;
  }
  if (file.size > state.config.max_bytes) {
    showError("This file is larger than the " + mb(state.config.max_bytes) + " limit.");
    return;
  }
  setStatus("Finding people…");
  $("stage").classList.add("loading");
  const q = new URLSearchParams({ targets: $("targets").value, name: file.name });
  try {
    const r = await fetch("/api/upload?" + q, {
      method: "POST",
      headers: { "Content-Type": file.type || "application/octet-stream" },
      body: file,
    });
    if (!r.ok) throw new Error(await errorText(r));
    const info = await r.json();
    if (state.id) fetch("/api/upload/" + state.id, { method: "DELETE" });  // forget the previous photo
    state.id = info.id;
    state.name = file.name;
    state.autoRadius = info.auto_radius || null;
    state.values = {};
    showVideoView(false);
    showPeople(info);
    setStatus(info.width + " × " + info.height + " px · " + (100 * info.hidden_share).toFixed(1) + " % hidden");
    $("before").src = "/api/original/" + info.id;
    $("stage").classList.remove("empty");
    configureSlider();
    refresh();
  } catch (e) {
    showError(e.message);
    setStatus("");
  } finally {
    $("stage").classList.remove("loading");
  }
}

async function targetsChanged() {
  if (!state.id) return;
  setStatus("Finding people…");
  try {
    const r = await fetch("/api/people/" + state.id + "?targets=" + encodeURIComponent($("targets").value));
    if (!r.ok) throw new Error(await errorText(r));
    const info = await r.json();
    showPeople(info);
    state.autoRadius = info.auto_radius || null;
    if (state.values.scramble === undefined) configureSlider();
    setStatus((100 * info.hidden_share).toFixed(1) + " % hidden");
    refresh();
  } catch (e) {
    showError(e.message);
  }
}

function setMode(mode) {
  const stage = $("stage");
  stage.classList.remove("side", "swipe", "toggle", "flipped");
  stage.classList.add(mode);
  document.querySelectorAll(".modes button[data-mode]").forEach((b) => b.classList.toggle("active", b.dataset.mode === mode));
  $("flip").hidden = mode !== "toggle";
  $("flip").textContent = "Show original";
  swipe();
}

function swipe() {
  const stage = $("stage");
  const after = stage.querySelector("figure.after");
  after.style.clipPath = stage.classList.contains("swipe") ? "inset(0 0 0 " + $("swipe").value + "%)" : "";
}

async function init() {
  const r = await fetch("/api/config");
  state.config = await r.json();
  for (const m of state.config.methods) {
    const opt = document.createElement("option");
    opt.value = m; opt.textContent = m;
    $("method").appendChild(opt);
  }
  $("method").value = "scramble";
  configureSlider();

  // Reset the picker after every try (good or refused), so it never names a file that is not shown.
  $("file").addEventListener("change", (e) => upload(e.target.files[0]).finally(() => { $("file").value = ""; }));
  const drop = $("drop");
  ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
  drop.addEventListener("drop", (e) => upload(e.dataTransfer.files[0]));
  document.addEventListener("dragover", (e) => e.preventDefault());
  document.addEventListener("drop", (e) => e.preventDefault());

  $("method").addEventListener("change", () => { configureSlider(); refresh(); });
  $("targets").addEventListener("change", targetsChanged);
  $("slider").addEventListener("input", () => {
    state.values[$("method").value] = Number($("slider").value);
    showSliderValue();
    refresh();
  });
  $("color").addEventListener("input", () => { state.colorTouched = true; refresh(); });
  $("after").addEventListener("load", resultLoaded);
  $("after").addEventListener("error", resultFailed);
  $("download").addEventListener("click", (e) => { if (!state.id) e.preventDefault(); });
  document.querySelectorAll(".modes button[data-mode]").forEach((b) => b.addEventListener("click", () => setMode(b.dataset.mode)));
  $("swipe").addEventListener("input", swipe);
  $("flip").addEventListener("click", () => {
    const flipped = $("stage").classList.toggle("flipped");
    $("flip").textContent = flipped ? "Show result" : "Show original";
  });
  document.body.dataset.ready = "1";
}

document.addEventListener("DOMContentLoaded", init);
