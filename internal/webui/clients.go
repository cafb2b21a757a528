package webui

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/manager"
	"github.com/warren-vpn/warren/internal/noise"
)

// The clients of a tunnel that listens: its client settings, adding a
// client (its configuration shown once, as text in the answer and behind
// one-time links for its QR code and a download), enabling, disabling and
// deleting clients. The manager does the work; API.md documents the API.

// clientRoutes registers the clients' pages and API.
func (s *Server) clientRoutes(mux *http.ServeMux) {
	mux.Handle("GET /tunnels/{name}/clients", s.pageAuth(s.pageClients))
	mux.Handle("GET /api/tunnels/{name}/clients", s.apiAuth(s.apiListClients))
	mux.Handle("POST /api/tunnels/{name}/clients", s.apiAuth(s.apiAddClient))
	mux.Handle("PUT /api/tunnels/{name}/client-settings", s.apiAuth(s.apiClientSettings))
	mux.Handle("POST /api/tunnels/{name}/clients/{key}/disable", s.apiAuth(s.apiDisableClient))
	mux.Handle("POST /api/tunnels/{name}/clients/{key}/enable", s.apiAuth(s.apiEnableClient))
	mux.Handle("DELETE /api/tunnels/{name}/clients/{key}", s.apiAuth(s.apiDeleteClient))
	// A one-time link is its own credential: it works without a session,
	// once, for oneTimeTTL.
	mux.HandleFunc("GET /api/once/{token}", s.apiOnce)
}

type clientSettingsJSON struct {
	EndpointHost        string   `json:"endpointHost"`
	EndpointPort        uint16   `json:"endpointPort"`
	DNS                 []string `json:"dns"`
	AllowedIPs          []string `json:"allowedIPs"`
	PersistentKeepalive uint16   `json:"persistentKeepalive"`
}

type clientJSON struct {
	// ID is the public key in URL-safe base64, for paths.
	ID              string   `json:"id"`
	PublicKey       string   `json:"publicKey"`
	Name            string   `json:"name"`
	Addresses       []string `json:"addresses"`
	Created         int64    `json:"created"`
	Expires         int64    `json:"expires"`
	Disabled        bool     `json:"disabled"`
	DisabledAt      int64    `json:"disabledAt,omitempty"`
	DisabledReason  string   `json:"disabledReason,omitempty"`
	Running         bool     `json:"running"`
	LatestHandshake int64    `json:"latestHandshake"`
	RxBytes         uint64   `json:"rxBytes"`
	TxBytes         uint64   `json:"txBytes"`
}

func clientID(pub noise.PublicKey) string { return base64.URLEncoding.EncodeToString(pub[:]) }

func toClientJSON(c *manager.Client) clientJSON {
	out := clientJSON{
		ID: clientID(c.PublicKey), PublicKey: c.PublicKey.String(), Name: c.Name, Addresses: []string{},
		Created: unix(c.Created), Expires: unix(c.Expires), Disabled: c.Disabled, DisabledAt: unix(c.DisabledAt),
		DisabledReason: c.DisabledReason, Running: c.Running, LatestHandshake: unix(c.LastHandshake),
		RxBytes: c.RxBytes, TxBytes: c.TxBytes,
	}
	for _, a := range c.Addresses {
		out.Addresses = append(out.Addresses, conf.FormatPrefix(a))
	}
	return out
}

func toSettingsJSON(s manager.ClientSettings) clientSettingsJSON {
	out := clientSettingsJSON{EndpointHost: s.EndpointHost, EndpointPort: s.EndpointPort, DNS: []string{}, AllowedIPs: []string{},
		PersistentKeepalive: s.PersistentKeepalive}
	for _, a := range s.DNS {
		out.DNS = append(out.DNS, conf.FormatAddr(a))
	}
	for _, p := range s.AllowedIPs {
		out.AllowedIPs = append(out.AllowedIPs, conf.FormatPrefix(p))
	}
	return out
}

