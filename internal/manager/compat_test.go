package manager_test

import (
	"net/netip"
	"runtime"

	"github.com/warren-vpn/warren/internal/ringlog"
)

type ringlogLine = ringlog.Line

func runtimeGosched() { runtime.Gosched() }

type netipPrefix = netip.Prefix

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
