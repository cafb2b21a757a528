// Package noise implements WireGuard's Noise_IKpsk2 handshake (whitepaper §5.4),
// the MAC1/MAC2 fields and cookie replies (§5.4.4, §5.4.7), and the key types.
//
// It is pure code: no system calls, no clock reads, no global state. The
// current time and the source of randomness are parameters, so transcripts are
// reproducible in tests. It imports only internal/wire of this module.
package noise
