// The chat widget in Debian's Chromium against a real switchboard with the
// first-run demo: bot chat, reload, image upload, asking for a human,
// long-poll when websockets are refused, a phone-sized keyboard-only run.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { DemoServer, NoWebsocketProxy, launchChromium, screenshot, widgetOn } from './lib/demo.js'

const png1x1 = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64')

let server, browser

before(async () => {
  server = await new DemoServer().start()
  browser = await launchChromium()
})
after(async () => {
  await browser?.close()
  await server?.close()
})

// open loads the widget in a fresh context and waits until it is ready.
async function open (url, opts = {}) {
  const context = await browser.newContext(opts)
  const page = await context.newPage()
  page.on('pageerror', (err) => console.error('page error:', err))
  await page.goto(url)
  await page.waitForSelector('#sbw[data-state="ready"]')
  return { context, page }
}

const log = (page) => page.locator('#sbw-log')
const bot = (page) => page.locator('#sbw-log .from-bot')

async function say (page, text) {
  await page.fill('#sbw-input', text)
  await page.press('#sbw-input', 'Enter')
}

// greet starts the conversation: the demo bot greets at the first message.
async function greet (page) {
  await say(page, 'hello')
  await bot(page).filter({ hasText: 'I am the Switchboard demo bot' }).waitFor()
}

test('the demo bot greets, answers a keyword, and a reload keeps the session and the history', async () => {
  const { context, page } = await open(server.url + '/') // / without params: the demo bot
  await page.locator('#sbw-log .sbw-hint').waitFor()
  await greet(page)
  assert.equal(await page.getAttribute('#sbw', 'data-transport'), 'websocket')
  await say(page, 'what are your opening hours?')
  await bot(page).filter({ hasText: 'open every day, around the clock' }).waitFor()
  const session = await page.getAttribute('#sbw', 'data-session')
  await screenshot(page, 'widget-bot-chat')

  const before = await log(page).locator('li').allTextContents()
  await page.reload()
  await page.waitForSelector('#sbw[data-state="ready"]')
  await bot(page).filter({ hasText: 'open every day, around the clock' }).waitFor()
  assert.equal(await page.getAttribute('#sbw', 'data-session'), session, 'the session survives a reload')
  const after = await log(page).locator('li').allTextContents()
  for (const item of before.filter((t) => !t.startsWith('Say hello'))) {
    assert.ok(after.includes(item), `after the reload the transcript still has ${item}`)
  }
  const seqs = await log(page).locator('li[data-seq]').evaluateAll((els) => els.map((e) => e.dataset.seq))
  assert.equal(new Set(seqs).size, seqs.length, 'the history is shown once, without duplicates')
  assert.ok(after.some((t) => t.includes('what are your opening hours?')), 'the customer\'s own message is in the history')
  await screenshot(page, 'widget-after-reload')
  await context.close()
})

test('message text is shown as text, never as HTML', async () => {
  const { context, page } = await open(server.widgetURL)
  await greet(page)
  await say(page, '<img src=x onerror="window.pwned=1"><b>bold?</b>')
  await page.locator('#sbw-log .from-customer', { hasText: '<b>bold?</b>' }).waitFor()
  await bot(page).filter({ hasText: 'Sorry, I did not get that' }).waitFor()
  assert.equal(await page.evaluate(() => window.pwned), undefined)
  assert.equal(await page.locator('#sbw-log b').count(), 0)
  await context.close()
})

test('an uploaded image shows in the transcript, also after a reload', async () => {
  const { context, page } = await open(server.widgetURL)
  await greet(page)
  await page.setInputFiles('#sbw-file', { name: 'dot.png', mimeType: 'image/png', buffer: png1x1 })
  const img = page.locator('#sbw-log .from-customer img')
  await img.waitFor()
  const src = await img.getAttribute('src')
  assert.match(src, /^\/content\/image\/[0-9a-f-]+$/)
  assert.equal(await img.getAttribute('alt'), 'Image you sent')
  await page.waitForFunction(() => {
    const i = document.querySelector('#sbw-log .from-customer img')
    return i && i.complete && i.naturalWidth === 1
  })
  await page.reload()
  await page.waitForSelector('#sbw[data-state="ready"]')
  await page.locator(`#sbw-log .from-customer img[src="${src}"]`).waitFor()
  await screenshot(page, 'widget-image')
  await context.close()
})

