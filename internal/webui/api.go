package webui

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/manager"
	"github.com/warren-vpn/warren/internal/noise"
)

// audit writes who did what from where to the manager's log.
func (s *Server) audit(r *http.Request, format string, args ...any) {
	who := "someone"
	if p := principalOf(r); p != nil {
		who = p.String()
	}
	s.m.Logf(manager.LogTagAuth, "%s from %s: "+format, append([]any{who, source(r)}, args...)...)
}

func (s *Server) apiListTunnels(w http.ResponseWriter, r *http.Request) {
	ts, err := s.m.Tunnels()
	if err != nil {
		writeManagerError(w, err)
		return
	}
	ws, err := s.m.Warnings()
	if err != nil {
		writeManagerError(w, err)
		return
	}
	out := struct {
		Tunnels  []tunnelJSON  `json:"tunnels"`
		Warnings []warningJSON `json:"warnings"`
	}{Tunnels: []tunnelJSON{}, Warnings: toWarningsJSON(ws)}
	for i := range ts {
		out.Tunnels = append(out.Tunnels, s.tunnelJSONFor(r, &ts[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiGetTunnel(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	t, err := s.m.Tunnel(name)
	if err != nil {
		writeManagerError(w, err)
		return
	}
	ws, _ := s.m.WarningsFor(name)
	writeJSON(w, http.StatusOK, struct {
		tunnelJSON
		Warnings []warningJSON `json:"warnings"`
	}{s.tunnelJSONFor(r, t), toWarningsJSON(ws)})
}

func (s *Server) apiImport(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name   string `json:"name"`
		Config string `json:"config"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	res, err := s.m.Import(req.Name, []byte(req.Config))
	if err != nil {
		writeManagerError(w, err)
		return
	}
	s.audit(r, "imported %s", req.Name)
	writeJSON(w, http.StatusCreated, struct {
		Name     string   `json:"name"`
		Warnings []string `json:"warnings"`
	}{req.Name, nonNil(res.Warnings)})
}

func (s *Server) apiGetConfig(w http.ResponseWriter, r *http.Request) {
	data, err := s.m.Config(r.PathValue("name"))
	if err != nil {
		writeManagerError(w, err)
		return
	}
	defer clear(data)
	writeJSON(w, http.StatusOK, struct {
		Config string `json:"config"`
	}{string(data)})
}

func (s *Server) apiPutConfig(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Config string `json:"config"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	name := r.PathValue("name")
	res, err := s.m.Update(context.WithoutCancel(r.Context()), name, []byte(req.Config))
	if err != nil {
		writeManagerError(w, err)
		return
	}
	s.audit(r, "edited %s", name)
	writeJSON(w, http.StatusOK, struct {
		Applied       bool     `json:"applied"`
		RestartNeeded []string `json:"restartNeeded"`
		Warnings      []string `json:"warnings"`
	}{res.Applied, nonNil(res.RestartNeeded), nonNil(res.Warnings)})
}

type actionJSON struct {
	Output   string        `json:"output"`
	Warnings []warningJSON `json:"warnings"`
	Error    string        `json:"error,omitempty"`
	Code     string        `json:"code,omitempty"`
}

func (s *Server) apiActivate(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	// A closed tab must not roll an activation back halfway.
	res, err := s.m.Activate(context.WithoutCancel(r.Context()), name)
	s.writeAction(w, r, "activated", name, res, err)
}

func (s *Server) apiDeactivate(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	res, err := s.m.Deactivate(context.WithoutCancel(r.Context()), name)
	s.writeAction(w, r, "deactivated", name, res, err)
}

// writeAction answers an activation: the tool's output comes along with
// an error, so that the UI can show why it failed.
func (s *Server) writeAction(w http.ResponseWriter, r *http.Request, verb, name string, res *manager.ActionResult, err error) {
	if err != nil && res == nil {
		writeManagerError(w, err)
		return
	}
	out := actionJSON{Output: res.Output, Warnings: toWarningsJSON(res.Warnings)}
	if err != nil {
		out.Error, out.Code = err.Error(), "activate"
		writeJSON(w, http.StatusBadGateway, out)
		return
	}
	s.audit(r, "%s %s", verb, name)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiDelete(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	out, err := s.m.Delete(context.WithoutCancel(r.Context()), name)
	if err != nil {
		writeManagerError(w, err)
		return
	}
	s.audit(r, "deleted %s", name)
	writeJSON(w, http.StatusOK, actionJSON{Output: out, Warnings: []warningJSON{}})
}

func (s *Server) apiPeerName(w http.ResponseWriter, r *http.Request) {
	var req struct {
		PublicKey string `json:"publicKey"`
		Name      string `json:"name"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	pub, err := parsePublicKey(req.PublicKey)
	if err != nil {
		writeError(w, http.StatusBadRequest, "publicKey: "+err.Error(), "bad-request")
		return
	}
	name := r.PathValue("name")
	if err := s.m.SetPeerName(name, pub, strings.TrimSpace(req.Name)); err != nil {
		writeManagerError(w, err)
		return
	}
	s.audit(r, "named peer %s of %s", pub, name)
	w.WriteHeader(http.StatusNoContent)
}

// parsePublicKey accepts a key in standard or URL-safe base64.
func parsePublicKey(s string) (noise.PublicKey, error) {
	s = strings.NewReplacer("-", "+", "_", "/").Replace(strings.TrimSpace(s))
	if len(s) == 43 {
		s += "="
	}
	if _, err := base64.StdEncoding.DecodeString(s); err != nil {
		return noise.PublicKey{}, err
	}
	k, err := conf.ParseKey(s)
	return noise.PublicKey(k), err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
