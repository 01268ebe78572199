package fwdproxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/imglock/imglock/internal/testing/fwdproxy"
)

func client(t *testing.T, p *fwdproxy.Proxy, tr *http.Transport) *http.Client {
	u, err := url.Parse(p.URL())
	if err != nil {
		t.Fatal(err)
	}
	tr.Proxy = http.ProxyURL(u)
	return &http.Client{Transport: tr}
}

func get(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", u, resp.Status, b)
	}
	return string(b)
}

func TestForwardsAndTunnels(t *testing.T) {
	p := fwdproxy.Start()
	defer p.Close()
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello "+r.URL.Path) })
	plain := httptest.NewServer(hello)
	defer plain.Close()
	tls := httptest.NewTLSServer(hello)
	defer tls.Close()

	if got := get(t, client(t, p, &http.Transport{}), plain.URL+"/a"); got != "hello /a" {
		t.Errorf("forwarded: %q", got)
	}
	tr := tls.Client().Transport.(*http.Transport).Clone()
	if got := get(t, client(t, p, tr), tls.URL+"/b"); got != "hello /b" {
		t.Errorf("tunnelled: %q", got)
	}
	reqs := p.Requests()
	if len(reqs) != 2 || reqs[0].Method != "GET" || reqs[0].Path != "/a" || reqs[1].Method != "CONNECT" || reqs[1].Host != tls.Listener.Addr().String() {
		t.Errorf("requests %+v", reqs)
	}
}

func TestRefusesOtherThanLoopback(t *testing.T) {
	p := fwdproxy.Start()
	defer p.Close()
	resp, err := client(t, p, &http.Transport{}).Get("http://192.0.2.1:9/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("a request for 192.0.2.1: %s, want 502", resp.Status)
	}
}
