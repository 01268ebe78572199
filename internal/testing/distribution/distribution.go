// Package distribution is test support: it runs the CNCF Distribution
// registry (its `registry` binary) as a separate process on loopback for
// integration tests, with optional htpasswd or token auth, TLS from a
// throwaway CA, deletes, and a host name of its own, and pushes small real
// images to it.
//
// The binary comes from $IMGLOCK_DISTRIBUTION (.ci/run builds it) or from
// "registry" on PATH. Where there is none, Start skips the test, except under
// CI=true, where it fails it.
package distribution

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"

	"github.com/imglock/imglock/internal/resolve"
	"github.com/imglock/imglock/internal/testing/registry"
	"github.com/imglock/imglock/internal/testing/testcert"
	"github.com/imglock/imglock/internal/testing/testenv"
)

// EnvBinary is the environment variable naming the registry binary.
const EnvBinary = "IMGLOCK_DISTRIBUTION"

// ErrNoBinary is Binary's error when no registry binary is configured or on
// PATH: the one case a test may skip for.
var ErrNoBinary = errors.New("no CNCF Distribution registry binary: set " + EnvBinary +
	" to one (.ci/run builds it) or put `registry` on PATH")

// startTimeout bounds how long a registry may take to answer /v2/.
const startTimeout = 20 * time.Second

// Options configures a registry.
type Options struct {
	// Htpasswd maps users to passwords; when set, every request needs one of
	// them (basic auth), as an htpasswd file of bcrypt hashes.
	Htpasswd map[string]string
	// TLS serves HTTPS with a certificate for 127.0.0.1 and localhost signed
	// by a fresh CA (Registry.CAFile).
	TLS bool
	// Delete enables deleting manifests and blobs (storage.delete.enabled).
	Delete bool
	// Token makes it take bearer tokens signed by a token server (auth:
	// token), in place of Htpasswd.
	Token *TokenAuth
	// Host is the name clients reach it by, in place of 127.0.0.1: one
	// that resolves to loopback (testenv.LoopbackName), or one a test's
	// own dialer sends to loopback (index.docker.io). Its certificate
	// names it too. It listens on 127.0.0.1 only, and the harness's own
	// requests (Push, Client) go there whatever the name.
	Host string
	// Headers are sent with every answer (http.headers), as the
	// rate-limit headers Docker Hub sends.
	Headers map[string]string
}

// TokenAuth is Distribution's auth.token configuration.
type TokenAuth struct {
	// RealmPath is where the token server is served behind the
	// registry's own address, as Harbor serves /service/token: the realm
	// is the registry's URL with this path.
	RealmPath string
	// Realm, when set, is the realm's whole URL instead, on a host of its
	// own (https://auth.docker.io/token).
	Realm    string
	Service  string
	Issuer   string
	CertFile string // the token signing certificate (rootcertbundle)
	// Mint returns a token granting push and pull of repo, for Push.
	Mint func(repo string) (string, error)
}

// Registry is a running Distribution registry.
type Registry struct {
	Addr   string // 127.0.0.1:PORT
	CAFile string // PEM of the CA that signed its certificate, when TLS
	Dir    string // config, credentials, certificates and storage; removed by Close

	opts   Options
	id     string // sent in a header of every answer, to know it is this process answering
	caPool *x509.CertPool
	rt     *http.Transport // trusts caPool; shared by Client and Push
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has exited
	output lockedBuffer  // the process's stdout and stderr

	closeOnce sync.Once
}

// Binary returns the registry binary: $IMGLOCK_DISTRIBUTION, else "registry"
// on PATH. The error is ErrNoBinary when there is neither; a variable naming
// something that is not an executable is a different error, never skipped.
func Binary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		fi, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("%s: %w", EnvBinary, err)
		}
		if fi.IsDir() || fi.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%s=%s is not an executable", EnvBinary, p)
		}
		return filepath.Abs(p)
	}
	p, err := exec.LookPath("registry")
	if err != nil {
		return "", ErrNoBinary
	}
	return p, nil
}

// Start starts a registry for the test and stops it when the test ends. With
// no binary it skips the test, or fails it under CI=true.
func Start(tb testing.TB, opts Options) *Registry {
	tb.Helper()
	r, err := StartProcess(opts)
	if errors.Is(err, ErrNoBinary) {
		testenv.Missing(tb, err.Error())
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			if out := r.Problems(); out != "" {
				tb.Logf("Distribution registry output:\n%s", out)
			}
		}
		r.Close()
	})
	return r
}

