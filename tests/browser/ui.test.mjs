// ui.test.mjs - the web UI end to end in headless Chromium: a no-face error, then
// generate with a dropped face (progress and ETA in view, never "Step 0 / 0",
// the "Enhance non-face region" box reaching the job, the LCM toggle matching
// what the server offers and moving steps and guidance to its LCM values and
// back, result, download), the web job appearing in the log
// (file and table), then the log tab on a written log (compact table, sort,
// filter, failure reasons, a row's details with a larger preview, Refine
// loading the form with rounded numbers and an LCM row's LCM mode, clearing the old result, and loading
// the face from the batch's input folder; "Load more" on a paged log).
//
//   node ui.test.mjs SERVE_FAKE [SCREENSHOT_DIR]
//
// SERVE_FAKE is the server with the test double engine (serve_fake.c). When
// $IID_BINARY (the real instantid) is set and the conformance kit's models exist,
// the real engine serves instead, on the kit's tiny models: the generated image is
// then the real pipeline's output (noise-like, the weights are random), from a
// models folder of links to the kit's with the kit's LoRA as the LCM-LoRA (so the
// LCM toggle is live).
// Screenshots of both tabs go to SCREENSHOT_DIR (default: the current folder).
// Faces come from $IID_SHARED/assets/faces. Exit 0 pass, 1 fail, 77 skip.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const [serveFake, shotDir = process.cwd()] = process.argv.slice(2);
const shared = process.env.IID_SHARED || path.resolve(path.dirname(new URL(import.meta.url).pathname), "../../../shared");
const faces = path.join(shared, "assets", "faces");
const astronaut = path.join(faces, "frontal_astronaut.png");
const cat = path.join(faces, "noface_cat_chelsea.png");
const kitModels = path.join(shared, "conformance", "models");
const real = !!process.env.IID_BINARY && fs.existsSync(process.env.IID_BINARY) && fs.existsSync(kitModels);
const size = real ? "192" : "512"; // the tiny models render small images quickly, but not so quickly
const steps = real ? "40" : "20";  // that a job ends between two of the page's 300 ms polls (2 to 4 s here)
if (!serveFake || !fs.existsSync(serveFake)) { console.error("usage: node ui.test.mjs SERVE_FAKE [SCREENSHOT_DIR]"); process.exit(2); }
if (!fs.existsSync(astronaut) || !fs.existsSync(cat)) { console.log(`SKIP: ${faces} lacks the test faces`); process.exit(77); }

// Waits are liveness bounds, not timings: IID_TEST_TIME_SCALE stretches them for slow
// builds (the sanitizer build sets 10).
const scale = Number(process.env.IID_TEST_TIME_SCALE) > 0 ? Number(process.env.IID_TEST_TIME_SCALE) : 1;
const ms = (n) => n * scale;
// Bound the whole run: a hung page or server fails the test instead of CTest's timeout.
const guard = setTimeout(() => { console.error(`FAIL: the browser test took over ${ms(200)} s`); cleanup(1); }, ms(200000));

const work = fs.mkdtempSync(path.join(os.tmpdir(), "iid-browser-"));
const out = path.join(work, "out");
const log = path.join(work, "generation_log.csv");
// The batch's sidecar (batch/log_meta.h): the server finds the input folder in it.
fs.writeFileSync(log + ".json", JSON.stringify({ input: faces, recursive: false }) + "\n");
let server = null, browser = null;

function check(cond, what) {
  if (!cond) throw new Error(what);
  console.log("ok - " + what);
}

async function cleanup(code) {
  clearTimeout(guard);
  if (browser) await browser.close().catch(() => {});
  if (server && server.exitCode === null) server.kill("SIGTERM");
  fs.rmSync(work, { recursive: true, force: true });
  process.exit(code);
}

