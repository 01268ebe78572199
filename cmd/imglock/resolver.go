package main

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/imglock/imglock/internal/config"
	"github.com/imglock/imglock/internal/resolve"
	"github.com/imglock/imglock/internal/version"
)

// newResolver builds the registry resolver from the settings (the
// machine-wide file's under the repository's) and the flags.
func newResolver(c *cli.Context, cfg *config.Config) (resolve.Resolver, error) {
	opts := []resolve.Option{resolve.WithUserAgent(version.UserAgent())}
	if cfg.Concurrency > 0 {
		opts = append(opts, resolve.WithConcurrency(cfg.Concurrency))
	}
	for host, r := range cfg.Registries {
		opts = append(opts, resolve.WithRegistry(host, resolve.RegistryOptions{
			Insecure: r.Insecure, Mirror: r.Mirror, MirrorOnly: !r.Fallback, Concurrency: r.Concurrency, CAFile: r.CA,
		}))
	}
	if c.Bool(flagDebug) {
		opts = append(opts, resolve.WithLog(c.App.ErrWriter))
	}
	// Warnings and the progress line share stderr: one writes at a time,
	// and a warning clears the line first.
	var mu sync.Mutex
	terminal := !c.Bool(flagQuiet) && isTerminal(c.App.ErrWriter)
	opts = append(opts, resolve.WithWarnings(func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		if terminal {
			fmt.Fprint(c.App.ErrWriter, "\r\033[K")
		}
		fmt.Fprintln(c.App.ErrWriter, "warning: "+msg)
	}))
	if terminal {
		progress := progressPrinter(c.App.ErrWriter)
		opts = append(opts, resolve.WithProgress(func(done, total int) {
			mu.Lock()
			defer mu.Unlock()
			progress(done, total)
		}))
	}
	return resolve.New(opts...)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressPrinter redraws one status line; it clears it when done.
func progressPrinter(w io.Writer) func(done, total int) {
	return func(done, total int) {
		if done == total {
			fmt.Fprint(w, "\r\033[K")
			return
		}
		fmt.Fprintf(w, "\rresolving %d/%d", done, total)
	}
}
