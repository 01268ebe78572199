package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/imglock/imglock/internal/resolve"
)

// timeout is the deadline for a run's network work.
func (w *workspace) timeout(c *cli.Context) time.Duration {
	switch {
	case c.IsSet(flagTimeout):
		return c.Duration(flagTimeout)
	case w.cfg.Timeout > 0:
		return w.cfg.Timeout
	}
	return defaultTimeout
}

// networkContext is the context of a run's network work, with its deadline.
func (w *workspace) networkContext(c *cli.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Context, w.timeout(c))
}

// explainTimeout adds to err, when the deadline ended it, which setting to
// raise.
func (w *workspace) explainTimeout(c *cli.Context, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w\ngave up after %s (--timeout, or timeout in imglock.toml)", err, w.timeout(c))
	}
	return err
}

// resolverFactory builds the registry resolver from imglock.toml and the
// flags, when (and only when) a command needs one.
func (w *workspace) resolverFactory(c *cli.Context) func() (resolve.Resolver, error) {
	return func() (resolve.Resolver, error) {
		opts := []resolve.Option{}
		if w.cfg.Concurrency > 0 {
			opts = append(opts, resolve.WithConcurrency(w.cfg.Concurrency))
		}
		for host, r := range w.cfg.Registries {
			opts = append(opts, resolve.WithRegistry(host, resolve.RegistryOptions{
				Insecure: r.Insecure, Mirror: r.Mirror, Concurrency: r.Concurrency, CAFile: r.CA,
			}))
		}
		if c.Bool(flagDebug) {
			opts = append(opts, resolve.WithLog(c.App.ErrWriter))
		}
		if !c.Bool(flagQuiet) && isTerminal(c.App.ErrWriter) {
			opts = append(opts, resolve.WithProgress(progressPrinter(c.App.ErrWriter)))
		}
		return resolve.New(opts...)
	}
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
