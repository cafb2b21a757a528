//go:build race

package history

// raceEnabled: the race detector slows the long simulations tenfold; they
// run shorter under it.
const raceEnabled = true
