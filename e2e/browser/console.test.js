// The live-agent console in Debian's Chromium against a real switchboard
// with the first-run demo: a customer chats with the demo bot in the widget
// and asks for a human, the demo agent takes the chat in the console, reads
// the whole history (bot part included), replies, the customer sees it, the
// agent closes; the status switch and the queue; an admin page.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { bin } from '../lib/server.js'
import { DemoServer, launchChromium, screenshot } from './lib/demo.js'

let server, browser

before(async () => {
  server = await new DemoServer().start()
  browser = await launchChromium()
})
after(async () => {
  await browser?.close()
  await server?.close()
})

async function newPage (opts = {}) {
  const context = await browser.newContext(opts)
  const page = await context.newPage()
  page.on('pageerror', (err) => console.error('page error:', err))
  return { context, page }
}

// customerAsksForHuman opens the demo widget, gets one bot answer, asks for
// a human and returns the session (chat) id.
async function customerAsksForHuman (page, firstWords) {
  await page.goto(server.widgetURL)
  await page.waitForSelector('#sbw[data-state="ready"]')
  await say(page, firstWords)
  await page.locator('#sbw-log .from-bot', { hasText: 'open every day' }).waitFor()
  await say(page, 'human')
  await page.locator('#sbw-log .from-bot', { hasText: 'Passing you to a live agent' }).waitFor()
  return page.getAttribute('#sbw', 'data-session')
}

async function say (page, text) {
  await page.fill('#sbw-input', text)
  await page.press('#sbw-input', 'Enter')
}

// login opens the console and logs in with the demo agent's token.
async function login (page) {
  await page.goto(server.consoleURL)
  await page.getByLabel('Agent token').fill(server.agentToken)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.locator('#live', { hasText: 'Live' }).waitFor()
  assert.equal(await page.textContent('#agent-name'), 'Demo Agent')
}

const history = (page) => page.locator('#history')

test('the agent takes over a bot conversation, replies, the customer sees it, the agent closes', async () => {
  const { context: cctx, page: customer } = await newPage()
  const session = await customerAsksForHuman(customer, 'what are your opening hours?')
  assert.ok(session)

  const { context: actx, page: agent } = await newPage()
  await login(agent)
  // The demo agent accepts chats: the chat is assigned at once. Were it
  // queued, the agent would take it from the queue.
  const take = agent.locator('#queue .take').first()
  if (await take.count()) await take.click()
  const item = agent.locator(`#mine .chat-item[data-chat-id="${session}"]`)
  await item.waitFor()
  await item.click()

  // The whole history: the customer's words, the bot's answers, routing.
  await history(agent).locator('.ev.customer', { hasText: 'what are your opening hours?' }).waitFor()
  await history(agent).locator('.ev', { hasText: 'open every day' }).waitFor()
  await history(agent).locator('.ev', { hasText: 'Passing you to a live agent' }).waitFor()
  await history(agent).locator('.ev.system', { hasText: 'Chat assigned to Demo Agent' }).waitFor()
  assert.ok(await history(agent).locator('.ev.customer', { hasText: 'human' }).count() >= 1)
  await screenshot(agent, 'console-chat-history')

  // Live: the customer writes, the console shows it without a reload.
  await say(customer, 'Hello, is someone there?')
  await history(agent).locator('.ev.customer', { hasText: 'Hello, is someone there?' }).waitFor()

  // The agent replies with the keyboard; the customer sees the reply.
  await agent.getByLabel('Reply').fill('Hi! I am Demo Agent. How can I help?')
  await agent.getByLabel('Reply').press('Enter')
  await history(agent).locator('.ev.mine', { hasText: 'How can I help?' }).waitFor()
  await customer.locator('#sbw-log .from-agent', { hasText: 'Hi! I am Demo Agent. How can I help?' }).waitFor()
  await screenshot(customer, 'console-widget-sees-reply')
  await screenshot(agent, 'console-agent-replied')

  // Text is text: markup from the customer is not rendered.
  await say(customer, '<img src=x onerror="window.pwned=1"><b>bold?</b>')
  await history(agent).locator('.ev.customer', { hasText: '<b>bold?</b>' }).waitFor()
  assert.equal(await agent.evaluate(() => window.pwned), undefined)
  assert.equal(await agent.locator('#history b').count(), 0)

  // Close: the chat leaves "My chats" and the reply box is disabled.
  await agent.getByRole('button', { name: 'Close chat' }).click()
  await agent.locator('#chat-state', { hasText: 'This conversation is closed.' }).waitFor()
  await agent.locator(`#mine .chat-item[data-chat-id="${session}"]`).waitFor({ state: 'detached' })
  assert.equal(await agent.locator('#reply').isDisabled(), true)
  await agent.locator(`#closed .chat-item[data-chat-id="${session}"]`).waitFor()
  await screenshot(agent, 'console-chat-closed')
  await actx.close()
  await cctx.close()
})

