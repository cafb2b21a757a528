package main

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func readStacks(t *testing.T, comm string) []stack {
	t.Helper()
	f, err := os.Open("testdata/perf.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := parsePerfScript(bufio.NewReader(f), comm)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParsePerfScriptFoldsStacks(t *testing.T) {
	got := readStacks(t, "warren")
	want := []string{
		"warren;runtime.goexit.abi0;github.com/warren-vpn/warren/internal/device.(*keypair).seal;golang.org/x/crypto/chacha20poly1305.(*chacha20poly1305).sealGeneric",
		"warren;runtime.goexit.abi0;syscall.Syscall6;__sys_sendmsg",
		"warren;runtime.goexit.abi0;github.com/warren-vpn/warren/internal/device.(*keypair).seal;golang.org/x/crypto/chacha20poly1305.(*chacha20poly1305).sealGeneric",
		"warren;runtime.goexit.abi0;[unknown]",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d stacks of warren, want %d: %q", len(got), len(want), got)
	}
	for i := range want {
		if s := strings.Join(got[i], ";"); s != want[i] {
			t.Errorf("stack %d = %s, want %s", i, s, want[i])
		}
	}
	all := readStacks(t, "")
	if len(all) != 5 || strings.Join(all[3], ";") != "iperf3;[/usr/lib/x86_64-linux-gnu/libc.so.6];copy_user_generic" {
		t.Errorf("without a command filter: %q", all)
	}
}

func TestParsePerfScriptRejectsFrameOutsideSample(t *testing.T) {
	_, err := parsePerfScript(bufio.NewReader(strings.NewReader("\tffff foo+0x1 (bar)\n")), "")
	if err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("err = %v, want one naming line 1", err)
	}
}

// TestFlameWidthsAreShares: a frame is as wide as its share of the samples,
// and every frame says its share in its title.
func TestFlameWidthsAreShares(t *testing.T) {
	root := buildTree(readStacks(t, "warren"))
	svg := renderFlame(root, "test")
	dec := xml.NewDecoder(bytes.NewReader(svg))
	widths := map[string]float64{}
	inTitle, title := false, ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("flame graph is not well-formed XML: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			inTitle = el.Name.Local == "title"
			if el.Name.Local == "rect" && title != "" {
				for _, a := range el.Attr {
					if a.Name.Local == "width" {
						w, _ := strconv.ParseFloat(a.Value, 64)
						widths[strings.SplitN(title, " (", 2)[0]] = w
					}
				}
				title = ""
			}
		case xml.CharData:
			if inTitle {
				title = string(el)
			}
		case xml.EndElement:
			inTitle = false
		}
	}
	full := float64(flameW - 2*flameInset)
	seal := "golang.org/x/crypto/chacha20poly1305.(*chacha20poly1305).sealGeneric"
	for name, share := range map[string]float64{"all": 1, "warren": 1, seal: 0.5, "__sys_sendmsg": 0.25} {
		if w := widths[name]; w < share*full-0.1 || w > share*full+0.1 {
			t.Errorf("%s width = %.2f, want %.2f", name, w, share*full)
		}
	}
	if !regexp.MustCompile(`sealGeneric \(2 samples, 50\.00%\)`).Match(svg) {
		t.Errorf("the seal frame's title lacks its share")
	}
}

func TestRunNoSamples(t *testing.T) {
	f, err := os.Open("testdata/perf.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := filepath.Join(t.TempDir(), "f.svg")
	if err := run(f, out, "nosuchcommand", "t", 0, io.Discard); !errors.Is(err, ErrNoSamples) {
		t.Fatalf("run = %v, want ErrNoSamples", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a graph was written without samples")
	}
}

func TestWriteTop(t *testing.T) {
	stacks := readStacks(t, "warren")
	var b bytes.Buffer
	writeTop(&b, stacks, len(stacks), 2)
	want := "top 2 by self samples (of 4):\n   50.0%  golang.org/x/crypto/chacha20poly1305.(*chacha20poly1305).sealGeneric\n   25.0%  [unknown]\n" +
		"top 2 by inclusive samples (of 4):\n  100.0%  runtime.goexit.abi0\n  100.0%  warren\n"
	if b.String() != want {
		t.Errorf("writeTop:\n%s\nwant:\n%s", b.String(), want)
	}
}

func FuzzParsePerfScript(f *testing.F) {
	seed, err := os.ReadFile("testdata/perf.txt")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, in []byte) {
		stacks, err := parsePerfScript(bufio.NewReader(bytes.NewReader(in)), "")
		if err != nil {
			return
		}
		root := buildTree(stacks)
		if root.total != len(stacks) {
			t.Fatalf("tree holds %d samples, want %d", root.total, len(stacks))
		}
		if root.total > 0 {
			parseFlameXML(t, renderFlame(root, "fuzz"))
		}
	})
}

// parseFlameXML fails t unless svg is well-formed XML.
func parseFlameXML(t *testing.T, svg []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
	}
}
