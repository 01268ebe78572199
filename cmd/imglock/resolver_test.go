package main

import (
	"bytes"
	"os"
	"testing"
)

func TestProgressPrinter(t *testing.T) {
	var buf bytes.Buffer
	p := progressPrinter(&buf)
	p(1, 3)
	p(2, 3)
	p(3, 3)
	if got, want := buf.String(), "\rresolving 1/3\rresolving 2/3\r\033[K"; got != want {
		t.Errorf("progress output %q, want %q", got, want)
	}
}

func TestProgressOnlyOnTerminals(t *testing.T) {
	if isTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is taken for a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("a regular file is taken for a terminal")
	}
}