// StartProcess starts a registry and waits until it answers /v2/. The caller
// must Close it. The error wraps ErrNoBinary when there is no binary.
func StartProcess(opts Options) (*Registry, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "distribution-")
	if err != nil {
		return nil, err
	}
	r := &Registry{Dir: dir, opts: opts}
	if err := r.writeFiles(); err != nil {
		r.Close()
		return nil, err
	}
	r.rt = remote.DefaultTransport.(*http.Transport).Clone()
	r.rt.Proxy = nil // the harness talks to the registry directly, whatever a test puts in HTTP_PROXY
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	r.rt.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		// The registry, by whatever name: it listens on 127.0.0.1.
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		return dialer.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
	}
	if r.caPool != nil {
		r.rt.TLSClientConfig = &tls.Config{RootCAs: r.caPool}
	}
	// The free port is found by binding and releasing it, so another process
	// may take it first: try again with another.
	for attempt := 1; ; attempt++ {
		err = r.launch(bin)
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, errPortTaken) || attempt == 5 {
			r.Close()
			return nil, err
		}
		r.reset()
	}
}

var errPortTaken = errors.New("port taken")

const idHeader = "X-Distreg-Id"

// launch writes the config for a fresh port, starts the process and waits for
// it to answer.
func (r *Registry) launch(bin string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	r.Addr = net.JoinHostPort(cmp.Or(r.opts.Host, "127.0.0.1"), port)
	r.id = randomHex()
	config := filepath.Join(r.Dir, "config.yml")
	if err := os.WriteFile(config, []byte(r.config()), 0o600); err != nil {
		return err
	}

	r.cmd = exec.Command(bin, "serve", config)
	r.cmd.Dir = r.Dir
	r.cmd.Env = childEnv()
	r.cmd.Stdout = &r.output
	r.cmd.Stderr = &r.output
	r.cmd.SysProcAttr = sysProcAttr()
	r.cmd.WaitDelay = time.Second
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", bin, err)
	}
	r.exited = make(chan struct{})
	go func() {
		_ = r.cmd.Wait()
		close(r.exited)
	}()

	client := r.Client()
	client.Timeout = time.Second
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-r.exited:
			out := r.Output()
			if strings.Contains(out, "address already in use") {
				return fmt.Errorf("%w: %s", errPortTaken, r.Addr)
			}
			return fmt.Errorf("the Distribution registry exited at start (%v):\n%s", r.cmd.ProcessState, out)
		default:
		}
		if resp, err := client.Get(r.URL() + "/v2/"); err == nil {
			resp.Body.Close()
			// Another process may have taken the port: only this one's id counts.
			if resp.Header.Get(idHeader) == r.id {
				return nil
			}
		}
		if time.Now().After(deadline) {
			r.kill()
			return fmt.Errorf("the Distribution registry did not answer %s/v2/ within %v:\n%s", r.URL(), startTimeout, r.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reset forgets a failed launch before the next attempt.
func (r *Registry) reset() {
	r.kill()
	r.cmd, r.exited = nil, nil
	r.output.Reset()
}

// Close stops the registry and removes its files. Requests to Addr are then
// refused. It is safe to call more than once.
func (r *Registry) Close() {
	r.closeOnce.Do(func() {
		r.kill()
		if r.rt != nil {
			r.rt.CloseIdleConnections()
		}
		os.RemoveAll(r.Dir)
	})
}

func (r *Registry) kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	// Its storage is thrown away, so there is nothing to shut down cleanly.
	_ = r.cmd.Process.Kill()
	<-r.exited
}

// Output is what the process printed. It logs at level error, the quietest
// Distribution allows, which still has a line for every 4xx answer.
func (r *Registry) Output() string { return r.output.String() }

// Problems is Output without the lines for 4xx answers, which clients provoke
// routinely (a push asks for each blob before uploading it).
func (r *Registry) Problems() string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(r.Output(), "\n") {
		if strings.Contains(line, `msg="response completed with error"`) && clientError.MatchString(line) {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

var clientError = regexp.MustCompile(`\bhttp\.response\.status=4\d\d\b`)

// URL is the registry's base URL, http:// or https://.
func (r *Registry) URL() string {
	if r.opts.TLS {
		return "https://" + r.Addr
	}
	return "http://" + r.Addr
}

// Client returns an HTTP client that trusts the registry's CA and sends no
// credentials.
func (r *Registry) Client() *http.Client {
	return &http.Client{Transport: r.transport()}
}

// Credentials returns the user and password Push uses: the first user of
// Options.Htpasswd in sorted order, or empty strings when there is no auth.
func (r *Registry) Credentials() (user, password string) {
	users := slices.Sorted(maps.Keys(r.opts.Htpasswd))
	if len(users) == 0 {
		return "", ""
	}
	return users[0], r.opts.Htpasswd[users[0]]
}

// Push pushes registry.Image(content, "linux/amd64") to repoTag (REPO:TAG,
// without the host) and returns its digest. It authenticates with
// Credentials and trusts the CA.
func (r *Registry) Push(repoTag, content string) (string, error) {
	img, err := registry.Image(content, "linux/amd64")
	if err != nil {
		return "", err
	}
	return r.PushImage(repoTag, img)
}

// PushImage pushes img (a v1.Image or v1.ImageIndex) to repoTag and
// returns its digest, as Push does.
func (r *Registry) PushImage(repoTag string, img remote.Taggable) (string, error) {
	opts := []remote.Option{remote.WithTransport(r.transport())}
	switch user, pass := r.Credentials(); {
	case r.opts.Token != nil:
		repo, _, _ := strings.Cut(repoTag, ":")
		tok, err := r.opts.Token.Mint(repo)
		if err != nil {
			return "", err
		}
		opts = append(opts, remote.WithAuth(authn.FromConfig(authn.AuthConfig{RegistryToken: tok})))
	case user != "":
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: user, Password: pass}))
	}
	return registry.Push(r.Addr+"/"+repoTag, img, opts...)
}