test('status switch: not accepting chats sends new customers to the queue, where the agent takes them', async () => {
  const { context: actx, page: agent } = await newPage()
  await login(agent)
  await agent.getByLabel('Status').selectOption('not_accepting_chats')
  await agent.locator('#live', { hasText: 'Status: Not accepting chats' }).waitFor()
  const me = await agent.evaluate(async (tok) => (await fetch('/console/api/me', { headers: { Authorization: 'Bearer ' + tok } })).json(), server.agentToken)
  assert.equal(me.agent.routing_status, 'not_accepting_chats')

  const { context: cctx, page: customer } = await newPage()
  const session = await customerAsksForHuman(customer, 'hours?')
  // Queued: the console learns it live (queue_changed) and lists it.
  const take = agent.locator(`#queue .queue-item[data-chat-id="${session}"] .take`)
  await take.waitFor()
  await screenshot(agent, 'console-queue')
  await take.focus()
  await agent.keyboard.press('Enter')
  await agent.locator(`#mine .chat-item[data-chat-id="${session}"]`).waitFor()
  await history(agent).locator('.ev', { hasText: 'Passing you to a live agent' }).waitFor()
  await agent.locator(`#queue .queue-item[data-chat-id="${session}"]`).waitFor({ state: 'detached' })
  await agent.getByLabel('Reply').fill('Taken from the queue.')
  await agent.getByRole('button', { name: 'Send', exact: true }).click()
  await customer.locator('#sbw-log .from-agent', { hasText: 'Taken from the queue.' }).waitFor()

  // Back to accepting, and offline; a reload shows the saved status.
  await agent.getByLabel('Status').selectOption('offline')
  await agent.locator('#live', { hasText: 'Status: Offline' }).waitFor()
  await agent.reload()
  await agent.locator('#live', { hasText: 'Live' }).waitFor()
  assert.equal(await agent.inputValue('#status'), 'offline')
  await agent.getByLabel('Status').selectOption('accepting_chats')
  await agent.locator('#live', { hasText: 'Status: Accepting chats' }).waitFor()
  await agent.locator(`#mine .chat-item[data-chat-id="${session}"]`).click()
  await history(agent).locator('.ev', { hasText: 'Taken from the queue.' }).waitFor()
  await agent.getByRole('button', { name: 'Close chat' }).click()
  await agent.locator('#chat-state', { hasText: 'closed' }).waitFor()
  await actx.close()
  await cctx.close()
})

test('on a phone-sized screen the lists and the chat take turns', async () => {
  const { context: cctx, page: customer } = await newPage()
  const session = await customerAsksForHuman(customer, 'opening hours')
  const { context: actx, page: agent } = await newPage({ viewport: { width: 390, height: 780 }, isMobile: true, hasTouch: true })
  await login(agent)
  const item = agent.locator(`#mine .chat-item[data-chat-id="${session}"]`)
  await item.waitFor()
  await item.click()
  await history(agent).locator('.ev', { hasText: 'Passing you to a live agent' }).waitFor()
  assert.equal(await agent.locator('.lists').isVisible(), false)
  await screenshot(agent, 'console-phone-chat')
  await agent.getByRole('button', { name: 'Back' }).click()
  assert.equal(await agent.locator('.lists').isVisible(), true)
  assert.equal(await agent.evaluate(() => document.activeElement.dataset.chatId), session, 'focus returns to the chat in the list')
  await screenshot(agent, 'console-phone-lists')
  await item.click()
  await agent.getByRole('button', { name: 'Close chat' }).click()
  await agent.locator('#chat-state', { hasText: 'closed' }).waitFor()
  await actx.close()
  await cctx.close()
})

test('admin: a manifest with mistakes is refused and each problem is shown with its JSON path', async () => {
  const { stdout } = await promisify(execFile)(bin, ['token', 'create', '-client-id', 'ops', '-scopes', 'admin', '-db', server.db])
  const adminToken = JSON.parse(stdout).token
  const { context, page } = await newPage()
  await page.goto(server.url + '/console/admin#bots')
  await page.getByLabel('Admin token').fill(adminToken)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.locator('#bots-body tr', { hasText: 'Switchboard Demo' }).waitFor()

  await page.locator('#bots').getByLabel('Bot', { exact: true }).selectOption(server.botID)
  await page.getByLabel('Or paste the manifest').fill(JSON.stringify({
    version: '1',
    languages: ['en'],
    front_desk: { greeting: { message: { en: 'Hi' } } },
    skills: [{ type: 'weather' }]
  }))
  await page.getByRole('button', { name: 'Upload' }).click()
  const problems = page.locator('#manifest-result .problems')
  await problems.waitFor()
  assert.match(await problems.textContent(), /not valid/)
  await problems.locator('li', { hasText: 'skills[0].type' }).waitFor()
  const text = await problems.textContent()
  assert.match(text, /weather/)
  await screenshot(page, 'console-admin-manifest-errors')

  // Groups: create one; it is listed.
  await page.getByRole('link', { name: 'Groups' }).click()
  await page.locator('#groups-body tr', { hasText: 'Support' }).waitFor()
  const groups = page.locator('#groups')
  await groups.getByLabel('Name').fill('Billing')
  await groups.getByLabel('Country').fill('gt')
  await groups.getByRole('button', { name: 'Create' }).click()
  await page.locator('#groups-body tr', { hasText: 'Billing' }).waitFor()

  // Webhooks: the log page renders (empty on the demo).
  await page.getByRole('link', { name: 'Webhooks' }).click()
  await page.locator('#webhooks-title').waitFor()
  await screenshot(page, 'console-admin-webhooks')
  await context.close()
})
