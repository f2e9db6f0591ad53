// A server restart: phoenix.js reconnects and rejoins by itself, and the
// session created before the restart goes on (it lives in the database).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Server } from '../lib/server.js'
import { connect, join, result, nextBtu, sleep, transports } from '../lib/client.js'

const server = new Server()
let bot

before(async () => {
  await server.start()
  bot = server.createBot('Restart', 'restart-token')
})
after(() => server.close())

for (const t of transports.filter((t) => t.vsn === '2.0.0')) {
  test(`${t.name}: reconnect after a server restart and continue the session`, { timeout: 60000 }, async () => {
    const socket = connect(server.socketURL, t)
    let opens = 0
    socket.onOpen(() => { opens++ })
    const ch = socket.channel(`bot:${bot.bot_id}`, { access_token: bot.ws_token })
    assert.equal((await join(ch)).status, 'ok')
    const session = (await result(ch.push('new_session', {}))).response.session
    const first = nextBtu(ch, session)
    ch.push('utb_msg', { session, text: 'before' })
    assert.equal(await first, 'before')

    await server.stop()
    await server.start() // same port, same database

    const deadline = Date.now() + 30000
    while (!(opens >= 2 && ch.state === 'joined') && Date.now() < deadline) await sleep(100)
    assert.ok(opens >= 2, 'the client reconnected')
    assert.equal(ch.state, 'joined', 'the channel rejoined')
    const second = nextBtu(ch, session)
    ch.push('utb_msg', { session, text: 'after' })
    assert.equal(await second, 'after')
    socket.disconnect()
  })
}
