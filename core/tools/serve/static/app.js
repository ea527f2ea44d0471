// The demo page of `rnnsuite serve`: one panel per domain the server runs (GET /v1/models),
// talking to the HTTP API of docs/SERVING.md. Plain browser JavaScript: no build step, no CDN.
"use strict";

const $ = (id) => document.getElementById(id);
const models = { nlp: [], vision: [], speech: [] };

// ---------------------------------------------------------------- shared helpers

function show(id, visible) { $(id).hidden = !visible; }

function showError(id, message) {
  $(id).textContent = message || "";
  show(id, Boolean(message));
}

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function selected(domain) {
  const name = $(`${domain}-model`).value;
  return models[domain].find((m) => m.name === name) || models[domain][0];
}

function describe(model) {
  const metrics = Object.entries(model.metrics || {})
    .filter(([, v]) => typeof v === "number")
    .slice(0, 3)
    .map(([k, v]) => `${k} ${v.toFixed(3)}`);
  const parts = [`${model.name}`, `${Number(model.params).toLocaleString()} parameters`];
  if (model.recipe) parts.push(`recipe ${model.recipe}`);
  if (metrics.length) parts.push(`test ${metrics.join(", ")}`);
  return parts.join(" · ");
}

function fillModels(domain) {
  const select = $(`${domain}-model`);
  select.replaceChildren(...models[domain].map((m) => new Option(m.name, m.name)));
  select.parentElement.hidden = models[domain].length < 2;
  const about = () => { $(`${domain}-about`).textContent = describe(selected(domain)); };
  select.addEventListener("change", about);
  about();
}

// Probability bars, most likely class first.
function renderBars(listId, probabilities) {
  const items = Object.entries(probabilities).sort((a, b) => b[1] - a[1]).map(([cls, p], i) => {
    const li = document.createElement("li");
    li.className = i === 0 ? "lead" : "";
    li.innerHTML = `<span class="cls"></span><span class="track"><span class="fill"></span></span>` +
      `<span class="pct"></span>`;
    li.querySelector(".cls").textContent = cls;
    li.querySelector(".fill").style.width = `${(100 * p).toFixed(1)}%`;
    li.querySelector(".pct").textContent = `${(100 * p).toFixed(1)}%`;
    li.setAttribute("aria-label", `${cls}: ${(100 * p).toFixed(1)} percent`);
    return li;
  });
  $(listId).replaceChildren(...items);
}

// ---------------------------------------------------------------- text

// Colour of a probability of the watched class: red (0) through grey to blue (1).
function divergingColour(p) {
  const hue = p >= 0.5 ? 215 : 5;
  const strength = Math.abs(p - 0.5) * 2;  // 0 at even odds, 1 at certainty
  return `hsl(${hue} ${Math.round(25 + 60 * strength)}% ${Math.round(94 - 40 * strength)}%)`;
}

function renderTokens(classes, result) {
  const watched = classes.length === 2 ? 1 : classes.indexOf(result.label);
  const name = classes[watched];
  $("text-legend").textContent = `Colour: probability of “${name}” after reading up to each word ` +
    `(red: unlikely, blue: likely); the number is how much that word moved it.`;
  let previous = 1 / classes.length;
  const chips = result.tokens.map((token, i) => {
    const p = result.prefix_probabilities[i][watched];
    const chip = document.createElement("span");
    chip.className = "token";
    chip.style.background = divergingColour(p);
    const delta = p - previous;
    previous = p;
    chip.innerHTML = `<span class="word"></span><span class="delta"></span>`;
    chip.querySelector(".word").textContent = token;
    chip.querySelector(".delta").textContent = `${delta >= 0 ? "+" : "−"}${Math.abs(delta).toFixed(2)}`;
    chip.title = `after “${token}”: P(${name}) = ${p.toFixed(3)}`;
    chip.setAttribute("aria-label", `${token}: probability of ${name} ${p.toFixed(2)}`);
    return chip;
  });
  $("text-tokens").replaceChildren(...chips);
}

async function classifyText() {
  const text = $("text-input").value.trim();
  if (!text) { showError("text-error", "Type a review first."); return; }
  const model = selected("nlp");
  $("text-submit").disabled = true;
  try {
    const body = await api(`/v1/${encodeURIComponent(model.name)}/predict`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ inputs: [text], explain: true }),
    });
    const result = body.results[0];
    showError("text-error", "");
    $("text-label").textContent = result.label;
    renderBars("text-probs", result.probabilities);
    renderTokens(model.classes, result);
    show("text-result", true);
  } catch (err) {
    showError("text-error", err.message);
  } finally {
    $("text-submit").disabled = false;
  }
}

function setUpText() {
  $("text-submit").addEventListener("click", classifyText);
  $("text-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) classifyText();
  });
}

// ---------------------------------------------------------------- image

const INPUT_SIDE = 28;  // MNIST's size; the server resizes to the model's own size

