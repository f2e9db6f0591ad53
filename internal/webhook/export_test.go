package webhook

// ChainLength is chainLength, for tests that need chats longer than a run.
const ChainLength = chainLength
