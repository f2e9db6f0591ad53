// Package brain is the built-in bot brain: it validates an AIDA bot manifest
// and answers customer messages the way the manifest describes.
//
// It is pure logic. It stores nothing, sends nothing and reads no clock of its
// own: the caller keeps a Session (plain JSON) per conversation, passes the
// current time, and acts on the Output (send messages, transfer the chat to a
// human group through routing, POST a notification).
//
//	m, err := brain.Parse(manifestJSON) // *ValidationError lists every problem by JSON path
//	...
//	var s brain.Session                 // or json.Unmarshal the stored one
//	out := m.Reply(&s, brain.Input{Text: "I want a human"}, time.Now())
//	// send out.Messages; if out.Handoff != nil transfer the chat;
//	// if out.Notification != nil fill BotID/SessionID and POST it to m.NotificationsURL;
//	// store s (json.Marshal) for the next message.
//
// A Manifest is immutable after Parse and safe for concurrent use; a Session
// belongs to one conversation and must not be shared between goroutines.
//
// # Manifest: what is accepted
//
// Top level: version ("1"), languages (2–3 lowercase letters, no duplicates; the
// first is the default), front_desk and skills (at least one) are required.
// notifications_url, variables and channels are optional here although AIDA's
// schema requires them. natural_language_interface, public_keys and data_tables
// are validated and kept on the Manifest but not used when answering (no NLU
// provider is called, logs are not encrypted, tables are not queried).
// channels (facebook {page_id, verify_token, access_token}, websocket
// {access_token}) are validated and kept for the caller; the brain ignores them.
//
// front_desk: greeting, introduction, not_understood and clarification are
// required {"message": {lang: text}} objects. unsubscribe is optional. threshold
// is optional (default 0.5) and, as in AIDA, must be between 0.01 and 0.5.
//
// Skills run by this server: keyword_responder, language_detector,
// decision_tree, human_override. An unknown type is rejected with
// `skills[i].type: unknown skill type "x" (supported: …)`. The valid AIDA types
// survey and scheduled_messages are rejected too, with `skill type "survey" is
// not supported by this server`, rather than accepted and silently never run.
//
// Validation is stricter than AIDA's schema in a few places, so mistakes show
// up at upload rather than in a conversation:
//   - unknown keys are rejected in every object (AIDA allows them in websocket
//     channels and in_hours), so a typo like "timzone" is an error;
//   - every language key of a localized text or keyword list must be one of
//     languages;
//   - keyword_responder, decision_tree and human_override need keywords or
//     training_sentences, otherwise they could never be triggered;
//   - keywords are single words (as in AIDA's schema); training sentences may be
//     longer;
//   - skill ids, variable names and tree node ids (within one tree) are unique,
//     and there is at most one language_detector;
//   - in_hours.timezone must be a known IANA zone (default UTC when absent);
//     an hours entry's until must be after its since (a window crossing midnight
//     is written as two entries, e.g. mon since 20:00 and tue until 03:00);
//   - relevant conditions (on skills and variable overrides) must use the
//     supported subset below.
//
// Every problem is reported, each as a FieldError whose Path is a JSON path
// such as "skills[2].type", "front_desk.greeting.message",
// "skills[1].keywords.es" or "skills[5].in_hours.hours[0].until".
//
// # Conditions (relevant)
//
// A condition is comparisons `${var} OP value` joined by "and" / "or" ("and"
// binds tighter; no parentheses, no functions). OP is one of = != < <= > >=.
// Values are numbers or 'quoted' / "quoted" strings, or another ${var}. Both
// sides are compared as numbers when both parse as numbers, otherwise as text
// (only = and != for text). ${var} reads the Session's Vars; a missing variable
// is "". A skill whose relevant condition is false is neither matched nor
// listed in the introduction.
//
// # Conversation
//
// Language. Skills, keywords and texts use the session language. When the
// message contains a language_detector keyword (any language) the session
// switches to that language. With no language chosen yet: a manifest with one
// language, or without a language_detector, uses the first language; otherwise
// the bot asks once by sending the detector's explanation, and if the next
// message still names no language it continues in the first language (so a
// customer is never stuck). reply_to_unsupported_language is accepted but has
// no effect: AIDA uses it with an external language-identification service,
// which this server does not call.
//
// Greeting. The first message answered in a language gets the greeting, the
// introduction and the explanation of each active skill (empty explanations and
// the language detector's are skipped), followed by the answer to the message
// if it asked for something; a first message that matches nothing gets no
// not_understood. Switching language later sends the introduction and
// explanations again in the new language.
//
// Matching. Text is lower-cased, accents are removed (Latin letters, and
// combining marks) and it is split into words of letters and digits. Keywords
// and training sentences are normalized the same way once, at Parse. A skill's
// score is its best pattern's: 1 when one of its keywords occurs as a whole
// word (a keyword that normalizes to several words must occur as that run), and
// for a training sentence the fraction of its distinct words present in the
// message. Skills scoring at least front_desk.threshold are candidates. If the
// best candidates are within 0.1 of each other (e.g. two keyword hits in
// "your hours and your address") the bot sends the front desk clarification
// followed by each of those skills' clarification; if there is none it sends
// not_understood; otherwise the best skill answers.
//
// keyword_responder answers with its response. decision_tree asks its root
// question and waits: the next message is matched against the current
// question's responses (same scoring and threshold) and follows the best one
// to the next question or to the final answer, which ends the tree. When no
// response matches, the message is handled as a fresh request if any skill
// matches it (the customer moved on; the tree is abandoned), otherwise the bot
// sends the front desk clarification and asks the question again.
//
// human_override always produces a Notification {type: "human_override",
// data: {message, bot_id, session_id, name}} with the customer's text and the
// skill's name (the caller fills bot_id and session_id and posts it to
// notifications_url if set). In hours it answers in_hours_response and sets
// Handoff, and leaves any decision tree; off hours it answers
// off_hours_response only. "In hours" comes from the skill's in_hours schedule
// read on the wall clock of its time zone (DST included), unless the caller
// passes Input.InHours, e.g. from the team's business-hours calendar. The
// program must have time zone data: import time/tzdata in main or ship zoneinfo.
//
// Unsubscribe. A message that is exactly one of front_desk.unsubscribe's
// keywords (ignoring case, accents and punctuation) is acknowledged with
// acknowledge_message and sets Session.Unsubscribed and Output.Unsubscribed;
// the bot keeps answering, the caller stops proactive messages. Requiring the
// keyword alone keeps answers like "they do not stop" out of it. The
// unsubscribe introduction_message is not sent by the brain.
//
// Texts. A localized text is taken in the session language, else in the first
// of the manifest's languages that it has. Every text sent is expanded:
// ${name} becomes the manifest variable of that name (its first override whose
// condition holds, else its values; variable values are expanded in turn, up
// to 5 levels so cycles end), else the session variable, else "".
//
// # Ownership
//
// The brain does not track who owns a conversation. While a human owns it the
// caller does not call Reply; when the human hands it back the caller calls
// Reply again with the stored Session, which continues where it was (a handoff
// clears any decision tree position). External bots (webhooks, Agent API) do
// not use this package.
package brain
