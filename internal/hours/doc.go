// Package hours holds business-hours calendars: when a project's live agents in
// one country take new conversations. It is pure domain logic: no storage, no
// HTTP, and no clock of its own; every question takes the instant "now".
//
// # Model
//
// A Config is the plain form of a calendar (JSON for the admin API and storage);
// New validates it into an immutable Calendar. A calendar has an IANA time zone,
// any number of opening intervals per weekday (split shifts are two intervals),
// holidays (a single date or an inclusive date range, each with a name and an
// optional message), one-off closures (a wall-clock range [start, end) with a
// message) and three messages: working day (open), closed (out of hours) and a
// default holiday message.
//
// Intervals are half-open, [start, end), in local wall-clock time, and end no
// later than 24:00. An interval across midnight is written as two intervals
// (22:00-24:00 and 00:00-02:00 the next day). Intervals of one day must not
// overlap; touching is allowed. Holidays may not overlap each other.
//
// # Evaluation
//
// Status, IsOpen and NextOpen read the local date of now in the calendar's zone
// and decide in this order:
//
//  1. a holiday covering the date: closed, day_type "holiday", day_name the
//     holiday's name (weekday name when it has none), start/end date the
//     holiday's range, start/end time 00:00/24:00, message the holiday's own,
//     else the default holiday message, else the closed message;
//  2. a closure in force: closed, start/end date and time the closure's range,
//     message the closure's, else the closed message;
//  3. an interval containing now: open, message the working-day message;
//  4. otherwise closed with the closed message.
//
// Outside holidays day_type is "workingday" (also on a day without hours, such
// as Sunday; the closed flag and message say it is not available) and day_name
// is the English weekday, "Monday". start_time/end_time name the interval that
// matters today: the one containing now, else the next one later today, else
// today's last one; both are empty on a day without hours, and start_date and
// end_date are then today's date. Times are "HH:MM", dates "YYYY-MM-DD", both in
// the calendar's zone.
//
// # Daylight saving time
//
// Interval bounds are wall-clock readings, turned into instants per date. A
// reading maps to the earliest instant whose local reading is at or after it:
// a reading inside a spring-forward gap becomes the end of the gap, and a
// reading repeated by a fall-back becomes its first occurrence. Each interval is
// thus one contiguous span of real time; one that spans the gap is an hour
// shorter, one that spans the repeated hour an hour longer, and one entirely
// inside the gap does not open that day.
//
// # Day Status files
//
// ParseDayStatusTOML imports the legacy "working-hours-<cc>.toml" files with a
// small built-in parser for the TOML subset they use (see toml.go), keeping the
// module free of a TOML dependency. The accepted layout, for country "gt":
//
//	[gt]
//	time_zone = "America/Guatemala"
//	workingDayMessage = "..."      # message while open
//	outOfHoursMessage = "..."      # optional extension: message while closed
//	holidayMessage = "..."         # optional extension: default holiday message
//
//	[[gt.days.workingDays]]        # one entry per interval; repeat a day for split shifts
//	day = "monday"
//	start_time = "8:00"
//	end_time = "17:00"
//
//	[[gt.days.holidays]]
//	day = "Independence Day"       # the holiday's name, or its date if start_date is empty
//	start_date = "2026-09-15"      # string or TOML local date
//	end_date = "2026-09-15"        # optional; inclusive
//	message = "..."
//
// Unknown keys are errors (with their line) so that typos do not pass silently;
// a holiday entry with every field empty, as in the documented template, is
// skipped. Country codes are lowercased.
package hours
