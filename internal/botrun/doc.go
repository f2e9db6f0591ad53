// Package botrun runs the built-in bots: bots whose brain is an AIDA
// manifest (package brain), stored by the hub per bot.
//
// The Runner listens to this node's committed changes (bus.Subscribe, so
// each message is answered once in a cluster) and answers every customer
// message in a chat that a bot with a brain currently owns. Answers are
// ordinary hub events by the bot, so they reach chatbot clients as btu_msg
// and chat.io webhooks as incoming_event like any other bot's messages.
//
// Ownership, per chat thread (one active owner at a time):
//   - assigned by routing to a bot with a brain: that bot answers;
//   - assigned to anyone else (a human agent, an external bot): silence;
//   - waiting in a group's queue: silence (a human was asked for);
//   - neither: the first bot with a brain present in the chat answers (a
//     chatbot session: the bot is a participant without an assignment).
//
// A human_override in hours hands the chat to the bot's handoff group with
// hub.BotHandoff (the bot stays a participant, silent); the human hands it
// back by transferring the chat to the bot (Agent API transfer_chat to the
// bot's agent id), by leaving it, or by closing the thread — the next
// customer message then finds the bot the owner again. docs/BOTS.md has
// the details.
//
// The brain's session state is kept in the chat's data under SessionKey;
// the chat's other data keys (AIDA put_data, e.g. first_name) are the
// brain's session variables.
package botrun