// transport trusts the CA and sends every request to the registry in the
// scheme it speaks, as imglock does: go-containerregistry picks plain HTTP
// for loopback hosts and HTTPS for names, whatever the server speaks.
func (r *Registry) transport() http.RoundTripper {
	if !r.opts.TLS {
		return resolve.NewSchemeTransport(r.Addr, "http", r.rt)
	}
	return resolve.NewSchemeTransport(r.Addr, "https", r.rt)
}

// writeFiles writes what the config refers to: htpasswd, CA and certificate.
func (r *Registry) writeFiles() error {
	if err := os.Mkdir(filepath.Join(r.Dir, "storage"), 0o700); err != nil {
		return err
	}
	if len(r.opts.Htpasswd) > 0 {
		var b strings.Builder
		for user, pass := range r.opts.Htpasswd {
			if user == "" || strings.ContainsAny(user, ":\n") {
				return fmt.Errorf("htpasswd: bad user name %q", user)
			}
			// MinCost: the hash guards nothing here, and each request checks it.
			hash, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "%s:%s\n", user, hash)
		}
		if err := os.WriteFile(filepath.Join(r.Dir, "htpasswd"), []byte(b.String()), 0o600); err != nil {
			return err
		}
	}
	if r.opts.TLS {
		pool, err := testcert.Write(r.Dir, r.opts.Host)
		if err != nil {
			return err
		}
		r.caPool = pool
		r.CAFile = filepath.Join(r.Dir, "ca.pem")
	}
	return nil
}

// config is the registry's config.yml. Strings are JSON-quoted, which YAML
// reads as double-quoted scalars.
func (r *Registry) config() string {
	q := func(s string) string {
		b, _ := json.Marshal(s)
		return string(b)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "version: 0.1\n")
	fmt.Fprintf(&b, "log:\n  level: error\n  accesslog:\n    disabled: true\n")
	fmt.Fprintf(&b, "storage:\n  filesystem:\n    rootdirectory: %s\n", q(filepath.Join(r.Dir, "storage")))
	fmt.Fprintf(&b, "  delete:\n    enabled: %t\n", r.opts.Delete)
	fmt.Fprintf(&b, "  maintenance:\n    uploadpurging:\n      enabled: false\n")
	// A secret of its own, or the registry warns that it made one up.
	_, port, _ := net.SplitHostPort(r.Addr)
	fmt.Fprintf(&b, "http:\n  addr: %s\n  secret: %s\n", q(net.JoinHostPort("127.0.0.1", port)), q(randomHex()))
	fmt.Fprintf(&b, "  headers:\n    %s: [%s]\n", idHeader, q(r.id))
	for _, k := range slices.Sorted(maps.Keys(r.opts.Headers)) {
		fmt.Fprintf(&b, "    %s: [%s]\n", q(k), q(r.opts.Headers[k]))
	}
	if r.opts.TLS {
		fmt.Fprintf(&b, "  tls:\n    certificate: %s\n    key: %s\n",
			q(filepath.Join(r.Dir, "cert.pem")), q(filepath.Join(r.Dir, "key.pem")))
	}
	if t := r.opts.Token; t != nil {
		realm := t.Realm
		if realm == "" {
			realm = r.URL() + t.RealmPath
		}
		fmt.Fprintf(&b, "auth:\n  token:\n    realm: %s\n    service: %s\n    issuer: %s\n    rootcertbundle: %s\n",
			q(realm), q(t.Service), q(t.Issuer), q(t.CertFile))
	} else if len(r.opts.Htpasswd) > 0 {
		fmt.Fprintf(&b, "auth:\n  htpasswd:\n    realm: imglock-test\n    path: %s\n", q(filepath.Join(r.Dir, "htpasswd")))
	}
	return b.String()
}

// childEnv is this process's environment without what would reconfigure the
// registry behind its config file: REGISTRY_* variables override config keys,
// and OpenTelemetry would export traces to a collector that is not there.
func childEnv() []string {
	return append(testenv.Environ("REGISTRY_", "OTEL_"), "OTEL_TRACES_EXPORTER=none")
}

func randomHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// freePort finds a free loopback port; a variable so that a test can hand out
// a taken one.
var freePort = func() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}

// lockedBuffer collects a process's output from the goroutines exec starts.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}
