// Package phoenix serves the Phoenix channels protocol (as spoken by the
// phoenix.js client) over websocket and long-poll transports. It knows
// nothing of any application: an application registers a ChannelHandler per
// topic pattern and an optional OnConnect hook, and pushes with Channel.Push
// or Server.Broadcast.
//
// Usage:
//
//	srv := phoenix.NewServer(phoenix.Config{}, logger)
//	srv.Handle("bot:*", botChannels)
//	mux.Handle("/socket/websocket", srv.WebsocketHandler())
//	mux.Handle("/socket/longpoll", srv.LongPollHandler())
//
// # Protocol
//
// The vsn connect parameter picks the serializer: absent or "1.0.0" is V1
// (JSON objects; replies carry no join_ref, as in Phoenix), "2.0.0" is V2
// (JSON arrays [join_ref, ref, topic, event, payload]); anything else is
// refused with HTTP 400. Refs are echoed exactly as the client sent them.
// Only text frames are understood: binary frames, non-JSON frames and frames
// of the wrong shape are ignored with a log line; the connection stays up, so
// a buggy client cannot turn one bad frame into a reconnect storm.
//
// Reserved events follow Phoenix: phoenix/heartbeat gets an ok reply; phx_join
// gets ok or error as Join decides ({"reason":"join crashed"} when Join fails
// or panics); joining a topic already joined first ends the old channel with
// phx_close; phx_leave gets ok then phx_close (leaving a topic not joined gets
// ok, as in Phoenix); any other event on a topic not joined gets
// {"reason":"unmatched topic"}; a message carrying the join_ref of an earlier
// join of a topic is dropped. A HandleIn that fails or panics sends phx_error
// with payload {} (as Phoenix 1.3 does) on that topic only and removes the
// channel; the socket keeps serving its other channels. Channel pushes carry
// the channel's join_ref; broadcasts carry none.
//
// # Limits
//
// See Config for defaults. A message (all its fragments together) larger
// than MaxFrameSize closes a websocket with 1009 (a long-poll POST gets HTTP
// 413); joining more than MaxChannels
// topics gets {"reason":"too many channels"}; frames beyond MessageRate/MessageBurst
// (heartbeats included) get {"reason":"rate limited"} and are not handled. A connection whose
// outbound queue reaches OutboundQueue frames is closed with 1008 "slow
// consumer": Broadcast and Push never wait for a client. A websocket that
// sends nothing for IdleTimeout (checked every IdleTimeout/8) is closed with
// 1001 "idle timeout"; a
// long-poll session not polled for LongPollSessionTimeout expires. A
// long-poll GET waits at most LongPollTimeout (10s), safely below the 20s
// after which phoenix.js gives up on a request. Connections may come from
// the request's own host or from hosts matching OriginPatterns.
//
// # Websocket
//
// The server side of RFC 6455 is this package's own (wsproto.go): masked
// client frames, fragmented messages, ping/pong, the close handshake (a
// server-initiated close waits up to 5 s for the client's answer). No
// extension is accepted (no compression) and text is not checked for UTF-8
// (the JSON decoder copes). A client breaking the protocol (an unmasked or
// reserved-bit frame, an unknown opcode, a fragmented control frame, a
// continuation out of place) is closed with 1002 "protocol error".
//
// # Concurrency and memory
//
// On Linux an idle websocket costs no goroutine: one epoll instance per
// server (poll_linux.go) watches idle connections and hands a readable one
// to a small pool of long-lived workers (frames.go); the worker reads what
// has arrived into a pooled buffer, handles the complete messages in order
// and rearms the connection. Elsewhere, or if epoll is not available, each
// websocket has a reader goroutine that hands each message to a worker and
// waits for it. Either way a socket's handlers run one at a time in frame
// order, and the deep stacks of handling stay on the workers. A writer
// goroutine exists only while frames are queued. Between frames a
// connection keeps no buffer, no map and no timer (one sweep per server
// closes idle websockets): BenchmarkIdleJoinedWebsocketMemory measures about
// 2.4 KiB per idle joined websocket. Long-poll sessions cost no goroutine between requests.
// Handlers for different sockets run concurrently; a handler that blocks
// delays only its own socket.
package phoenix
