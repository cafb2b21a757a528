package selftest

import (
	"bytes"
	"context"
	"testing"
)

// runLogged runs the selftest with opts, fails t if it could not run at
// all, and logs the report.
func runLogged(ctx context.Context, t *testing.T, opts Options) *Report {
	t.Helper()
	rep, err := Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rep.WriteTo(&buf)
	t.Logf("report:\n%s", buf.String())
	return rep
}
