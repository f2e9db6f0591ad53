// Helpers around the official phoenix client for Node: the transport
// matrix (websocket or long-poll, protocol V1 or V2) and promise wrappers.
import { Socket, LongPoll } from 'phoenix'
import WebSocket from 'ws'

// V1 frames are JSON objects; phoenix.js 1.7+ speaks V2 unless given these.
const v1 = {
  encode: (msg, callback) => callback(JSON.stringify({ topic: msg.topic, event: msg.event, payload: msg.payload, ref: msg.ref, join_ref: msg.join_ref })),
  decode: (raw, callback) => callback(JSON.parse(raw))
}

export const transports = [
  { name: 'websocket V2', transport: WebSocket, vsn: '2.0.0' },
  { name: 'websocket V1', transport: WebSocket, vsn: '1.0.0' },
  { name: 'long-poll V2', transport: LongPoll, vsn: '2.0.0' },
  { name: 'long-poll V1', transport: LongPoll, vsn: '1.0.0' }
]

// connect opens a phoenix Socket with one of the transports. Node 20 has no
// global WebSocket, so the ws package is the websocket transport; long-poll
// uses Node's global fetch (no shim needed). phoenix.js pins long-poll to its
// default (V2) serializer in the constructor, so for V1 over long-poll the
// socket's encode/decode are replaced after construction.
export function connect (url, t, opts = {}) {
  const socket = new Socket(url, { transport: t.transport, vsn: t.vsn, ...(t.vsn === '1.0.0' ? v1 : {}), ...opts })
  if (t.vsn === '1.0.0') {
    socket.encode = v1.encode
    socket.decode = v1.decode
  }
  socket.connect()
  return socket
}

// result turns a push into a promise of {status, response}.
export function result (push, timeoutMs = 10000) {
  return new Promise((resolve) => {
    push.receive('ok', (response) => resolve({ status: 'ok', response }))
      .receive('error', (response) => resolve({ status: 'error', response }))
      .receive('timeout', () => resolve({ status: 'timeout' }))
  })
}

export function join (channel) { return result(channel.join()) }

// leave leaves a channel and lets its phx_close arrive: V1 frames carry no
// join_ref, so a late phx_close of a topic's old channel would otherwise
// close a new channel of the same topic (a property of V1, not the server).
export async function leave (channel) {
  await result(channel.leave())
  await sleep(100)
}

// nextBtu resolves with the text of the next btu_msg of a session.
export function nextBtu (channel, session, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { channel.off('btu_msg', ref); reject(new Error('no btu_msg for ' + session)) }, timeoutMs)
    const ref = channel.on('btu_msg', (payload) => {
      if (payload.session !== session) return // the AIDA contract: filter by session
      clearTimeout(timer)
      channel.off('btu_msg', ref)
      resolve(payload.text)
    })
  })
}

// A 1×1 PNG.
export const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64')

// uploadImage posts bytes as the multipart field "file".
export async function uploadImage (base, botId, session, bytes, type = 'image/png') {
  const form = new FormData()
  form.append('file', new Blob([bytes], { type }), 'picture.png')
  const res = await fetch(`${base}/content/image/${botId}/${session}`, { method: 'POST', body: form })
  return { status: res.status, body: await res.json() }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