// fromSettingsJSON parses the settings' addresses; an error names the
// field and the value.
func fromSettingsJSON(j clientSettingsJSON) (manager.ClientSettings, error) {
	s := manager.ClientSettings{EndpointHost: strings.TrimSpace(j.EndpointHost), EndpointPort: j.EndpointPort, PersistentKeepalive: j.PersistentKeepalive}
	for _, d := range j.DNS {
		a, err := netip.ParseAddr(strings.TrimSpace(d))
		if err != nil {
			return s, fmt.Errorf("%w: dns: %q is not an IP address", manager.ErrClientSettings, d)
		}
		s.DNS = append(s.DNS, a)
	}
	for _, p := range j.AllowedIPs {
		pfx, err := conf.ParseAllowedIPs(strings.TrimSpace(p), nil)
		if err != nil || len(pfx) != 1 {
			return s, fmt.Errorf("%w: allowedIPs: %q is not a prefix", manager.ErrClientSettings, p)
		}
		s.AllowedIPs = append(s.AllowedIPs, pfx[0])
	}
	return s, nil
}

// writeClientError maps the client operations' errors, then the
// manager's others.
func writeClientError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, manager.ErrClientName):
		writeError(w, http.StatusBadRequest, err.Error(), "bad-client-name")
	case errors.Is(err, manager.ErrExpiry):
		writeError(w, http.StatusBadRequest, err.Error(), "bad-expiry")
	case errors.Is(err, manager.ErrClientSettings):
		writeError(w, http.StatusBadRequest, err.Error(), "bad-settings")
	case errors.Is(err, manager.ErrNoEndpoint):
		writeError(w, http.StatusConflict, err.Error(), "no-endpoint")
	case errors.Is(err, manager.ErrNotListening):
		writeError(w, http.StatusConflict, err.Error(), "not-listening")
	case errors.Is(err, manager.ErrNoSubnet):
		writeError(w, http.StatusConflict, err.Error(), "no-subnet")
	case errors.Is(err, manager.ErrSubnetFull):
		writeError(w, http.StatusConflict, err.Error(), "subnet-full")
	case errors.Is(err, manager.ErrAddressTaken):
		writeError(w, http.StatusConflict, err.Error(), "address-taken")
	default:
		writeManagerError(w, err)
	}
}

// clientKey parses the {key} of a client's path.
func clientKey(w http.ResponseWriter, r *http.Request) (noise.PublicKey, bool) {
	pub, err := parsePublicKey(r.PathValue("key"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "client key: not a public key", "bad-request")
		return pub, false
	}
	return pub, true
}

// expiryFrom turns the API's expiry (UNIX seconds, 0 for never) into a
// time.
func expiryFrom(secs int64) time.Time {
	if secs == 0 {
		return time.Time{}
	}
	return time.Unix(secs, 0).UTC()
}

