package phoenix

// ReadWithGoroutines makes s read every websocket with a goroutine of its own
// (the portable way, and the fallback where the poller is not available).
// Call it before the first connection.
func ReadWithGoroutines(s *Server) { s.noPoll = true }
