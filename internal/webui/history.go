package webui

import (
	"net/http"

	"github.com/warren-vpn/warren/internal/manager"
	"github.com/warren-vpn/warren/internal/noise"
)

type historyJSON struct {
	Range string `json:"range"`
	// Resolution is each point's width in seconds.
	Resolution int64              `json:"resolution"`
	Points     []historyPointJSON `json:"points"`
	RxBytes    uint64             `json:"rxBytes"`
	TxBytes    uint64             `json:"txBytes"`
}

type historyPointJSON struct {
	// Start is the bucket's start, UNIX seconds.
	Start   int64   `json:"start"`
	RxBytes uint64  `json:"rxBytes"`
	TxBytes uint64  `json:"txBytes"`
	RxRate  float64 `json:"rxRate"`
	TxRate  float64 `json:"txRate"`
}

// apiHistory answers a tunnel's (or with ?peer=KEY one peer's) traffic
// over ?range=hour|day|month from the history that survives restarts.
func (s *Server) apiHistory(w http.ResponseWriter, r *http.Request) {
	rng := r.URL.Query().Get("range")
	if rng == "" {
		rng = "hour"
	}
	span, ok := manager.HistoryRanges[rng]
	if !ok {
		writeError(w, http.StatusBadRequest, "range: want hour, day or month", "bad-request")
		return
	}
	var peer *noise.PublicKey
	if k := r.URL.Query().Get("peer"); k != "" {
		if isOperator(r) {
			// Operators know peers by opaque IDs, not keys.
			adminOnly(w)
			return
		}
		pub, err := parsePublicKey(k)
		if err != nil {
			writeError(w, http.StatusBadRequest, "peer: "+err.Error(), "bad-request")
			return
		}
		peer = &pub
	}
	series, err := s.m.History(r.PathValue("name"), peer, span)
	if err != nil {
		writeManagerError(w, err)
		return
	}
	out := historyJSON{Range: rng, Resolution: int64(series.Resolution.Seconds()), Points: []historyPointJSON{},
		RxBytes: series.RxBytes, TxBytes: series.TxBytes}
	for _, p := range series.Points {
		out.Points = append(out.Points, historyPointJSON{Start: p.Start.Unix(), RxBytes: p.RxBytes, TxBytes: p.TxBytes, RxRate: p.RxRate, TxRate: p.TxRate})
	}
	writeJSON(w, http.StatusOK, out)
}
