package proxy

// ensurePrivateDir does nothing on Windows: uapi.Listen serves a named
// pipe in a namespace derived from dir, and no directory is made.
func ensurePrivateDir(string) error { return nil }

// restrictSocket does nothing on Windows: the pipe's DACL, set by
// uapi.Listen, admits only SYSTEM and the Administrators.
func restrictSocket(string, string) error { return nil }
