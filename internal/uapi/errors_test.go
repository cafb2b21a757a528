package uapi

import (
	"errors"
	"fmt"
	"testing"

	"github.com/warren-vpn/warren/internal/wgtypes"
)

func TestErrorIs(t *testing.T) {
	cause := errors.New("cause")
	tests := []struct {
		name    string
		err     error
		match   []error
		nomatch []error
	}{
		{"EINVAL", &Error{Errno: errnoInvalid}, []error{ErrInvalid, wgtypes.ErrInvalidConfig}, []error{ErrIO, ErrProtocol, wgtypes.ErrPortInUse}},
		{"EADDRINUSE", &Error{Errno: errnoPortInUse}, []error{ErrPortInUse, wgtypes.ErrPortInUse}, []error{ErrInvalid}},
		{"EPROTO", &Error{Errno: errnoProtocol}, []error{ErrProtocol}, []error{ErrIO}},
		{"EIO with cause", fmt.Errorf("wrapped: %w", &Error{Errno: errnoIO, Err: cause}), []error{ErrIO, cause}, []error{ErrInvalid}},
		{"unknown errno", &Error{Errno: 12345}, nil, []error{ErrInvalid, ErrIO, ErrProtocol, ErrPortInUse}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, target := range tt.match {
				if !errors.Is(tt.err, target) {
					t.Errorf("errors.Is(%v, %v) = false", tt.err, target)
				}
			}
			for _, target := range tt.nomatch {
				if errors.Is(tt.err, target) {
					t.Errorf("errors.Is(%v, %v) = true", tt.err, target)
				}
			}
		})
	}
}

func TestApplyErrno(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int64
	}{
		{"invalid", fmt.Errorf("x: %w", wgtypes.ErrInvalidConfig), errnoInvalid},
		{"port", fmt.Errorf("x: %w", wgtypes.ErrPortInUse), errnoPortInUse},
		{"own", fmt.Errorf("x: %w", &Error{Errno: errnoProtocol}), errnoProtocol},
		{"other", errors.New("x"), errnoIO},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := applyErrno(tt.err); got != tt.want {
				t.Errorf("applyErrno = %d, want %d", got, tt.want)
			}
		})
	}
}
