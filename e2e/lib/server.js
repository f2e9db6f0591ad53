// Starts real `switchboard serve` processes for the end-to-end tests: the
// binary is built once per test run (npm pretest) into e2e/.bin, or taken
// from $SWITCHBOARD_BIN.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
export const bin = process.env.SWITCHBOARD_BIN || path.join(here, '..', '.bin', 'switchboard')

// freePort asks the kernel for a free loopback port.
export function freePort () {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

// Server is one switchboard process on a fixed port and database, which
// survives stop/start (the restart test). It runs with -echo-bots; later
// flags in extraArgs win (e.g. -echo-bots=false).
export class Server {
  constructor ({ extraArgs = [], tmpPrefix = 'switchboard-e2e-' } = {}) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), tmpPrefix))
    this.db = 'sqlite:' + path.join(this.dir, 'switchboard.db')
    this.extraArgs = extraArgs
    this.proc = null
    this.log = []
  }

  get url () { return `http://127.0.0.1:${this.port}` }
  get socketURL () { return `ws://127.0.0.1:${this.port}/socket` }

  async start () {
    if (!this.port) this.port = await freePort()
    const args = ['serve', '-addr', `127.0.0.1:${this.port}`, '-db', this.db, '-echo-bots', '-log-format', 'text', ...this.extraArgs]
    this.proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    this.proc.stderr.on('data', (b) => { this.log.push(b.toString()) })
    const exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)))
    this.exited = exited
    const deadline = Date.now() + 15000
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error('switchboard exited:\n' + this.log.join(''))
      try {
        const res = await fetch(this.url + '/healthz')
        if (res.ok) return this
      } catch {}
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error('switchboard did not become healthy:\n' + this.log.join(''))
  }

  // logRecord waits up to ms for a JSON log line (-log-format json) that
  // satisfies match and returns it.
  async logRecord (match, ms = 5000) {
    const deadline = Date.now() + ms
    for (;;) {
      for (const line of this.log.join('').split('\n')) {
        try {
          const rec = JSON.parse(line)
          if (match(rec)) return rec
        } catch {}
      }
      if (Date.now() > deadline) throw new Error('no matching log line:\n' + this.log.join(''))
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  // stop sends SIGTERM (a graceful shutdown) and waits for the exit.
  async stop () {
    if (!this.proc || this.proc.exitCode !== null) return
    this.proc.kill('SIGTERM')
    await this.exited
  }

  async close () {
    await this.stop()
    rmSync(this.dir, { recursive: true, force: true })
  }

  // createBot runs `switchboard bot create` and returns {bot_id, ws_token}.
  createBot (name, token) {
    const out = execFileSync(bin, ['bot', 'create', '-db', this.db, '-name', name, '-ws-token', token])
    return JSON.parse(out.toString())
  }
}