function startServer() {
  return new Promise((resolve, reject) => {
    if (real) {
      const layout = JSON.parse(fs.readFileSync(path.join(shared, "conformance", "golden", "ip_adapter_layout.json")));
      const heads = String(layout.resampler_hyperparameters.heads);
      const models = path.join(work, "models");
      fs.mkdirSync(path.join(models, "lcm-lora-sdxl"), { recursive: true });
      for (const part of ["sdxl", "ControlNetModel", "ip-adapter.bin", "antelopev2"])
        fs.symlinkSync(path.join(path.resolve(kitModels), part), path.join(models, part));
      fs.symlinkSync(path.resolve(shared, "conformance", "lora", "lora_kohya.safetensors"),
                     path.join(models, "lcm-lora-sdxl", "pytorch_lora_weights.safetensors"));
      server = spawn(process.env.IID_BINARY, ["serve", "--models", models, "--resampler-heads", heads, "--output", out,
                                              "--log", log, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
    } else {
      server = spawn(serveFake, ["--output", out, "--log", log, "--port", "0", "--step-delay", "60"], { stdio: ["ignore", "pipe", "inherit"] });
    }
    console.log(real ? "# engine: instantid on the kit's tiny models" : "# engine: the test double");
    let text = "";
    server.stdout.on("data", (d) => {
      text += d;
      const m = text.match(/(?:serve_fake|instantid serve): (http:\/\/\S+)/);
      if (m) resolve(m[1].replace(/\?token=.*/, ""));
    });
    server.on("exit", (code) => reject(new Error(`the server exited with ${code} before listening`)));
  });
}

// Drop a file on a drop zone the way a user's drag and drop does.
async function dropFile(page, selector, file, mime) {
  const b64 = fs.readFileSync(file).toString("base64");
  const dt = await page.evaluateHandle(({ b64, name, mime }) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const t = new DataTransfer();
    t.items.add(new File([bytes], name, { type: mime }));
    return t;
  }, { b64, name: path.basename(file), mime });
  await page.dispatchEvent(selector, "dragover", { dataTransfer: dt });
  await page.dispatchEvent(selector, "drop", { dataTransfer: dt });
}

// RFC 4180 field quoting, as the batch runner writes it.
const q = (v) => (/[",\r\n]/.test(String(v)) ? '"' + String(v).replace(/"/g, '""') + '"' : String(v));

// Parse RFC 4180 CSV text into complete records (a last record without its
// terminator is dropped, as the server's reader does).
function parseCsv(text) {
  const records = [];
  let rec = [], field = "", quoted = false, i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (ch === '"') { quoted = false; i++; continue; }
      field += ch; i++; continue;
    }
    if (ch === '"') { quoted = true; i++; continue; }
    if (ch === ",") { rec.push(field); field = ""; i++; continue; }
    if (ch === "\r" || ch === "\n") {
      rec.push(field); records.push(rec); rec = []; field = "";
      i += ch === "\r" && text[i + 1] === "\n" ? 2 : 1;
      continue;
    }
    field += ch; i++;
  }
  return records;
}

async function main() {
  const url = await startServer();
  browser = await chromium.launch({
    executablePath: process.env.IID_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"], // Playwright gives each launch a fresh profile
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(ms(30000));
  page.on("pageerror", (e) => { console.error("page error: " + e.message); });
  await page.goto(url);
  // Every text the status line shows, to check what was never shown; and, at each
  // step shown, where the two progress displays are ("" when both lie inside the
  // viewport), measured as the step is shown: the kit's tiny models finish a job
  // in about a second, often before the test could look, and the result then
  // pushes the page's layout about. The result card's bar is measured by its
  // track: the bar itself grows from zero width in a transition.
  await page.evaluate(() => {
    window.statusTexts = [];
    window.progressAway = [];
    const away = (what, e) => {
      const r = e.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight ? ""
        : `${what} at ${Math.round(r.top)}..${Math.round(r.bottom)} (${Math.round(r.width)} wide) of ${window.innerHeight}; `;
    };
    new MutationObserver(() => {
      const text = document.getElementById("status").textContent;
      window.statusTexts.push(text);
      if (/^Step [1-9]/.test(text))
        window.progressAway.push(away("run-text", document.getElementById("run-text")) +
                                 away("the result card's progress", document.getElementById("progress").parentElement));
    }).observe(document.getElementById("status"), { childList: true, characterData: true, subtree: true });
  });

  // ---- Generate tab ----
  await page.waitForFunction(() => document.getElementById("style").options.length > 0);
  check(await page.inputValue("#style") === "Watercolor", "the style list comes from /api/styles with the default selected");
  check(await page.inputValue("#steps") === "30" && await page.inputValue("#guidance") === "5", "the demo's defaults are set");
  const caps = await (await fetch(url + "api/styles")).json();
  check(await page.isDisabled("#lcm") === !caps.lcm, "the LCM toggle is enabled exactly when the server offers LCM");
  if (!caps.lcm) {
    const title = await page.getAttribute("#lcm-label", "title");
    check(title.startsWith("Unavailable: ") && title.includes(caps.lcm_reason), "the disabled LCM toggle says why: " + title);
  } else {
    check(!(await page.isChecked("#lcm")), "LCM mode is off by default, as in the demo");
    const toggleLcm = () => page.$eval("#lcm", (e) => e.click()); // a click that leaves the scroll position alone
    await toggleLcm();
    check(await page.inputValue("#steps") === String(caps.lcm_steps) && await page.inputValue("#guidance") === String(caps.lcm_guidance) &&
          await page.isDisabled("#scheduler"), "ticking LCM mode moves steps and guidance to the demo's LCM values and locks the scheduler");
    await toggleLcm();
    check(await page.inputValue("#steps") === "30" && await page.inputValue("#guidance") === "5" && !(await page.isDisabled("#scheduler")),
          "unticking LCM mode puts them back");
  }
  check(!real || caps.lcm, "the real engine offers LCM mode with the LCM-LoRA in its models folder");
  check(await page.isChecked("#enhance_face_region"), "'Enhance non-face region' is on by default, as in the demo");

  // A photo without a face: the engine's 422 reaches the user.
  await page.setInputFiles("#face-input", cat);
  await page.fill("#steps", "3");
  await page.click("#generate");
  await page.waitForFunction(() => document.getElementById("status").classList.contains("error"), null, { timeout: ms(15000) });
  const err = await page.textContent("#status");
  check(err.includes("422") && err.includes("no face"), "a no-face photo shows the 422 error: " + err);

  await dropFile(page, "#face-drop", astronaut, "image/png");
  await page.waitForFunction(() => { const i = document.querySelector("#face-drop img"); return i && !i.classList.contains("hidden") && i.naturalWidth > 0; });
  check(true, "a dropped face shows its preview");

  await page.fill("#prompt", "an astronaut portrait, watercolor, sharp focus");
  await page.selectOption("#style", "Neon");
  await page.fill("#steps", steps);
  await page.fill("#width", size);
  await page.fill("#height", size);
  await page.uncheck("#enhance_face_region");
  await page.click("#randomize");
  const seed = await page.inputValue("#seed");
  check(seed !== "42" && /^\d+$/.test(seed), "Randomize draws a new seed");
  await page.click("#generate");
  const stepRe = new RegExp("^Step [1-9]\\d* / " + steps + " \u00b7 ");
  await page.waitForFunction((n) => window.statusTexts.some((t) => new RegExp("^Step [1-9]\\d* / " + n + " ").test(t)), steps, { timeout: ms(30000) });
  check(true, "live step progress is shown");
  await page.screenshot({ path: path.join(shotDir, "generating.png") }); // the run line under the button
  const away = await page.evaluate(() => window.progressAway);
  check(away.length > 0 && away.every((a) => a === ""),
        "at 1280x900 the progress is in view next to the button and in the result card at every step " + away.join(""));
  await page.waitForFunction(() => { const i = document.getElementById("result-img"); return !i.classList.contains("hidden") && i.complete && i.naturalWidth > 0; }, null, { timeout: ms(60000) });
  const texts = await page.evaluate(() => window.statusTexts);
  check(!texts.some((t) => /Step \d+ \/ 0\b|Step 0 \//.test(t)), "the status never shows 'Step 0 / 0' or a zero step");
  const running = texts.filter((t) => stepRe.test(t));
  check(running.every((t) => /elapsed, (estimating time left|about \d+:\d\d left)$/.test(t)), "each step line has the elapsed time and an ETA: " + running[running.length - 1]);
  const resultSrc = await page.getAttribute("#result-img", "src");
  check(/\/files\/web_[0-9a-f]+_\d+\.png/.test(resultSrc), "the result image is shown from /files/");
  check((await page.getAttribute("#download", "href")) === resultSrc, "the download link points at the result");
  const settings = await page.textContent("#result-settings");
  check(settings.includes("Neon") && settings.includes(seed) && settings.includes("an astronaut portrait"), "the result lists its settings");
  check(/enhance face region\s*false/.test(settings), "the unchecked 'Enhance non-face region' reached the job as false");
  await page.waitForTimeout(400); // let the progress bar's transition finish
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(shotDir, "generate.png") });

  // ---- the web job in the log ----
  const resultName = resultSrc.split("?")[0].split("/").pop();
  const logged = parseCsv(fs.readFileSync(log, "utf8"));
  const head = logged[0], col = (r, name) => r[head.indexOf(name)];
  const webRow = logged.find((r) => col(r, "new_file_name") === resultName);
  check(head.length === 22 && logged.every((r) => r.length === 22), "the log keeps its 22 columns with web rows");
  check(webRow && col(webRow, "shard") === "web" && /^web-[0-9a-f]+$/.test(col(webRow, "job_id")) &&
        col(webRow, "success") === "True" && col(webRow, "seed") === seed && col(webRow, "style_name") === "Neon" &&
        col(webRow, "image_name") === "frontal_astronaut.png" && col(webRow, "num_inference_steps") === steps &&
        // the double writes a small PNG whatever the size asked; the row has the file's size
        (real ? col(webRow, "width") === size : /^[1-9]\d*$/.test(col(webRow, "width"))), "the web job is appended to the log as a 'web' row: " + (webRow || []).join(","));
  await page.click("#tab-log");
  await page.waitForFunction((name) => [...document.querySelectorAll("#log-table tbody tr")].some((tr) =>
    tr.textContent.includes("web") && [...tr.querySelectorAll("img")].some((i) => i.src.includes(name) && i.naturalWidth > 0)), resultName);
  check(true, "the web job appears in the log table, tagged 'web', with its thumbnail");
  await page.click("#tab-generate");

  // ---- Log tab on a written log ----
  const header = "image_name,new_file_name,identitynet_strength_ratio,adapter_strength_ratio,num_inference_steps,guidance_scale,seed,success,error_message,style_name,prompt,negative_prompt,time_taken,current_timestamp,job_id,width,height,scheduler,face_count,face_score,device,shard";
  const rows = [
    ["frontal_astronaut.png", resultName, 1.3785877666792246, 0.8512, 47, 9.4999, 777, "True", "", "Snow", 'human, "sharp" focus, snow', "blurry, lowres", 12.5, "2026-11-26 10:00:00", 0, 1024, 1024, "dpmpp_2m", 1, 0.88, "cpu", "0/1"],
    ["noface_cat_chelsea.png", "", 1.1, 0.7, 41, 7.5, 12, "False", "no face detected in noface_cat_chelsea.png", "Neon", "human, sharp focus", "", 0.4, "2026-11-26 10:01:00", 1, 0, 0, "euler", 0, 0, "cpu", "0/1"],
    ["/photos/elsewhere/grace.jpg", resultName, 1.4, 0.95, 5, 1.5, 3, "True", "", "Film Noir", "line one\nline two", "", 13.1, "2026-11-26 10:02:00", 2, 1016, 1024, "lcm <lora:lcm-lora-sdxl:1>", 1, 0.91, "cpu", "0/1"],
    ["me.png", resultName, 0.8, 0.8, 30, 5, 5, "True", "", "Watercolor", "a refined portrait", "", 88.2, "2026-11-26 11:00:00", "web-5f3ac2e10001", 1024, 1024, "euler", "", "", "", "web"],
  ];
  fs.writeFileSync(log, header + "\r\n" + rows.map((r) => r.map(q).join(",")).join("\r\n") + "\r\nhalf-written,row");
  await page.click("#tab-log");
  await page.click("#log-reload");
  await page.waitForFunction(() => document.querySelectorAll("#log-table tbody tr").length === 4);
  check(true, "the log table shows the complete rows (the half-written one is not)");
  const headers = await page.$$eval("#log-table thead th", (ths) => ths.map((th) => th.textContent));
  check(JSON.stringify(headers) === JSON.stringify(["", "image", "result", "style", "IdentityNet", "adapter", "steps", "guidance", "seed", "status", "time"]),
        "the table is compact: image, thumbnail, style, the four sweep values, seed, status, time: " + headers.join("|"));
  await page.waitForFunction(() => [...document.querySelectorAll("#log-table tbody img")].filter((i) => i.naturalWidth > 0).length === 3);
  check(true, "successful rows show thumbnails");
  check((await page.$$eval("#log-table tbody .tag", (t) => t.map((x) => x.closest("tr").textContent))).every((t) => t.includes("me.png")) &&
        (await page.$$("#log-table tbody .tag")).length === 1, "only the web row is tagged 'web'");
  const failRow = await page.textContent("#log-table tbody tr.fail");
  check(failRow.includes("no face detected in noface_cat_chelsea.png"), "a failed row shows its reason");
  const firstRow = await page.textContent("#log-table tbody tr:nth-child(1)");
  check(firstRow.includes("1.38") && firstRow.includes("0.85") && firstRow.includes("9.5") && firstRow.includes("12.5 s"),
        "the sweep values are shown rounded, the time with its unit: " + firstRow);

  const seedsInOrder = () => page.$$eval("#log-table tbody tr", (trs) => {
    const cols = [...document.querySelectorAll("#log-table thead th")].map((th) => th.textContent.replace(/[\u25B2\u25BC ]+$/, ""));
    const k = cols.indexOf("seed");
    return trs.map((tr) => tr.cells[k].textContent);
  });
  await page.click('#log-table th[data-col="seed"]');
  check(JSON.stringify(await seedsInOrder()) === JSON.stringify(["3", "5", "12", "777"]), "clicking a header sorts numerically");
  await page.click('#log-table th[data-col="seed"]');
  check(JSON.stringify(await seedsInOrder()) === JSON.stringify(["777", "12", "5", "3"]), "clicking again reverses the order");
  await page.screenshot({ path: path.join(shotDir, "batch-log.png") });

  // A click on a row shows every column and a larger preview.
  await page.click("#log-table tbody tr:nth-child(1) td:nth-child(4)");
  await page.waitForFunction(() => document.getElementById("row-dialog").open);
  const dts = await page.$$eval("#row-values dt", (d) => d.map((x) => x.textContent));
  check(dts.length === 22 && dts[0] === "image_name" && dts[21] === "shard", "the row's details list all 22 columns");
  check((await page.textContent("#row-values")).includes("1.3785877666792246"), "the details keep the exact logged values");
  await page.waitForFunction(() => { const i = document.getElementById("row-result"); return i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().width >= 256; });
  check(true, "the details show a larger preview of the result");
  await page.waitForFunction(() => { const i = document.getElementById("row-source"); return i.complete && i.naturalWidth > 0; });
  check(true, "the details show the source face from the input folder");
  await page.screenshot({ path: path.join(shotDir, "log-row.png") });
  await page.click("#row-close");

  await page.fill("#log-filter", "film noir");
  check((await page.$$("#log-table tbody tr")).length === 1, "the filter matches any column, case-insensitively");
  await page.fill("#log-filter", "");
  check((await page.$$("#log-table tbody tr")).length === 4, "clearing the filter shows every row");

  // Refine the first row (seed 777): its source is in the input folder only.
  const apiLog = await (await fetch(url + "api/log")).json();
  const src = apiLog.rows.find((r) => r.values.seed === "777").source;
  check(src === "/inputs/frontal_astronaut.png", "the log names the source in the input folder recorded by the batch: " + src);
  const resultShown = () => page.evaluate(() => !document.getElementById("result-img").classList.contains("hidden"));
  check(await resultShown(), "a result is on the Generate tab before Refine");
  await page.click("#log-table tbody tr:nth-child(1) button.refine");
  await page.waitForFunction(() => !document.getElementById("panel-generate").classList.contains("hidden"));
  check(true, "Refine switches to the Generate tab");
  check(!(await resultShown()) && (await page.textContent("#result-settings")) === "", "Refine clears the previous result");
  const form = await page.evaluate(() => Object.fromEntries(["prompt", "negative_prompt", "style", "scheduler", "identitynet_strength", "adapter_strength", "steps", "guidance", "seed", "width", "height"].map((k) => [k, document.getElementById(k).value])));
  check(form.prompt === 'human, "sharp" focus, snow' && form.style === "Snow" && form.steps === "47" && form.seed === "777" &&
        form.identitynet_strength === "1.4" && form.adapter_strength === "0.85" && form.guidance === "9.5" &&
        form.width === "1024" && form.scheduler === "dpmpp_2m" && form.negative_prompt === "blurry, lowres",
        "Refine loads the row's settings, rounded to the sliders' steps: " + JSON.stringify(form));
  check(!(await page.isChecked("#lcm")), "Refine of a row without the LCM-LoRA leaves LCM mode off");
  check(await page.inputValue("#identitynet_strength-range") === "1.4", "the slider follows the rounded value");
  await page.waitForFunction(() => { const i = document.querySelector("#face-drop img"); return !i.classList.contains("hidden") && i.naturalWidth > 0; });
  check((await page.textContent("#status")).includes("Loaded the settings and the face of frontal_astronaut.png"), "Refine loads the face from the input folder");

  // A row whose source is in neither folder asks for the face again.
  await page.click("#tab-log");
  await page.fill("#log-filter", "grace");
  await page.click("#log-table tbody tr:nth-child(1) button.refine");
  await page.waitForFunction(() => document.getElementById("status").textContent.includes("drop the face image"));
  check(await page.inputValue("#prompt") === "line one\nline two", "a multi-line prompt survives the round trip");
  check(await page.inputValue("#scheduler") === "lcm" && await page.inputValue("#steps") === "5", "Refine reads the scheduler without the row's LoRAs");
  if (caps.lcm) check(await page.isChecked("#lcm") && await page.isDisabled("#scheduler"), "Refine of an LCM-LoRA row turns LCM mode on");
  check(await page.evaluate(() => document.querySelector("#face-drop img").classList.contains("hidden")), "without a reachable source the user is asked to drop the face");

  // A server that pages /api/log (offset, limit, total): "Load more" fetches the
  // rest. Played here by answering the page's requests from the test.
  const all = apiLog.rows;
  const asked = [];
  await page.route("**/api/log?*", (route) => {
    const u = new URL(route.request().url());
    const offset = Number(u.searchParams.get("offset")), limit = Math.min(Number(u.searchParams.get("limit")), 3);
    asked.push(offset);
    route.fulfill({ contentType: "application/json", body: JSON.stringify({ ...apiLog, rows: all.slice(offset, offset + limit), total: all.length }) });
  });
  await page.click("#tab-log");
  await page.fill("#log-filter", "");
  await page.click("#log-reload");
  await page.waitForFunction(() => !document.getElementById("log-more").classList.contains("hidden"));
  check((await page.$$("#log-table tbody tr")).length === 3 && (await page.textContent("#log-count")).includes("3 loaded (4 in all)"),
        "a paged log shows its first page and how many rows there are in all");
  await page.click("#log-more");
  await page.waitForFunction(() => document.querySelectorAll("#log-table tbody tr").length === 4);
  check(await page.isHidden("#log-more") && JSON.stringify(asked) === "[0,3]", "'Load more' fetches the next page, then hides: offsets " + JSON.stringify(asked));
  await page.unroute("**/api/log?*");

  await browser.close();
  browser = null;
  server.kill("SIGTERM");
  const code = await new Promise((r) => (server.exitCode !== null ? r(server.exitCode) : server.on("exit", r)));
  check(code === 0, "the server stops cleanly on SIGTERM");
}

main().then(() => { console.log("PASS: browser test"); cleanup(0); },
            (e) => { console.error("FAIL: " + (e && e.stack || e)); cleanup(1); });
