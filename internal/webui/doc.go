// Package webui serves `warren manager`'s web UI and its JSON API over
// HTTP: handlers, html/template pages, the embedded assets, sessions,
// logins, API tokens, and server-sent events for live statistics and
// logs. It knows nothing of the operating system: everything it shows or
// changes goes through internal/manager. API.md documents the API.
//
// Security, in the order a request meets it: response headers (a strict
// Content-Security-Policy with no inline script or style and no other
// origin, X-Frame-Options DENY, nosniff, no referrer, no-store on
// everything but the static assets); the Host header must name this
// server (loopback names and addresses, the listen address, --host names),
// against DNS rebinding; every state-changing request is checked against
// cross-origin use (http.CrossOriginProtection) and must carry JSON; then
// a session cookie or an API token — except /api/once/{token}, a client's
// one-time configuration link, which is its own credential (256 random
// bits, looked up by hash, once, for 15 minutes). Sessions live in memory, stored by
// the SHA-256 of their secret, and expire when idle and after a maximum
// age. Failed logins are rate-limited per source and globally. Pages are
// rendered by html/template from typed values; assets come from an
// embed.FS and no request names a file on disk.
package webui
