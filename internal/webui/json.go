package webui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/warren-vpn/warren/internal/manager"
)

// maxBody bounds a request body: a configuration and a little JSON.
const maxBody = manager.MaxConfigSize*2 + 64<<10

// apiError is the body of every error response.
type apiError struct {
	Error string `json:"error"`
	// Code is a stable word for the kind of error (see API.md).
	Code string `json:"code"`
	// Line is the configuration line an "invalid" error is on.
	Line int `json:"line,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg, code string) {
	writeJSON(w, status, apiError{Error: msg, Code: code})
}

// writeManagerError maps the manager's errors to statuses and codes.
func writeManagerError(w http.ResponseWriter, err error) {
	var ce *manager.ConfigError
	switch {
	case errors.As(err, &ce):
		writeJSON(w, http.StatusUnprocessableEntity, apiError{Error: ce.Error(), Code: "invalid", Line: ce.Line})
	case errors.Is(err, manager.ErrBadName):
		writeError(w, http.StatusBadRequest, err.Error(), "bad-name")
	case errors.Is(err, manager.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error(), "not-found")
	case errors.Is(err, manager.ErrNoLog):
		writeError(w, http.StatusNotFound, err.Error(), "no-log")
	case errors.Is(err, manager.ErrNoHistory):
		writeError(w, http.StatusNotFound, err.Error(), "no-history")
	case errors.Is(err, manager.ErrExists):
		writeError(w, http.StatusConflict, err.Error(), "exists")
	case errors.Is(err, manager.ErrReadOnly):
		writeError(w, http.StatusConflict, err.Error(), "read-only")
	case errors.Is(err, manager.ErrBusy):
		writeError(w, http.StatusConflict, err.Error(), "busy")
	case errors.Is(err, manager.ErrHooks):
		writeError(w, http.StatusForbidden, err.Error(), "hooks")
	case errors.Is(err, manager.ErrPassword):
		writeError(w, http.StatusBadRequest, err.Error(), "password")
	case errors.Is(err, manager.ErrSetup):
		writeError(w, http.StatusForbidden, err.Error(), "setup")
	case errors.Is(err, manager.ErrActivate):
		writeError(w, http.StatusBadGateway, err.Error(), "activate")
	case errors.Is(err, manager.ErrNotSupported):
		writeError(w, http.StatusNotImplemented, err.Error(), "not-supported")
	default:
		writeError(w, http.StatusInternalServerError, err.Error(), "internal")
	}
}

// readJSON decodes the request body into v: one JSON value, known fields
// only, at most maxBody bytes.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err2 := dec.Token(); err2 != io.EOF {
			err = errors.New("more than one JSON value")
		}
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", maxBody), "too-large")
			return false
		}
		writeError(w, http.StatusBadRequest, "request body: "+err.Error(), "bad-request")
		return false
	}
	return true
}
