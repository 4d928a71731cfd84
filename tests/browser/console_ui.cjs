// The console in a real browser: Debian's Chromium, headless, driven by playwright-core (which
// brings no browser of its own). Run by tests/integration/console/console_browser_test.cc, which
// sets up the cluster, an example Agent with a sidecar, a Workflow and the console, and passes:
//   CONSOLE_URL, CONSOLE_USER, CONSOLE_PASSWORD, NAMESPACE, EXAMPLE_AGENT, WORKFLOW,
//   SCREENSHOTS (a folder), PLAYWRIGHT_CORE (the module's path), CHROMIUM (the browser).
// Exits 0 when every step passed; otherwise prints the failed step and exits 1.
'use strict';
const { chromium } = require(process.env.PLAYWRIGHT_CORE);
const path = require('path');

const url = process.env.CONSOLE_URL;
const ns = process.env.NAMESPACE;
const shots = process.env.SCREENSHOTS;
const T = 60000;

let step = 'start';
const problems = [];

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true });
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // The refused login of that step is a 401 by design; Chromium logs it as a failed load.
    if (step.startsWith('a wrong password') && /status of 401/.test(m.text())) return;
    problems.push(`console error on ${page.url()} (step "${step}"): ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

  step = 'the UI loads and asks for a login';
  const t0 = Date.now();
  await page.goto(url + '/agents', { waitUntil: 'load' });
  await page.waitForSelector('form.login', { timeout: T });
  const loadMs = Date.now() - t0;
  console.log(`ui load to the login form: ${loadMs} ms (SLA 2000 ms)`);
  await shot(page, '01-login');

  step = 'a wrong password is refused with the same words as a wrong name';
  await page.getByLabel('User name').fill(process.env.CONSOLE_USER);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0,
    null, { timeout: T });
  const refused = await page.textContent('#login-error');
  if (!/wrong user name or password/.test(refused)) throw new Error('login error said: ' + refused);

  step = 'log in with the keyboard alone';
  await page.getByLabel('Password').fill(process.env.CONSOLE_PASSWORD);
  await page.getByLabel('Password').press('Enter');
  await page.waitForSelector('table#agents', { timeout: T });

  step = 'the example Agent is listed Ready';
  const exampleRow = `tr[data-id="${ns}/${process.env.EXAMPLE_AGENT}"]`;
  await page.waitForSelector(`${exampleRow}[data-phase="Ready"]`, { timeout: T });
  await shot(page, '02-agents');

  step = 'create an Agent from a template';
  await page.getByRole('link', { name: 'Create agent' }).click();
  await page.waitForSelector('form.create', { timeout: T });
  await page.getByLabel('Template').selectOption('chatbot');
  await page.getByLabel('Name', { exact: true }).fill('UI Agent');
  await page.getByLabel('Namespace').fill(ns);
  await page.getByLabel('Model').fill('fake');
  await shot(page, '03-create');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.waitForSelector('#agent-phase', { timeout: T });
  const created = new URL(page.url()).pathname;
  if (!created.startsWith(`/agents/${ns}/ui-agent-`)) throw new Error('landed on ' + created);

  step = 'the new Agent turns Ready on the page, live';
  await page.waitForFunction(() => document.getElementById('agent-phase')?.textContent === 'Ready',
    null, { timeout: 120000 });
  // The rest of the page followed: replicas and the Ready condition came with the same change.
  await page.waitForFunction(() => /ReplicasReady/.test(document.getElementById('agent-conditions')?.textContent),
    null, { timeout: T });
  await shot(page, '04-created-ready');

  step = "open the Workflow's DAG";
  await page.getByRole('link', { name: 'Workflows' }).click();
  await page.waitForSelector(`tr[data-id="${ns}/${process.env.WORKFLOW}"] a`, { timeout: T });
  await page.click(`tr[data-id="${ns}/${process.env.WORKFLOW}"] a`);
  await page.waitForSelector('svg.dag g.dag-step', { timeout: T });
  const steps = await page.$$eval('svg.dag g.dag-step', (gs) => gs.map((g) => g.dataset.step));
  if (steps.length !== 3) throw new Error('the DAG drew ' + JSON.stringify(steps));
  const edges = await page.$$eval('svg.dag path.dag-edge', (p) => p.length);
  if (edges !== 2) throw new Error('the DAG has ' + edges + ' edges, want 2');
  await page.waitForFunction(() => document.querySelectorAll('svg.dag g.phase-succeeded').length === 3,
    null, { timeout: 120000 });
  await shot(page, '05-workflow-dag');

  step = 'one watch stream for the tab, however many pages it opened';
  // Five pages so far; streams of pages left are closed at the server's next keep-alive (1 s here).
  let watches = -1;
  for (let i = 0; i < 20 && watches !== 1; ++i) {
    await page.waitForTimeout(500);
    const m = await (await page.request.get(url + '/metrics')).text();
    const line = m.split('\n').find((l) => l.startsWith('console_streams_open{kind="watch"}'));
    watches = line ? Number(line.split(' ').pop()) : 0;
  }
  if (watches !== 1) throw new Error(`${watches} watch streams open for one tab`);

  step = 'chat with the example Agent and see the answer stream in';
  await page.goto(`${url}/agents/${ns}/${process.env.EXAMPLE_AGENT}`);
  await page.waitForSelector('#chat-input', { timeout: T });
  await page.waitForFunction(() => /L1/.test(document.getElementById('sidecar-figures')?.textContent),
    null, { timeout: T }).catch(async () => {
    throw new Error('no cache figures from the sidecar: ' + await page.textContent('#sidecar-figures'));
  });
  await page.getByLabel('Message').fill('Say hello to the browser');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.waitForSelector('.msg.agent[data-state="succeeded"]', { timeout: T });
  const answer = await page.textContent('.msg.agent');
  if (!answer || !answer.trim()) throw new Error('an empty answer');
  console.log('chat answer: ' + answer.slice(0, 120));
  await shot(page, '06-chat');

  step = 'usable at phone width';
  await page.setViewportSize({ width: 375, height: 740 });
  await page.goto(url + '/agents');
  await page.waitForSelector('table#agents', { timeout: T });
  const overflow = await page.evaluate(() =>
    document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (overflow > 1) throw new Error(`the page is ${overflow} px wider than a phone`);
  await shot(page, '07-phone');
  await page.setViewportSize({ width: 1280, height: 860 });

  step = 'every form control has a label and the keyboard reaches them all';
  await page.goto(url + '/create');
  await page.waitForSelector('form.create', { timeout: T });
  const unlabelled = await page.$$eval('input, select, textarea', (els) =>
    els.filter((e) => !e.id || !document.querySelector(`label[for="${e.id}"]`)).map((e) => e.outerHTML));
  if (unlabelled.length) throw new Error('unlabelled controls: ' + unlabelled.join(' '));
  // Tab alone reaches every control of the page (the skip link and the menu included).
  const reached = new Set();
  for (let i = 0; i < 40; ++i) {
    await page.keyboard.press('Tab');
    reached.add(await page.evaluate(() => {
      const e = document.activeElement;
      return e.id || e.className || (e.textContent || '').trim();
    }));
  }
  for (const want of ['skip', 'Agents', 'Workflows', 'logout', 'template', 'name', 'namespace',
    'llm_provider', 'model', 'endpoint', 'Create']) {
    if (!reached.has(want)) throw new Error(`Tab never reached ${want}: ${JSON.stringify([...reached])}`);
  }

  step = 'log out ends the session';
  const token = await page.evaluate(() => sessionStorage.getItem('agentry.token'));
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForSelector('form.login', { timeout: T });
  const res = await page.request.get(url + '/api/v1/agents',
    { headers: { Authorization: 'Bearer ' + token } });
  if (res.status() !== 401) throw new Error('the old token still works: ' + res.status());
  await page.goto(url + '/agents');
  await page.waitForSelector('form.login', { timeout: T });
  await shot(page, '08-logged-out');

  step = 'no script errors and no CSP violations';
  if (problems.length) throw new Error(problems.join('\n'));
  await browser.close();
}

main().then(() => { console.log('browser test passed'); process.exit(0); }, (e) => {
  console.error(`FAILED at "${step}": ${e.stack || e}`);
  if (problems.length) console.error(problems.join('\n'));
  process.exit(1);
});
