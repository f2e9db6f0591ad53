// Package core holds Switchboard's domain: users, groups, chats with their
// threads and events, properties, tokens, and the error type every layer
// speaks. It has no dependencies on storage or transport; the hub package
// is the only place that changes state.
package core
