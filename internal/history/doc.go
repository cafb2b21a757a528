// Package history keeps per-peer traffic history that survives restarts of
// the manager, the tunnel and the machine, in one embedded bbolt database
// file (pure Go, so it builds for every GOOS/GOARCH warren ships, CGO off).
//
// The manager's sampler hands Record the devices it read at one moment; the
// store turns each peer's cumulative counters into per-interval deltas
// (so a tunnel restart, which drops the counters to zero, shows neither a
// negative spike nor loses what was counted before it) and adds them to one
// bucket of every tier: by default 10 s buckets for the last hour, 1 min for
// the last day, 1 h for the last 32 days and 1 day for the last 400 days.
// Each tier holds at most Slots buckets and drops the oldest as new ones
// open, so the file's size is bounded by peers × buckets and does not grow
// with uptime. All work is incremental: a sample touches the current bucket
// of each tier and expires at most a bounded number of old ones; opening the
// store reads only the table of peers.
//
// Query reads one peer's or a whole interface's series for a range (the last
// hour, day, month) at the finest tier that covers it, as bytes and rates per
// bucket with totals.
//
// The package owns the database file and nothing else. It imports
// internal/wgtypes and internal/noise (the snapshot and key types) and
// go.etcd.io/bbolt; never the engine, uapi, HTTP or the OS beyond the file.
// The engine, the wg commands and the daemon never import it.
//
// # Layout of the file
//
//	meta            "version" → 1; "nextid" → the next peer id (uint32 BE)
//	peers           peer id (uint32 BE) → interface, public key, last counters
//	tier/<seconds>  bucket start (unix seconds, uint64 BE) → record
//
// A record lists (peer id, rx delta, tx delta) for every peer that moved
// bytes in the bucket, ids ascending and delta-encoded, all as uvarints;
// idle buckets are not stored.
package history
