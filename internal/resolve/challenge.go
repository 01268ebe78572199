package resolve

import (
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// challenge is one WWW-Authenticate challenge (RFC 7235 section 4.1):
// Bearer realm="...",service="...",scope="...",error="...".
type challenge struct {
	scheme string            // lower case: bearer, basic
	params map[string]string // names in lower case
}

// challenges parses the WWW-Authenticate headers of a 401 answer. go-
// containerregistry keeps its parser internal, and the resolver needs the
// error and scope parameters of a refused token (RFC 6750 section 3).
func challenges(h http.Header) []challenge {
	var out []challenge
	for _, v := range h.Values("WWW-Authenticate") {
		scheme, rest := token(v)
		if scheme == "" {
			continue
		}
		c := challenge{scheme: strings.ToLower(scheme), params: map[string]string{}}
		rest = "," + strings.TrimLeft(rest, " \t")
		for strings.HasPrefix(rest, ",") {
			var k, val string
			k, rest = token(strings.TrimLeft(rest[1:], " \t"))
			if k == "" || !strings.HasPrefix(rest, "=") {
				break
			}
			val, rest = tokenOrQuoted(rest[1:])
			c.params[strings.ToLower(k)] = val
			rest = strings.TrimLeft(rest, " \t")
		}
		out = append(out, c)
	}
	return out
}

// pick returns the challenge the resolver can answer: bearer, else basic.
func pick(cs []challenge) (challenge, bool) {
	for _, want := range []string{"bearer", "basic"} {
		for _, c := range cs {
			if c.scheme == want {
				return c, true
			}
		}
	}
	return challenge{}, false
}

// asTransport is the challenge as go-containerregistry's token exchange
// takes it.
func (c challenge) asTransport(insecure bool) *transport.Challenge {
	return &transport.Challenge{Scheme: c.scheme, Parameters: c.params, Insecure: insecure}
}

func isTokenChar(b byte) bool {
	return b > ' ' && b < 0x7f && !strings.ContainsRune("\"(),/:;<=>?@[]\\{}", rune(b))
}

func token(s string) (tok, rest string) {
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func tokenOrQuoted(s string) (val, rest string) {
	if !strings.HasPrefix(s, `"`) {
		return token(s)
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:]
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), "" // unterminated: take what there is
}
