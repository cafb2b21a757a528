package webui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/warren-vpn/warren/internal/manager"
)

// streamWriteTimeout bounds writing one event to a client.
const streamWriteTimeout = 10 * time.Second

// stream is one server-sent events response.
type stream struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// startStream begins an event stream, or answers 503 when too many are
// open. done must be called when the stream ends.
func (s *Server) startStream(w http.ResponseWriter) (st *stream, done func(), ok bool) {
	if int(s.streams.Add(1)) > s.opts.MaxStreams {
		s.streams.Add(-1)
		writeError(w, http.StatusServiceUnavailable, "too many event streams open", "busy")
		return nil, nil, false
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	st = &stream{w: w, rc: http.NewResponseController(w)}
	st.flush()
	return st, func() { s.streams.Add(-1) }, true
}

func (st *stream) flush() error {
	st.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	return st.rc.Flush()
}

// event writes one event whose data is v as JSON (one line: JSON has no
// raw newlines).
func (st *stream) event(name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	st.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	if _, err := fmt.Fprintf(st.w, "event: %s\ndata: %s\n\n", name, data); err != nil {
		return err
	}
	return st.flush()
}

func (st *stream) comment() error {
	st.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	if _, err := fmt.Fprint(st.w, ": keepalive\n\n"); err != nil {
		return err
	}
	return st.flush()
}

// stillAuthorized reports whether the stream's session or token still
// counts: a stream ends with its session (logout, expiry) or token.
func (s *Server) stillAuthorized(r *http.Request) bool {
	p := principalOf(r)
	switch {
	case p == nil:
		return false
	case p.token != nil:
		for _, t := range s.m.Accounts().Tokens() {
			if t.ID == p.token.ID {
				return true
			}
		}
		return false
	default:
		return s.sessions.alive(p.session)
	}
}

// apiEvents streams every Snapshot the sampler takes as a "stats" event.
func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	st, done, ok := s.startStream(w)
	if !ok {
		return
	}
	defer done()
	// The latest snapshot only: a slow client skips samples rather than
	// holding the sampler up.
	ch := make(chan *manager.Snapshot, 1)
	cancel := s.m.Sampler().Subscribe(manager.SubscriberFunc(func(snap *manager.Snapshot) {
		select {
		case ch <- snap:
		default:
			select {
			case <-ch:
			default:
			}
			select {
			case ch <- snap:
			default:
			}
		}
	}))
	defer cancel()
	if snap := s.m.Sampler().Latest(); snap != nil {
		if st.event("stats", s.statsJSONFor(r, snap)) != nil {
			return
		}
	}
	hb := time.NewTicker(s.opts.Heartbeat)
	defer hb.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case snap := <-ch:
			if !s.stillAuthorized(r) {
				return
			}
			err = st.event("stats", s.statsJSONFor(r, snap))
		case <-hb.C:
			if !s.stillAuthorized(r) {
				return
			}
			err = st.comment()
		}
		if err != nil {
			return
		}
	}
}

// logLineJSON is one "line" event.
type logLineJSON struct {
	Seq uint64 `json:"seq"`
	// Time is in UNIX milliseconds.
	Time int64  `json:"time"`
	Tag  string `json:"tag"`
	Text string `json:"text"`
}

func (s *Server) apiTunnelLog(w http.ResponseWriter, r *http.Request) {
	s.followLog(w, r, r.PathValue("name"))
}

func (s *Server) apiLog(w http.ResponseWriter, r *http.Request) {
	s.followLog(w, r, "")
}

// followLog streams a log as "line" events: every line it holds, then new
// ones as they come. A missing log is a 404 before the stream starts.
func (s *Server) followLog(w http.ResponseWriter, r *http.Request, tunnel string) {
	lr, err := s.m.OpenLog(tunnel)
	if err != nil {
		writeManagerError(w, err)
		return
	}
	defer lr.Close()
	st, done, ok := s.startStream(w)
	if !ok {
		return
	}
	defer done()
	poll := time.NewTicker(manager.LogPoll)
	defer poll.Stop()
	lastBeat := time.Now()
	for {
		lines, err := lr.Next()
		if err != nil {
			st.event("error", apiError{Error: err.Error(), Code: "log"})
			return
		}
		for _, l := range lines {
			if st.event("line", logLineJSON{Seq: l.Seq, Time: l.Time.UnixMilli(), Tag: l.Tag, Text: l.Text}) != nil {
				return
			}
		}
		select {
		case <-r.Context().Done():
			return
		case <-poll.C:
		}
		if time.Since(lastBeat) >= s.opts.Heartbeat {
			lastBeat = time.Now()
			if !s.stillAuthorized(r) || st.comment() != nil {
				return
			}
		}
	}
}
