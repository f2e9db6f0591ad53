package cli

import (
	"time"

	"switchboard/internal/app"
)

// meweFlags adds the serve flags (and env vars) of the MeWe part.
func meweFlags(fs *flags, env Env, cfg *app.MeWeConfig) {
	fs.IntVar(&cfg.MaxTextLength, "mewe-max-text", int(envFloat(env, "SWITCHBOARD_MEWE_MAX_TEXT", 10000)),
		"longest message text, in characters, on the MeWe threads and agent APIs (env SWITCHBOARD_MEWE_MAX_TEXT)")
	fs.DurationVar(&cfg.ClockSkew, "mewe-clock-skew", envDuration(env, "SWITCHBOARD_MEWE_CLOCK_SKEW", 300*time.Second),
		"how far a signed agent request's X-Timestamp may be from now; signatures are remembered this long (env SWITCHBOARD_MEWE_CLOCK_SKEW)")
	fs.Int64Var(&cfg.MaxPhotoBytes, "mewe-photo-max-bytes", int64(envFloat(env, "SWITCHBOARD_MEWE_PHOTO_MAX_BYTES", 5<<20)),
		"largest agent photo accepted by PUT /api/dev/agents/ID/photo (env SWITCHBOARD_MEWE_PHOTO_MAX_BYTES)")
}
