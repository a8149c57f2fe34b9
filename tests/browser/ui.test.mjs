// ui.test.mjs - the web UI end to end in headless Chromium: generate with a
// dropped face (progress, result, download), a no-face error, then the batch log
// tab (thumbnails, sort, filter, failure reasons, Refine loading the form).
//
//   node ui.test.mjs SERVE_FAKE [SCREENSHOT_DIR]
//
// SERVE_FAKE is the server with the test double engine (serve_fake.c). When
// $IID_BINARY (the real instantid) is set and the conformance kit's models exist,
// the real engine serves instead, on the kit's tiny models: the generated image is
// then the real pipeline's output (noise-like, the weights are random).
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
const size = real ? "64" : "512"; // the tiny models render small images quickly
const steps = real ? "6" : "20";
if (!serveFake || !fs.existsSync(serveFake)) { console.error("usage: node ui.test.mjs SERVE_FAKE [SCREENSHOT_DIR]"); process.exit(2); }
if (!fs.existsSync(astronaut) || !fs.existsSync(cat)) { console.log(`SKIP: ${faces} lacks the test faces`); process.exit(77); }

// Bound the whole run: a hung page or server fails the test instead of CTest's timeout.
const guard = setTimeout(() => { console.error("FAIL: the browser test took over 200 s"); cleanup(1); }, 200000);