function clearCanvas() {
  const ctx = $("draw").getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, $("draw").width, $("draw").height);
  $("draw-small").getContext("2d").clearRect(0, 0, INPUT_SIDE, INPUT_SIDE);
}

function setUpDrawing() {
  const canvas = $("draw");
  const ctx = canvas.getContext("2d");
  let last = null;
  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * canvas.width / box.width,
      (event.clientY - box.top) * canvas.height / box.height];
  };
  canvas.addEventListener("pointerdown", (event) => {
    canvas.setPointerCapture(event.pointerId);
    last = point(event);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!last) return;
    const next = point(event);
    Object.assign(ctx, { strokeStyle: "#fff", lineWidth: canvas.width / 12, lineCap: "round",
      lineJoin: "round" });
    ctx.beginPath();
    ctx.moveTo(...last);
    ctx.lineTo(...next);
    ctx.stroke();
    last = next;
  });
  const finish = () => { if (last) { last = null; classifyDrawing(); } };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  $("draw-clear").addEventListener("click", () => {
    clearCanvas();
    show("vision-result", false);
    show("vision-placeholder", true);
  });
  $("draw-submit").addEventListener("click", classifyDrawing);
  $("image-file").addEventListener("change", () => {
    const file = $("image-file").files[0];
    if (file) classifyImage(file);
  });
  clearCanvas();
}

// The drawing shrunk to 28x28 (averaging, like MNIST's anti-aliased digits) as a PNG.
function drawingAsPng() {
  const small = $("draw-small");
  const ctx = small.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage($("draw"), 0, 0, INPUT_SIDE, INPUT_SIDE);
  return new Promise((resolve) => small.toBlob(resolve, "image/png"));
}

async function classifyDrawing() {
  classifyImage(await drawingAsPng());
}

function renderRows(classes, rows) {
  const header = document.createElement("div");
  header.className = "row head";
  header.setAttribute("role", "row");
  header.innerHTML = `<span role="columnheader">row</span>` +
    classes.map(() => `<span role="columnheader"></span>`).join("");
  classes.forEach((c, i) => { header.children[i + 1].textContent = c; });
  const lines = rows.map((probs, r) => {
    const line = document.createElement("div");
    line.className = "row";
    line.setAttribute("role", "row");
    const best = probs.indexOf(Math.max(...probs));
    line.innerHTML = `<span role="rowheader">${r + 1}</span>` + probs.map((p, i) =>
      `<span role="cell" class="${i === best ? "best" : ""} ${p < 0.5 ? "faint" : ""}"
             style="--p:${p.toFixed(3)}" title="after row ${r + 1}: ${classes[i]} ${(100 * p).toFixed(1)}%">` +
      `${i === best ? classes[i] : ""}</span>`
    ).join("");
    return line;
  });
  $("vision-rows").style.setProperty("--columns", classes.length);
  $("vision-rows").replaceChildren(header, ...lines);
}

async function classifyImage(blob) {
  const model = selected("vision");
  const form = new FormData();
  form.append("files", blob, "digit.png");
  form.append("explain", "true");
  try {
    const body = await api(`/v1/${encodeURIComponent(model.name)}/predict`, { method: "POST", body: form });
    const result = body.results[0];
    showError("vision-error", "");
    $("vision-label").textContent = result.label;
    renderBars("vision-probs", result.probabilities);
    renderRows(model.classes, result.row_probabilities || []);
    show("vision-placeholder", false);
    show("vision-result", true);
  } catch (err) {
    showError("vision-error", err.message);
  }
}

// ---------------------------------------------------------------- speech

function setSpeechState(text) { $("speech-state").textContent = text; }

// 16-bit little-endian PCM of float samples in [-1, 1]; x * 32768 undoes the decoder's k / 32768,
// so a 16-bit WAV reaches the server with its own samples.
function toPcm16(samples) {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    out[i] = Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32768)));
  }
  return out.buffer;
}

// Linear-interpolation resampling, for browsers whose AudioContext ignores the asked rate.
function resampleLinear(samples, from, to) {
  if (from === to) return samples;
  const out = new Float32Array(Math.floor(samples.length * to / from));
  for (let i = 0; i < out.length; i++) {
    const x = i * from / to, k = Math.floor(x), f = x - k;
    out[i] = samples[k] * (1 - f) + (samples[Math.min(k + 1, samples.length - 1)] || 0) * f;
  }
  return out;
}