test('asking for a human shows that an agent joined (or the queue position)', async () => {
  const { context, page } = await open(server.widgetURL)
  await greet(page)
  await say(page, 'I want a human')
  await bot(page).filter({ hasText: 'Passing you to a live agent' }).waitFor()
  // The demo agent accepts chats: assigned at once. A busy agent means a queue.
  await page.waitForFunction(() => {
    const m = document.getElementById('sbw')
    return m.dataset.agent || m.dataset.queue
  })
  const agent = await page.getAttribute('#sbw', 'data-agent')
  if (agent) {
    assert.equal(agent, 'Demo Agent')
    await page.locator('#sbw-log .from-system', { hasText: 'Demo Agent joined the chat' }).waitFor()
    assert.match(await page.textContent('#sbw-status'), /Chatting with Demo Agent/)
  } else {
    assert.match(await page.textContent('#sbw-queue'), /queue/)
  }
  await screenshot(page, 'widget-agent-joined')
  await context.close()
})

test('with websockets refused, the widget falls back to long-poll and the conversation goes on', async () => {
  const proxy = await new NoWebsocketProxy(server.url).start()
  try {
    const { context, page } = await open(widgetOn(proxy.url, server))
    assert.equal(await page.getAttribute('#sbw', 'data-transport'), 'longpoll')
    assert.ok(proxy.upgrades >= 1, 'the websocket was tried and refused')
    await greet(page)
    await say(page, 'pricing')
    await bot(page).filter({ hasText: 'Switchboard is free to run' }).waitFor()
    await page.reload()
    await page.waitForSelector('#sbw[data-state="ready"]')
    await bot(page).filter({ hasText: 'Switchboard is free to run' }).waitFor()
    await say(page, 'help')
    await bot(page).filter({ hasText: "I understand 'hours'" }).waitFor()
    await screenshot(page, 'widget-longpoll')
    await context.close()
  } finally {
    await proxy.close()
  }
})

test('on a phone-sized screen, keyboard only: Tab to the labelled input, Enter sends', async () => {
  const { context, page } = await open(server.widgetURL, { viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true })
  await greet(page)
  // Labels: the input, the image button, the transcript.
  assert.equal(await page.locator('label[for="sbw-input"]').textContent(), 'Your message')
  assert.equal(await page.getAttribute('#sbw-attach', 'aria-label'), 'Send an image')
  assert.equal(await page.getAttribute('#sbw-log', 'aria-live'), 'polite')
  // Nothing overflows sideways.
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth))
  const box = await page.locator('#sbw-send').boundingBox()
  assert.ok(box && box.x + box.width <= 375 && box.y + box.height <= 667, 'the send button is on screen')

  let reached = false
  for (let i = 0; i < 10 && !reached; i++) {
    await page.keyboard.press('Tab')
    reached = await page.evaluate(() => document.activeElement && document.activeElement.id === 'sbw-input')
  }
  assert.ok(reached, 'Tab reaches the message input')
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle)
  assert.notEqual(outline, 'none', 'the focused input shows focus')
  await page.keyboard.type('setup')
  await page.keyboard.press('Enter')
  await bot(page).filter({ hasText: 'Will you run one node or several?' }).waitFor()
  assert.equal(await page.evaluate(() => document.activeElement.id), 'sbw-input', 'focus stays in the input after sending')
  await page.keyboard.type('one')
  await page.keyboard.press('Enter')
  await bot(page).filter({ hasText: 'Keep the embedded SQLite default' }).waitFor()
  await screenshot(page, 'widget-phone-keyboard')
  await context.close()
})

test('the embeddable /widget.js opens the chat from a launcher button', async () => {
  // A page of "another site" (another port: another origin), served from
  // loopback as the switchboard is (Chromium keeps public pages off loopback).
  const shop = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' })
    res.end(`<!doctype html><title>Shop</title><h1>Shop</h1><script src="${server.url}/widget.js" data-bot="${server.botID}" data-token="${server.wsToken}"></script>`)
  })
  await new Promise((resolve) => shop.listen(0, '127.0.0.1', resolve))
  after(() => new Promise((resolve) => shop.close(resolve)))
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`http://127.0.0.1:${shop.address().port}/`)
  const launcher = page.getByRole('button', { name: 'Chat with us' })
  await launcher.click()
  assert.equal(await page.getByRole('button', { name: 'Close chat' }).getAttribute('aria-expanded'), 'true')
  const frame = page.frameLocator('iframe[title="Chat"]')
  await frame.locator('#sbw[data-state="ready"]').waitFor()
  await frame.locator('#sbw-input').fill('hi')
  await frame.locator('#sbw-input').press('Enter')
  await frame.locator('#sbw-log .from-bot', { hasText: 'I am the Switchboard demo bot' }).waitFor()
  await screenshot(page, 'widget-embedded')
  await context.close()
})
