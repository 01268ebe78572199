package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/imglock/imglock/internal/config"
	"github.com/imglock/imglock/internal/resolve"
)

func configCommand() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "print the registry settings in effect and where each comes from",
		Description: `Prints the settings imglock talks to registries with (timeout, concurrency,
and each registry's mirror, fallback, insecure, ca and concurrency), merged
from the machine-wide file ($XDG_CONFIG_HOME/imglock/config.toml, by
default ~/.config/imglock/config.toml) and the repository's imglock.toml,
which wins key by key; each with the FILE:LINE that set it, or "default".
Offline.

Example:
   $ imglock config
   [registries."docker.io"]
   mirror = "harbor.example.com/dockerhub"  # /home/me/.config/imglock/config.toml:2
   fallback = false                          # imglock.toml:5`,
		Flags: []cli.Flag{&cli.BoolFlag{Name: flagJSON, Usage: "print the settings as JSON"}},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return fmt.Errorf("config takes no arguments")
			}
			repoPath := c.String(flagConfig)
			if !filepath.IsAbs(repoPath) {
				repoPath = filepath.Join(c.String(flagChdir), repoPath)
			}
			if c.IsSet(flagConfig) {
				if _, err := os.Stat(repoPath); err != nil {
					return err
				}
			}
			repo, err := config.Load(repoPath)
			if err != nil {
				return err
			}
			machinePath := config.MachinePath()
			machine, err := config.LoadMachine(machinePath)
			if err != nil {
				return err
			}
			e := effectiveSettings(repoPath, machinePath, repo, machine)
			if c.Bool(flagJSON) {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(e)
			}
			e.print(c.App.Writer)
			return nil
		},
	}
}

// setting is one value in effect and where it was set: FILE[:LINE], or
// "default".
type setting struct {
	Value any    `json:"value"`
	From  string `json:"from"`
}

type configFile struct {
	Path  string `json:"path"`
	Found bool   `json:"found"`
}

type effective struct {
	Repository  configFile                    `json:"repository"`
	Machine     configFile                    `json:"machine"`
	Timeout     setting                       `json:"timeout"`
	Concurrency setting                       `json:"concurrency"`
	Registries  map[string]map[string]setting `json:"registries"`
}

// registryKeys are a registry's settings, in the order they print.
var registryKeys = []string{"mirror", "fallback", "insecure", "ca", "concurrency"}

func effectiveSettings(repoPath, machinePath string, repo, machine *config.Config) effective {
	e := effective{
		Repository:  configFile{repoPath, exists(repoPath)},
		Machine:     configFile{machinePath, machinePath != "" && exists(machinePath)},
		Timeout:     setting{defaultTimeout.String(), "default"},
		Concurrency: setting{resolve.DefaultConcurrency, "default"},
		Registries:  map[string]map[string]setting{},
	}
	// The repository's file wins, key by key (config.Merge).
	for _, f := range []*config.Config{machine, repo} {
		if f.Timeout > 0 {
			e.Timeout = setting{f.Timeout.String(), f.File}
		}
		if f.Concurrency > 0 {
			e.Concurrency = setting{f.Concurrency, f.File}
		}
	}
	merged := config.Merge(machine, repo)
	for host, r := range merged.Registries {
		values := map[string]any{"mirror": r.Mirror, "fallback": r.Fallback, "insecure": r.Insecure, "ca": r.CA, "concurrency": r.Concurrency}
		s := map[string]setting{}
		for _, k := range registryKeys {
			from, ok := r.Source[k]
			if !ok {
				from = "default"
			}
			s[k] = setting{values[k], from}
		}
		if r.Source["concurrency"] == "" {
			s["concurrency"] = setting{e.Concurrency.Value, "concurrency above"}
		}
		e.Registries[host] = s
	}
	return e
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

func (e effective) print(w io.Writer) {
	found := func(f configFile) string {
		switch {
		case f.Path == "":
			return "(no home directory)"
		case !f.Found:
			return f.Path + " (none)"
		}
		return f.Path
	}
	fmt.Fprintf(w, "# repository:   %s\n# machine-wide: %s\n", found(e.Repository), found(e.Machine))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(key string, s setting) {
		fmt.Fprintf(tw, "%s = %s\t# %s\n", key, tomlValue(s.Value), s.From)
	}
	line("timeout", e.Timeout)
	line("concurrency", e.Concurrency)
	tw.Flush()
	hosts := make([]string, 0, len(e.Registries))
	for h := range e.Registries {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	if len(hosts) == 0 {
		fmt.Fprintln(w, "\n# no [registries] settings: each registry is asked directly, over HTTPS (plain HTTP on loopback)")
	}
	for _, h := range hosts {
		fmt.Fprintf(w, "\n[registries.%s]\n", tomlValue(h))
		for _, k := range registryKeys {
			line(k, e.Registries[h][k])
		}
		tw.Flush()
	}
}

// tomlValue writes a value as TOML does: strings quoted (hosts and paths,
// which need no escapes TOML lacks), the rest as they are.
func tomlValue(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}
