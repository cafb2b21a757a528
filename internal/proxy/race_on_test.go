//go:build race

package proxy

// raceEnabled: the race detector slows the two engines and both userspace
// stacks by an order of magnitude, so bulk transfers are made smaller.
const raceEnabled = true