func (s *Server) apiListClients(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	settings, err := s.m.ClientSettings(name)
	if err != nil {
		writeClientError(w, err)
		return
	}
	cs, err := s.m.Clients(name)
	if err != nil {
		writeClientError(w, err)
		return
	}
	out := struct {
		Settings clientSettingsJSON `json:"settings"`
		Clients  []clientJSON       `json:"clients"`
	}{toSettingsJSON(settings), []clientJSON{}}
	for i := range cs {
		out.Clients = append(out.Clients, toClientJSON(&cs[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiClientSettings(w http.ResponseWriter, r *http.Request) {
	var req clientSettingsJSON
	if !readJSON(w, r, &req) {
		return
	}
	name := r.PathValue("name")
	settings, err := fromSettingsJSON(req)
	if err == nil {
		err = s.m.SetClientSettings(name, settings)
	}
	if err != nil {
		writeClientError(w, err)
		return
	}
	s.audit(r, "changed the client settings of %s", name)
	settings, _ = s.m.ClientSettings(name)
	writeJSON(w, http.StatusOK, toSettingsJSON(settings))
}

// addedClientJSON answers an add: the configuration, this once.
type addedClientJSON struct {
	Client   clientJSON `json:"client"`
	Config   string     `json:"config"`
	FileName string     `json:"fileName"`
	// ConfigLink and QRLink are one-time links (paths on this server).
	ConfigLink  string `json:"configLink"`
	QRLink      string `json:"qrLink"`
	LinkExpires int64  `json:"linkExpires"`
}

func (s *Server) apiAddClient(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name    string `json:"name"`
		Expires int64  `json:"expires"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	name := r.PathValue("name")
	c, cfg, err := s.m.AddClient(context.WithoutCancel(r.Context()), name, manager.NewClient{Name: req.Name, Expires: expiryFrom(req.Expires)})
	if err != nil {
		writeClientError(w, err)
		return
	}
	defer cfg.Zero()
	entry := oneTimeEntry{data: cfg.Text, fileName: cfg.FileName, tunnel: name, client: c.PublicKey}
	entry.kind = linkConfig
	cfgToken, expires, err := s.links.put(entry)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "one-time link: "+err.Error(), "internal")
		return
	}
	entry.kind = linkQR
	qrToken, _, err := s.links.put(entry)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "one-time link: "+err.Error(), "internal")
		return
	}
	s.audit(r, "added client %q (%s) to %s", c.Name, c.PublicKey, name)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, addedClientJSON{
		Client: toClientJSON(c), Config: string(cfg.Text), FileName: cfg.FileName,
		ConfigLink: "/api/once/" + cfgToken, QRLink: "/api/once/" + qrToken + ".png", LinkExpires: expires.Unix(),
	})
}

func (s *Server) apiDisableClient(w http.ResponseWriter, r *http.Request) {
	pub, ok := clientKey(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	c, err := s.m.DisableClient(context.WithoutCancel(r.Context()), name, pub)
	if err != nil {
		writeClientError(w, err)
		return
	}
	s.audit(r, "disabled client %s of %s", pub, name)
	writeJSON(w, http.StatusOK, toClientJSON(c))
}

func (s *Server) apiEnableClient(w http.ResponseWriter, r *http.Request) {
	pub, ok := clientKey(w, r)
	if !ok {
		return
	}
	var req struct {
		Expires int64 `json:"expires"`
	}
	if r.ContentLength != 0 && !readJSON(w, r, &req) {
		return
	}
	name := r.PathValue("name")
	c, err := s.m.EnableClient(context.WithoutCancel(r.Context()), name, pub, expiryFrom(req.Expires))
	if err != nil {
		writeClientError(w, err)
		return
	}
	s.audit(r, "enabled client %s of %s", pub, name)
	writeJSON(w, http.StatusOK, toClientJSON(c))
}

func (s *Server) apiDeleteClient(w http.ResponseWriter, r *http.Request) {
	pub, ok := clientKey(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	err := s.m.DeleteClient(context.WithoutCancel(r.Context()), name, pub)
	s.links.dropClient(name, pub)
	if err != nil {
		writeClientError(w, err)
		return
	}
	s.audit(r, "deleted client %s of %s", pub, name)
	w.WriteHeader(http.StatusNoContent)
}

// apiOnce serves a one-time link: the configuration as a file, or its QR
// code, once, never cached. Anything else is a 404 that says nothing of
// why (never given, used, expired).
func (s *Server) apiOnce(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	kind, raw := linkConfig, token
	if t, ok := strings.CutSuffix(token, ".png"); ok {
		kind, raw = linkQR, t
	}
	e, ok := s.links.take(raw, kind)
	if !ok {
		writeError(w, http.StatusNotFound, "this link was used, has expired, or never existed", "not-found")
		return
	}
	defer clear(e.data)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	switch kind {
	case linkQR:
		png, err := qrPNG(e.data)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error(), "internal")
			return
		}
		defer clear(png)
		h.Set("Content-Type", "image/png")
		h.Set("Content-Length", strconv.Itoa(len(png)))
		w.WriteHeader(http.StatusOK)
		w.Write(png)
	default:
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": e.fileName}))
		h.Set("Content-Length", strconv.Itoa(len(e.data)))
		w.WriteHeader(http.StatusOK)
		w.Write(e.data)
	}
	s.m.Logf(manager.LogTagAuth, "one-time %s link of client %s of %s used from %s", kind, e.client, e.tunnel, source(r))
}
