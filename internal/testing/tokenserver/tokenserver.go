// Package tokenserver is test support: a token server of the distribution
// token specification (distribution/docs/spec/auth/token.md), the part of
// Docker Hub (auth.docker.io), Harbor (/service/token) and GitLab that
// hands out bearer tokens. It authenticates a client (anonymous, or Basic
// credentials), grants the intersection of what the request's scope
// parameters ask and what its policy allows, and signs JWTs (jwt.md) with
// a key whose certificate CNCF Distribution is given to trust
// (auth.token.rootcertbundle), so Distribution itself verifies them.
//
// It runs as an HTTP server of its own on loopback. Registries that are not
// on a public address serve their realm behind their own address, as
// Harbor does (go-containerregistry refuses a realm on another private
// address than the registry's): StartRegistry puts one in front of a
// Distribution process that way.
package tokenserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Leeway is how long past a token's exp claim CNCF Distribution still
// accepts it (registry/auth/token.Leeway, for clock skew).
const Leeway = 60 * time.Second

// Options say what the server grants.
type Options struct {
	Service string // the audience, the registry's service name; default "imglock-test-registry"
	Issuer  string // default "imglock-test-tokens"
	// Users may pull and push, authenticated with Basic credentials.
	Users map[string]string
	// Anonymous lets clients without credentials pull.
	Anonymous bool
	// FirstScopeOnly grants only the first repository of a request, as
	// some token servers do.
	FirstScopeOnly bool
	// Lifetime is how long Distribution accepts a token once issued:
	// its exp claim is set Leeway earlier. Default 5 minutes.
	Lifetime time.Duration
	// ExpiresIn is the expires_in the response reports, in seconds;
	// default Lifetime's, and never under 60 (token.md asks servers not
	// to go below).
	ExpiresIn int
}

// Server is a running token server.
type Server struct {
	Addr     string // host:port on 127.0.0.1
	CertFile string // PEM certificate of the signing key, for Distribution's rootcertbundle
	Service  string
	Issuer   string

	opts Options
	key  *ecdsa.PrivateKey
	x5c  string // the certificate, base64 DER, for the JWT header
	dir  string
	srv  *http.Server

	mu       sync.Mutex
	requests []Request
}

// Request is one token request the server answered.
type Request struct {
	Scopes  []string // the scope parameters, one per repository asked
	User    string   // who authenticated; "" for anonymous
	Auth    string   // the scheme of the Authorization header (Basic), "" without; never the credential
	Granted []string // the repositories the token grants (pull or more)
	Status  int
}

