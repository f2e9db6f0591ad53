// Package webhook is Switchboard's webhook delivery engine, shared by every
// surface that pushes events to other systems (chat.io bot webhooks, MeWe
// personal-agent events, Rocket.Chat/RapidPro connectors).
//
// Deliveries are rows of a transactional outbox: the hook returned by
// Engine.TxHook runs inside every hub transaction, turns the change into
// items through the registered Translators, matches them against the
// subscriptions (cached in memory) and their chat.io filters, and inserts
// one delivery per match — so a committed event always has its deliveries
// and a rolled-back one has none. Connectors can also Enqueue directly in a
// transaction of their own.
//
// The dispatcher claims due deliveries under a lease (FOR UPDATE SKIP
// LOCKED on PostgreSQL, so several nodes never take the same attempt), sends
// them with bounded concurrency globally and per endpoint host, signs them
// (chat.io envelope, MeWe HMAC, Rocket.Chat token, and Standard Webhooks
// headers on all), retries network errors, 408, 429 and 5xx on a schedule
// spanning about a day, dead-letters what never succeeds, records every
// attempt, and disables endpoints that fail for too long. docs/WEBHOOKS.md
// describes the guarantees and trade-offs.
package webhook