const work = fs.mkdtempSync(path.join(os.tmpdir(), "iid-browser-"));
const out = path.join(work, "out");
const log = path.join(work, "generation_log.csv");
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
      server = spawn(process.env.IID_BINARY, ["serve", "--models", kitModels, "--resampler-heads", heads, "--output", out,
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

async function main() {
  const url = await startServer();
  browser = await chromium.launch({
    executablePath: process.env.IID_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"], // Playwright gives each launch a fresh profile
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (e) => { console.error("page error: " + e.message); });
  await page.goto(url);

  // ---- Generate tab ----
  await page.waitForFunction(() => document.getElementById("style").options.length > 0);
  check(await page.inputValue("#style") === "Watercolor", "the style list comes from /api/styles with the default selected");
  check(await page.inputValue("#steps") === "30" && await page.inputValue("#guidance") === "5", "the demo's defaults are set");

  await dropFile(page, "#face-drop", astronaut, "image/png");
  await page.waitForFunction(() => { const i = document.querySelector("#face-drop img"); return i && !i.classList.contains("hidden") && i.naturalWidth > 0; });
  check(true, "a dropped face shows its preview");

  await page.fill("#prompt", "an astronaut portrait, watercolor, sharp focus");
  await page.selectOption("#style", "Neon");
  await page.fill("#steps", steps);
  await page.fill("#width", size);
  await page.fill("#height", size);
  await page.click("#randomize");
  const seed = await page.inputValue("#seed");
  check(seed !== "42" && /^\d+$/.test(seed), "Randomize draws a new seed");
  await page.click("#generate");
  await page.waitForFunction((n) => new RegExp("^Step \\d+ / " + n + "$").test(document.getElementById("status").textContent), steps, { timeout: 30000 });
  check(true, "live step progress is shown");
  await page.waitForFunction(() => { const i = document.getElementById("result-img"); return !i.classList.contains("hidden") && i.complete && i.naturalWidth > 0; }, null, { timeout: 60000 });
  const resultSrc = await page.getAttribute("#result-img", "src");
  check(/\/files\/web_[0-9a-f]+_\d+\.png/.test(resultSrc), "the result image is shown from /files/");
  check((await page.getAttribute("#download", "href")) === resultSrc, "the download link points at the result");
  const settings = await page.textContent("#result-settings");
  check(settings.includes("Neon") && settings.includes(seed) && settings.includes("an astronaut portrait"), "the result lists its settings");
  await page.waitForTimeout(400); // let the progress bar's transition finish
  await page.screenshot({ path: path.join(shotDir, "generate.png"), fullPage: true });

  // A photo without a face: the engine's 422 reaches the user.
  await page.setInputFiles("#face-input", cat);
  await page.fill("#steps", "3");
  await page.click("#generate");
  await page.waitForFunction(() => document.getElementById("status").classList.contains("error"), null, { timeout: 15000 });
  const err = await page.textContent("#status");
  check(err.includes("422") && err.includes("no face"), "a no-face photo shows the 422 error: " + err);

  // ---- Batch log tab ----
  const resultName = resultSrc.split("?")[0].split("/").pop();
  fs.copyFileSync(astronaut, path.join(out, "frontal_astronaut.png"));
  const header = "image_name,new_file_name,identitynet_strength_ratio,adapter_strength_ratio,num_inference_steps,guidance_scale,seed,success,error_message,style_name,prompt,negative_prompt,time_taken,current_timestamp,job_id,width,height,scheduler,face_count,face_score,device,shard";
  const rows = [
    ["frontal_astronaut.png", resultName, 1.25, 0.85, 47, 9.5, 777, "True", "", "Snow", 'human, "sharp" focus, snow', "blurry, lowres", 12.5, "2026-11-26 10:00:00", 0, 1024, 1024, "dpmpp_2m", 1, 0.88, "cpu", "0/1"],
    ["noface_cat_chelsea.png", "", 1.1, 0.7, 41, 7.5, 12, "False", "no face detected in noface_cat_chelsea.png", "Neon", "human, sharp focus", "", 0.4, "2026-11-26 10:01:00", 1, 0, 0, "euler", 0, 0, "cpu", "0/1"],
    ["/photos/elsewhere/grace.jpg", resultName, 1.4, 0.95, 55, 11, 3, "True", "", "Film Noir", "line one\nline two", "", 13.1, "2026-11-26 10:02:00", 2, 1016, 1024, "euler", 1, 0.91, "cpu", "0/1"],
  ];
  fs.writeFileSync(log, header + "\r\n" + rows.map((r) => r.map(q).join(",")).join("\r\n") + "\r\nhalf-written,row");
  await page.click("#tab-log");
  await page.waitForFunction(() => document.querySelectorAll("#log-table tbody tr").length === 3);
  check(true, "the log table shows the complete rows (the half-written one is not)");
  await page.waitForFunction(() => [...document.querySelectorAll("#log-table tbody img")].filter((i) => i.naturalWidth > 0).length === 2);
  check(true, "successful rows show thumbnails");
  const failRow = await page.textContent("#log-table tbody tr.fail");
  check(failRow.includes("no face detected in noface_cat_chelsea.png"), "a failed row shows its reason");

  const seedsInOrder = () => page.$$eval("#log-table tbody tr", (trs) => {
    const cols = [...document.querySelectorAll("#log-table thead th")].map((th) => th.textContent.replace(/[\u25B2\u25BC ]+$/, ""));
    const k = cols.indexOf("seed");
    return trs.map((tr) => tr.cells[k].textContent);
  });
  await page.click('#log-table th[data-col="seed"]');
  check(JSON.stringify(await seedsInOrder()) === JSON.stringify(["3", "12", "777"]), "clicking a header sorts numerically");
  await page.click('#log-table th[data-col="seed"]');
  check(JSON.stringify(await seedsInOrder()) === JSON.stringify(["777", "12", "3"]), "clicking again reverses the order");
  await page.setViewportSize({ width: 1600, height: 700 });
  await page.$eval(".tablewrap", (e) => { e.scrollLeft = 0; });
  await page.screenshot({ path: path.join(shotDir, "batch-log.png"), fullPage: true });

  await page.fill("#log-filter", "film noir");
  check((await page.$$("#log-table tbody tr")).length === 1, "the filter matches any column, case-insensitively");
  await page.fill("#log-filter", "");
  check((await page.$$("#log-table tbody tr")).length === 3, "clearing the filter shows every row");

  // Refine the first row (seed 777): its source is in the output folder.
  await page.click("#log-table tbody tr:nth-child(1) button.refine");
  await page.waitForFunction(() => !document.getElementById("panel-generate").classList.contains("hidden"));
  check(true, "Refine switches to the Generate tab");
  const form = await page.evaluate(() => Object.fromEntries(["prompt", "negative_prompt", "style", "scheduler", "identitynet_strength", "adapter_strength", "steps", "guidance", "seed", "width", "height"].map((k) => [k, document.getElementById(k).value])));
  check(form.prompt === 'human, "sharp" focus, snow' && form.style === "Snow" && form.steps === "47" && form.seed === "777" &&
        form.identitynet_strength === "1.25" && form.adapter_strength === "0.85" && form.guidance === "9.5" &&
        form.width === "1024" && form.scheduler === "dpmpp_2m" && form.negative_prompt === "blurry, lowres",
        "Refine loads the row's settings into the form: " + JSON.stringify(form));
  await page.waitForFunction(() => { const i = document.querySelector("#face-drop img"); return !i.classList.contains("hidden") && i.naturalWidth > 0; });
  check(true, "Refine loads the source face from the output folder");

  // A row whose source is outside the output folder asks for the face again.
  await page.click("#tab-log");
  await page.fill("#log-filter", "grace");
  await page.click("#log-table tbody tr:nth-child(1) button.refine");
  await page.waitForFunction(() => document.getElementById("status").textContent.includes("drop the face image"));
  check(await page.inputValue("#prompt") === "line one\nline two", "a multi-line prompt survives the round trip");
  check(await page.evaluate(() => document.querySelector("#face-drop img").classList.contains("hidden")), "without a reachable source the user is asked to drop the face");

  await browser.close();
  browser = null;
  server.kill("SIGTERM");
  const code = await new Promise((r) => (server.exitCode !== null ? r(server.exitCode) : server.on("exit", r)));
  check(code === 0, "the server stops cleanly on SIGTERM");
}

main().then(() => { console.log("PASS: browser test"); cleanup(0); },
            (e) => { console.error("FAIL: " + (e && e.stack || e)); cleanup(1); });
