package distribution

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A port taken by another server that answers /v2/ (another registry, say)
// is not mistaken for the new registry: the start moves to another port.
func TestStartOnTakenPort(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set(idHeader, "someone-else")
	}))
	defer other.Close()
	_, taken, err := net.SplitHostPort(other.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}

	orig := freePort
	calls := 0
	freePort = func() (string, error) {
		calls++
		if calls == 1 {
			return taken, nil
		}
		return orig()
	}
	defer func() { freePort = orig }()

	r := Start(t, Options{})
	if _, port, _ := net.SplitHostPort(r.Addr); port == taken || calls != 2 {
		t.Errorf("registry on port %s after %d tries; want another port than %s, on the second try", port, calls, taken)
	}
	resp, err := r.Client().Get(r.URL() + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get(idHeader) != r.id {
		t.Errorf("/v2/: %d, %s %q; want 200 from the new registry", resp.StatusCode, idHeader, resp.Header.Get(idHeader))
	}
}
