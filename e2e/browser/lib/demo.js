// Browser-test helpers: a real `switchboard serve` with the first-run demo
// on a temporary SQLite database, Debian's Chromium through playwright-core
// (never a downloaded browser), a proxy that refuses websockets, and the
// screenshot folder. One DemoServer per test file (or per test): each has
// its own port and database.
import { mkdirSync, existsSync } from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { Server, freePort } from '../../lib/server.js'

const here = path.dirname(fileURLToPath(import.meta.url))
export const artifactsDir = path.join(here, '..', '..', 'artifacts')
export const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium'

// DemoServer runs switchboard with the demo on (and no echo bots). After
// start(): url, widgetURL, consoleURL, agentToken, agentID, botID, groupID,
// wsToken, read from the demo's log line.
export class DemoServer extends Server {
  constructor ({ extraArgs = [] } = {}) {
    super({ extraArgs: ['-echo-bots=false', '-demo', '-log-format', 'json', ...extraArgs], tmpPrefix: 'switchboard-browser-' })
  }

  async start () {
    await super.start()
    const rec = await this.logRecord((r) => r.widget_url && r.agent_token)
    this.widgetURL = rec.widget_url
    this.consoleURL = rec.console_url
    this.agentToken = rec.agent_token
    this.agentID = rec.agent_id
    this.botID = rec.bot_id
    this.groupID = rec.group_id
    this.wsToken = new URL(rec.widget_url).searchParams.get('token')
    return this
  }
}

// launchChromium starts Debian's Chromium; it throws (the test fails) when
// the browser is missing or cannot start.
export async function launchChromium () {
  if (!existsSync(chromiumPath)) throw new Error(`Chromium not found at ${chromiumPath} (apt-get install -y chromium)`)
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage']
  })
}

// screenshot saves a full-page screenshot as e2e/artifacts/<name>.png.
export async function screenshot (page, name) {
  mkdirSync(artifactsDir, { recursive: true })
  const file = path.join(artifactsDir, name.replace(/[^a-z0-9._-]+/gi, '-') + '.png')
  await page.screenshot({ path: file, fullPage: true })
  return file
}

// NoWebsocketProxy forwards HTTP to a server and refuses every websocket
// upgrade with 403, as some corporate proxies do. url is the proxy's.
export class NoWebsocketProxy {
  constructor (target) {
    this.target = new URL(target)
    this.upgrades = 0
  }

  get url () { return `http://127.0.0.1:${this.port}` }

  async start () {
    this.port = await freePort()
    this.server = http.createServer((req, res) => {
      const up = http.request({
        host: this.target.hostname,
        port: this.target.port,
        method: req.method,
        path: req.url,
        headers: req.headers // Host stays the proxy's, so the Origin check passes
      }, (upRes) => {
        res.writeHead(upRes.statusCode, upRes.headers)
        upRes.pipe(res)
      })
      up.on('error', () => { res.writeHead(502); res.end() })
      req.pipe(up)
    })
    this.server.on('upgrade', (req, socket) => {
      this.upgrades++
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
    })
    await new Promise((resolve) => this.server.listen(this.port, '127.0.0.1', resolve))
    return this
  }

  async close () {
    this.server.closeAllConnections()
    await new Promise((resolve) => this.server.close(resolve))
  }
}

// widgetPath turns the demo's widget URL into one on another base (a proxy).
export function widgetOn (base, server, extra = {}) {
  const u = new URL('/', base)
  u.searchParams.set('bot', server.botID)
  u.searchParams.set('token', server.wsToken)
  for (const [k, v] of Object.entries(extra)) u.searchParams.set(k, v)
  return u.toString()
}
