package webhook

// ChainLength is chainLength, for tests that need chats longer than a run.
const ChainLength = chainLength

// ChatsPerClaim is chatsPerClaim, for tests with more chats than one
// statement takes.
const ChatsPerClaim = chatsPerClaim
