package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// Results is what scripts/bench.sh writes: when and where it ran, and one
// row per metric of its table.
type Results struct {
	Date    string `json:"date"`
	Machine string `json:"machine"`
	Kernel  string `json:"kernel"`
	// TCPCC is the inner TCP's congestion control (it sets how deep a
	// queue a flow keeps, so the latency rows depend on it).
	TCPCC  string `json:"tcp_cc"`
	Cores  int    `json:"cores"`
	Rounds int    `json:"rounds"`
	// Duration and Load are the seconds of each iperf3 run and of the
	// latency-under-load upload.
	Duration float64  `json:"duration_s"`
	Load     float64  `json:"load_s"`
	Quick    bool     `json:"quick"`
	Impls    []string `json:"impls"`
	Rows     []Row    `json:"rows"`
}

// Row is one metric: each implementation's result, the first being the
// base the others' ratios are taken against.
type Row struct {
	Metric  string   `json:"metric"`
	Label   string   `json:"label"`
	Unit    string   `json:"unit"`
	Better  string   `json:"better"` // "higher" or "lower"
	Target  string   `json:"target"`
	Results []Result `json:"results"`
}

// Result is one implementation's values of a metric, round by round, their
// median and (for all but the base) the median of the per-round ratios to
// the base and whether it meets the target (nil: no target, or not measured).
type Result struct {
	Impl   string    `json:"impl"`
	Values []float64 `json:"values"`
	Median *float64  `json:"median"`
	Ratio  *float64  `json:"ratio"`
	OK     *bool     `json:"ok"`
}

// ErrInvalid is wrapped by every error about the content of the results.
var ErrInvalid = errors.New("invalid results")

// parseResults decodes and checks results: every row named and with at
// least one result, every number finite and not negative.
func parseResults(data []byte) (*Results, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Results
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if len(r.Rows) == 0 {
		return nil, fmt.Errorf("%w: no rows", ErrInvalid)
	}
	for i, row := range r.Rows {
		if row.Metric == "" {
			return nil, fmt.Errorf("%w: row %d has no metric", ErrInvalid, i)
		}
		if row.Better != "higher" && row.Better != "lower" {
			return nil, fmt.Errorf("%w: row %s: better is %q, want higher or lower", ErrInvalid, row.Metric, row.Better)
		}
		if len(row.Results) == 0 {
			return nil, fmt.Errorf("%w: row %s has no results", ErrInvalid, row.Metric)
		}
		for _, res := range row.Results {
			if res.Impl == "" {
				return nil, fmt.Errorf("%w: row %s: a result has no impl", ErrInvalid, row.Metric)
			}
			nums := append([]float64(nil), res.Values...)
			for _, p := range []*float64{res.Median, res.Ratio} {
				if p != nil {
					nums = append(nums, *p)
				}
			}
			for _, v := range nums {
				if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
					return nil, fmt.Errorf("%w: row %s, %s: value %v", ErrInvalid, row.Metric, res.Impl, v)
				}
			}
		}
	}
	return &r, nil
}
