package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/testing/faultproxy"
	"github.com/imglock/imglock/internal/testing/registry"
	"github.com/imglock/imglock/lock"
)

// safetyCmd is the imglock binary (testscript.Main puts it on PATH) run in
// dir with no Docker credentials from the machine.
func safetyCmd(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "imglock", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+filepath.Join(dir, ".docker"), "GITHUB_ACTIONS=")
	return cmd
}

func safetyRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := safetyCmd(ctx, dir, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("imglock %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// tempFiles returns the lock's temp files in dir, with their sizes.
func tempFiles(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, e := range ents {
		if lock.IsTempName(e.Name(), "images.lock") {
			fi, err := e.Info()
			if err != nil {
				continue // removed as we looked
			}
			out[e.Name()] = fi.Size()
		}
	}
	return out
}

// checkLock asserts data is a canonical lock of exactly want (repo tag ->
// digest).
func checkLock(t *testing.T, data []byte, want map[[2]string]string) {
	t.Helper()
	f, err := lock.Parse("images.lock", data)
	if err != nil {
		t.Fatalf("the lock does not parse: %v", err)
	}
	if !f.Canonical(data) {
		t.Errorf("the lock is not canonical")
	}
	got := map[[2]string]string{}
	for _, e := range f.Entries() {
		if e.Platform != "" {
			t.Errorf("unexpected platform line %s", e)
		}
		got[[2]string{e.Repo, e.Tag}] = e.Digest
	}
	if len(got) != len(want) {
		t.Errorf("the lock has %d entries, want %d", len(got), len(want))
	}
	for k, d := range want {
		if got[k] != d {
			t.Errorf("%s %s: locked %q, want %s", k[0], k[1], got[k], d)
		}
	}
}

// crashTree is one generation of a large tree: crashTags tags over
// crashFiles Dockerfiles, each reference written with a digest so that lock
// seeds the file with no request. Two generations differ in every digest,
// so going from one to the other rewrites every line of the lock.
type crashTree struct {
	files map[string]string
	want  map[[2]string]string
}

const (
	crashTags  = 5000
	crashFiles = 50
	crashKills = 200
)

func newCrashTree(gen string) crashTree {
	tr := crashTree{files: map[string]string{}, want: map[[2]string]string{}}
	per := crashTags / crashFiles
	for f := range crashFiles {
		var b strings.Builder
		b.WriteString("FROM scratch\n") // each COPY --from pulls its image
		for i := f * per; i < (f+1)*per; i++ {
			repo := fmt.Sprintf("acme/img%d", i%10)
			tag := strconv.Itoa(i)
			d := faultproxy.Digest([]byte(gen + " " + tag))
			fmt.Fprintf(&b, "COPY --from=%s:%s@%s / /\n", repo, tag, d)
			tr.want[[2]string{"docker.io/" + repo, tag}] = d
		}
		tr.files[fmt.Sprintf("svc/%02d/Dockerfile", f)] = b.String()
	}
	return tr
}

func (tr crashTree) write(t *testing.T, dir string) {
	t.Helper()
	for name, content := range tr.files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// hasNewTemp reports whether dir holds a temp file of the lock not in stale.
func hasNewTemp(dir string, stale map[string]int64) bool {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if _, ok := stale[e.Name()]; !ok && lock.IsTempName(e.Name(), "images.lock") {
			return true
		}
	}
	return false
}

// timedLock runs imglock lock to completion and returns how long the
// process took, start to exit.
func timedLock(t *testing.T, dir string) time.Duration {
	t.Helper()
	start := time.Now()
	safetyRun(t, dir, "lock")
	return time.Since(start)
}

// TestCrashMidWriteLeavesOldOrNew kills imglock lock with SIGKILL at random
// points while it rewrites a 5,000-line lock, crashKills times. After each
// kill the file on disk is, byte for byte, the lock before the run or the
// lock after it, never a mix; temp files a killed run left are removed by
// the next complete run.
func TestCrashMidWriteLeavesOldOrNew(t *testing.T) {
	dir := t.TempDir()
	lockPath := filepath.Join(dir, "images.lock")
	trees := [2]crashTree{newCrashTree("old"), newCrashTree("new")}

	// Both locks, from complete runs, and how long a run takes: with a
	// write (the tree changed) and without (up to date), which is about
	// when the write starts.
	var locks [2][]byte
	var writeRuns, readRuns []time.Duration
	for i := range 6 {
		g := i % 2
		trees[g].write(t, dir)
		writeRuns = append(writeRuns, timedLock(t, dir))
		data, err := os.ReadFile(lockPath)
		if err != nil {
			t.Fatal(err)
		}
		if locks[g] == nil {
			checkLock(t, data, trees[g].want)
			locks[g] = data
		} else if !bytes.Equal(locks[g], data) {
			t.Fatalf("two complete runs on one tree wrote different locks")
		}
		if i >= 3 {
			readRuns = append(readRuns, timedLock(t, dir))
		}
	}
	oldLines, newLines := bytes.Split(locks[0], []byte("\n")), bytes.Split(locks[1], []byte("\n"))
	for i := range len(oldLines) - 1 {
		if bytes.Equal(oldLines[i], newLines[i]) {
			t.Fatalf("line %d is the same in both locks: %s", i+1, oldLines[i])
		}
	}
	sorted := func(d []time.Duration) []time.Duration { d = slices.Clone(d); slices.Sort(d); return d }
	t.Logf("lock of %d bytes, %d lines; complete runs with a write: %v; up to date: %v",
		len(locks[0]), crashTags, sorted(writeRuns), sorted(readRuns))

	const (
		before    = "killed before the write (no temp file)"
		created   = "killed during the write (temp file empty)"
		midWrite  = "killed during the write (temp file partly written)"
		preRename = "killed during the write (temp file full, not renamed)"
		after     = "killed after the rename"
		finished  = "finished before the kill"
	)
	// aim follows when the write happens: it starts where an up-to-date
	// run ends and moves later after an aimed kill that landed before the
	// write, earlier after one that landed after it.
	aim := sorted(readRuns)[len(readRuns)/2]
	const aimStep, aimSpread = 2 * time.Millisecond, 8 * time.Millisecond
	counts := map[string]int{}
	onDisk := 1 // the last calibration run wrote the new lock
	target := onDisk
	for i := range crashKills {
		target = 1 - onDisk
		trees[target].write(t, dir)
		stale := tempFiles(t, dir)

		// A third of the kills land anywhere in a run (or just after it), a
		// third within a few milliseconds of aim, and a third under 2ms after
		// the temp file appears.
		kind := i % 3
		run := writeRuns[rand.IntN(len(writeRuns))]
		delay := rand.N(run + run/10)
		if kind == 1 {
			delay = max(aim-aimSpread/2+rand.N(aimSpread), 0)
		}

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := safetyCmd(ctx, dir, "lock")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		exited := false
		if kind == 2 {
			tick := time.NewTicker(100 * time.Microsecond)
			for !exited && !hasNewTemp(dir, stale) {
				select {
				case err = <-done:
					exited = true
				case <-tick.C:
				}
			}
			tick.Stop()
			if !exited {
				time.Sleep(rand.N(2 * time.Millisecond))
			}
		} else {
			time.Sleep(delay)
		}
		if !exited {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
				t.Fatal(err)
			}
			err = <-done
		}
		delay = time.Since(start)
		cancel()
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ws.Signaled() && err != nil {
			t.Fatalf("kill %d: imglock lock failed on its own: %v\n%s", i, err, stderr.String())
		}

		data, err := os.ReadFile(lockPath)
		if err != nil {
			t.Fatalf("kill %d (after %v): reading the lock: %v", i, delay, err)
		}
		var fresh []int64
		for name, size := range tempFiles(t, dir) {
			if _, ok := stale[name]; !ok {
				fresh = append(fresh, size)
			}
		}
		var outcome string
		switch {
		case bytes.Equal(data, locks[onDisk]):
			switch {
			case !ws.Signaled():
				t.Fatalf("kill %d: imglock lock exited 0 and left the old lock", i)
			case len(fresh) == 0:
				outcome = before
			case len(fresh) == 1 && fresh[0] == 0:
				outcome = created
			case len(fresh) == 1 && fresh[0] < int64(len(locks[target])):
				outcome = midWrite
			case len(fresh) == 1:
				outcome = preRename
			default:
				t.Fatalf("kill %d: %d new temp files", i, len(fresh))
			}
		case bytes.Equal(data, locks[target]):
			outcome = after
			if !ws.Signaled() {
				outcome = finished
			}
			onDisk = target
		default:
			t.Fatalf("kill %d (after %v): the lock on disk (%d bytes) is neither the old (%d) nor the new (%d) one",
				i, delay, len(data), len(locks[onDisk]), len(locks[target]))
		}
		counts[outcome]++
		if kind == 1 {
			switch outcome {
			case before:
				aim += aimStep
			case after, finished:
				aim = max(aim-aimStep, 0)
			}
		}
	}

	// A complete run cleans up after every killed one.
	left := len(tempFiles(t, dir))
	safetyRun(t, dir, "lock")
	if tmp := tempFiles(t, dir); len(tmp) != 0 {
		t.Errorf("temp files left after a complete run: %v", tmp)
	}
	data, err := os.ReadFile(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, locks[target]) {
		t.Errorf("after a complete run the lock is not the tree's")
	}
	safetyRun(t, dir, "verify")

	var b strings.Builder
	fmt.Fprintf(&b, "%d kills of imglock lock rewriting a %d-line lock (a third at random, a third aimed, ending at %v, a third on the temp file):\n", crashKills, crashTags, aim)
	for _, k := range []string{before, created, midWrite, preRename, after, finished} {
		fmt.Fprintf(&b, "  %-58s %4d\n", k, counts[k])
	}
	fmt.Fprintf(&b, "  %-58s %4d\n", "lock neither old nor new (corrupt)", 0)
	fmt.Fprintf(&b, "  %-58s %4d\n", "temp files killed runs left", counts[created]+counts[midWrite]+counts[preRename])
	fmt.Fprintf(&b, "  %-58s %4d (0 after it)\n", "temp files still there before the final complete run", left)
	t.Log(b.String())
}

// TestConcurrentLocksAgree runs 16 imglock lock processes at once on one
// tree against a real registry, in 5 rounds whose trees add and drop tags.
// Every run succeeds, each change is reported by exactly one run, and the
// lock ends canonical and complete, with the registry's digests.
func TestConcurrentLocksAgree(t *testing.T) {
	const (
		runs   = 16
		rounds = 5
		window = 50 // tags a round's tree uses
		shift  = 5  // tags added and dropped from one round to the next
	)
	reg := registry.Start()
	defer reg.Close()
	type tagRef struct{ repo, tag, digest string }
	var pool []tagRef
	for i := range window + shift*(rounds-1) {
		repo, tag := fmt.Sprintf("acme/c%d", i%5), fmt.Sprintf("t%d", i)
		d, err := reg.Push(repo+":"+tag, fmt.Sprintf("content %d", i))
		if err != nil {
			t.Fatal(err)
		}
		pool = append(pool, tagRef{reg.Addr + "/" + repo, tag, d})
	}

	dir := t.TempDir()
	prev := map[[2]string]string{}
	var summary []string
	for round := range rounds {
		want := map[[2]string]string{}
		files := map[string]*strings.Builder{}
		for i, r := range pool[round*shift : round*shift+window] {
			want[[2]string{r.repo, r.tag}] = r.digest
			// Each tag in two files: still one request for it per run.
			for _, name := range []string{fmt.Sprintf("svc/%d/Dockerfile", i%5), fmt.Sprintf("app/%d.Dockerfile", i%3)} {
				if files[name] == nil {
					files[name] = &strings.Builder{}
					files[name].WriteString("FROM scratch\n") // each COPY --from pulls its image
				}
				fmt.Fprintf(files[name], "COPY --from=%s:%s / /\n", r.repo, r.tag)
			}
		}
		for name, b := range files {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var wantChanges []string
		for k, d := range want {
			if _, ok := prev[k]; !ok {
				wantChanges = append(wantChanges, fmt.Sprintf("+ %s %s %s", k[0], k[1], d))
			}
		}
		for k, d := range prev {
			if _, ok := want[k]; !ok {
				wantChanges = append(wantChanges, fmt.Sprintf("- %s %s %s", k[0], k[1], d))
			}
		}
		sort.Strings(wantChanges)

		reg.ResetCounts()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		type outcome struct {
			err            error
			stdout, stderr string
		}
		outcomes := make([]outcome, runs)
		cmds := make([]*exec.Cmd, runs)
		bufs := make([][2]bytes.Buffer, runs)
		for i := range runs {
			cmds[i] = safetyCmd(ctx, dir, "lock")
			cmds[i].Stdout, cmds[i].Stderr = &bufs[i][0], &bufs[i][1]
		}
		// Start them all, then wait for them all: they overlap.
		for i, cmd := range cmds {
			if err := cmd.Start(); err != nil {
				outcomes[i].err = err
			}
		}
		var wg sync.WaitGroup
		for i, cmd := range cmds {
			if outcomes[i].err != nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				outcomes[i].err = cmd.Wait()
			}()
		}
		wg.Wait()
		cancel()

		var gotChanges []string
		writers, failed := 0, 0
		for i := range runs {
			o := &outcomes[i]
			o.stdout, o.stderr = bufs[i][0].String(), bufs[i][1].String()
			if o.err != nil || o.stderr != "" {
				failed++
				t.Errorf("round %d, run %d: %v\n%s%s", round, i, o.err, o.stdout, o.stderr)
			}
			if o.stdout != "" {
				writers++
				gotChanges = append(gotChanges, strings.Split(strings.TrimSuffix(o.stdout, "\n"), "\n")...)
			}
		}
		sort.Strings(gotChanges)
		if !slices.Equal(gotChanges, wantChanges) {
			t.Errorf("round %d: the runs reported the changes:\n%s\nwant each of these once:\n%s",
				round, strings.Join(gotChanges, "\n"), strings.Join(wantChanges, "\n"))
		}
		data, err := os.ReadFile(filepath.Join(dir, "images.lock"))
		if err != nil {
			t.Fatal(err)
		}
		checkLock(t, data, want)
		if tmp := tempFiles(t, dir); len(tmp) != 0 {
			t.Errorf("round %d: temp files left: %v", round, tmp)
		}
		c := reg.Counts()
		summary = append(summary, fmt.Sprintf("round %d: %d runs, %d exit 0, %d failed, %d reported changes (%d lines), lock %d entries, corrupt 0; registry: %d pings, %d HEADs, %d total",
			round, runs, runs-failed, failed, writers, len(gotChanges), len(want), c["ping"], c["head"], c["total"]))
		safetyRun(t, dir, "verify")
		prev = want
	}
	t.Log("16 concurrent imglock lock runs per round:\n" + strings.Join(summary, "\n"))
}

// TestHostileRegistryKeepsLock: the real binary, asked to lock a tag on a
// registry that lies or floods, refuses (exit 3, saying why) and leaves
// images.lock byte for byte as it was.
func TestHostileRegistryKeepsLock(t *testing.T) {
	honest := registry.Start()
	defer honest.Close()
	if _, err := honest.Push("acme/base:1", "elsewhere"); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"schemaVersion":2,"config":{},"layers":[]}`)
	for _, tc := range []struct {
		name      string
		head, get http.HandlerFunc
		want      string
	}{
		{"head-md5-digest", faultproxy.Manifest(nil, "md5:"+strings.Repeat("0", 32)), nil,
			`registry answered an unusable Docker-Content-Digest "md5:00000000000000000000000000000000": unknown algorithm "md5"`},
		{"head-short-digest", faultproxy.Manifest(nil, "sha256:xyz"), nil,
			`registry answered an unusable Docker-Content-Digest "sha256:xyz": sha256 digest has 3 hex characters, want 64`},
		{"get-digest-mismatch", faultproxy.Manifest(nil, ""), faultproxy.Manifest(body, faultproxy.Digest([]byte("other"))),
			"registry's Docker-Content-Digest " + faultproxy.Digest([]byte("other")) + " does not match the manifest it sent (" + faultproxy.Digest(body) + ")"},
		{"get-over-4MiB", faultproxy.Manifest(nil, ""), faultproxy.Manifest(bytes.Repeat([]byte(" "), 4<<20+1), ""),
			"the manifest is larger than 4194304 bytes; refusing it"},
		{"head-1MiB-header", faultproxy.WithHeader(1<<20, faultproxy.Manifest(nil, faultproxy.Digest(body))), nil,
			"server response headers exceeded 65536 bytes"},
		{"head-redirect-other-host", faultproxy.RedirectTo(honest.Addr), nil, "refusing a redirect of a manifest request from "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := faultproxy.StartHostile(t, tc.head, tc.get).Addr
			dir := t.TempDir()
			pinned := "FROM acme/pinned:1@" + faultproxy.Digest([]byte("pinned")) + "\n"
			writeFiles(t, dir, map[string]string{"Dockerfile": pinned})
			safetyRun(t, dir, "lock")
			before, err := os.ReadFile(filepath.Join(dir, "images.lock"))
			if err != nil {
				t.Fatal(err)
			}
			writeFiles(t, dir, map[string]string{"Dockerfile": pinned + "COPY --from=" + host + "/acme/base:1 / /\n"})

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var stdout, stderr bytes.Buffer
			cmd := safetyCmd(ctx, dir, "lock")
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err = cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != diag.ExitRegistry {
				t.Fatalf("imglock lock: %v, want exit %d\n%s%s", err, diag.ExitRegistry, stdout.String(), stderr.String())
			}
			if want := "resolving " + host + "/acme/base:1: "; !strings.HasPrefix(stderr.String(), want) || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr:\n%s\nwant %q ... %q", stderr.String(), want, tc.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: %s", stdout.String())
			}
			after, err := os.ReadFile(filepath.Join(dir, "images.lock"))
			if err != nil || !bytes.Equal(after, before) {
				t.Errorf("images.lock changed:\n%s\nwas:\n%s", after, before)
			}
			if tmp := tempFiles(t, dir); len(tmp) != 0 {
				t.Errorf("temp files left: %v", tmp)
			}
			if c := honest.Counts(); c["total"] != 0 {
				t.Errorf("the other host got requests %v", c)
			}
			t.Logf("exit 3: %s", strings.TrimSpace(stderr.String()))
		})
	}
}
