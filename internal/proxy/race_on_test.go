//go:build race

package proxy

// raceEnabled: the race detector roughly doubles what each allocation
// costs, so heap bounds in tests double.
const raceEnabled = true