// One WebSocket stream: send() PCM, end() -> the final transcript; partials update the page.
function openStream(model) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/v1/${encodeURIComponent(model.name)}/stream`);
  socket.binaryType = "arraybuffer";
  const opened = new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = () => reject(new Error("the stream could not be opened"));
  });
  const finished = new Promise((resolve, reject) => {
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.error) reject(new Error(message.error));
      else if ("final" in message) resolve(message);
      else $("transcript").textContent = message.partial;
    };
    socket.onclose = () => reject(new Error("the stream closed before its final transcript"));
  });
  return {
    opened,
    send: (samples) => socket.readyState === WebSocket.OPEN && socket.send(toPcm16(samples)),
    end: () => { socket.send("end"); return finished; },
  };
}

function showFinal(message) {
  $("transcript").textContent = message.final;
  $("transcript").classList.add("final");
  setSpeechState(`Final transcript (${message.mode} decoding, ${message.audio_seconds ?? "?"} s of audio).`);
}

// Decode an uploaded file at the model's rate (the browser resamples), mixed down to mono.
async function decodeFile(file, rate) {
  const context = new OfflineAudioContext(1, 1, rate);
  const audio = await context.decodeAudioData(await file.arrayBuffer());
  const mono = new Float32Array(audio.length);
  for (let c = 0; c < audio.numberOfChannels; c++) {
    audio.getChannelData(c).forEach((v, i) => { mono[i] += v / audio.numberOfChannels; });
  }
  return mono;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function transcribeFile(file) {
  const model = selected("speech");
  showError("speech-error", "");
  $("transcript").textContent = "";
  $("transcript").classList.remove("final");
  try {
    if (!model.streaming || !model.sample_rate) {
      setSpeechState("Transcribing…");
      const form = new FormData();
      form.append("files", file, file.name);
      const body = await api(`/v1/${encodeURIComponent(model.name)}/predict`, { method: "POST", body: form });
      const result = body.results[0];
      showFinal({ final: result.transcript, mode: "offline", audio_seconds: result.audio_seconds });
      return;
    }
    const samples = await decodeFile(file, model.sample_rate);
    const stream = openStream(model);
    await stream.opened;
    const chunk = Math.round(model.sample_rate / 4);  // 0.25 s per frame, sent at 4x real time
    for (let start = 0; start < samples.length; start += chunk) {
      stream.send(samples.subarray(start, start + chunk));
      setSpeechState(`Streaming ${file.name}: ${((start + chunk) / model.sample_rate).toFixed(2)} s sent…`);
      await sleep(60);
    }
    showFinal(await stream.end());
  } catch (err) {
    showError("speech-error", `${file.name}: ${err.message}`);
    setSpeechState("");
  }
}

let recording = null;

async function startRecording() {
  const model = selected("speech");
  if (!model.streaming || !model.sample_rate) {
    throw new Error("this model does not stream; upload a file instead");
  }
  const media = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1 } });
  let context;
  try {
    context = new AudioContext({ sampleRate: model.sample_rate });
  } catch {
    context = new AudioContext();  // this browser cannot capture at the model's rate: resampled below
  }
  await context.audioWorklet.addModule("pcm-worklet.js");
  const stream = openStream(model);
  await stream.opened;
  const node = new AudioWorkletNode(context, "pcm-capture");
  node.port.onmessage = (event) => {
    stream.send(resampleLinear(event.data, context.sampleRate, model.sample_rate));
  };
  context.createMediaStreamSource(media).connect(node);
  recording = { media, context, stream };
}

async function stopRecording() {
  const { media, context, stream } = recording;
  recording = null;
  media.getTracks().forEach((track) => track.stop());
  await context.close();
  showFinal(await stream.end());
}

async function toggleRecording() {
  const button = $("record");
  showError("speech-error", "");
  try {
    if (!recording) {
      $("transcript").textContent = "";
      $("transcript").classList.remove("final");
      await startRecording();
      button.textContent = "Stop";
      button.setAttribute("aria-pressed", "true");
      setSpeechState("Recording: speak now; the transcript grows as you talk.");
    } else {
      button.textContent = "Record";
      button.setAttribute("aria-pressed", "false");
      await stopRecording();
    }
  } catch (err) {
    showError("speech-error", `microphone: ${err.message}`);
    button.textContent = "Record";
    button.setAttribute("aria-pressed", "false");
  }
}

function setUpSpeech() {
  $("record").addEventListener("click", toggleRecording);
  $("audio-file").addEventListener("change", () => {
    const file = $("audio-file").files[0];
    if (file) transcribeFile(file);
  });
  if (!window.AudioWorkletNode || !navigator.mediaDevices) $("record").disabled = true;
}

// ---------------------------------------------------------------- start

async function start() {
  try {
    const body = await api("/v1/models");
    for (const model of body.models) (models[model.domain] || (models[model.domain] = [])).push(model);
  } catch (err) {
    $("status").textContent = `Could not list the models: ${err.message}`;
    return;
  }
  const present = Object.keys(models).filter((d) => models[d].length && $(`panel-${d}`));
  present.forEach((domain) => { fillModels(domain); show(`panel-${domain}`, true); });
  show("no-models", present.length === 0);
  const count = Object.values(models).reduce((n, list) => n + list.length, 0);
  $("status").textContent = `${count} model${count === 1 ? "" : "s"} loaded: ` +
    Object.values(models).flat().map((m) => `${m.name} (${m.domain})`).join(", ");
  document.body.dataset.ready = "true";
}

setUpText();
setUpDrawing();
setUpSpeech();
start();
