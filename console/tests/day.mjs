// The console driven in Debian's Chromium through playwright-core, against a running
// `openhmis demo`: each step as a person does it with the keyboard and mouse, a screenshot of
// each kept in tests/output/, and axe-core run on every screen (no serious or critical
// violation allowed).
// Usage: node tests/day.mjs http://127.0.0.1:50051
import { chromium } from "playwright-core";
import { mkdirSync, readFileSync, rmSync } from "node:fs";

const base = process.argv[2] ?? "http://127.0.0.1:50051";
// `--desk-only`: the registration desk's steps alone (a second pass over the same demo, e.g.
// through the gateway, where the first pass already used the ward's free beds).
const deskOnly = process.argv.includes("--desk-only");
// `--expect-refresh`: the server's access tokens are short-lived (HMIS_IAM__ACCESS_TOKEN_TTL),
// so the day must see the console refresh its token and go on (board streams included).
const expectRefresh = process.argv.includes("--expect-refresh");
// One folder of screenshots per address driven (the server, the gateway), made afresh.
const output = new URL(`./output/${new URL(base).host.replace(/[^\w.-]/g, "_")}/`, import.meta.url).pathname;
rmSync(output, { recursive: true, force: true });
mkdirSync(output, { recursive: true });
const axeSource = readFileSync(new URL("../node_modules/axe-core/axe.min.js", import.meta.url), "utf8");
// A person no earlier run made: a name of random syllables and a random birth date (the
// duplicate check looks for close names born the same day).
const syllables = ["ba", "ce", "di", "fo", "gu", "la", "me", "ni", "po", "ru", "sa", "te", "vi", "zo"];
const pick = () => syllables[Math.floor(Math.random() * syllables.length)];
const unique = `${pick()}${pick()}${pick()}${pick()}${pick()}`.replace(/^./, (c) => c.toUpperCase());
const born = new Date(Date.UTC(1935, 0, 1) + Math.floor(Math.random() * 25_000) * 86_400_000)
  .toISOString()
  .slice(0, 10);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
// bypassCSP only so axe-core can be injected; the page itself runs under the server's policy.
const context = await browser.newContext({ locale: "en-GB", viewport: { width: 1280, height: 900 }, bypassCSP: true });
const page = await context.newPage();
const failures = [];
// A 1x1 PNG: the patient's photo.
const PHOTO = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);
// The patient's record, once the registrar opened it.
let recordUrl = base;
page.on("pageerror", (error) => failures.push(`page error: ${error.message}`));
let refreshes = 0;
page.on("request", (request) => {
  if (request.url().endsWith("/openhmis.iam.v1.AuthService/Refresh")) refreshes += 1;
});
let step = 0;

async function shot(name) {
  step += 1;
  await page.screenshot({ path: `${output}${String(step).padStart(2, "0")}-${name}.png`, fullPage: true });
}

async function accessible(screen) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const run = await axe.run(document, { resultTypes: ["violations"] });
    return run.violations
      .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
      .map((violation) => `${violation.id} (${violation.impact}): ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`);
  });
  for (const violation of result) failures.push(`${screen}: ${violation}`);
}

async function check(what, action) {
  try {
    await action();
    console.log(`ok: ${what}`);
  } catch (error) {
    failures.push(`${what}: ${error.message.split("\n").slice(0, 3).join(" | ")}`);
    await page.screenshot({ path: `${output}failure-${step}.png`, fullPage: true }).catch(() => {});
    throw error;
  }
}

async function signIn(username, on = page) {
  await on.goto(base);
  await on.getByLabel("Institution code").fill("DEMO");
  await on.getByLabel("User name").fill(username);
  await on.getByLabel("Password").fill("Demo-Hospital-2026");
  await on.keyboard.press("Enter");
  await on.getByTestId("who").waitFor({ timeout: 15000 });
}

const budget = {};

