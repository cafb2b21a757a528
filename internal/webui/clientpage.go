package webui

import (
	"net/http"
	"strings"
	"time"

	"github.com/warren-vpn/warren/internal/conf"
	"github.com/warren-vpn/warren/internal/manager"
)

// clientView is a client with what the clients page shows precomputed.
type clientView struct {
	manager.Client
	ID, Key string
}

// pageClients shows a tunnel's clients, the form that adds one (whose
// answer assets/clients.js shows once), and the tunnel's client settings.
func (s *Server) pageClients(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	t, err := s.m.Tunnel(name)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	settings, err := s.m.ClientSettings(name)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	cs, err := s.m.Clients(name)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	views := make([]clientView, len(cs))
	for i, c := range cs {
		views[i] = clientView{Client: c, ID: clientID(c.PublicKey), Key: c.PublicKey.String()}
	}
	sj := toSettingsJSON(settings)
	s.render(w, r, http.StatusOK, "clients", page{Title: "Clients of " + name, Nav: "tunnels", Data: struct {
		Tunnel     string
		ListenPort uint16
		Addresses  string
		Settings   clientSettingsJSON
		DNS        string
		AllowedIPs string
		Clients    []clientView
		Now        time.Time
	}{name, t.ListenPort, joinAddrs(t), sj, strings.Join(sj.DNS, ", "), strings.Join(sj.AllowedIPs, ", "), views, s.now()}})
}

func joinAddrs(t *manager.Tunnel) string {
	parts := make([]string, len(t.Addresses))
	for i, a := range t.Addresses {
		parts[i] = conf.FormatPrefix(a)
	}
	return strings.Join(parts, ", ")
}
