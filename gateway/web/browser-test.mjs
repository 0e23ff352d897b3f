// The browser proof, run by .ci/run: a real headless Chromium opens the page the gateway
// serves, signs in as the demo registrar, registers a patient and finds her, all over
// grpc-web through openhmis-gateway to a running `openhmis demo`.
// Usage: node browser-test.mjs http://127.0.0.1:8080
import { chromium } from "playwright-core";

const base = process.argv[2] ?? "http://127.0.0.1:8080";
const family = `Proba${Date.now().toString(36)}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const page = await browser.newPage();
const failures = [];
page.on("pageerror", (error) => failures.push(`page error: ${error.message}`));

async function expectText(selector, pattern, what) {
  try {
    await page.waitForFunction(
      ([selector, source]) => new RegExp(source).test(document.querySelector(selector)?.textContent ?? ""),
      [selector, pattern.source],
      { timeout: 15000 },
    );
  } catch {
    const shown = await page.textContent(selector);
    const error = await page.textContent("#error");
    throw new Error(`${what}: ${selector} shows "${shown}" (error: "${error}")`);
  }
}

try {
  await page.goto(`${base}/index.html`);
  await page.fill("#login [name=username]", "registrar");
  await page.fill("#login [name=password]", "Demo-Hospital-2026");
  await page.click("#login button");
  await expectText("#who", /Signed in as registrar/, "sign-in");

  // Bad input comes back as INVALID_ARGUMENT naming the field, shown to the user.
  await page.fill("#register [name=family]", family);
  await page.fill("#register [name=given]", "Ana");
  await page.fill("#register [name=birth]", "2999-01-01");
  await page.click("#register button");
  await expectText("#error", /InvalidArgument.*birth_date/, "a birth date in the future");

  await page.fill("#register [name=birth]", "1984-05-17");
  await page.click("#register button");
  await expectText("#registered", /Registered with MRN \S+/, "registration");
  const mrn = (await page.textContent("#registered")).replace("Registered with MRN ", "");

  await page.fill("#search [name=name]", `${family} Ana`);
  await page.click("#search button");
  await expectText("#results", new RegExp(`${mrn}.*${family}.*1984-05-17`), "search");
  if (failures.length > 0) throw new Error(failures.join("; "));
  console.log(`browser proof: signed in, registered ${family} as MRN ${mrn}, found her`);
} catch (error) {
  await page.screenshot({ path: "browser-test-failure.png" }).catch(() => {});
  console.error(`browser proof failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