try {
  await check("the sign-in page is served by the server and is accessible", async () => {
    await page.goto(base);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    // The first screen's cost: navigation start to the sign-in form in the page, as the
    // browser timed it (the form renders once the bundle has run).
    budget.firstScreenMs = await page.evaluate(() => {
      const entry = performance.getEntriesByType("navigation")[0];
      return Math.round(performance.now() - (entry?.startTime ?? 0));
    });
    await accessible("sign-in");
    await shot("sign-in");
  });

  await check("a wrong password is refused in words", async () => {
    await page.getByLabel("User name").fill("registrar");
    await page.getByLabel("Password").fill("wrong");
    await page.keyboard.press("Enter");
    await page.getByRole("alert").filter({ hasText: "UNAUTHENTICATED" }).waitFor();
  });

  const dayUnit = `Day unit ${unique}`;
  const dayUnitCode = `DU-${unique.slice(0, 8).toUpperCase()}`;
  await check("the administrator opens a 40-bed ward in the bed register", async () => {
    await signIn("admin");
    await page.getByRole("link", { name: "Administration" }).click();
    await page.getByLabel("Ward name").fill(dayUnit);
    await page.getByLabel("Ward code").fill(dayUnitCode);
    await page.getByLabel("Rooms").fill("10");
    await page.getByLabel("Beds per room").fill("4");
    await page.getByRole("button", { name: "Create the ward with its rooms and beds" }).click();
    await page.getByRole("status").filter({ hasText: `Ward created: ${dayUnit}` }).waitFor({ timeout: 60000 });
    await page.getByRole("button", { name: "Sign out" }).click();
  });

  await check("the registrar signs in", async () => {
    await signIn("registrar");
    await accessible("registry");
    await shot("registry");
  });

  if (expectRefresh) {
    await check("the short-lived access token is refreshed by itself, and the desk goes on", async () => {
      const refreshed = await page.waitForResponse(
        (response) => response.url().endsWith("/openhmis.iam.v1.AuthService/Refresh"),
        { timeout: 30000 },
      );
      if (!refreshed.ok()) throw new Error(`the refresh answered HTTP ${refreshed.status()}`);
    });
  }

  await check("a name with a typo finds the demo patient", async () => {
    await page.getByLabel("Search for").fill("Rusuu Ion");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("cell", { name: /Rusu Ion/ }).first().waitFor();
    await shot("search-typo");
  });

  await check("a national id finds its patient", async () => {
    await page.getByLabel("National ID (IDNP)").first().check();
    await page.getByLabel("Search for").fill("2000010079197");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("cell", { name: /Rusu Elena/ }).waitFor();
  });

  await check("a wrong IDNP is flagged while typing and cannot be sent", async () => {
    const register = page.locator("#register-title").locator("..");
    await register.getByLabel("National ID (IDNP)").fill("2000010079198");
    await register.getByText("Not a valid IDNP").waitFor();
    if (!(await register.getByRole("button", { name: "Register" }).isDisabled())) {
      throw new Error("Register stays enabled with an invalid IDNP");
    }
    await register.getByLabel("National ID (IDNP)").fill("");
  });

  let mrn = "";
  let admissionNumber = "";
  await check("a new patient is registered", async () => {
    const register = page.locator("#register-title").locator("..");
    await register.getByLabel("Family name").fill(unique);
    await register.getByLabel("Given names").fill("Maria");
    await register.getByLabel("Birth date").fill(born);
    await register.getByRole("button", { name: "Register" }).click();
    const status = register.getByRole("status").filter({ hasText: "Registered with MRN" });
    await status.waitFor();
    mrn = (await status.getByRole("link").textContent()).trim();
    await shot("registered");
  });

  await check("registering her again shows her as a duplicate before anything is made", async () => {
    const register = page.locator("#register-title").locator("..");
    await register.getByRole("button", { name: "Register" }).click();
    const duplicates = register.locator(".duplicates");
    await duplicates.getByRole("link", { name: mrn }).waitFor();
    await accessible("duplicates");
    await shot("duplicate-caught");
  });

  await check("her record opens with its history, and the info desk says she is not in hospital", async () => {
    await page.locator(".duplicates").getByRole("link", { name: mrn }).click();
    await page.getByTestId("mrn").filter({ hasText: mrn }).waitFor();
    await page.getByTestId("where").filter({ hasText: "Not in hospital" }).waitFor();
    await page.getByRole("cell", { name: /registered/ }).waitFor();
    await accessible("record");
    await shot("record");
  });

  await check("the registrar records her national insurance policy on the record", async () => {
    await page.getByTestId("policies").filter({ hasText: "No valid insurance policy" }).waitFor();
    await page.getByLabel("Insurer").selectOption({ label: "National health insurance (CNAM)" });
    await page.getByLabel("Policy number").fill(`A-${unique}`);
    await page.getByRole("button", { name: "Add the policy" }).click();
    await page.getByTestId("policies").filter({ hasText: `CNAM A-${unique}` }).waitFor();
  });

  await check("the registrar books her a cardiology consultation in the next free slot", async () => {
    const record = page.url();
    await page.getByRole("link", { name: "Appointments" }).click();
    await page.getByRole("heading", { name: "Outpatient front office" }).waitFor();
    await page.locator("select[name=clinic]").selectOption({ label: "Cardiology consultations" });
    const booking = page.locator("#booking-title").locator("..");
    const first = booking.getByRole("row").nth(1);
    const slotTime = (await first.getByRole("rowheader").textContent()).trim();
    await booking.getByLabel("Patient's MRN").fill(mrn);
    await first.getByRole("button", { name: `Book: ${slotTime}` }).click();
    await page.getByRole("status").filter({ hasText: `Appointment booked: ${slotTime}` }).waitFor();
    // The place is taken: the slot left the free list (its only place).
    await booking.getByRole("button", { name: `Book: ${slotTime}` }).waitFor({ state: "detached" });
    await accessible("front office");
    await shot("appointment-booked");
    await page.goto(record);
    await page.getByTestId("mrn").filter({ hasText: mrn }).waitFor();
  });

  await check("the registrar adds her scanned consent to the archive and downloads it back", async () => {
    const scan = Buffer.from(`%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n% consent of ${unique}\n%%EOF\n`);
    const form = page.getByRole("form", { name: "Add the document" });
    await form.locator("select[name=document-kind]").selectOption({ label: "Consent form (scanned)" });
    await form.getByLabel("Title").fill("Consent to admission");
    await form.locator("input[name=document-file]").setInputFiles({
      name: "consent.pdf",
      mimeType: "application/pdf",
      buffer: scan,
    });
    await form.getByRole("button", { name: "Add the document" }).click();
    await page.getByRole("status").filter({ hasText: "Stored in the archive: Consent to admission" }).waitFor();
    await accessible("documents");
    const downloading = page.waitForEvent("download");
    await page.getByRole("button", { name: "Download: Consent to admission" }).click();
    const download = await downloading;
    if (download.suggestedFilename() !== "consent.pdf") throw new Error(`saved as ${download.suggestedFilename()}`);
    const saved = readFileSync(await download.path());
    if (!saved.equals(scan)) throw new Error("the downloaded file differs from the scan");
    await shot("documents");
  });

  await check("the registrar adds her photo to the archive and the record shows it once the registry follows", async () => {
    recordUrl = page.url();
    const form = page.getByRole("form", { name: "Add the document" });
    await form.locator("select[name=document-kind]").selectOption({ label: "Patient's photo" });
    await form.getByLabel("Title").fill("Photo at the desk");
    await form.locator("input[name=document-file]").setInputFiles({ name: "photo.png", mimeType: "image/png", buffer: PHOTO });
    await form.getByRole("button", { name: "Add the document" }).click();
    await page.getByRole("status").filter({ hasText: "Stored in the archive: Photo at the desk" }).waitFor();
    // The registry takes the photo from the archive's event: the record is opened again
    // until it names it.
    const photo = page.getByRole("img", { name: /^Photo of / });
    for (let attempt = 0; attempt < 40 && (await photo.count()) === 0; attempt += 1) {
      await page.goto(recordUrl.replace(/#.*/, "#/patients"));
      await page.goto(recordUrl);
      await page.getByTestId("mrn").waitFor();
      await photo.waitFor({ timeout: 250 }).catch(() => {});
    }
    await photo.waitFor({ timeout: 1000 });
  });

  if (deskOnly) throw new Error("desk only");

  await check("the emergency unit closes a waiting visit with its outcome and registers her arrival", async () => {
    await page.getByRole("link", { name: "Emergency unit" }).click();
    // One of the demo's waiting patients goes home.
    const waiting = page.getByRole("button", { name: /^Close: / }).first();
    await waiting.waitFor();
    const closing = (await waiting.getAttribute("aria-label")).replace(/^Close: /, "");
    await page.locator("select[name=outcome]").selectOption({ label: "sent home" });
    await waiting.click();
    await page.getByRole("button", { name: `Close: ${closing}` }).waitFor({ state: "detached" });
    await page.getByLabel("Patient's MRN").fill(mrn);
    await page.locator("select[name=triage_level]").selectOption("2");
    await page.getByLabel("Chief complaint").fill("chest pain at rest");
    await page.getByRole("button", { name: "Register the arrival" }).click();
    const row = page.getByRole("row", { name: new RegExp(unique) });
    await row.getByRole("cell", { name: "chest pain at rest" }).waitFor();
    await accessible("emergency");
    await shot("emergency-board");
    await row.getByRole("button", { name: /^Admit: / }).click();
  });

  await check("the registrar admits her from the emergency unit into a free bed chosen on the live ward map", async () => {
    await page.getByTestId("bed-map").waitFor();
    if ((await page.getByLabel("Patient's MRN").inputValue()) !== mrn) throw new Error("the MRN did not come from the board");
    await page.locator("select[name=ward]").selectOption({ label: "Cardiology" });
    const free = page.locator("[data-testid=bed-map] button.bed-free").first();
    await free.waitFor();
    const place = await free.getAttribute("data-bed");
    await free.click();
    await page.getByTestId("chosen-bed").filter({ hasText: "Chosen bed" }).waitFor();
    await page.getByLabel("Admitting diagnosis (ICD-10 code)").fill("I20.0");
    await page.getByRole("button", { name: "Admit", exact: true }).click();
    await page.getByTestId("admission-number").waitFor();
    admissionNumber = (await page.getByTestId("admission-number").textContent()).trim();
    // The desk is told she is insured (the policy recorded at registration).
    await page.getByTestId("standing").filter({ hasText: `Insured: A-${unique}` }).waitFor();
    // The board's stream shows the bed taken, by her, without reloading.
    await page.locator(`[data-bed="${place}"].bed-occupied`).filter({ hasText: unique }).waitFor();
    await accessible("admissions");
    await shot("admitted-on-map");
    // Admitting her closed her emergency visit: the board no longer lists her.
    await page.getByRole("link", { name: "Emergency unit" }).click();
    // The board has loaded once it shows a table or says nobody waits.
    await page.locator("#er-board-title").locator("..").locator("table, p:has-text('Nobody is waiting.')").first().waitFor();
    if ((await page.getByRole("row", { name: new RegExp(unique) }).count()) !== 0) {
      throw new Error("her emergency visit is still open after her admission");
    }
    await page.getByRole("link", { name: "Admissions" }).click();
    await page.locator("select[name=ward]").selectOption({ label: "Cardiology" });
    await page.locator("[data-testid=bed-map] button.bed-occupied").filter({ hasText: unique }).waitFor();
  });

  await check("a transfer made at another desk shows on the watching 40-bed board at once, and back", async () => {
    const other = await browser.newContext({ locale: "en-GB", viewport: { width: 1280, height: 900 } });
    const desk = await other.newPage();
    try {
      // This desk watches the new 40-bed ward.
      await page.locator("select[name=ward]").selectOption({ label: dayUnit });
      await page.getByRole("heading", { name: `Beds of the ward: ${dayUnit}` }).waitFor();
      await page.waitForFunction(() => document.querySelectorAll("[data-testid=bed-map] button.bed").length === 40);
      budget.boardBeds = await page.locator("[data-testid=bed-map] button.bed").count();
      // Another desk moves her there from cardiology...
      await signIn("registrar", desk);
      await desk.getByRole("link", { name: "Admissions" }).click();
      await desk.locator("select[name=ward]").selectOption({ label: dayUnit });
      // A bed of the new ward's rooms, not one of the board shown before the switch.
      const target = desk.locator(`[data-testid=bed-map] button.bed-free[data-bed^="${dayUnitCode}-"]`).first();
      await target.waitFor();
      const place = await target.getAttribute("data-bed");
      await target.click();
      await desk.locator("select[name=ward]").selectOption({ label: "Cardiology" });
      const transfer = desk.getByRole("button", { name: new RegExp(`Transfer to the chosen bed: ${unique}`) });
      await transfer.waitFor();
      const home = desk.locator("[data-testid=bed-map] button.bed-free").first();
      let started = Date.now();
      await transfer.click();
      await page.locator(`[data-bed="${place}"].bed-occupied`).filter({ hasText: unique }).waitFor();
      const arrived = Date.now() - started;
      // ...and back into a free bed of cardiology (its nurse cares for her).
      await home.waitFor();
      await home.click();
      await desk.locator("select[name=ward]").selectOption({ label: dayUnit });
      const back = desk.getByRole("button", { name: new RegExp(`Transfer to the chosen bed: ${unique}`) });
      await back.waitFor();
      started = Date.now();
      await back.click();
      // The bed she left goes to cleaning (the register's housekeeping after a move).
      await page.locator(`[data-bed="${place}"]:not(.bed-occupied)`).waitFor();
      const left = Date.now() - started;
      budget.transferSeenMs = [arrived, left];
      await shot("transfer-seen");
      await page.locator("select[name=ward]").selectOption({ label: "Cardiology" });
      await page.locator("[data-testid=bed-map] button.bed-occupied").filter({ hasText: unique }).waitFor();
    } catch (error) {
      await desk.screenshot({ path: `${output}failure-desk.png`, fullPage: true });
      throw error;
    } finally {
      await other.close();
    }
  });

  await check("the desk corrects the admission type it entered wrong, and the history keeps it", async () => {
    await page.getByRole("button", { name: new RegExp(`Correct the admission: ${unique}`) }).click();
    const form = page.getByRole("form", { name: "Correct the admission" });
    await form.locator("select[name=correct_type]").selectOption({ label: "planned" });
    await form.getByLabel("Reason").fill("sent in for a planned angiography");
    await form.getByRole("button", { name: "Save the correction" }).click();
    await page.getByRole("status").filter({ hasText: "Correction saved" }).waitFor();
    await page.getByRole("cell", { name: /Admission type: emergency → planned/ }).waitFor();
    await accessible("admissions");
    await shot("admission-corrected");
  });

  await check("the physician records the principal diagnosis found by words in ICD-10", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("physician");
    await page.getByLabel("Medical record number").check();
    await page.getByLabel("Search for").fill(mrn);
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("link", { name: mrn }).click();
    await page.getByRole("button", { name: "Medical record" }).click();
    await page.getByRole("heading", { name: "Record a diagnosis" }).waitFor({ timeout: 20000 });
    const diagnose = page.locator("#diagnose-title").locator("..");
    await diagnose.getByLabel("ICD-10: code or words").fill("angina");
    await diagnose.getByRole("radio", { name: /^I20\.0/ }).check();
    await page.locator("#diagnose-title").locator("..").getByRole("button", { name: "Record", exact: true }).click();
    await page.getByRole("cell", { name: "I20.0" }).waitFor();
    await accessible("encounter");
    await shot("diagnosis");
  });

  await check("a severe interaction blocks the prescription until overridden with a reason", async () => {
    const prescribe = page.locator("#prescribe-title").locator("..");
    await prescribe.getByLabel("Medicine").fill("warfarin");
    await prescribe.getByRole("radio", { name: /Warfarin/ }).check();
    await prescribe.getByRole("button", { name: "Prescribe", exact: true }).click();
    await page.getByRole("cell", { name: /Warfarin/ }).waitFor();
    await prescribe.getByLabel("Medicine").fill("ibuprofen");
    await prescribe.getByRole("radio", { name: /Ibuprofen/ }).check();
    await prescribe.getByLabel("Times a day").fill("3");
    await prescribe.getByRole("button", { name: "Prescribe", exact: true }).click();
    await prescribe.getByText("Severe warnings: the prescription was not made").waitFor();
    await prescribe.getByText(/bleeding risk/).waitFor();
    await shot("interaction-blocked");
    await prescribe.getByLabel("Reason for prescribing despite them").fill("short course, INR checked daily");
    await prescribe.getByRole("button", { name: "Prescribe with this reason" }).click();
    await page.getByRole("cell", { name: /overridden: short course/ }).waitFor();
    await shot("interaction-overridden");
  });

  await check("the physician records a procedure and refers her to the laboratory", async () => {
    const procedure = page.locator("#procedure-title").locator("..");
    await procedure.getByLabel("Procedure: code or words (ACHI)").fill("coronary angiography");
    await procedure.getByRole("radio").first().check();
    await procedure.getByRole("button", { name: "Record" }).click();
    await page.locator("#procedures-title").locator("..").getByRole("listitem").first().waitFor();
    const refer = page.locator("#referral-title").locator("..");
    await refer.getByLabel("Investigations: code or words").fill("troponin");
    await refer.getByRole("checkbox").first().check();
    await refer.getByLabel("Clinical question").fill("rule out myocardial infarction");
    await refer.locator("select[name=urgency]").selectOption({ label: "urgent" });
    await refer.getByRole("button", { name: "Refer" }).click();
    await refer.getByRole("status").filter({ hasText: "Referral recorded" }).waitFor();
    await shot("procedure-and-referral");
    await refer.locator("select[name=referral_kind]").selectOption({ label: "imaging" });
    await refer.getByLabel("Investigations: code or words").fill("radiography of chest");
    await refer.getByRole("checkbox", { name: /58500-00/ }).check();
    await refer.getByLabel("Clinical question").fill("pulmonary congestion?");
    await refer.getByRole("button", { name: "Refer" }).click();
    await refer.getByRole("status").filter({ hasText: "Referral recorded" }).waitFor();
  });

  await check("the physician issues her sick leave, numbered in the facility's series", async () => {
    const form = page.locator("#certificate-title").locator("..");
    const today = new Date().toISOString().slice(0, 10);
    const inAWeek = new Date(Date.now() + 6 * 86_400_000).toISOString().slice(0, 10);
    await form.getByLabel("First day off work").fill(today);
    await form.getByLabel("Last day off work").fill(inAWeek);
    await form.getByLabel("Employer").fill("Moldtelecom");
    await form.getByLabel("ICD-10: code or words").fill("I20.0");
    await form.getByRole("radio", { name: /^I20\.0/ }).check();
    await form.getByRole("button", { name: "Issue" }).click();
    await page.locator("#certificates-title").locator("..").getByRole("cell", { name: /^SL-\d{4} \d+$/ }).waitFor();
    await accessible("certificates");
    await shot("sick-leave");
    // Printed by the server as a signed PDF, archived as issued, saved by the browser.
    const printing = page.waitForEvent("download");
    await page.getByRole("button", { name: /^PDF, signed: SL-\d{4} \d+$/ }).click();
    const printed = readFileSync(await (await printing).path());
    if (printed.subarray(0, 5).toString() !== "%PDF-") throw new Error("the certificate printed is not a PDF");
    await page
      .getByRole("status")
      .filter({ hasText: "Issued, signed and archived: Certificate of temporary work incapacity" })
      .waitFor();
  });

  await check("the physician books her operation in theatre 1 and runs the checklist and times", async () => {
    await page.getByRole("link", { name: "Operating block" }).click();
    await page.getByRole("heading", { name: "Book an operation" }).waitFor();
    await page.locator("select[name=theatre]").selectOption({ label: "Theatre 1" });
    await page.getByLabel("Patient's MRN").fill(mrn);
    // Now, for half an hour: the day completes it, so a later run finds the theatre free.
    await page.getByLabel("Expected duration (minutes)").fill("30");
    await page.getByLabel("Procedures (ACHI codes, comma-separated)").fill("30571-00");
    await page.getByRole("button", { name: "Book", exact: true }).click();
    await page.getByRole("status").filter({ hasText: "Operation booked" }).waitFor();
    const panel = page.locator("#operation-title").locator("..");
    await panel.getByRole("heading", { name: new RegExp(`Operation: ${unique}`) }).waitFor();
    await page.getByRole("row", { name: new RegExp(`${unique}.*30571-00 Appendicectomy.*scheduled`) }).waitFor();
    await accessible("theatre list");
    await shot("operation-booked");
    const confirmAll = async (phase) => {
      const pause = panel.locator("fieldset").filter({ hasText: phase });
      for (const box of await pause.getByRole("checkbox").all()) await box.check();
      await pause.getByRole("button", { name: `Confirm: ${phase}` }).click();
      await panel.getByRole("listitem").filter({ hasText: `${phase}: confirmed at` }).waitFor();
    };
    const record = async (milestone) => {
      await panel.getByRole("button", { name: `Record now: ${milestone}` }).click();
      await panel.getByRole("listitem").filter({ hasText: `${milestone}:` }).waitFor();
    };
    // WHO: sign in before induction, time out before incision.
    await confirmAll("Sign-in (before induction)");
    await record("into the room");
    await panel.getByTestId("operation-status").filter({ hasText: "in progress" }).waitFor();
    await record("anaesthesia start");
    await confirmAll("Time-out (before incision)");
    await record("incision");
    await record("closure");
    await panel.getByLabel("Findings").fill("Phlegmonous appendix, no perforation");
    await panel.getByLabel("Blood loss (mL)").fill("40");
    await panel.getByRole("button", { name: "Save the record" }).click();
    await panel.getByRole("status").filter({ hasText: "Record saved, version 1" }).waitFor();
    await accessible("operation");
    await shot("operation-recorded");
  });

  await check("the theatre nurse issues what the operation used and signs her out of the room", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("theatre");
    await page.getByRole("link", { name: "Operating block" }).click();
    await page.getByRole("button", { name: new RegExp(`Open: ${unique}`) }).click();
    const panel = page.locator("#operation-title").locator("..");
    // Pre-filled from the appendicectomy's pack.
    await panel.getByLabel("Absorbable suture 3-0").waitFor();
    await panel.getByLabel("Absorbable suture 3-0").fill("3");
    await panel.getByRole("button", { name: "Issue to the patient" }).click();
    await panel.getByRole("status").filter({ hasText: "Issued to the patient: " }).filter({ hasText: "Absorbable suture 3-0 3" }).waitFor();
    const pause = panel.locator("fieldset").filter({ hasText: "Sign-out (before the patient leaves the room)" });
    for (const box of await pause.getByRole("checkbox").all()) await box.check();
    await pause.getByRole("button", { name: "Confirm: Sign-out (before the patient leaves the room)" }).click();
    await panel.getByRole("button", { name: "Record now: out of the room" }).click();
    await panel.getByTestId("operation-status").filter({ hasText: "completed" }).waitFor();
    await page.getByRole("row", { name: new RegExp(`${unique}.*completed`) }).waitFor();
    // The physician's signed record is what the form shows; changing it needs a reason.
    const findings = await panel.getByLabel("Findings").elementHandle();
    await page.waitForFunction((input) => input.value === "Phlegmonous appendix, no perforation", findings);
    await panel.getByLabel("Reason for the amendment").waitFor();
    await accessible("operation completed");
    await shot("operation-completed");
  });

  await check("the nurse of the ward verifies the new ibuprofen order and records the next dose as given", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("nurse");
    await page.getByRole("link", { name: "Medication round" }).click();
    await page.locator("select[name=ward]").selectOption({ label: "Cardiology" });
    // A new order waits for the ward's nurse before it is on the round.
    const verify = page.getByRole("button", { name: new RegExp(`Verify: Ibuprofen.*${unique}`) }).first();
    await verify.waitFor();
    await accessible("orders to verify");
    await verify.click();
    await verify.waitFor({ state: "detached" });
    const give = page.getByRole("button", { name: new RegExp(`Given: Ibuprofen.*${unique}`) }).first();
    await give.waitFor();
    await accessible("round");
    await give.click();
    await page.locator(`tr[data-patient^="${unique}"]`).getByRole("status").filter({ hasText: "recorded" }).first().waitFor();
    await shot("dose-given");
  });

  await check("the nurse questions the warfarin order, sends ibuprofen back to the pharmacy and charts her vital signs", async () => {
    // Her warfarin waits: the nurse asks the prescriber instead of verifying it.
    const warfarin = page.locator(`#to-verify-title`).locator("..").locator(`tr[data-patient^="${unique}"]`).filter({ hasText: "Warfarin" });
    await warfarin.getByLabel("Question for the prescriber").fill("INR today is 3.4: still 5 mg?");
    await warfarin.getByRole("button", { name: /Ask the prescriber/ }).click();
    await warfarin.getByText("queried: INR today is 3.4: still 5 mg?").waitFor();
    // Ibuprofen the ward will not use goes back to the pharmacy through the ledger.
    await page.getByRole("link", { name: "The ward's medication order" }).click();
    await page.locator("select[name=ward]").selectOption({ label: "Cardiology" });
    const back = page.getByRole("button", { name: "Return: Ibuprofen 400 mg tablets, from the pharmacy" }).first();
    await back.waitFor();
    await page.getByLabel("Reason").fill("surplus after the round");
    await page.getByLabel("Quantity back: Ibuprofen 400 mg tablets, from the pharmacy").first().fill("2");
    await back.click();
    await page.getByRole("status").filter({ hasText: "Returned: Ibuprofen 400 mg tablets 2" }).waitFor();
    await accessible("leftovers");
    // Her temperature and pulse in the nursing record.
    await page.getByRole("link", { name: "Patients" }).click();
    await page.getByLabel("Medical record number").check();
    await page.getByLabel("Search for").fill(mrn);
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("link", { name: mrn }).click();
    await page.getByRole("button", { name: "Medical record" }).click();
    const record = page.locator("#nursing-record-title").locator("..");
    await record.getByLabel("Body temperature (Cel)").fill("37,8");
    await record.getByLabel("Heart rate (/min)").fill("88");
    await record.getByRole("button", { name: "Record the vital signs" }).click();
    await record.getByText(/Body temperature 37\.8 Cel · Heart rate 88 \/min/).first().waitFor();
    await accessible("nursing record");
    await shot("nursing-record");
  });

  let accession = "";
  await check("the ward nurse collects her troponin and the tube's label is shown to print", async () => {
    await page.getByRole("link", { name: "Ward laboratory" }).click();
    await page.getByRole("heading", { name: "Critical values" }).waitFor();
    await page.locator("select[name=ward]").selectOption({ label: "Cardiology" });
    const collect = page.getByRole("button", { name: new RegExp(`Collect: ${unique}`) });
    await collect.waitFor();
    await accessible("ward-laboratory");
    await collect.click();
    const label = page.getByRole("img", { name: /Specimen label \d+/ }).first();
    await label.waitFor();
    accession = (await label.getAttribute("alt")).replace("Specimen label ", "");
    await shot("specimen-label");
  });

  await check("the laboratory receives the tube by its number and enters a critical troponin", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("lab");
    await page.getByRole("link", { name: "Laboratory" }).click();
    await page.getByLabel("Accession number").fill(accession);
    await page.getByRole("button", { name: "Receive" }).click();
    await page.getByRole("status").filter({ hasText: `Specimen received: ${accession}` }).waitFor();
    await accessible("laboratory");
    await page.getByRole("button", { name: new RegExp(`Open: ${unique}`) }).click();
    await page.locator("input[name='value-10839-9']").fill("2.5");
    await page.getByRole("button", { name: "Record results" }).click();
    await page.locator("#lab-order-title").locator("..").getByRole("cell", { name: "CRITICAL HIGH" }).waitFor();
    await page.getByRole("button", { name: "Validate technically" }).click();
    await page.locator("#lab-order-title").locator("..").getByRole("cell", { name: "preliminary" }).first().waitFor();
    await shot("laboratory-results");
  });

  await check("the laboratory physician releases the result", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("labdoc");
    await page.getByRole("link", { name: "Laboratory" }).click();
    await page.getByRole("button", { name: new RegExp(`Open: ${unique}`) }).click();
    await page.getByRole("button", { name: "Validate medically (release)" }).click();
    await page.locator("#lab-order-title").locator("..").getByRole("cell", { name: "final" }).first().waitFor();
    await shot("laboratory-released");
  });

  await check("the ward nurse acknowledges the critical value told to the ward", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("nurse");
    await page.getByRole("link", { name: "Ward laboratory" }).click();
    await page.getByRole("heading", { name: "Critical values" }).waitFor();
    await page.locator("select[name=ward]").selectOption({ label: "Cardiology" });
    const acknowledge = page.getByRole("button", { name: new RegExp(`Acknowledge: Troponin.*${unique}`) });
    await acknowledge.waitFor();
    await page.getByLabel("Note (who was told)").fill("Dr. Physician informed");
    await shot("critical-value");
    await acknowledge.click();
    await acknowledge.waitFor({ state: "detached" });
  });

  await check("the nurse makes the beds left for cleaning free again", async () => {
    await page.getByRole("link", { name: "Admissions" }).click();
    await page.locator("select[name=ward]").selectOption({ label: "Cardiology" });
    await page.getByRole("button", { name: /^Cleaned: make free/ }).first().waitFor();
    for (;;) {
      const cleaning = await page.locator("[data-testid=bed-map] button.bed-cleaning").count();
      if (cleaning === 0) break;
      await page.getByRole("button", { name: /^Cleaned: make free/ }).first().click();
      // The board's stream shows the bed free before the next one is taken.
      await page.waitForFunction(
        (before) => document.querySelectorAll("[data-testid=bed-map] button.bed-cleaning").length === before - 1,
        cleaning,
      );
    }
    await shot("beds-cleaned");
  });

  await check("the nurse sees the ward's medication order and the ward stock", async () => {
    await page.getByRole("link", { name: "The ward's medication order" }).click();
    // The screen before (admissions) has a ward picker too: choosing the ward in it before
    // the new screen is drawn would send the browser back to the admissions.
    await page.getByRole("heading", { level: 1, name: "The ward's medication order" }).waitFor();
    await page.locator("select[name=ward]").selectOption({ label: "Cardiology" });
    await page.getByRole("cell", { name: /Ibuprofen/ }).first().waitFor();
    await page.getByRole("heading", { name: /Ward stock/ }).waitFor();
    await page.getByRole("cell", { name: /Paracetamol/ }).first().waitFor();
    await page.getByRole("button", { name: "Requisition it from the pharmacy" }).click();
    await page.getByRole("status").filter({ hasText: "Requisition sent" }).waitFor();
    await accessible("ward order");
    await shot("ward-order");
  });

  await check("the radiographer schedules her chest radiograph into a room and performs it", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("radiographer");
    await page.getByRole("link", { name: "Imaging" }).click();
    const open = page.getByRole("button", { name: new RegExp(`Open: Radiography of chest ${unique}`) });
    await open.waitFor();
    await accessible("imaging");
    await open.click();
    await page.locator("select[name=room]").selectOption({ label: "Radiography room 1" });
    await page.getByRole("button", { name: "Schedule" }).click();
    await page.getByRole("status").filter({ hasText: "Examination scheduled" }).waitFor();
    await page.getByRole("button", { name: "Patient in the room" }).click();
    await page.getByRole("status").filter({ hasText: "Examination started" }).waitFor();
    await page.getByLabel("Technique").fill("PA view");
    await page.getByRole("button", { name: "Images acquired" }).click();
    await page.getByRole("status").filter({ hasText: "Examination performed" }).waitFor();
    await shot("imaging-performed");
  });

  await check("the radiologist drafts and signs the report", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("radiologist");
    await page.getByRole("link", { name: "Imaging" }).click();
    await page.getByRole("button", { name: new RegExp(`Open: Radiography of chest ${unique}`) }).click();
    await page.getByLabel("Findings").fill("Cardiomegaly; upper lobe venous diversion; no effusion.");
    await page.getByLabel("Conclusion").fill("Mild pulmonary venous congestion.");
    await page.getByRole("button", { name: "Save the draft" }).click();
    await page.getByRole("status").filter({ hasText: "Draft saved" }).waitFor();
    await page.getByRole("button", { name: "Sign the report" }).click();
    await page.getByRole("status").filter({ hasText: "Report signed" }).waitFor();
    await page.getByRole("article", { name: "Signed report" }).getByText("Mild pulmonary venous congestion.").waitFor();
    await accessible("imaging-report");
    await shot("imaging-report-signed");
  });

  await check("the pharmacist dispenses her prescriptions against them", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("pharmacist");
    await page.getByRole("link", { name: "Pharmacy" }).click();
    await page.getByLabel("Patient's MRN").fill(mrn);
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("button", { name: "Dispense: Warfarin 5 mg tablets" }).click();
    await page.getByRole("row", { name: /Warfarin/ }).getByRole("status").filter({ hasText: "Dispensed" }).waitFor();
    await accessible("pharmacy");
    await shot("dispensed");
  });

  await check("the pharmacist receives a delivery and sees its lot in the stock", async () => {
    await page.getByRole("link", { name: "Stock by lot" }).click();
    const lot = `L${unique.toUpperCase()}`;
    await page.locator("select[name=item]").selectOption({ label: "Paracetamol 500 mg tablets" });
    await page.getByLabel("Supplier").fill("Sanfarm");
    await page.getByLabel("Invoice number").fill(`F-${unique}`);
    await page.getByRole("textbox", { name: "Lot" }).fill(lot);
    await page.getByLabel("Expiry").fill("2028-06-30");
    await page.getByLabel("Quantity").fill("200");
    await page.getByLabel("Unit cost").fill("0.85");
    await page.getByRole("button", { name: "Receive stock" }).click();
    await page.getByRole("cell", { name: lot }).waitFor();
    await accessible("stock");
    await shot("stock");
  });

  await check("the pharmacist supplies the ward's requisition", async () => {
    await page.getByRole("link", { name: "Requisitions" }).click();
    const supply = page.getByRole("button", { name: "Supply as asked" }).first();
    await supply.waitFor();
    const open = await page.getByRole("button", { name: "Supply as asked" }).count();
    await supply.click();
    await page.waitForFunction(
      (before) => [...document.querySelectorAll("button")].filter((b) => b.textContent === "Supply as asked").length === before - 1,
      open,
    );
    await accessible("requisitions");
    await shot("requisition-supplied");
  });

  let dischargedBefore = 0;
  await check("the statistician reads today's census of the ward", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("statistician");
    await page.locator("select[name=ward]").selectOption({ label: "Cardiology" });
    await page.getByTestId("census-discharged").waitFor();
    dischargedBefore = Number(await page.getByTestId("census-discharged").textContent());
    await accessible("statistics");
  });

  await check("the physician answers the nurse's query, announces her discharge on the ward board and the desk completes it", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("physician");
    await page.getByLabel("Medical record number").check();
    await page.getByLabel("Search for").fill(mrn);
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("link", { name: mrn }).click();
    await page.getByRole("button", { name: "Medical record" }).click();
    const queries = page.locator("#nurse-queries-title").locator("..");
    await queries.getByLabel("Answer").fill("Hold tonight's dose; INR again tomorrow.");
    await queries.getByRole("button", { name: "Send the answer" }).click();
    await queries.getByText("Hold tonight's dose; INR again tomorrow.").waitFor();
    await accessible("nurse queries");
    // The discharge summary, which the discharge desk waits for.
    const note = page.locator("#note-title").locator("..");
    await note.locator("select[name=note_kind]").selectOption({ label: "discharge summary" });
    await note.getByLabel("Text", { exact: true }).fill("Stable angina; angiography planned as an outpatient.");
    await note.getByRole("button", { name: "Add the note" }).click();
    await page.locator("pre.extract").getByText(/Stable angina; angiography planned/).waitFor();
    await page.getByRole("link", { name: "Admissions" }).click();
    await page.locator("select[name=ward]").selectOption({ label: "Cardiology" });
    await page.getByLabel("Discharge type").selectOption({ label: "improved" });
    // First the announcement (pre-discharge): the board shows it to the ward.
    await page.getByRole("button", { name: new RegExp(`Announce the discharge: ${unique}`) }).click();
    await page.getByRole("row", { name: new RegExp(unique) }).getByTestId("discharge-announced").waitFor();
    await page.getByRole("button", { name: new RegExp(`Withdraw the discharge: ${unique}`) }).waitFor();
    await accessible("admissions");
    // The discharge desk lists her with what is still missing, and completes the discharge.
    const desk = page.locator("#discharge-desk-title").locator("..");
    await desk.locator(`tr[data-patient^="${unique}"]`).waitFor();
    await accessible("discharge desk");
    await desk.getByRole("button", { name: new RegExp(`Complete the discharge: ${unique}`) }).click();
    await page.getByRole("button", { name: new RegExp(`Discharge: ${unique}`) }).waitFor({ state: "detached" });
    await shot("discharged");
    // Her record goes to medical records, the paper file left in the ward's office.
    await page.getByLabel("Where the paper file is").fill("Cardiology office, shelf 2");
    await page.getByRole("button", { name: `Hand the record over ${admissionNumber}` }).click();
    await page.getByRole("status").filter({ hasText: "Record handed over to medical records" }).first().waitFor();
  });

  await check("the statistician sees the census count her discharge", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("statistician");
    await page.locator("select[name=ward]").selectOption({ label: "Cardiology" });
    const expected = String(dischargedBefore + 1);
    // The read model follows the discharge event; asking again shows it once it landed.
    for (let attempt = 0; attempt < 40; attempt += 1) {
      await page.getByRole("button", { name: "Show" }).click();
      if ((await page.getByTestId("census-discharged").textContent()) === expected) break;
      await page.waitForTimeout(250);
    }
    await page.getByTestId("census-discharged").filter({ hasText: new RegExp(`^${expected}$`) }).waitFor({ timeout: 1000 });
    // The whole hospital in one table: every ward, then the total.
    await page.getByRole("heading", { name: /^The whole hospital/ }).waitFor();
    await page.locator("#hospital-title").locator("..").getByRole("rowheader", { name: "Cardiology" }).waitFor();
    await page.locator("#hospital-title").locator("..").getByRole("rowheader", { name: "Total" }).waitFor();
    await shot("census");
  });

  await check("the operating block's report counts her operation and the theatre's minutes", async () => {
    await page.getByRole("link", { name: "Surgical activity" }).click();
    // The read model follows the operating block's events.
    for (let attempt = 0; attempt < 40; attempt += 1) {
      if ((await page.getByRole("row", { name: /^Theatre 1 / }).count()) > 0) break;
      await page.getByRole("button", { name: "Show" }).click();
      await page.waitForTimeout(250);
    }
    await page.getByRole("rowheader", { name: "general_surgery" }).waitFor({ timeout: 1000 });
    await page.getByRole("row", { name: /^Theatre 1 / }).waitFor({ timeout: 1000 });
    await accessible("surgical activity");
    await shot("surgical-activity");
  });

  await check("the movement analysis charts the wards, and the discharges register lists her stay", async () => {
    await page.getByRole("link", { name: "Movement analysis" }).click();
    await page.getByRole("img", { name: "Bed occupancy by ward, percent" }).waitFor();
    await page.getByRole("rowheader", { name: "Cardiology" }).waitFor();
    await accessible("movement");
    await shot("movement");
    await page.getByRole("link", { name: "Registers" }).click();
    await page.locator("select[name=register]").selectOption({ label: "discharges" });
    await page.getByRole("cell", { name: admissionNumber, exact: true }).waitFor();
    await page.getByRole("button", { name: "Download CSV" }).waitFor();
    await accessible("registers");
    await shot("register");
  });

  await check("the statistician files the month's Form 16 in the archive as a signed PDF", async () => {
    await page.getByRole("link", { name: "Form 16" }).click();
    await page.getByRole("heading", { name: "Form 16" }).waitFor();
    const saving = page.waitForEvent("download");
    await page.getByRole("button", { name: "Form 16 (PDF, signed)" }).click();
    const saved = readFileSync(await (await saving).path());
    if (saved.subarray(0, 5).toString() !== "%PDF-") throw new Error("Form 16 printed is not a PDF");
    await page.getByRole("status").filter({ hasText: "Issued, signed and archived" }).waitFor();
  });

  await check("the statistician schedules the monthly movement report for the institute", async () => {
    await page.getByRole("link", { name: "Submissions" }).click();
    await page.getByRole("heading", { name: "Sent on a schedule" }).waitFor();
    const form = page.getByRole("form", { name: "Sent on a schedule" });
    await form.locator("select[name=schedule_report]").selectOption({ index: 0 });
    await form.getByLabel("Day of the month").fill("5");
    await form.getByLabel("Hour").fill("6");
    await form.getByRole("button", { name: "Save the schedule" }).click();
    await page.locator("#schedules-title").locator("..").locator("tr[data-schedule]").filter({ hasText: "on schedule" }).first().waitFor();
    await accessible("reports");
    await shot("report-schedule");
  });

  await check("the administrator creates a nurse's account and gives her the ward", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("admin");
    await page.getByRole("link", { name: "Administration" }).click();
    const login = `nurse.${unique.toLowerCase()}`;
    await page.getByLabel("User name").fill(login);
    await page.getByLabel("Full name").fill(`${unique} Nurse`);
    await page.getByLabel("Initial password").fill("Ward-Nurse-2026!x");
    await page.getByRole("button", { name: "Create the user" }).click();
    await page.getByRole("heading", { name: new RegExp(`Roles held: ${unique} Nurse`) }).waitFor();
    await page.locator("select[name=role_code]").selectOption({ label: "Nurse" });
    await page.locator("select[name=scope]").selectOption({ label: "Cardiology" });
    await page.getByRole("button", { name: "Give the role" }).click();
    await page.getByRole("row", { name: /Nurse Cardiology/ }).waitFor();
    await accessible("administration");
    await shot("administration");
  });

  await check("the pharmacist counts the central pharmacy and posts the stocktaking", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("pharmacist");
    await page.getByRole("link", { name: "Pharmacy" }).click();
    await page.getByRole("link", { name: "Stocktaking" }).click();
    await page.getByRole("button", { name: "Start a stocktaking of this warehouse" }).click();
    const first = page.getByRole("textbox", { name: /^Counted: / }).first();
    await first.waitFor();
    const expected = Number((await first.inputValue()).replace(/,/g, ""));
    await first.fill(String(Math.max(expected - 1, 0)));
    await page.getByRole("button", { name: "Save the counts" }).click();
    await page.getByRole("button", { name: "Post the differences" }).click();
    await page.getByRole("status").filter({ hasText: "Posted" }).waitFor();
    await accessible("stocktaking");
    await shot("stocktaking");
  });

  await check("the records office receives her stay's record from the ward", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("records");
    await page.getByRole("link", { name: "Admissions" }).click();
    await page.locator("select[name=ward]").selectOption({ label: "Cardiology" });
    await page.getByRole("heading", { name: "Records handed over by the wards" }).waitFor();
    await page.getByLabel("Kept at (empty: where the ward left it)").fill("Archive room 3, box 12");
    const receive = page.getByRole("button", { name: new RegExp(`Receive: ${unique}`) });
    await receive.click();
    await receive.waitFor({ state: "detached" });
    await accessible("admissions-records");
  });

  await check("the records office puts her consent on legal hold with a reason, then releases it", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("records");
    await page.goto(recordUrl);
    await page.getByTestId("mrn").waitFor();
    await page.getByRole("button", { name: "Legal hold: Consent to admission" }).click();
    const reason = page.getByRole("form", { name: "Reason: Consent to admission" });
    await reason.getByLabel("Reason").fill("complaint 17/2026 under review");
    await reason.getByRole("button", { name: "Legal hold" }).click();
    await page.getByRole("status").filter({ hasText: "On legal hold: Consent to admission" }).waitFor();
    await page.getByRole("row", { name: /Consent to admission.*legal hold/ }).waitFor();
    await accessible("documents-records");
    await page.getByRole("button", { name: "Release the hold: Consent to admission" }).click();
    await reason.getByLabel("Reason").fill("complaint closed");
    await reason.getByRole("button", { name: "Release the hold" }).click();
    await page.getByRole("status").filter({ hasText: "Hold released: Consent to admission" }).waitFor();
    // The archive's kinds: referral letters kept 10 years from now on.
    await page.getByRole("link", { name: "Archive" }).click();
    await page.getByRole("button", { name: "Edit: Referral letter" }).click();
    const kind = page.getByRole("form", { name: "Save the kind" });
    await kind.getByLabel("Kept (years)").fill("10");
    await kind.getByRole("button", { name: "Save the kind" }).click();
    await page.getByRole("status").filter({ hasText: "Kind saved: Referral letter" }).waitFor();
    await page.getByRole("row", { name: /^REFERRAL_LETTER Referral letter 10 / }).waitFor();
    await accessible("archive");
    await shot("archive");
  });

  await check("the medical office suspends the physician's privilege with a reason and reinstates it", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("office");
    await page.getByRole("link", { name: "Operating block" }).click();
    await page.getByRole("heading", { name: "Surgical privileges" }).waitFor();
    await page.getByLabel("Reason").fill("outcome review of the quarter");
    await page.getByRole("button", { name: /^Suspend: Dr\. Petru Physician 3$/ }).click();
    await page.getByRole("row", { name: /Dr\. Petru Physician.*suspended outcome review of the quarter/ }).waitFor();
    await page.getByLabel("Reason").fill("review closed");
    await page.getByRole("button", { name: /^Reinstate: Dr\. Petru Physician 3$/ }).click();
    await page.getByRole("row", { name: /Dr\. Petru Physician.*active review closed/ }).waitFor();
    await accessible("privileges");
    await shot("privileges");
  });

  await check("the cashier finds her bill, takes a deposit with its receipt, settles her account with the final invoice and closes the shift balanced", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("cashier");
    await page.getByRole("link", { name: "Cash desk" }).click();
    // A shift left open by an earlier run is found again; else one is opened.
    await page.getByRole("heading", { name: /^(Open the shift|Close the shift)$/ }).first().waitFor();
    if ((await page.getByRole("button", { name: "Open the shift" }).count()) > 0) {
      await page.getByLabel("Desk").fill("Main entrance 1");
      await page.getByLabel("Opening float").fill("100");
      await page.getByRole("button", { name: "Open the shift" }).click();
    }
    await page.getByRole("status").filter({ hasText: "Shift open" }).waitFor();
    // Her operation is charged as billing follows the operating block's events.
    for (let attempt = 0; attempt < 40; attempt += 1) {
      await page.getByLabel("MRN").fill(mrn);
      await page.getByRole("button", { name: "Search" }).click();
      await page.getByRole("heading", { name: "The bill" }).waitFor();
      try {
        await page.getByRole("row", { name: /Appendicectomy/ }).waitFor({ timeout: 250 });
        break;
      } catch {
        // Not charged yet: the bill is asked for again.
      }
    }
    await page.getByRole("row", { name: /Appendicectomy 1 3,?200\.00/ }).waitFor({ timeout: 1000 });
    await page.getByLabel("Kind").selectOption({ label: "Deposit" });
    await page.getByLabel("Amount").fill("50");
    await page.getByRole("button", { name: "Take the payment" }).click();
    await page.getByRole("status").filter({ hasText: /^Receipt R\d{4}-\d{6}$/ }).waitFor();
    // She was discharged: the final invoice settles her account (once billing has followed
    // the discharge; until then the desk is told she is not discharged, and asks again).
    const final = page.getByRole("row", { name: /F\d{4}-\d{6} Final invoice/ });
    for (let attempt = 0; attempt < 40 && (await final.count()) === 0; attempt += 1) {
      await page.getByRole("button", { name: "Final invoice" }).click();
      try {
        await final.waitFor({ timeout: 250 });
      } catch {
        // Not settled yet: asked again.
      }
    }
    await final.waitFor({ timeout: 1000 });
    await page.getByRole("status").filter({ hasText: /^Settled$/ }).waitFor();
    await accessible("cash desk");
    await shot("cash-desk");
    const float = Number((await page.getByRole("status").filter({ hasText: "Shift open" }).textContent()).replace(/.*Opening float\s*/, "").replace(/,/g, ""));
    await page.getByLabel("Cash counted in the drawer").fill(String(float + 50));
    await page.getByRole("button", { name: "Close the shift" }).click();
    await page.getByTestId("difference").filter({ hasText: /^0\.00$/ }).waitFor();
    await shot("shift-report");
  });

  await check("the billing officer reads the month's revenue, the case mix, what is owed, the insurer's reconciliation and the journal, and sends a DRG claim", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("billing");
    await page.getByRole("link", { name: "Revenue and receivables" }).click();
    await page.getByRole("button", { name: "Show" }).click();
    await page.getByTestId("revenue-total").waitFor();
    await page.getByRole("heading", { name: "Case mix (DRG)" }).waitFor();
    await page.locator("#receivables-title").locator("..").getByRole("rowheader", { name: "CNAM" }).waitFor();
    await page.getByTestId("patients-owe").waitFor();
    await page.getByRole("button", { name: "Reconcile: CNAM" }).click();
    await page.getByTestId("claims-outstanding").waitFor();
    await page.getByRole("button", { name: "Journal for accounting" }).click();
    await page.getByRole("link", { name: "Download the journal (CSV)" }).waitFor();
    // Her case, grouped at discharge, waits on the claims worklist; the officer sends it.
    await page.locator("select[name=claim-status]").selectOption({ label: "Every status" });
    await page.getByRole("button", { name: "List the claims" }).click();
    await page.locator("#claims-title").locator("..").getByRole("table").waitFor();
    await page.getByRole("button", { name: /^Send: DRG / }).first().click();
    await page.getByRole("cell", { name: "Sent", exact: true }).first().waitFor();
    await accessible("revenue");
    await shot("revenue");
  });

  await check("the billing officer prices a laboratory test on the price list and reads the insurers' contracts", async () => {
    await page.getByRole("link", { name: "Tariffs and insurers" }).click();
    await page.getByRole("button", { name: /^Show its tariffs: / }).first().click();
    await page.locator("select[name=tariff-kind]").selectOption({ label: "Service" });
    await page.locator("input[name=code-system]").fill("loinc");
    await page.locator("input[name=tariff-code]").fill("718-7");
    await page.locator("input[name=tariff-name]").fill("Haemoglobin");
    await page.locator("input[name=tariff-price]").fill("85");
    await page.locator("input[name=service-group]").fill("laboratory");
    await page.getByRole("button", { name: "Add or replace the tariff" }).click();
    await page.getByRole("row", { name: /loinc 718-7 Haemoglobin 85\.00/ }).waitFor();
    await page.locator("#contracts-title").locator("..").getByRole("rowheader", { name: "CNAM" }).waitFor();
    await accessible("tariffs");
    await shot("tariffs");
  });

  await check("back home, she walks into the cardiology clinic: checked in, called, seen and sent to her family doctor", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("registrar");
    await page.getByRole("link", { name: "Appointments" }).click();
    await page.locator("select[name=clinic]").selectOption({ label: "Cardiology consultations" });
    await page.getByLabel("Walk-in: patient's MRN").fill(mrn);
    await page.getByRole("button", { name: "Check in without an appointment" }).click();
    const status = page.getByRole("status").filter({ hasText: "Checked in: a ticket is in the queue: CARD-OP-" });
    await status.waitFor();
    const ticket = /CARD-OP-\d+/.exec(await status.textContent())[0];
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("physician");
    await page.getByRole("link", { name: "Appointments" }).click();
    await page.locator("select[name=clinic]").selectOption({ label: "Cardiology consultations" });
    const queue = page.locator("#queue-title").locator("..");
    const row = queue.getByRole("row", { name: new RegExp(`${ticket}.*${unique}`) });
    await row.filter({ hasText: "Waiting" }).waitFor();
    await queue.getByLabel("Called to (room)").fill("Room 12");
    await queue.getByRole("button", { name: "Call the next patient" }).click();
    await row.filter({ hasText: "Called · Room 12" }).waitFor();
    await row.getByRole("button", { name: "Start the consultation" }).click();
    await row.filter({ hasText: "In consultation" }).waitFor();
    await row.getByRole("button", { name: "Finish the visit" }).click();
    await row.filter({ hasText: "Done" }).waitFor();
    await accessible("queue");
    await shot("visit-finished");
  });

  await check("the administrator opens a dermatology clinic, gives it weekly hours and opens a week of slots", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("admin");
    await page.getByRole("link", { name: "Appointments" }).click();
    const setup = page.locator("#clinic-setup-title").locator("..");
    await setup.locator("select[name=clinic-department]").selectOption({ label: "Internal medicine" });
    await setup.getByLabel("Clinic code").fill(`DERM-${unique}`);
    await setup.getByLabel("Clinic name").fill(`Dermatology ${unique}`);
    await setup.getByRole("button", { name: "Create the clinic" }).click();
    await setup.getByRole("status").filter({ hasText: `Clinic created: Dermatology ${unique}` }).waitFor();
    await page.locator("select[name=clinic]").selectOption({ label: `Dermatology ${unique}` });
    const today = new Date().toISOString().slice(0, 10);
    const week = new Date(Date.now() + 6 * 86_400_000).toISOString().slice(0, 10);
    await setup.getByLabel("Valid from").fill(today);
    await setup.getByRole("button", { name: "Add the weekly hours" }).click();
    await setup.getByRole("status").filter({ hasText: "Weekly hours added" }).waitFor();
    await setup.getByLabel("First day").fill(today);
    await setup.getByLabel("Last day").fill(week);
    await setup.getByRole("button", { name: "Open the slots of these days" }).click();
    // Five weekdays of 08:00-12:00 in 20-minute slots.
    await setup.getByRole("status").filter({ hasText: "Slots opened: 60" }).waitFor();
    await accessible("clinic setup");
    await shot("clinic-setup");
  });

  await check("the cardiology nurse orders tomorrow's lunch: a diabetic diet, a fish allergy, extra portions; the kitchen issues the day's ingredients", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("nurse");
    await page.getByRole("link", { name: "Meals" }).click();
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    await page.locator("select[name=ward]").selectOption({ label: "Cardiology" });
    await page.locator("input[name=meal-day]").fill(tomorrow);
    await page.locator("select[name=meal]").selectOption({ label: "Lunch" });
    const order = page.locator("#meal-order-title").locator("..");
    const totals = order.getByTestId("meal-totals");
    await totals.filter({ hasText: /T10: \d+/ }).waitFor();
    // The first patient's diet becomes diabetic (table 9).
    const first = order.locator("select[name^=diet-]").first();
    await first.selectOption({ label: "T9 · Table 9 (diabetes)" });
    await order.getByRole("button", { name: "Order the diet" }).first().click();
    await page.getByRole("status").filter({ hasText: "Diet ordered: T9" }).waitFor();
    await totals.filter({ hasText: /T9: \d+/ }).waitFor();
    await order.locator("select[name=extra-diet]").selectOption({ label: "T10 · Table 10 (cardiovascular)" });
    await order.getByLabel("Extra portions").fill("2");
    await order.getByLabel("Reason").fill("two relatives staying");
    await order.getByRole("button", { name: "Add the portions" }).click();
    await page.getByRole("status").filter({ hasText: "Meal order changed" }).waitFor();
    await order.locator("select[name=allergen]").selectOption("fish");
    await order.getByRole("button", { name: "Record the restriction" }).click();
    // A second day driven on the same demo finds the allergy recorded by the first.
    await page
      .getByRole("status")
      .filter({ hasText: "Restriction recorded: fish" })
      .or(page.getByRole("alert").filter({ hasText: "already has that restriction" }))
      .waitFor();
    const trays = page.locator("#trays-title").locator("..");
    await trays.getByRole("cell", { name: "fish" }).first().waitFor();
    await accessible("meals");
    await shot("meal-order");
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("kitchen");
    await page.getByRole("link", { name: "Meals" }).click();
    await page.locator("input[name=meal-day]").fill(tomorrow);
    const production = page.locator("#production-title").locator("..");
    await production.getByRole("row", { name: /Lunch .* \d+/ }).first().waitFor();
    const issue = production.getByRole("button", { name: "Issue the ingredients" });
    // A second day driven on the same demo finds tomorrow's ingredients issued already.
    if (await issue.isVisible()) {
      await issue.click();
      await production.getByRole("status").filter({ hasText: "Ingredients issued: ledger movements:" }).waitFor();
    }
    await production.getByText("The day's ingredients were issued.").waitFor();
    await accessible("production sheet");
    await shot("production-sheet");
  });

  await check("the console speaks Romanian when chosen", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn("registrar");
    await page.getByRole("link", { name: "Patients" }).click();
    await page.getByRole("heading", { name: "Find a patient" }).waitFor();
    await page.getByLabel("Language").selectOption("ro");
    await page.getByRole("heading", { name: "Căutarea pacientului" }).waitFor();
    await page.getByLabel("Limba").selectOption("en");
  });

  await check("signing out ends the session with a clear page", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("status").filter({ hasText: "You signed out." }).waitFor();
  });
} catch (error) {
  // recorded in failures (or the end of a desk-only pass)
  if (!(deskOnly && error.message === "desk only")) failures.push(...(failures.length ? [] : [String(error)]));
} finally {
  await browser.close();
}

if (expectRefresh && refreshes === 0 && failures.length === 0) {
  failures.push("the access token was never refreshed although it is short-lived");
}
if (failures.length > 0) {
  console.error(`console day: ${failures.length} failure(s)`);
  for (const failure of failures) console.error(`  ${failure}`);
  process.exit(1);
}
console.log(`console day: every step passed; ${refreshes} token refreshes; screenshots in ${output}`);
if (!deskOnly) console.log(
  `budget: first screen in ${budget.firstScreenMs} ms; a transfer made elsewhere seen on a ` +
    `${budget.boardBeds}-bed board in ${budget.transferSeenMs?.join(" (in) and ")} ms (out) (click to screen)`,
);
