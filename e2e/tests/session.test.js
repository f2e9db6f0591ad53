// The AIDA session flow over every transport the official client has.
import { test, before, after, describe } from 'node:test'
import assert from 'node:assert/strict'
import { Server } from '../lib/server.js'
import { connect, join, leave, result, nextBtu, png, uploadImage, transports } from '../lib/client.js'

const server = new Server()
let bot, other

before(async () => {
  await server.start()
  bot = server.createBot('Helper', 'token-1')
  other = server.createBot('Other', 'token-2')
})
after(() => server.close())

for (const t of transports) {
  describe(t.name, () => {
    let socket
    before(() => { socket = connect(server.socketURL, t) })
    after(() => socket.disconnect())

    test('join is refused without the bot\'s token and for unknown bots', async () => {
      for (const [topic, params] of [
        [`bot:${bot.bot_id}`, { access_token: 'wrong' }],
        [`bot:${bot.bot_id}`, {}],
        ['bot:0190a0a0-0000-7000-8000-000000000000', { access_token: 'token-1' }]
      ]) {
        const ch = socket.channel(topic, params)
        const r = await join(ch)
        await leave(ch)
        assert.deepEqual(r, { status: 'error', response: { reason: 'unauthorized' } })
      }
    })

    test('session: new_session, utb_msg → btu_msg, put_data, image, delete_session', async () => {
      const ch = socket.channel(`bot:${bot.bot_id}`, { access_token: bot.ws_token })
      assert.equal((await join(ch)).status, 'ok')

      const created = await result(ch.push('new_session', { data: { first_name: 'Ana' } }))
      assert.equal(created.status, 'ok')
      const session = created.response.session
      assert.match(session, /^[0-9a-f-]{36}$/)

      const answer = nextBtu(ch, session)
      ch.push('utb_msg', { session, text: 'hello bot' })
      assert.equal(await answer, 'hello bot')

      assert.deepEqual(await result(ch.push('put_data', { session, data: { last_name: 'Diaz' } })), { status: 'ok', response: {} })

      const up = await uploadImage(server.url, bot.bot_id, session, png)
      assert.equal(up.status, 200)
      const got = await fetch(`${server.url}/content/image/${up.body.id}`)
      assert.equal(got.headers.get('content-type'), 'image/png')
      assert.deepEqual(Buffer.from(await got.arrayBuffer()), png)
      const imageAnswer = nextBtu(ch, session)
      ch.push('utb_img', { session, image: up.body.id })
      assert.equal(await imageAnswer, `image:${up.body.id}`)

      const notImage = await uploadImage(server.url, bot.bot_id, session, Buffer.from('plain text'), 'image/png')
      assert.equal(notImage.status, 415)
      assert.ok(notImage.body.errors)

      assert.deepEqual(await result(ch.push('delete_session', { session })), { status: 'ok', response: {} })
      assert.deepEqual(await result(ch.push('utb_msg', { session, text: 'again?' })),
        { status: 'error', response: { reason: 'session deleted' } })
      await leave(ch)
    })

    test('bad input gets error replies and the socket keeps serving', async () => {
      const ch = socket.channel(`bot:${bot.bot_id}`, { access_token: bot.ws_token })
      const ch2 = socket.channel(`bot:${other.bot_id}`, { access_token: other.ws_token })
      assert.equal((await join(ch)).status, 'ok')
      assert.equal((await join(ch2)).status, 'ok')
      const foreign = (await result(ch2.push('new_session', {}))).response.session
      const session = (await result(ch.push('new_session', {}))).response.session
      const cases = [
        ['utb_msg', { text: 'no session' }, 'invalid payload'],
        ['utb_msg', { session }, 'invalid payload'],
        ['utb_msg', { session, text: 42 }, 'invalid payload'],
        ['utb_msg', { session: foreign, text: 'not yours' }, 'unknown session'],
        ['utb_msg', { session: '0190a0a0-0000-7000-8000-000000000000', text: 'who?' }, 'unknown session'],
        ['put_data', { session, data: 'not an object' }, 'invalid payload'],
        ['utb_img', { session, image: '0190a0a0-0000-7000-8000-000000000000' }, 'invalid image'],
        ['no_such_event', {}, 'unknown event']
      ]
      for (const [event, payload, reason] of cases) {
        const r = await result(ch.push(event, payload))
        assert.equal(r.status, 'error', `${event} ${JSON.stringify(payload)}`)
        assert.equal(r.response.reason, reason, `${event} ${JSON.stringify(payload)}`)
      }
      const answer = nextBtu(ch2, foreign)
      ch2.push('utb_msg', { session: foreign, text: 'still serving' })
      assert.equal(await answer, 'still serving')
      await leave(ch)
      await leave(ch2)
    })
  })
}
