package uapi

import (
	"errors"
	"testing"
)

func TestValidName(t *testing.T) {
	tests := []struct {
		name  string
		valid bool
	}{
		{"wg0", true},
		{"a", true},
		{"fifteen-chars-1", true},
		{"wg.home_1-x", true},
		{"sixteen-chars-12", false},
		{"", false},
		{".", false},
		{"..", false},
		{"...", true},
		{"a/b", false},
		{"a:1", false},
		{"a b", false},
		{"a\tb", false},
		{"a\nb", false},
		{"a\x00", false},
		{"-x", false},
		{"--help", false},
		{"a-", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidName(tt.name)
			if (err == nil) != tt.valid {
				t.Errorf("ValidName(%q) = %v, want valid=%v", tt.name, err, tt.valid)
			}
			if err != nil && !errors.Is(err, ErrInvalidName) {
				t.Errorf("error %v does not match ErrInvalidName", err)
			}
		})
	}
}
