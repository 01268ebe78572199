package distribution

import (
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imglock/imglock/internal/testing/registry"
)

// PushImage pushes img, an image or an index (registry.ImageWithMeta,
// registry.IndexWithMeta), to repoTag (REPO:TAG, without the host) and
// returns its digest, authenticating and trusting the CA as Push does.
func (r *Registry) PushImage(repoTag string, img remote.Taggable) (string, error) {
	opts := []remote.Option{remote.WithTransport(r.transport())}
	if user, pass := r.Credentials(); user != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: user, Password: pass}))
	}
	return registry.Push(r.Addr+"/"+repoTag, img, opts...)
}
