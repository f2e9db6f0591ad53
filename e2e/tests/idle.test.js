// Heartbeats keep an idle client connected past the server's 60 s idle
// timeout, on every transport at once (one 65 s wait for all).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Server } from '../lib/server.js'
import { connect, join, result, nextBtu, sleep, transports } from '../lib/client.js'

const server = new Server()
let bot

before(async () => {
  await server.start()
  bot = server.createBot('Idle', 'idle-token')
})
after(() => server.close())

test('65 s of idle: heartbeats keep every transport connected and joined', { timeout: 120000 }, async () => {
  const clients = await Promise.all(transports.map(async (t) => {
    const socket = connect(server.socketURL, t)
    const c = { t, socket, opens: 0, errors: 0, closes: 0 }
    socket.onOpen(() => { c.opens++ })
    socket.onError(() => { c.errors++ })
    socket.onClose(() => { c.closes++ })
    c.channel = socket.channel(`bot:${bot.bot_id}`, { access_token: bot.ws_token })
    assert.equal((await join(c.channel)).status, 'ok', t.name)
    c.session = (await result(c.channel.push('new_session', {}))).response.session
    return c
  }))
  await sleep(65000)
  for (const c of clients) {
    assert.equal(c.socket.isConnected(), true, `${c.t.name} still connected`)
    assert.equal(c.opens, 1, `${c.t.name} never reconnected`)
    assert.equal(c.closes, 0, `${c.t.name} never closed`)
    const answer = nextBtu(c.channel, c.session)
    c.channel.push('utb_msg', { session: c.session, text: 'still there?' })
    assert.equal(await answer, 'still there?', c.t.name)
    c.socket.disconnect()
  }
})