// Start starts a token server on a free loopback port.
func Start(opts Options) (*Server, error) {
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Addr = ln.Addr().String()
	s.srv = &http.Server{Handler: s, ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// New returns a server that is not listening, to serve as a handler at a
// realm of one's choosing (a Docker Hub look-alike's auth.docker.io).
func New(opts Options) (*Server, error) {
	if opts.Service == "" {
		opts.Service = "imglock-test-registry"
	}
	if opts.Issuer == "" {
		opts.Issuer = "imglock-test-tokens"
	}
	if opts.Lifetime <= 0 {
		opts.Lifetime = 5 * time.Minute
	}
	if opts.ExpiresIn <= 0 {
		opts.ExpiresIn = max(int(opts.Lifetime/time.Second), 60)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: opts.Issuer},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tokenserver-")
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, key: key, x5c: base64.StdEncoding.EncodeToString(der), dir: dir,
		CertFile: filepath.Join(dir, "token.pem"), Service: opts.Service, Issuer: opts.Issuer}
	if err := os.WriteFile(s.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close stops the server and removes its certificate.
func (s *Server) Close() {
	if s.srv != nil {
		s.srv.Close()
	}
	os.RemoveAll(s.dir)
}

// Requests returns the token requests answered since the last ResetCounts.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// ResetCounts forgets the requests answered so far.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// ServeHTTP answers a token request at any path: GET with service and
// scope parameters, optionally with Basic credentials.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Request{Scopes: r.URL.Query()["scope"]}
	if scheme, _, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok {
		rec.Auth = scheme
	}
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, rec)
		s.mu.Unlock()
	}()
	fail := func(status int, code, msg string) {
		rec.Status = status
		w.Header().Set("Content-Type", "application/json")
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="imglock-test-tokens"`)
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"errors":[{"code":%q,"message":%q}]}`, code, msg)
	}
	if r.Method != http.MethodGet {
		fail(http.StatusMethodNotAllowed, "UNSUPPORTED", "only GET token requests")
		return
	}
	if svc := r.URL.Query().Get("service"); svc != s.opts.Service {
		fail(http.StatusBadRequest, "DENIED", fmt.Sprintf("unknown service %q", svc))
		return
	}
	if user, pass, ok := r.BasicAuth(); ok {
		if want, known := s.opts.Users[user]; !known || want != pass {
			fail(http.StatusUnauthorized, "UNAUTHORIZED", "wrong user name or password")
			return
		}
		rec.User = user
	}
	access := s.grant(rec.User, rec.Scopes)
	for _, a := range access {
		rec.Granted = append(rec.Granted, a.Name)
	}
	tok, err := s.sign(rec.User, access)
	if err != nil {
		fail(http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	rec.Status = http.StatusOK
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"token": tok, "access_token": tok, "expires_in": s.opts.ExpiresIn,
		"issued_at": time.Now().UTC().Format(time.RFC3339),
	})
}

// Access is one entry of a token's access claim.
type Access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// grant is the intersection of what scopes ask (repository:NAME:ACTIONS)
// and what user may do: pull, and push when authenticated.
func (s *Server) grant(user string, scopes []string) []Access {
	var out []Access
	for _, param := range scopes {
		for _, scope := range strings.Fields(param) {
			typ, rest, ok := strings.Cut(scope, ":")
			i := strings.LastIndex(rest, ":")
			if !ok || typ != "repository" || i < 0 {
				continue
			}
			name, actions := rest[:i], strings.Split(rest[i+1:], ",")
			var allowed []string
			for _, a := range actions {
				if a == "pull" && (user != "" || s.opts.Anonymous) || a == "push" && user != "" {
					allowed = append(allowed, a)
				}
			}
			if len(allowed) > 0 {
				out = append(out, Access{Type: "repository", Name: name, Actions: allowed})
			}
			if s.opts.FirstScopeOnly {
				return out
			}
		}
	}
	return out
}

// Mint signs a token for user granting access, without a request: for a
// test's own pushes, which need not show in what the server counts.
func (s *Server) Mint(user string, access ...Access) (string, error) { return s.sign(user, access) }

// sign makes an ES256 JWT with the certificate in its x5c header, the
// form Distribution verifies against rootcertbundle.
func (s *Server) sign(user string, access []Access) (string, error) {
	now := time.Now()
	// Distribution accepts a token until exp+Leeway, by the second.
	exp := now.Add(s.opts.Lifetime - Leeway + time.Second - 1).Unix()
	if access == nil {
		access = []Access{}
	}
	header, err := json.Marshal(map[string]any{"typ": "JWT", "alg": "ES256", "x5c": []string{s.x5c}})
	if err != nil {
		return "", err
	}
	jti := make([]byte, 8)
	rand.Read(jti)
	claims, err := json.Marshal(map[string]any{
		"iss": s.opts.Issuer, "sub": user, "aud": s.opts.Service,
		"exp": exp, "nbf": now.Unix(), "iat": now.Unix(), "jti": hex.EncodeToString(jti),
		"access": access,
	})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signed))
	r, sig, err := ecdsa.Sign(rand.Reader, s.key, sum[:])
	if err != nil {
		return "", err
	}
	raw := make([]byte, 64)
	r.FillBytes(raw[:32])
	sig.FillBytes(raw[32:])
	return signed + "." + enc.EncodeToString(raw), nil
}
